package ratelimit

import (
	"errors"
	"math"
	"testing"
	"time"
)

// step is one request at an offset from the start of a gcra sequence.
type step struct {
	at   time.Duration
	want Result
}

func allowed(remaining int, reset time.Duration, limit int) Result {
	return Result{Allowed: true, Limit: limit, Remaining: remaining, ResetAfter: reset}
}

func denied(reset, retry time.Duration, limit int) Result {
	return Result{Limit: limit, ResetAfter: reset, RetryAfter: retry}
}

func TestGCRA(t *testing.T) {
	const ms = time.Millisecond
	third := time.Duration(333333333) // 1/3 s at nanosecond resolution
	tests := []struct {
		name  string
		rate  Rate
		steps []step
	}{
		{"burst then refill", Rate{PerSecond: 1, Burst: 3}, []step{
			{0, allowed(2, 1*time.Second, 3)},
			{0, allowed(1, 2*time.Second, 3)},
			{0, allowed(0, 3*time.Second, 3)},
			{0, denied(3*time.Second, 1*time.Second, 3)},
			{500 * ms, denied(2500*ms, 500*ms, 3)},
			{time.Second, allowed(0, 3*time.Second, 3)},
			{3 * time.Second, allowed(1, 2*time.Second, 3)},
			{10 * time.Second, allowed(2, 1*time.Second, 3)},
		}},
		{"burst of one", Rate{PerSecond: 10, Burst: 1}, []step{
			{0, allowed(0, 100*ms, 1)},
			{50 * ms, denied(50*ms, 50*ms, 1)},
			{100 * ms, allowed(0, 100*ms, 1)},
		}},
		{"fractional interval", Rate{PerSecond: 3, Burst: 2}, []step{
			{0, allowed(1, third, 2)},
			{0, allowed(0, 2*third, 2)},
			{0, denied(2*third, third, 2)},
			{third, allowed(0, 2*third, 2)},
		}},
		{"slow rate", Rate{PerSecond: 0.5, Burst: 2}, []step{
			{0, allowed(1, 2*time.Second, 2)},
			{0, allowed(0, 4*time.Second, 2)},
			{time.Second, denied(3*time.Second, time.Second, 2)},
			{2 * time.Second, allowed(0, 4*time.Second, 2)},
		}},
	}
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tat time.Time
			for i, s := range tt.steps {
				var got Result
				tat, got = gcra(tat, start.Add(s.at), tt.rate)
				if got != s.want {
					t.Fatalf("step %d at +%v: got %+v, want %+v", i, s.at, got, s.want)
				}
			}
		})
	}
}

func TestGCRADeniedKeepsTAT(t *testing.T) {
	now := time.Unix(1000, 0)
	tat := now.Add(5 * time.Second)
	got, res := gcra(tat, now, Rate{PerSecond: 1, Burst: 5})
	if res.Allowed || !got.Equal(tat) {
		t.Fatalf("denied request moved TAT to %v (allowed=%v), want %v", got, res.Allowed, tat)
	}
}

func TestRateParamsExtremes(t *testing.T) {
	tests := []struct {
		name                  string
		rate                  Rate
		resolution            time.Duration
		wantInterval, wantTol time.Duration
	}{
		{"tiny rate caps interval", Rate{PerSecond: 1e-30, Burst: 3}, time.Nanosecond, maxWindow, maxWindow},
		{"huge burst caps tolerance", Rate{PerSecond: 1, Burst: math.MaxInt}, time.Nanosecond, time.Second, maxWindow},
		{"huge rate floors interval", Rate{PerSecond: 1e15, Burst: 2}, time.Nanosecond, time.Nanosecond, 2 * time.Nanosecond},
		{"microsecond rounding", Rate{PerSecond: 3, Burst: 3}, time.Microsecond, 333333 * time.Microsecond, 999999 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.rate.params(tt.resolution)
			if p.interval != tt.wantInterval || p.tolerance != tt.wantTol {
				t.Fatalf("params = %v/%v, want %v/%v", p.interval, p.tolerance, tt.wantInterval, tt.wantTol)
			}
			// The first request of a fresh key is always allowed.
			if _, res := p.apply(time.Time{}, time.Unix(1, 0)); !res.Allowed {
				t.Fatalf("first request denied: %+v", res)
			}
		})
	}
}

func TestRateValidate(t *testing.T) {
	tests := []struct {
		rate Rate
		ok   bool
	}{
		{Rate{PerSecond: 5, Burst: 10}, true},
		{Rate{PerSecond: 0.001, Burst: 1}, true},
		{Rate{}, false},
		{Rate{PerSecond: -1, Burst: 10}, false},
		{Rate{PerSecond: math.NaN(), Burst: 10}, false},
		{Rate{PerSecond: math.Inf(1), Burst: 10}, false},
		{Rate{PerSecond: 5, Burst: 0}, false},
	}
	for _, tt := range tests {
		err := tt.rate.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidRate)) {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.rate, err, tt.ok)
		}
	}
}

func TestRateDivide(t *testing.T) {
	tests := []struct {
		rate Rate
		n    int
		want Rate
	}{
		{Rate{PerSecond: 5, Burst: 10}, 1, Rate{PerSecond: 5, Burst: 10}},
		{Rate{PerSecond: 5, Burst: 10}, 0, Rate{PerSecond: 5, Burst: 10}},
		{Rate{PerSecond: 5, Burst: 10}, 2, Rate{PerSecond: 2.5, Burst: 5}},
		{Rate{PerSecond: 5, Burst: 10}, 20, Rate{PerSecond: 0.25, Burst: 1}},
	}
	for _, tt := range tests {
		if got := tt.rate.Divide(tt.n); got != tt.want {
			t.Errorf("%+v.Divide(%d) = %+v, want %+v", tt.rate, tt.n, got, tt.want)
		}
	}
}
