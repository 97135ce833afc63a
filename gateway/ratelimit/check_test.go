package ratelimit

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// slow is a rate that does not refill during a test.
var slow = Rate{PerSecond: 0.001, Burst: 3}

// checkStore is what the Check table runs against: Redis and Memory.
type checkStore interface {
	Checker
	DenyList() *DenyList
}

func mustCheck(tb testing.TB, c Checker, req Request) Verdict {
	tb.Helper()
	v, err := c.Check(context.Background(), req)
	if err != nil {
		tb.Fatalf("Check(%+v): %v", req, err)
	}
	return v
}

// checkCases exercise Check's contract; each runs on a fresh store.
var checkCases = []struct {
	name  string
	setup func(tb testing.TB, s checkStore)
	req   Request
	runs  int // Check calls; the last verdict is compared
	want  Verdict
}{
	{"allowed with counters", nil,
		Request{Subject: "alice", IP: "192.0.2.1", JTI: "j1", Rate: slow,
			Counters: []Counter{{Name: "reqs", Window: time.Minute}, {Name: "targets", Window: time.Minute, Member: "u1"}}},
		2, Verdict{Limit: Result{Allowed: true, Limit: 3, Remaining: 1}, Counters: []int64{2, 1}}},
	{"denied past the burst, counters untouched", nil,
		Request{Subject: "alice", Rate: slow, Counters: []Counter{{Name: "reqs", Window: time.Minute}}},
		4, Verdict{Limit: Result{Limit: 3}}},
	{"blocked ip", func(tb testing.TB, s checkStore) { s.DenyList().Block(KindIP, "192.0.2.9", time.Time{}) },
		Request{Subject: "alice", IP: "192.0.2.9", Rate: slow}, 1, Verdict{Blocked: BlockedIP}},
	{"blocked ipv6 /64", func(tb testing.TB, s checkStore) { s.DenyList().Block(KindIP, "2001:db8:1:2::/64", time.Time{}) },
		Request{Subject: "alice", IP: "2001:db8:1:2::77", Rate: slow}, 1, Verdict{Blocked: BlockedIP}},
	{"blocked subject", func(tb testing.TB, s checkStore) { s.DenyList().Block(KindSubject, "mallory", time.Time{}) },
		Request{Subject: "mallory", IP: "192.0.2.1", Rate: slow}, 1, Verdict{Blocked: BlockedSubject}},
	{"expired block", func(tb testing.TB, s checkStore) {
		s.DenyList().Block(KindSubject, "alice", time.Now().Add(-time.Second))
	}, Request{Subject: "alice", Rate: slow}, 1, Verdict{Limit: Result{Allowed: true, Limit: 3, Remaining: 2}}},
	{"revoked jti", func(tb testing.TB, s checkStore) { s.DenyList().Revoke("stolen", time.Time{}) },
		Request{Subject: "alice", JTI: "stolen", Rate: slow}, 1, Verdict{Revoked: true}},
	{"other jti", func(tb testing.TB, s checkStore) { s.DenyList().Revoke("stolen", time.Time{}) },
		Request{Subject: "alice", JTI: "fine", Rate: slow}, 1, Verdict{Limit: Result{Allowed: true, Limit: 3, Remaining: 2}}},
}

func TestCheck(t *testing.T) {
	stores := map[string]func(tb testing.TB) checkStore{
		"memory": func(testing.TB) checkStore { return NewMemory(nil) },
		"redis":  func(tb testing.TB) checkStore { l, _ := newTestRedis(tb); return l },
	}
	for storeName, newStore := range stores {
		for _, tc := range checkCases {
			t.Run(storeName+"/"+tc.name, func(t *testing.T) {
				s := newStore(t)
				if tc.setup != nil {
					tc.setup(t, s)
				}
				var v Verdict
				for range tc.runs {
					v = mustCheck(t, s, tc.req)
				}
				v.Limit.ResetAfter, v.Limit.RetryAfter = 0, 0
				if v.Blocked != tc.want.Blocked || v.Revoked != tc.want.Revoked || v.Limit != tc.want.Limit ||
					!slices.Equal(v.Counters, tc.want.Counters) || v.Allowed() != tc.want.Limit.Allowed {
					t.Fatalf("verdict %+v, want %+v", v, tc.want)
				}
			})
		}
	}
}

