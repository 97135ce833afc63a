package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func newTestIPLimiter(r Rate, maxIPs int) (*IPLimiter, *fakeClock) {
	clock := newFakeClock()
	l := NewIPLimiterSize(r, maxIPs)
	l.now = clock.Now
	return l, clock
}

func TestIPLimiterBurstAndRefill(t *testing.T) {
	l, clock := newTestIPLimiter(Rate{PerSecond: 10, Burst: 3}, DefaultMaxIPs)
	for i := range 3 {
		res := l.Allow("192.0.2.1")
		if !res.Allowed || res.Limit != 3 || res.Remaining != 2-i {
			t.Fatalf("request %d: %+v, want allowed, limit 3, %d remaining", i, res, 2-i)
		}
	}
	res := l.Allow("192.0.2.1")
	if res.Allowed || res.RetryAfter != 100*time.Millisecond || res.ResetAfter != 300*time.Millisecond {
		t.Fatalf("over burst: %+v, want denied, retry 100ms, reset 300ms", res)
	}
	if !l.Allow("192.0.2.2").Allowed {
		t.Fatal("another address shares the budget")
	}
	clock.Advance(100 * time.Millisecond)
	if res := l.Allow("192.0.2.1"); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after one interval: %+v", res)
	}
}

func TestIPLimiterKeys(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1:443", "192.0.2.1", true},
		{"[2001:db8::1]:443", "2001:db8::2", true},
		{"fe80::1%eth0", "fe80::2", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"not-an-ip", "not-an-ip", true},
	}
	for _, tt := range tests {
		t.Run(tt.a+"~"+tt.b, func(t *testing.T) {
			l, _ := newTestIPLimiter(Rate{PerSecond: 1, Burst: 1}, DefaultMaxIPs)
			l.Allow(tt.a)
			if got := !l.Allow(tt.b).Allowed; got != tt.same {
				t.Fatalf("share a bucket = %v, want %v (keys %q, %q)", got, tt.same, ipKey(tt.a), ipKey(tt.b))
			}
		})
	}
}

func TestIPLimiterBounded(t *testing.T) {
	const maxIPs = 64
	l, clock := newTestIPLimiter(Rate{PerSecond: 1, Burst: 2}, maxIPs)
	for i := range 10_000 {
		l.Allow(fmt.Sprintf("10.%d.%d.1", i/256, i%256))
	}
	if got := l.Len(); got > maxIPs {
		t.Fatalf("Len = %d, want at most %d", got, maxIPs)
	}
	clock.Advance(sweepEvery + time.Second)
	l.Allow("192.0.2.1") // sweeps one shard
	for i := range ipShards {
		l.shards[i].mu.Lock()
		l.shards[i].sweep(clock.Now(), 2)
		l.shards[i].mu.Unlock()
	}
	if got := l.Len(); got != 1 {
		t.Fatalf("Len = %d after idle sweep, want 1", got)
	}
}

func TestIPLimiterInvalidRateUsesDefault(t *testing.T) {
	l, _ := newTestIPLimiter(Rate{}, DefaultMaxIPs)
	if res := l.Allow("192.0.2.1"); res.Limit != DefaultIPRate.Burst {
		t.Fatalf("Limit = %d, want the default %d", res.Limit, DefaultIPRate.Burst)
	}
}

func FuzzIPKey(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "[::1]:80", "fe80::1%eth0", "::ffff:1.2.3.4", "", "x"} {
		f.Add(s)
	}
	l := NewIPLimiter(Rate{PerSecond: 1, Burst: 1})
	f.Fuzz(func(t *testing.T, ip string) {
		key := ipKey(ip)
		if key != ipKey(ip) {
			t.Fatalf("ipKey(%q) not stable", ip)
		}
		if res := l.Allow(ip); res.Limit != 1 {
			t.Fatalf("Allow(%q) = %+v", ip, res)
		}
	})
}
