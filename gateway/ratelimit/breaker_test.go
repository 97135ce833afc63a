package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// switchChecker is a primary Checker that fails with err while it is set.
type switchChecker struct {
	switchLimiter
	err atomic.Pointer[error]
}

func (s *switchChecker) fail(err error) { s.err.Store(&err) }
func (s *switchChecker) heal()          { s.err.Store(nil) }

func (s *switchChecker) Check(_ context.Context, req Request) (Verdict, error) {
	s.calls.Add(1)
	if e := s.err.Load(); e != nil {
		return Verdict{}, *e
	}
	return Verdict{Limit: Result{Allowed: true, Limit: req.Rate.Burst, Remaining: 12345}}, nil
}

func newTestCheckFallback(o FallbackOptions) (*Fallback, *switchChecker, *fakeClock, *changeLog) {
	clock := newFakeClock()
	log := &changeLog{}
	o.OnChange = log.record
	primary := &switchChecker{}
	f := NewFallbackWith(primary, newMemory(nil, clock.Now), o)
	f.breaker.now = clock.Now
	return f, primary, clock, log
}

func TestBreakerOpens(t *testing.T) {
	timeout := fmt.Errorf("redis check: %w", os.ErrDeadlineExceeded)
	cases := []struct {
		name      string
		err       error
		failures  int
		wantCalls int64 // primary calls before it is left alone
	}{
		{"refused, default threshold", errDown, 0, DefaultBreakerFailures},
		{"refused, threshold 5", errDown, 5, 5},
		{"socket timeout opens at once", timeout, 5, 1},
		{"context deadline opens at once", context.DeadlineExceeded, 5, 1},
		{"pool timeout opens at once", redis.ErrPoolTimeout, 5, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, primary, _, log := newTestCheckFallback(FallbackOptions{Failures: tc.failures})
			primary.fail(tc.err)
			for range 10 {
				v := mustCheck(t, f, Request{Subject: "s", Rate: slow})
				if !v.Degraded || primary.calls.Load() > tc.wantCalls {
					t.Fatalf("verdict %+v after %d primary calls", v, primary.calls.Load())
				}
			}
			if got := primary.calls.Load(); got != tc.wantCalls || !equalBools(log.get(), []bool{true}) {
				t.Fatalf("primary called %d times (want %d), onChange %v", got, tc.wantCalls, log.get())
			}
		})
	}
}

func TestBreakerSuccessResetsCount(t *testing.T) {
	f, primary, _, _ := newTestCheckFallback(FallbackOptions{Failures: 2})
	req := Request{Subject: "s", Rate: Rate{PerSecond: 1e6, Burst: 1e6}}
	for range 5 {
		primary.fail(errDown)
		mustCheck(t, f, req)
		primary.heal()
		mustCheck(t, f, req)
	}
	if f.Degraded() {
		t.Fatal("failures between successes are not consecutive, yet the breaker opened")
	}
}

// TestBreakerIgnoresStaleFailure: a call admitted before a probe closed the
// breaker must not open it again when it fails late.
func TestBreakerIgnoresStaleFailure(t *testing.T) {
	f, primary, clock, log := newTestCheckFallback(FallbackOptions{Failures: 1})
	late, _ := f.breaker.admit() // set out while closed
	primary.fail(errDown)
	mustCheck(t, f, Request{Subject: "s", Rate: slow}) // opens
	primary.heal()
	clock.Advance(probeEvery)
	if v := mustCheck(t, f, Request{Subject: "s", Rate: slow}); v.Degraded {
		t.Fatalf("probe did not close: %+v", v)
	}
	f.breaker.failed(late, errDown)
	if f.Degraded() || !equalBools(log.get(), []bool{true, false}) {
		t.Fatalf("a stale failure reopened the breaker: onChange %v", log.get())
	}
}

func TestFallbackFailClosed(t *testing.T) {
	f, primary, _, _ := newTestCheckFallback(FallbackOptions{Failures: 1, FailClosed: true})
	primary.fail(errDown)
	f.localCheck.(*Memory).DenyList().Block(KindSubject, "mallory", time.Time{})
	v := mustCheck(t, f, Request{Subject: "alice", Rate: slow, Counters: []Counter{{Name: "n", Window: time.Second}}})
	if v.Allowed() || !v.Degraded || v.Limit.RetryAfter < time.Second || v.Counters != nil {
		t.Fatalf("fail-closed verdict %+v, want denied, degraded, retry after >= 1s", v)
	}
	if v := mustCheck(t, f, Request{Subject: "mallory", Rate: slow}); v.Blocked != BlockedSubject {
		t.Fatalf("fail-closed verdict for a blocked subject %+v, want the block reported", v)
	}
	if res := mustAllow(t, f, "k", slow); res.Allowed || res.RetryAfter < time.Second {
		t.Fatalf("fail-closed Allow %+v, want denied", res)
	}
}

func TestFallbackCheckDividesRate(t *testing.T) {
	f, primary, _, _ := newTestCheckFallback(FallbackOptions{Failures: 1, Replicas: 4})
	primary.fail(errDown)
	allowed := 0
	for range 20 {
		if mustCheck(t, f, Request{Subject: "s", Rate: Rate{PerSecond: 0.001, Burst: 8}}).Allowed() {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d allowed locally, want burst 8 ÷ 4 replicas = 2", allowed)
	}
}

func TestFallbackCheckNeedsCheckers(t *testing.T) {
	f := NewFallback(&switchLimiter{}, NewLocal(), 1, nil)
	if _, err := f.Check(context.Background(), Request{Subject: "s", Rate: slow}); !errors.Is(err, ErrNotChecker) {
		t.Fatalf("err = %v, want ErrNotChecker", err)
	}
}
