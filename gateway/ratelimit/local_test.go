package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustAllow(tb testing.TB, l Limiter, key string, r Rate) Result {
	tb.Helper()
	res, err := l.Allow(context.Background(), key, r)
	if err != nil {
		tb.Fatalf("Allow(%q): %v", key, err)
	}
	return res
}

func TestLocalBurstRefillAndKeys(t *testing.T) {
	clock := newFakeClock()
	l := newLocal(clock.Now)
	r := Rate{PerSecond: 2, Burst: 4}
	for i := range 4 {
		if res := mustAllow(t, l, "alice", r); !res.Allowed || res.Remaining != 3-i {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i, res, 3-i)
		}
	}
	res := mustAllow(t, l, "alice", r)
	if res.Allowed || res.RetryAfter != 500*time.Millisecond || res.ResetAfter != 2*time.Second {
		t.Fatalf("over burst: %+v, want denied, retry 500ms, reset 2s", res)
	}
	if res := mustAllow(t, l, "bob", r); !res.Allowed || res.Remaining != 3 {
		t.Fatalf("bob shares alice's budget: %+v", res)
	}
	clock.Advance(500 * time.Millisecond)
	if res := mustAllow(t, l, "alice", r); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after one interval: %+v, want one allowed, 0 remaining", res)
	}
	if res := mustAllow(t, l, "alice", r); res.Allowed {
		t.Fatalf("second request after one interval allowed: %+v", res)
	}
}

func TestLocalInvalidRate(t *testing.T) {
	_, err := NewLocal().Allow(context.Background(), "k", Rate{PerSecond: 0, Burst: 5})
	if !errors.Is(err, ErrInvalidRate) {
		t.Fatalf("err = %v, want ErrInvalidRate", err)
	}
}

// TestLocalConcurrentExactBurst checks that the shard locks make the burst
// exact: at a frozen clock no refill happens, so exactly Burst requests win.
func TestLocalConcurrentExactBurst(t *testing.T) {
	clock := newFakeClock()
	l := newLocal(clock.Now)
	r := Rate{PerSecond: 1, Burst: 100}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 25 {
				if mustAllow(t, l, "shared", r).Allowed {
					wins.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := wins.Load(); got != int64(r.Burst) {
		t.Fatalf("%d requests allowed, want exactly %d", got, r.Burst)
	}
}

func TestLocalEvictsFullBuckets(t *testing.T) {
	clock := newFakeClock()
	l := newLocal(clock.Now)
	r := Rate{PerSecond: 1, Burst: 5}
	for i := range 1000 {
		mustAllow(t, l, fmt.Sprintf("old-%d", i), r)
	}
	if l.Len() != 1000 {
		t.Fatalf("Len = %d, want 1000", l.Len())
	}
	clock.Advance(sweepEvery + time.Second)
	// New keys touch every shard, and each shard sweeps its refilled buckets.
	for i := range 1000 {
		mustAllow(t, l, fmt.Sprintf("new-%d", i), r)
	}
	if got := l.Len(); got != 1000 {
		t.Fatalf("Len = %d after sweep, want 1000 (old keys dropped)", got)
	}
	// A key still inside its window survives a sweep and keeps its count.
	hot := Rate{PerSecond: 0.001, Burst: 2}
	mustAllow(t, l, "hot", hot)
	clock.Advance(sweepEvery + time.Second)
	mustAllow(t, l, "hot", hot)
	if res := mustAllow(t, l, "hot", hot); res.Allowed {
		t.Fatalf("hot key was forgotten by the sweep: %+v", res)
	}
}

func BenchmarkLocal(b *testing.B) {
	l := NewLocal()
	r := Rate{PerSecond: 1e6, Burst: 1e6}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := l.Allow(context.Background(), keys[i%len(keys)], r); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