func TestCheckInvalid(t *testing.T) {
	many := make([]Counter, MaxCounters+1)
	for i := range many {
		many[i] = Counter{Name: strconv.Itoa(i), Window: time.Second}
	}
	cases := []struct {
		name string
		req  Request
		want error
	}{
		{"no rate", Request{Subject: "a"}, ErrInvalidRate},
		{"no subject", Request{Rate: slow}, ErrInvalidRequest},
		{"too many counters", Request{Subject: "a", Rate: slow, Counters: many}, ErrInvalidRequest},
		{"unnamed counter", Request{Subject: "a", Rate: slow, Counters: []Counter{{Window: time.Second}}}, ErrInvalidRequest},
		{"braced counter", Request{Subject: "a", Rate: slow, Counters: []Counter{{Name: "{x}", Window: time.Second}}}, ErrInvalidRequest},
		{"no window", Request{Subject: "a", Rate: slow, Counters: []Counter{{Name: "x"}}}, ErrInvalidRequest},
	}
	l := NewRedis(nil, "unused") // invalid requests never reach Redis
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []Checker{l, NewMemory(nil), NewFallback(l, NewMemory(nil), 1, nil)} {
				if _, err := c.Check(context.Background(), tc.req); !errors.Is(err, tc.want) {
					t.Fatalf("%T: err = %v, want %v", c, err, tc.want)
				}
			}
		})
	}
}

