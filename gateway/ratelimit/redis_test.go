package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisBurstThenDenied(t *testing.T) {
	l, _ := newTestRedis(t)
	r := Rate{PerSecond: 0.01, Burst: 5} // 100s per request: no refill during the test
	for i := range 5 {
		res := mustAllow(t, l, "alice", r)
		if !res.Allowed || res.Limit != 5 || res.Remaining != 4-i || res.RetryAfter != 0 {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i, res, 4-i)
		}
	}
	res := mustAllow(t, l, "alice", r)
	if res.Allowed || res.Remaining != 0 || res.RetryAfter <= 0 || res.RetryAfter > 100*time.Second {
		t.Fatalf("over burst: %+v, want denied with 0 < RetryAfter <= 100s", res)
	}
	if res.ResetAfter <= 400*time.Second || res.ResetAfter > 500*time.Second {
		t.Fatalf("ResetAfter = %v, want in (400s, 500s]", res.ResetAfter)
	}
	if res := mustAllow(t, l, "bob", r); !res.Allowed || res.Remaining != 4 {
		t.Fatalf("bob shares alice's budget: %+v", res)
	}
}

// TestRedisReplicasShareBudget hammers one key from two clients, as two
// gateway replicas would: together they get exactly one burst.
func TestRedisReplicasShareBudget(t *testing.T) {
	first, _ := newTestRedis(t)
	replicas := []*Redis{first, NewRedis(newRedisClient(t), first.prefix)}
	r := Rate{PerSecond: 0.001, Burst: 50}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		l := replicas[g%len(replicas)]
		wg.Go(func() {
			for range 20 {
				res, err := l.Allow(context.Background(), "shared", r)
				if err != nil {
					t.Errorf("Allow: %v", err)
					return
				}
				if res.Allowed {
					wins.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := wins.Load(); got != int64(r.Burst) {
		t.Fatalf("%d requests allowed across replicas, want exactly %d", got, r.Burst)
	}
}

func TestRedisKeyTTL(t *testing.T) {
	l, c := newTestRedis(t)
	r := Rate{PerSecond: 1, Burst: 10}
	var res Result
	for range 3 {
		res = mustAllow(t, l, "ttl", r)
	}
	ttl, err := c.PTTL(context.Background(), l.Key("ttl")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > res.ResetAfter.Round(time.Millisecond)+time.Millisecond {
		t.Fatalf("PTTL = %v, want in (0, %v]", ttl, res.ResetAfter)
	}
}

func TestRedisKeyHashTag(t *testing.T) {
	l := NewRedis(nil, "rg")
	if got, want := l.Key("user:42"), "rg:rl:{user:42}"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}

// TestRedisScriptCacheFlushed checks the EVALSHA-then-EVAL path.
func TestRedisScriptCacheFlushed(t *testing.T) {
	l, c := newTestRedis(t)
	r := Rate{PerSecond: 0.01, Burst: 2}
	mustAllow(t, l, "k", r)
	if err := c.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if res := mustAllow(t, l, "k", r); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after SCRIPT FLUSH: %+v, want the second of two allowed", res)
	}
}

func TestRedisInvalidRate(t *testing.T) {
	l, _ := newTestRedis(t)
	if _, err := l.Allow(context.Background(), "k", Rate{PerSecond: 1}); !errors.Is(err, ErrInvalidRate) {
		t.Fatalf("err = %v, want ErrInvalidRate", err)
	}
}

// deadRedisClient points at a loopback port nobody listens on.
func deadRedisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{
		Addr:          "127.0.0.1:" + port,
		MaxRetries:    -1,
		DialerRetries: 1,
		DialTimeout:   time.Second,
	})
	tb.Cleanup(func() { c.Close() })
	return c
}

func TestRedisDownWrapsError(t *testing.T) {
	_, err := NewRedis(deadRedisClient(t), uniquePrefix(t)).Allow(context.Background(), "k", Rate{PerSecond: 1, Burst: 1})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want one wrapping ECONNREFUSED", err)
	}
}

func TestFallbackRedisDown(t *testing.T) {
	log := &changeLog{}
	f := NewFallback(NewRedis(deadRedisClient(t), uniquePrefix(t)), NewLocal(), 2, log.record)
	r := Rate{PerSecond: 0.01, Burst: 6}
	allowed := 0
	for range 10 {
		res, err := f.Allow(context.Background(), "k", r)
		if err != nil {
			t.Fatalf("Allow returned %v with Redis down", err)
		}
		if res.Allowed {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("%d allowed locally, want burst 6 ÷ 2 replicas = 3", allowed)
	}
	if got := log.get(); !f.Degraded() || !equalBools(got, []bool{true}) {
		t.Fatalf("degraded = %v, onChange calls %v; want true, [true]", f.Degraded(), got)
	}
}

func TestFallbackRedisUp(t *testing.T) {
	log := &changeLog{}
	primary, _ := newTestRedis(t)
	f := NewFallback(primary, NewLocal(), 2, log.record)
	r := Rate{PerSecond: 0.01, Burst: 6}
	allowed := 0
	for range 10 {
		if mustAllow(t, f, "k", r).Allowed {
			allowed++
		}
	}
	if allowed != 6 || f.Degraded() || len(log.get()) != 0 {
		t.Fatalf("allowed %d (want Redis's full burst 6), degraded %v, onChange %v", allowed, f.Degraded(), log.get())
	}
}

func BenchmarkRedis(b *testing.B) {
	l, _ := newTestRedis(b)
	r := Rate{PerSecond: 1e6, Burst: 1e6}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Allow(context.Background(), "bench", r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
