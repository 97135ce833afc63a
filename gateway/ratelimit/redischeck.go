package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// checkScript is a whole request's decision in one call. KEYS: the budget
// (TAT), the subject's block key, the jti's revocation key, then per counter
// its key (a request counter) or its two bucket keys (a member counter), all
// under the subject's hash tag. ARGV: interval and tolerance in µs, "1" when
// there is a jti, then per counter its window in ms and its member ("" counts
// requests). It returns {status, stored TAT, server time, allowed, ttl,
// counters...}: status 0 decided, 1 subject blocked, 2 jti revoked (ttl then
// is the entry's PTTL, -1 for none). A blocked or revoked request spends no
// budget and counts nowhere; so does a denied one.
//
// A member counter slides, in half windows numbered on Redis's clock. Each
// half window has a HyperLogLog (three keys take turns) that collects the
// members of that half and of the one before it: a member goes into the
// current half's and the next half's. The count is the current half's
// alone, so the distinct members of between the last half window and the
// last whole one, read with a one-key PFCOUNT that Redis answers from its
// cached cardinality while nothing new arrives (a two-key union would be
// merged afresh on every request). A PFADD that changed nothing leaves the
// key as it was, expiry included, so only a changing one sets the expiry.
var checkScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = redis.call('PTTL', KEYS[2])
if ttl ~= -2 then return {1, 0, now, 0, ttl} end
if ARGV[3] == '1' then
  ttl = redis.call('PTTL', KEYS[3])
  if ttl ~= -2 then return {2, 0, now, 0, ttl} end
end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local stored = tonumber(redis.call('GET', KEYS[1])) or 0
local tat = stored
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > tolerance then return {0, stored, now, 0, 0} end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', string.format('%d', math.ceil((nxt - now) / 1000)))
local out = {0, stored, now, 1, 0}
local ki = 4
for c = 4, #ARGV - 1, 2 do
  local window, member = tonumber(ARGV[c]), ARGV[c + 1]
  local n
  if member == '' then
    n = redis.call('INCR', KEYS[ki])
    if n == 1 then redis.call('PEXPIRE', KEYS[ki], window) end
    ki = ki + 1
  else
    local half = math.max(1, math.floor(window / 2))
    local idx = math.floor(now / 1000 / half)
    local cur, nxt = KEYS[ki + idx % 3], KEYS[ki + (idx + 1) % 3]
    if redis.call('PFADD', cur, member) == 1 then
      redis.call('PEXPIREAT', cur, string.format('%d', (idx + 1) * half))
    end
    if redis.call('PFADD', nxt, member) == 1 then
      redis.call('PEXPIREAT', nxt, string.format('%d', (idx + 2) * half))
    end
    n = redis.call('PFCOUNT', cur)
    ki = ki + 3
  end
  out[#out + 1] = n
end
return out
`)

const (
	statusDecided = 0
	statusBlocked = 1
	statusRevoked = 2
	replyFixed    = 5 // reply values before the counters
	// maxCachedDenial bounds how long a block or revocation without a TTL,
	// learned from the script, is cached in process.
	maxCachedDenial = time.Hour
)

// Check decides a request in at most one Redis round trip: one script call
// reading the subject's block, the jti's revocation and the budget, and
// incrementing the named counters. Every key of the call carries the hash tag
// {sub:<Subject>}, so it runs on Cluster too.
//
// IP blocks cannot share every subject's slot, so they are not read in the
// round trip: the block list lives in one small hash with its own tag, and
// DenyList keeps a copy in process, refreshed by SyncBlocks (Run calls it
// every second). An IP block therefore takes effect at once on the replica
// that set it and within the sync interval on the others, and a blocked
// address costs Redis nothing, which is what a flood needs.
//
// Answers without Redis: a blocked IP or subject and a revoked jti found in
// the local copy, and a key denied recently whose next request cannot be
// allowed yet (see overLimit). Errors wrap the Redis error; wrap Redis in a
// Fallback to keep answering.
func (l *Redis) Check(ctx context.Context, req Request) (Verdict, error) {
	if err := req.Validate(); err != nil {
		return Verdict{}, err
	}
	if v, ok := localVerdict(l.deny, req); ok {
		return v, nil
	}
	key := req.LimitKey()
	if res, ok := l.denied.lookup(key); ok {
		return Verdict{Limit: res}, nil
	}
	p := req.Rate.params(time.Microsecond)
	keys, args := l.checkArgs(req, p)
	vals, err := checkScript.Run(ctx, l.client, keys, args...).Int64Slice()
	if err != nil {
		return Verdict{}, fmt.Errorf("redis check: %w", err)
	}
	return l.verdict(req, p, vals)
}

// localVerdict answers from the local deny list when it knows enough.
func localVerdict(d *DenyList, req Request) (Verdict, bool) {
	if b := d.Blocked(req.IP, req.Subject); b != "" {
		return Verdict{Blocked: b}, true
	}
	if d.Revoked(req.JTI) {
		return Verdict{Revoked: true}, true
	}
	return Verdict{}, false
}

// checkArgs lays out checkScript's KEYS and ARGV for req.
func (l *Redis) checkArgs(req Request, p gcraParams) ([]string, []any) {
	tag := "{" + req.LimitKey() + "}"
	hasJTI := "0"
	if req.JTI != "" {
		hasJTI = "1"
	}
	keys := make([]string, 0, 3+3*len(req.Counters))
	keys = append(keys, l.Key(req.LimitKey()), l.subjectBlockKey(req.Subject), l.revokedKey(req.Subject, req.JTI))
	args := make([]any, 0, 3+2*len(req.Counters))
	args = append(args, p.interval.Microseconds(), p.tolerance.Microseconds(), hasJTI)
	for _, c := range req.Counters {
		key := l.prefix + ":ctr:" + tag + ":" + c.Name
		if c.Member == "" {
			keys = append(keys, key)
		} else {
			keys = append(keys, key+":a", key+":b", key+":c") // the half windows' turns
		}
		args = append(args, strconv.FormatInt(c.Window.Milliseconds(), 10), c.Member)
	}
	return keys, args
}

// verdict decodes checkScript's reply and caches what it learned.
func (l *Redis) verdict(req Request, p gcraParams, vals []int64) (Verdict, error) {
	if len(vals) < replyFixed {
		return Verdict{}, fmt.Errorf("redis check: %w: %d values", ErrBadReply, len(vals))
	}
	switch vals[0] {
	case statusBlocked:
		l.deny.Block(KindSubject, req.Subject, l.cacheUntil(vals[4]))
		return Verdict{Blocked: BlockedSubject}, nil
	case statusRevoked:
		l.deny.Revoke(req.JTI, l.cacheUntil(vals[4]))
		return Verdict{Revoked: true}, nil
	}
	res, err := l.decide(req.LimitKey(), p, vals[1], vals[2], vals[3])
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Limit: res}
	if !res.Allowed {
		return v, nil
	}
	if got := len(vals) - replyFixed; got != len(req.Counters) {
		return Verdict{}, fmt.Errorf("redis check: %w: %d counters for %d", ErrBadReply, got, len(req.Counters))
	}
	v.Counters = vals[replyFixed:]
	return v, nil
}

// cacheUntil turns a PTTL (ms, -1 for none) into a local expiry.
func (l *Redis) cacheUntil(pttl int64) time.Time {
	d := maxCachedDenial
	if pttl >= 0 {
		d = min(time.Duration(pttl)*time.Millisecond, maxCachedDenial)
	}
	return l.now().Add(d)
}
