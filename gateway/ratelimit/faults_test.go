package ratelimit

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitTimeout bounds waiting for an eventual state change; it fails a test
// only when the change never comes, so it is no timing assertion.
const waitTimeout = 15 * time.Second

// loadResult is what a background load saw.
type loadResult struct {
	errors, healthy, degraded atomic.Int64
}

// runLoad keeps 4 goroutines calling Check until stop is closed.
func runLoad(f *Fallback, req Request, stop <-chan struct{}) (*loadResult, *sync.WaitGroup) {
	res := &loadResult{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := f.Check(context.Background(), req)
				switch {
				case err != nil:
					res.errors.Add(1)
				case v.Degraded:
					res.degraded.Add(1)
				default:
					res.healthy.Add(1)
				}
			}
		})
	}
	return res, &wg
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFallbackUnderFaults breaks a real Redis in the middle of load: the
// Fallback keeps answering, reports degraded once, and recovers by itself.
func TestFallbackUnderFaults(t *testing.T) {
	cases := []struct {
		name  string
		proxy bool
		fault func(tb testing.TB, own *ownRedis, p *slowProxy) (restore func())
	}{
		{"stopped", false, func(tb testing.TB, own *ownRedis, _ *slowProxy) func() {
			own.Stop()
			return own.Start
		}},
		{"paused all", false, func(tb testing.TB, own *ownRedis, _ *slowProxy) func() {
			pause(tb, own, "ALL")
			return func() {}
		}},
		{"paused writes", false, func(tb testing.TB, own *ownRedis, _ *slowProxy) func() {
			pause(tb, own, "WRITE")
			return func() {}
		}},
		{"slowed", true, func(tb testing.TB, _ *ownRedis, p *slowProxy) func() {
			p.SetDelay(200 * time.Millisecond)
			return func() { p.SetDelay(0) }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			own := startOwnRedis(t)
			u := own.URL
			var proxy *slowProxy
			if tc.proxy {
				proxy = startSlowProxy(t, hostOf(t, own.URL))
				u = proxy.URL()
			}
			f, changes := newRealFallback(t, u)
			req := Request{Subject: "load", Rate: Rate{PerSecond: 1e6, Burst: 1e6}, Counters: []Counter{{Name: "n", Window: time.Minute}}}
			stop := make(chan struct{})
			load, wg := runLoad(f, req, stop)
			defer func() { close(stop); wg.Wait() }()

			waitFor(t, "healthy answers", func() bool { return load.healthy.Load() > 20 })
			restore := tc.fault(t, own, proxy)
			waitFor(t, "degraded", f.Degraded)
			seen := load.degraded.Load()
			waitFor(t, "answers while degraded", func() bool { return load.degraded.Load() > seen+20 })
			restore()
			waitFor(t, "recovery", func() bool { return !f.Degraded() })
			healthy := load.healthy.Load()
			waitFor(t, "healthy answers after recovery", func() bool { return load.healthy.Load() > healthy+20 })
			close(stop)
			wg.Wait()
			stop = make(chan struct{})
			if n := load.errors.Load(); n != 0 {
				t.Fatalf("%d Check errors; the Fallback must always answer", n)
			}
			if got := changes.get(); !equalBools(got, []bool{true, false}) {
				t.Fatalf("onChange calls %v, want [true false]: degraded reported once, recovered once", got)
			}
		})
	}
}

func newRealFallback(tb testing.TB, redisURL string) (*Fallback, *changeLog) {
	tb.Helper()
	client, err := NewRedisClient(redisURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	primary := NewRedis(client, "rg")
	changes := &changeLog{}
	f := NewFallbackWith(primary, NewMemory(primary.DenyList()), FallbackOptions{
		Replicas: 3, OnChange: changes.record, ProbeEvery: 200 * time.Millisecond, // quicker recovery, same states
	})
	return f, changes
}

// pause runs CLIENT PAUSE 500 mode from a connection of its own.
func pause(tb testing.TB, own *ownRedis, mode string) {
	tb.Helper()
	if err := clientFor(tb, own.URL).Do(context.Background(), "CLIENT", "PAUSE", 500, mode).Err(); err != nil {
		tb.Fatal(err)
	}
}

func hostOf(tb testing.TB, redisURL string) string {
	tb.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Host
}

// TestFallbackReplicasDegradedStayWithinBudget: three replicas cut off from
// Redis each allow a third, so together no more than the budget.
func TestFallbackReplicasDegradedStayWithinBudget(t *testing.T) {
	r := Rate{PerSecond: 0.001, Burst: 30}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		f := NewFallbackWith(NewRedis(deadRedisClient(t), "rg"), NewMemory(nil), FallbackOptions{Replicas: 3})
		for range 4 {
			wg.Go(func() {
				for range 20 {
					v, err := f.Check(context.Background(), Request{Subject: "s", Rate: r})
					if err != nil || !v.Degraded {
						t.Errorf("Check = %+v, %v; want a degraded answer", v, err)
						return
					}
					if v.Allowed() {
						wins.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	if got := wins.Load(); got != int64(r.Burst) {
		t.Fatalf("%d allowed by 3 degraded replicas, want %d (3 × burst÷3)", got, r.Burst)
	}
}