// TestCheckSharedLists: blocks and revocations made through one replica hold
// on another, through Redis.
func TestCheckSharedLists(t *testing.T) {
	a, c := newTestRedis(t)
	b := NewRedis(newRedisClient(t), a.prefix)
	ctx := context.Background()
	if err := a.Block(ctx, KindSubject, "mallory", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := a.Block(ctx, KindIP, "198.51.100.7", 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, "alice", "stolen", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v := mustCheck(t, b, Request{Subject: "mallory", Rate: slow}); v.Blocked != BlockedSubject {
		t.Fatalf("subject blocked on a: b says %+v", v)
	}
	if v := mustCheck(t, b, Request{Subject: "alice", JTI: "stolen", Rate: slow}); !v.Revoked {
		t.Fatalf("jti revoked on a: b says %+v", v)
	}
	if v := mustCheck(t, b, Request{Subject: "bob", IP: "198.51.100.7", Rate: slow}); v.Blocked != "" {
		t.Fatalf("ip block reached b before a sync: %+v", v)
	}
	if err := b.SyncBlocks(ctx); err != nil {
		t.Fatal(err)
	}
	if v := mustCheck(t, b, Request{Subject: "bob", IP: "198.51.100.7", Rate: slow}); v.Blocked != BlockedIP {
		t.Fatalf("ip blocked on a, b synced: %+v", v)
	}
	want := []Block{{Kind: KindIP, Value: "198.51.100.7"}, {Kind: KindSubject, Value: "mallory"}}
	if got := b.DenyList().Blocks(); len(got) != 2 || got[0] != want[0] || got[1].Value != "mallory" || got[1].Until.IsZero() {
		t.Fatalf("b's blocks = %+v, want %+v (mallory with an expiry)", got, want)
	}
	if err := a.Unblock(ctx, KindIP, "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if err := a.Unblock(ctx, KindSubject, "mallory"); err != nil {
		t.Fatal(err)
	}
	if err := b.SyncBlocks(ctx); err != nil {
		t.Fatal(err)
	}
	if v := mustCheck(t, b, Request{Subject: "mallory", IP: "198.51.100.7", Rate: slow}); !v.Allowed() {
		t.Fatalf("after unblock and sync: %+v", v)
	}
	if n := c.HLen(ctx, a.blocksKey()).Val(); n != 0 {
		t.Fatalf("%d entries left in the shared block list", n)
	}
}

func TestBlockInvalid(t *testing.T) {
	l := NewRedis(nil, "unused")
	for _, b := range []Block{{Kind: "asn", Value: "1"}, {Kind: KindIP, Value: "not-an-ip"}, {Kind: KindSubject}} {
		if err := l.Block(context.Background(), b.Kind, b.Value, 0); !errors.Is(err, ErrInvalidBlock) {
			t.Fatalf("Block(%+v) = %v, want ErrInvalidBlock", b, err)
		}
	}
	if err := l.Revoke(context.Background(), "", "j", time.Time{}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("Revoke without subject = %v", err)
	}
}

// TestCheckDistinctCounter: a Member counter counts distinct members.
func TestCheckDistinctCounter(t *testing.T) {
	l, _ := newTestRedis(t)
	r := Rate{PerSecond: 1000, Burst: 1000}
	var v Verdict
	for i := range 30 {
		v = mustCheck(t, l, Request{Subject: "svc", Rate: r, Counters: []Counter{
			{Name: "targets", Window: time.Minute, Member: "user" + strconv.Itoa(i%10)},
			{Name: "reqs", Window: time.Minute},
		}})
	}
	if !slices.Equal(v.Counters, []int64{10, 30}) {
		t.Fatalf("counters = %v, want [10 distinct, 30 requests]", v.Counters)
	}
}

// TestCheckKeysShareHashTag: every key of one request is in one Cluster slot.
func TestCheckKeysShareHashTag(t *testing.T) {
	l := NewRedis(nil, "rg")
	req := Request{Subject: "we}ird{", JTI: "j", Rate: slow, Counters: []Counter{{Name: "a", Window: time.Second}}}
	keys, _ := l.checkArgs(req, req.Rate.params(time.Microsecond))
	for _, k := range append(keys, l.subjectBlockKey(req.Subject), l.revokedKey(req.Subject, "j")) {
		if got, want := hashTag(k), "sub:we"; got != want {
			t.Fatalf("key %q has tag %q, want %q", k, got, want)
		}
	}
	if keys[1] != l.subjectBlockKey(req.Subject) || keys[2] != l.revokedKey(req.Subject, "j") || keys[0] != l.Key(req.LimitKey()) {
		t.Fatalf("script keys %q differ from the writers' keys", keys)
	}
}

// hashTag is Redis Cluster's rule: the text between the first { and the
// first } after it, when not empty.
func hashTag(key string) string {
	_, rest, ok := strings.Cut(key, "{")
	if !ok {
		return key
	}
	tag, _, ok := strings.Cut(rest, "}")
	if !ok || tag == "" {
		return key
	}
	return tag
}

// TestCheckReplicasExact: three replicas with their own clients hammer one
// subject; together they let exactly one burst through.
func TestCheckReplicasExact(t *testing.T) {
	first, _ := newTestRedis(t)
	replicas := []*Redis{first, NewRedis(newRedisClient(t), first.prefix), NewRedis(newRedisClient(t), first.prefix)}
	req := Request{Subject: "shared", Rate: Rate{PerSecond: 0.001, Burst: 50}, Counters: []Counter{{Name: "n", Window: time.Minute}}}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for g := range 12 {
		l := replicas[g%len(replicas)]
		wg.Go(func() {
			for range 15 {
				v, err := l.Check(context.Background(), req)
				if err != nil {
					t.Errorf("Check: %v", err)
					return
				}
				if v.Allowed() {
					wins.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := wins.Load(); got != int64(req.Rate.Burst) {
		t.Fatalf("%d requests allowed across 3 replicas, want exactly %d", got, req.Rate.Burst)
	}
	n, err := first.client.Get(context.Background(), first.prefix+":ctr:{sub:shared}:n").Int64()
	if err != nil || n != int64(req.Rate.Burst) {
		t.Fatalf("counter = %d (%v), want one per allowed request, %d", n, err, req.Rate.Burst)
	}
}

// commandCalls reads INFO commandstats: calls per command.
func commandCalls(tb testing.TB, c *redis.Client) map[string]int64 {
	tb.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	calls := map[string]int64{}
	for line := range strings.Lines(info) {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		field, _, _ := strings.Cut(stats, ",")
		n, _ := strconv.ParseInt(strings.TrimPrefix(field, "calls="), 10, 64)
		calls[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return calls
}

// commandsSince returns the commands run since before, leaving out the
// INFO calls that measure them.
func commandsSince(tb testing.TB, c *redis.Client, before map[string]int64) map[string]int64 {
	tb.Helper()
	diff := map[string]int64{}
	for name, n := range commandCalls(tb, c) {
		if d := n - before[name]; d != 0 && name != "info" {
			diff[name] = d
		}
	}
	return diff
}

// scriptCommands are the commands checkScript calls; INFO commandstats
// counts them as well as the EVALSHA that ran them.
var scriptCommands = map[string]bool{"time": true, "pttl": true, "get": true, "set": true,
	"incr": true, "pexpire": true, "pexpireat": true, "pfadd": true, "pfcount": true}

// sentCommands counts what a client sends: commands and pipelines.
type sentCommands struct {
	mu   sync.Mutex
	sent []string
}

func (s *sentCommands) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *sentCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		s.mu.Lock()
		s.sent = append(s.sent, cmd.Name())
		s.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (s *sentCommands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		s.mu.Lock()
		s.sent = append(s.sent, "pipeline")
		s.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (s *sentCommands) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

// TestCheckOneRoundTrip counts commands on a Redis of the test's own, on the
// client side (one command sent per Check) and the server side (INFO
// commandstats: one EVALSHA per Check, everything else run by the script).
func TestCheckOneRoundTrip(t *testing.T) {
	own := startOwnRedis(t)
	client, err := NewRedisClient(own.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sent := &sentCommands{}
	client.AddHook(sent)
	stats := clientFor(t, own.URL)
	l := NewRedis(client, "rg")
	req := Request{Subject: "alice", IP: "192.0.2.1", JTI: "j1", Rate: Rate{PerSecond: 1e3, Burst: 1e3},
		Counters: []Counter{{Name: "a", Window: time.Minute}, {Name: "b", Window: time.Minute, Member: "m"}}}
	mustCheck(t, l, req) // loads the script and opens the connection
	before := commandCalls(t, stats)
	sent.take()
	const n = 25
	for range n {
		if v := mustCheck(t, l, req); !v.Allowed() {
			t.Fatalf("verdict %+v, want allowed", v)
		}
	}
	if got := sent.take(); len(got) != n || slices.IndexFunc(got, func(s string) bool { return s != "evalsha" }) >= 0 {
		t.Fatalf("client sent %v for %d Checks, want %d evalsha and nothing else", got, n, n)
	}
	got := commandsSince(t, stats, before)
	for name := range got {
		if name != "evalsha" && !scriptCommands[name] {
			t.Fatalf("server ran %q during Checks: %v", name, got)
		}
	}
	if got["evalsha"] != n || got["eval"] != 0 {
		t.Fatalf("server commands for %d Checks: %v, want %d evalsha", n, got, n)
	}
}

// TestOverLimitCacheSavesRoundTrips: after a denial, the key's requests are
// answered in process until its RetryAfter, then Redis is asked again.
func TestOverLimitCacheSavesRoundTrips(t *testing.T) {
	own := startOwnRedis(t)
	clock := newFakeClock()
	client := clientFor(t, own.URL)
	sent := &sentCommands{}
	client.AddHook(sent)
	l := NewRedis(client, "rg")
	l.denied = newOverLimit(clock.Now)
	stats := clientFor(t, own.URL)
	req := Request{Subject: "flood", Rate: Rate{PerSecond: 1, Burst: 2}}
	for range 2 {
		mustCheck(t, l, req)
	}
	denied := mustCheck(t, l, req)
	if denied.Allowed() || denied.Limit.RetryAfter <= 0 {
		t.Fatalf("third request: %+v, want a denial", denied)
	}
	before := commandCalls(t, stats)
	sent.take()
	for range 50 {
		v := mustCheck(t, l, req)
		if v.Allowed() || v.Limit.Limit != 2 || v.Limit.RetryAfter <= 0 || v.Limit.RetryAfter > denied.Limit.RetryAfter {
			t.Fatalf("cached denial %+v, want denied within %v", v, denied.Limit.RetryAfter)
		}
		if _, err := l.Allow(context.Background(), req.LimitKey(), req.Rate); err != nil {
			t.Fatal(err)
		}
	}
	if got := commandsSince(t, stats, before); len(got) != 0 {
		t.Fatalf("commands while the key is known over its limit: %v, want none", got)
	}
	if got := sent.take(); len(got) != 0 {
		t.Fatalf("client sent %v while the key is known over its limit", got)
	}
	clock.Advance(denied.Limit.RetryAfter)
	mustCheck(t, l, req)
	if got := commandsSince(t, stats, before); got["evalsha"] != 1 || got["eval"] != 0 {
		t.Fatalf("commands once RetryAfter passed: %v, want one evalsha", got)
	}
}

func clientFor(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { c.Close() })
	return c
}
