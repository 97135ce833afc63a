package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrBadReply is wrapped when the script's answer has an unexpected shape or
// disagrees with the Go GCRA, which would mean the two have drifted apart.
var ErrBadReply = errors.New("unexpected limiter script reply")

// gcraScript is the decision of gcraParams.apply on Redis's clock, in whole
// microseconds (exact in Lua's doubles for the next few centuries). It returns
// the stored TAT before the request, the server time and whether the request
// was allowed; the Result is then computed in Go by the same apply, so the
// arithmetic behind the headers lives in one place. TIME is fine in a script
// since Redis 5 replicates scripts by their effects.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local stored = tonumber(redis.call('GET', KEYS[1])) or 0
local tat = stored
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > tolerance then
  return {stored, now, 0}
end
local ttl = math.ceil((nxt - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', string.format('%d', ttl))
return {stored, now, 1}
`)

// Redis is a GCRA limiter whose state lives in Redis, so every gateway replica
// spends from the same budget. One request is one script call on the
// server's clock: replicas' clocks never need to agree. Denials are cached
// in process until the key's next request could be allowed (see overLimit),
// and Check also reads the block and revocation lists (see Check and
// DenyList for how IP blocks stay out of the round trip on Cluster).
type Redis struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
	denied *overLimit
	deny   *DenyList
	blocks blockSync
}

var (
	_ Limiter = (*Redis)(nil)
	_ Checker = (*Redis)(nil)
)

// NewRedis returns a limiter storing one key per limited key under prefix
// (which must not contain braces: they would move the Cluster hash tag).
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{
		client: c,
		prefix: prefix,
		now:    time.Now,
		denied: newOverLimit(time.Now),
		deny:   NewDenyList(),
	}
}

// DenyList returns the in-process copy of the block and revocation lists;
// give it to NewMemory for the Fallback's local side, so blocks still hold
// while Redis is unreachable.
func (l *Redis) DenyList() *DenyList {
	return l.deny
}

// Key returns the Redis key holding key's TAT: "<prefix>:rl:{<key>}". The
// braces make key the Cluster hash tag, so a later script touching other keys
// of the same principal (tagged the same way) stays on one slot.
func (l *Redis) Key(key string) string {
	return l.prefix + ":rl:{" + key + "}"
}

// Allow spends one request of key's budget r if it has one. Errors wrap the
// Redis error; the caller is expected to fall back (see Fallback).
func (l *Redis) Allow(ctx context.Context, key string, r Rate) (Result, error) {
	if err := r.Validate(); err != nil {
		return Result{}, err
	}
	if res, ok := l.denied.lookup(key); ok {
		return res, nil
	}
	p := r.params(time.Microsecond)
	vals, err := gcraScript.Run(ctx, l.client, []string{l.Key(key)},
		p.interval.Microseconds(), p.tolerance.Microseconds()).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("redis limiter: %w", err)
	}
	if len(vals) != 3 {
		return Result{}, fmt.Errorf("redis limiter: %w: %d values", ErrBadReply, len(vals))
	}
	return l.decide(key, p, vals[0], vals[1], vals[2])
}

// decide recomputes the script's GCRA decision in Go from the stored TAT and
// the server time (µs), checks it agrees with the script's, and caches a
// denial.
func (l *Redis) decide(key string, p gcraParams, stored, now, allowed int64) (Result, error) {
	var tat time.Time
	if stored > 0 {
		tat = time.UnixMicro(stored)
	}
	_, res := p.apply(tat, time.UnixMicro(now))
	if res.Allowed != (allowed == 1) {
		return Result{}, fmt.Errorf("redis limiter: %w: script allowed=%d", ErrBadReply, allowed)
	}
	l.denied.remember(key, res)
	return res, nil
}
