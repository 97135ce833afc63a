package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

var errDown = errors.New("connection refused")

// switchLimiter is a primary that fails while down is set and counts calls.
type switchLimiter struct {
	down  atomic.Bool
	calls atomic.Int64
}

func (s *switchLimiter) Allow(_ context.Context, _ string, r Rate) (Result, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return Result{}, errDown
	}
	return Result{Allowed: true, Limit: r.Burst, Remaining: 12345}, nil
}

// changeLog records onChange calls.
type changeLog struct {
	mu    sync.Mutex
	calls []bool
}

func (c *changeLog) record(degraded bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, degraded)
}

func (c *changeLog) get() []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bool(nil), c.calls...)
}

func newTestFallback(primary Limiter, divisor int) (*Fallback, *fakeClock, *changeLog) {
	clock := newFakeClock()
	log := &changeLog{}
	f := NewFallbackWith(primary, newLocal(clock.Now), FallbackOptions{Replicas: divisor, Failures: 1, OnChange: log.record})
	f.breaker.now = clock.Now
	return f, clock, log
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFallbackTransitions(t *testing.T) {
	primary := &switchLimiter{}
	f, clock, log := newTestFallback(primary, 2)
	r := Rate{PerSecond: 0.001, Burst: 10}

	if res := mustAllow(t, f, "k", r); res.Remaining != 12345 || f.Degraded() {
		t.Fatalf("healthy primary not used: %+v degraded=%v", res, f.Degraded())
	}
	primary.down.Store(true)
	allowedLocally := 0
	for range 20 {
		if mustAllow(t, f, "k", r).Allowed {
			allowedLocally++
		}
	}
	// The failing call plus no probe within the same instant.
	if got := primary.calls.Load(); got != 2 {
		t.Fatalf("primary called %d times while degraded at a frozen clock, want 2", got)
	}
	if allowedLocally != r.Divide(2).Burst {
		t.Fatalf("%d allowed locally, want the divided burst %d", allowedLocally, r.Divide(2).Burst)
	}
	clock.Advance(probeEvery)
	mustAllow(t, f, "k", r)
	mustAllow(t, f, "k", r)
	if got := primary.calls.Load(); got != 3 {
		t.Fatalf("primary called %d times after one probe interval, want 3", got)
	}
	primary.down.Store(false)
	mustAllow(t, f, "k", r) // no probe due yet: still local
	if !f.Degraded() {
		t.Fatal("recovered before a probe was due")
	}
	clock.Advance(probeEvery)
	if res := mustAllow(t, f, "k", r); res.Remaining != 12345 || f.Degraded() {
		t.Fatalf("probe did not recover: %+v degraded=%v", res, f.Degraded())
	}
	if got, want := log.get(), []bool{true, false}; !equalBools(got, want) {
		t.Fatalf("onChange calls = %v, want %v", got, want)
	}
}

func TestFallbackConcurrentFailureReportedOnce(t *testing.T) {
	primary := &switchLimiter{}
	primary.down.Store(true)
	f, _, log := newTestFallback(primary, 3)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 20 {
				if _, err := f.Allow(context.Background(), "k", Rate{PerSecond: 30, Burst: 30}); err != nil {
					t.Errorf("Allow returned %v while primary down", err)
				}
			}
		})
	}
	wg.Wait()
	if got, want := log.get(), []bool{true}; !equalBools(got, want) {
		t.Fatalf("onChange calls = %v, want %v", got, want)
	}
}

func TestFallbackCallerCancelIsNotAnOutage(t *testing.T) {
	primary := &switchLimiter{}
	primary.down.Store(true)
	f, _, log := newTestFallback(primary, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := f.Allow(ctx, "k", Rate{PerSecond: 1, Burst: 1})
	if err != nil || !res.Allowed {
		t.Fatalf("Allow = %+v, %v; want a local answer", res, err)
	}
	if f.Degraded() || len(log.get()) != 0 {
		t.Fatalf("a cancelled caller marked the primary degraded")
	}
}

func TestFallbackInvalidRate(t *testing.T) {
	primary := &switchLimiter{}
	f, _, _ := newTestFallback(primary, 1)
	if _, err := f.Allow(context.Background(), "k", Rate{}); !errors.Is(err, ErrInvalidRate) {
		t.Fatalf("err = %v, want ErrInvalidRate", err)
	}
	if primary.calls.Load() != 0 || f.Degraded() {
		t.Fatal("an invalid rate reached the primary or degraded the limiter")
	}
}

func TestFallbackNilOnChange(t *testing.T) {
	primary := &switchLimiter{}
	primary.down.Store(true)
	f := NewFallback(primary, NewLocal(), 0, nil)
	for i := range DefaultBreakerFailures {
		if res := mustAllow(t, f, "k", Rate{PerSecond: 1, Burst: 1}); res.Allowed != (i == 0) {
			t.Fatalf("call %d: Allow = %+v, want only the first allowed locally", i, res)
		}
	}
	if !f.Degraded() {
		t.Fatalf("not degraded after %d failures", DefaultBreakerFailures)
	}
}

// deadlineLimiter fails and records whether each call carried a deadline.
type deadlineLimiter struct{ deadlines []bool }

func (d *deadlineLimiter) Allow(ctx context.Context, _ string, _ Rate) (Result, error) {
	_, ok := ctx.Deadline()
	d.deadlines = append(d.deadlines, ok)
	return Result{}, errDown
}

func TestFallbackProbeIsBounded(t *testing.T) {
	primary := &deadlineLimiter{}
	f, clock, _ := newTestFallback(primary, 1)
	r := Rate{PerSecond: 1, Burst: 1}
	mustAllow(t, f, "k", r)
	clock.Advance(probeEvery)
	mustAllow(t, f, "k", r)
	if want := []bool{false, true}; !equalBools(primary.deadlines, want) {
		t.Fatalf("deadlines = %v, want %v (only the probe bounded)", primary.deadlines, want)
	}
}
