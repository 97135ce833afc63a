package anomaly

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

func TestEWMATracksMeanAndVariance(t *testing.T) {
	var e EWMA
	for range 2000 {
		e.Update(7, 0.05)
	}
	if e.Mean() != 7 || e.Std() != 0 || e.Samples() != 2000 {
		t.Fatalf("constant series: mean %g std %g n %d", e.Mean(), e.Std(), e.Samples())
	}
	var alt EWMA // 0, 10, 0, 10...: mean 5, std 5 (up to the weighting's small bias)
	for i := range 4000 {
		alt.Update(float64(10*(i%2)), 0.01)
	}
	if math.Abs(alt.Mean()-5) > 0.1 || math.Abs(alt.Std()-5) > 0.1 {
		t.Errorf("alternating series: mean %g std %g, want 5, 5", alt.Mean(), alt.Std())
	}
}

// runSeries judges gen's first n samples as a request rate and returns the
// first anomalous bucket (-1: none).
func runSeries(cfg BaselineConfig, n int, gen func(i int) float64) int {
	cfg = cfg.withDefaults()
	var e EWMA
	for i := range n {
		if r := cfg.judge(&e, "rate", gen(i), rateFloor(&e), true); r.Anomalous {
			return i
		}
	}
	return -1
}

// noisy is a stationary series around mean, spread std, seeded.
func noisy(seed uint64, mean, std float64) func(int) float64 {
	rng := rand.New(rand.NewPCG(seed, seed))
	return func(int) float64 { return max(0, mean+std*rng.NormFloat64()) }
}

// stepAt is base until bucket at, then base+by.
func stepAt(base func(int) float64, at int, by float64) func(int) float64 {
	return func(i int) float64 {
		x := base(i)
		if i >= at {
			x += by
		}
		return x
	}
}

func TestBaselineJudge(t *testing.T) {
	cfg := BaselineConfig{} // warm-up 60, z 6, alpha 0.05
	flat := func(int) float64 { return 100 }
	cases := []struct {
		name       string
		n          int
		gen        func(int) float64
		from, upTo int // the first alarm's bucket within [from, upTo]; -1: none
	}{
		{"flat series never alarms", 5000, flat, -1, -1},
		{"flat series, small wobble, zero variance floored", 2000, stepAt(flat, 500, 15), -1, -1},
		{"flat series, step of 10 floor sigmas", 2000, stepAt(flat, 500, 100), 500, 500},
		{"Poisson-like noise", 20000, noisy(1, 100, 10), -1, -1},
		{"overdispersed noise", 20000, noisy(2, 100, 25), -1, -1},
		{"low-rate noise", 20000, noisy(3, 2, 1.5), -1, -1},
		{"noise, step of 10 sigma", 2000, stepAt(noisy(4, 100, 25), 1000, 250), 1000, 1003},
		{"noise, step of 8 sigma", 2000, stepAt(noisy(5, 100, 10), 1000, 80), 1000, 1003},
		{"step inside the warm-up", 2000, stepAt(noisy(6, 100, 10), 10, 900), -1, -1},
		{"step right after the warm-up", 2000, stepAt(noisy(7, 100, 10), 60, 100), 60, 62},
		{"idle route's first burst", 2000, stepAt(func(int) float64 { return 0 }, 500, 60), 500, 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := runSeries(cfg, tc.n, tc.gen)
			if got < tc.from || got > tc.upTo {
				t.Fatalf("first alarm at bucket %d, want within [%d, %d] (-1: none)", got, tc.from, tc.upTo)
			}
		})
	}
}

// A flood does not become its own baseline within a few buckets (an EWMA
// variance fed the step would absorb it), but a lasting step becomes normal.
func TestBaselineSurgeStaysAnomalousThenAdapts(t *testing.T) {
	cfg := BaselineConfig{}.withDefaults()
	var e EWMA
	gen := stepAt(noisy(8, 100, 10), 100, 200)
	var anomalous, last int
	for i := range 3000 {
		if r := cfg.judge(&e, "rate", gen(i), rateFloor(&e), true); r.Anomalous {
			anomalous, last = anomalous+1, i
		}
	}
	if anomalous < 60 || last > 1500 {
		t.Errorf("a 20-sigma step was anomalous for %d buckets, the last at %d: want a minute at least, and adapted within 1,400 buckets", anomalous, last)
	}
}

func TestBaselineUnjudgedOnlyLearns(t *testing.T) {
	cfg := BaselineConfig{}.withDefaults()
	var e EWMA
	for range 100 {
		cfg.judge(&e, "rate", 1, minRateStd, true)
	}
	if r := cfg.judge(&e, "rate", 1000, minRateStd, false); r.Anomalous || r.Z < 900 {
		t.Errorf("unjudged reading: %+v, want scored but not anomalous", r)
	}
}

func TestIsError(t *testing.T) {
	for status, want := range map[int]bool{200: false, 204: false, 302: false, 400: true, 401: false,
		403: false, 404: false, 405: true, 413: true, 429: false, 431: true, 500: true, 502: true, 503: true} {
		if got := isError(status); got != want {
			t.Errorf("isError(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestBaselineConfigValidate(t *testing.T) {
	if err := (BaselineConfig{Alpha: 1.5}).Validate(); err == nil {
		t.Error("alpha 1.5 accepted")
	}
	if _, err := NewDoS(DoSConfig{Baseline: BaselineConfig{Alpha: -1}}); err == nil {
		t.Error("NewDoS took a negative alpha")
	}
}

// The gateway's per-request cost of the route baselines, and of the whole
// flood detector on an anonymous request (both calls). Run:
//
//	go test -run '^$' -bench 'ObserveHit|ObserveRoute' -benchmem ./anomaly/
func BenchmarkObserveRoute(b *testing.B) {
	d := newTestDoS(b, DoSConfig{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.ObserveRoute(Hit{Time: t0.Add(time.Duration(i) * 5 * time.Millisecond), IP: testIP, Status: 200,
			Route: "GET /recommend/{userid}", Latency: 3 * time.Millisecond})
		i++
	}
}

func BenchmarkObserveHitAndRoute(b *testing.B) {
	d := newTestDoS(b, DoSConfig{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h := Hit{Time: t0.Add(time.Duration(i) * 50 * time.Millisecond), IP: testIP, Status: 200,
			Route: "GET /healthz", Latency: time.Millisecond}
		d.ObserveRoute(h)
		d.Observe(h)
		i++
	}
}

func BenchmarkObserveRouteParallel(b *testing.B) {
	d := newTestDoS(b, DoSConfig{})
	var clock atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d.ObserveRoute(Hit{Time: t0.Add(time.Duration(clock.Add(1)) * 100 * time.Microsecond), Status: 200,
				Route: "GET /recommend/{userid}", Latency: 3 * time.Millisecond})
		}
	})
}
