package anomaly

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// bucketTraffic describes one second of a route's traffic.
type bucketTraffic struct {
	hits    int
	errs    int           // how many of them answer 500
	latency time.Duration // each hit's latency
}

// driveRoute feeds route traffic second by second from t0, one bucket per
// element of gen's answers, and returns the route alerts with the bucket
// whose close raised them.
func driveRoute(tb testing.TB, d *DoS, seconds int, gen func(sec int) bucketTraffic) (alerts []*Alert, at []int) {
	tb.Helper()
	observe := func(sec int, h Hit) {
		dec := d.ObserveRoute(h)
		if dec.Action != ActionNone || dec.Block != nil {
			tb.Fatalf("route decision acts: %+v", dec)
		}
		if dec.Alert != nil {
			alerts, at = append(alerts, dec.Alert), append(at, sec-1)
		}
	}
	for sec := range seconds {
		b := gen(sec)
		for i := range b.hits {
			status := 200
			if i < b.errs {
				status = 500
			}
			observe(sec, Hit{Time: t0.Add(time.Duration(sec)*time.Second + time.Duration(i)*time.Second/time.Duration(b.hits)),
				IP: netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), Status: status, Route: testRoute, Latency: b.latency})
		}
	}
	observe(seconds, Hit{Time: t0.Add(time.Duration(seconds) * time.Second), Status: 200, Route: testRoute}) // closes the last bucket
	return alerts, at
}

const testRoute = "GET /recommend/{userid}"

// steadyRoute is noisy, stationary traffic: ~rate requests a second, ~1%
// errors, ~ms latency, seeded.
func steadyRoute(seed uint64, rate int, ms float64) func(int) bucketTraffic {
	rng := rand.New(rand.NewPCG(seed, 7))
	return func(int) bucketTraffic {
		n := max(1, rate+int(rng.NormFloat64()*float64(rate)/8))
		lat := max(0.1, ms+rng.NormFloat64()*ms/6)
		return bucketTraffic{hits: n, errs: rng.IntN(max(2, n/50)), latency: time.Duration(lat * float64(time.Millisecond))}
	}
}

// after switches gen to surge from second at on.
func after(gen func(int) bucketTraffic, at int, surge func(bucketTraffic) bucketTraffic) func(int) bucketTraffic {
	return func(sec int) bucketTraffic {
		b := gen(sec)
		if sec >= at {
			b = surge(b)
		}
		return b
	}
}

func TestDoSRouteBaseline(t *testing.T) {
	cases := []struct {
		name     string
		seconds  int
		gen      func(int) bucketTraffic
		series   string // the alert's; "": no alert
		from, to int    // the bucket that raises it
	}{
		{"steady noisy traffic", 1200, steadyRoute(1, 200, 20), "", 0, 0},
		{"steady light traffic", 1200, steadyRoute(2, 5, 3), "", 0, 0},
		{"distributed flood", 300, after(steadyRoute(3, 100, 20), 120, func(b bucketTraffic) bucketTraffic {
			b.hits *= 5
			return b
		}), "rate", 120, 121},
		{"upstream slowdown", 300, after(steadyRoute(4, 100, 20), 150, func(b bucketTraffic) bucketTraffic {
			b.latency *= 8
			return b
		}), "latency_ms", 150, 151},
		{"errors surge", 300, after(steadyRoute(5, 100, 20), 150, func(b bucketTraffic) bucketTraffic {
			b.errs = b.hits / 2
			return b
		}), "error_rate", 150, 151},
		{"surge during warm-up", 300, after(steadyRoute(6, 100, 20), 20, func(b bucketTraffic) bucketTraffic {
			if b.hits < 400 {
				b.hits, b.latency, b.errs = b.hits*5, b.latency*8, b.hits/2
			}
			return b
		}), "", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDoS(t, DoSConfig{})
			alerts, at := driveRoute(t, d, tc.seconds, tc.gen)
			if tc.series == "" {
				if len(alerts) != 0 {
					t.Fatalf("false alarm at bucket %d: %+v", at[0], alerts[0].Evidence)
				}
				return
			}
			if len(alerts) == 0 {
				t.Fatal("no alert")
			}
			a, ev := alerts[0], alerts[0].Evidence
			if at[0] < tc.from || at[0] > tc.to || a.Kind != KindDoS || a.Action != ActionNone ||
				a.Subject != "route:GET /recommend/{userid}" || a.IP != "" || ev["series"] != tc.series {
				t.Fatalf("alert at bucket %d: %+v", at[0], a)
			}
			z, mean, std, value := ev["z"].(float64), ev["baseline_mean"].(float64), ev["baseline_std"].(float64), ev["value"].(float64)
			if z < 6 || std <= 0 || value <= mean || (value-mean)/std != z || ev["route"] != "GET /recommend/{userid}" {
				t.Errorf("evidence %+v", ev)
			}
			if len(alerts) > 3 {
				t.Errorf("%d alerts for one surge: want one per series turning anomalous", len(alerts))
			}
		})
	}
}

func TestDoSRouteZeroVarianceAndIdle(t *testing.T) {
	d := newTestDoS(t, DoSConfig{})
	// Exactly 100 a second, 10 ms each (zero variance), then nothing for
	// 100 s, then 100 a second again (no flood: a pause is no new normal),
	// then 300 a second.
	alerts, at := driveRoute(t, d, 600, func(sec int) bucketTraffic {
		switch {
		case sec >= 300 && sec < 400:
			return bucketTraffic{}
		case sec >= 500:
			return bucketTraffic{hits: 300, latency: 10 * time.Millisecond}
		}
		return bucketTraffic{hits: 100, latency: 10 * time.Millisecond}
	})
	if len(alerts) != 1 || at[0] != 500 || alerts[0].Evidence["series"] != "rate" {
		t.Fatalf("alerts at %v: want one rate alert, at bucket 500", at)
	}
}

func TestDoSRouteBounded(t *testing.T) {
	d := newTestDoS(t, DoSConfig{Baseline: BaselineConfig{MaxRoutes: 4}})
	for i := range 100 {
		d.ObserveRoute(Hit{Time: t0, Route: string(rune('a' + i)), Status: 200})
	}
	if dec := d.ObserveRoute(Hit{Time: t0, Status: 200}); dec.Alert != nil {
		t.Errorf("a hit without a route: %+v", dec)
	}
	if n := len(d.routes.m); n != 4 {
		t.Errorf("tracking %d routes, cap 4", n)
	}
}
