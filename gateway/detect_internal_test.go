package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/gateway/ratelimit"
)

// stepClock is the detectors' clock, moved by the test.
type stepClock struct{ ns atomic.Int64 }

func (c *stepClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// spread gives each request its own address, as a distributed flood does.
func spread(i int) string { return fmt.Sprintf("10.%d.%d.%d:1234", i>>16&255, i>>8&255, i&255) }

// routeCase is a route's traffic: 70 s at 5 a second, each request from its
// own address (past the 60-bucket warm-up), then 300 in one second from
// surge's addresses, then one request that closes that second.
type routeCase struct {
	name, path, route, token string
	preAuth                  ratelimit.Rate
	surge                    func(i int) string
	wantRoute                bool   // a route-level alert
	wantSource               string // an alert about this address ("": none)
}

// A surge on a route that no single source explains raises a route-level
// dos alert carrying its evidence, throttles and blocks nobody; an
// authenticated principal's surge counts for its route but never toward
// its address's flood judgement; a single flooder refused before routing
// is the per-source detector's business, not a surge on a route.
func TestRouteSurgeRaisesDoSAlert(t *testing.T) {
	roomy := ratelimit.Rate{PerSecond: 1e6, Burst: 1e6}
	cases := []routeCase{
		{"anonymous, one request per address", "/healthz", "GET /healthz", "", roomy, spread, true, ""},
		{"authenticated front end, one address", "/recommend/42", "GET /recommend/{userid}", "frontend.service", roomy,
			func(int) string { return "192.0.2.10:1234" }, true, ""},
		{"anonymous flood from one address over the pre-auth limit", "/healthz", "GET /healthz", "",
			ratelimit.Rate{PerSecond: 1, Burst: 5}, func(int) string { return "192.0.2.66:1234" }, false, "192.0.2.66"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, clk := newDetectGateway(t, tc.preAuth, roomy)
			h, n := g.Handler(), 0
			for sec := range 72 {
				per, addr := 5, spread
				if sec == 70 {
					per, addr = 300, tc.surge
				}
				for i := range per {
					clk.ns.Store(clk.Now().Truncate(time.Second).Add(time.Duration(i) * time.Second / time.Duration(per)).UnixNano())
					code := serveOne(h, tc.path, addr(n), tc.token)
					if n++; code != http.StatusOK && code != http.StatusTooManyRequests {
						t.Fatalf("second %d, request %d: %d", sec, i, code)
					}
				}
				// A scanner's 404 a second keeps the unmatched route warm: the
				// requests refused before routing must not land there either.
				if code := serveOne(h, "/no-such-route", spread(n), ""); code != http.StatusNotFound {
					t.Fatalf("second %d, unknown route: %d", sec, code)
				}
				n++
				clk.ns.Store(clk.Now().Truncate(time.Second).Add(time.Second).UnixNano())
			}
			checkDetectAlerts(t, g.alerts.Recent(0), tc)
		})
	}
}

func newDetectGateway(tb testing.TB, preAuth, tier ratelimit.Rate) (*Gateway, *stepClock) {
	tb.Helper()
	clk := &stepClock{}
	clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	m, err := anomaly.NewMonitor(anomaly.Config{Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	g, err := New(Config{Upstream: modelUpstream(tb, "v1"), PreAuth: preAuth, Tiers: map[string]ratelimit.Rate{"service": tier}},
		Deps{Auth: tokenAuth{}, Policy: roleTier{}, Monitor: m})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	return g, clk
}

func serveOne(h http.Handler, path, remote, token string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remote
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// checkDetectAlerts asserts list holds the route's rate alert with its
// evidence, acting on nobody, when tc wants one, an alert about
// tc.wantSource when it names one, and nothing else.
func checkDetectAlerts(tb testing.TB, list []anomaly.Alert, tc routeCase) {
	tb.Helper()
	var route, source bool
	for _, a := range list {
		switch {
		case tc.wantRoute && a.Subject == "route:"+tc.route:
			route = true
			ev := a.Evidence
			mean, _ := ev["baseline_mean"].(float64)
			z, _ := ev["z"].(float64)
			std, _ := ev["baseline_std"].(float64)
			if a.Kind != anomaly.KindDoS || a.Action != anomaly.ActionNone || a.IP != "" || ev["series"] != "rate" ||
				ev["value"] != 300.0 || ev["route"] != tc.route || mean < 4 || mean > 6 || std <= 0 || z < 6 {
				tb.Errorf("route alert: %+v", a)
			}
		case tc.wantSource != "" && a.IP == tc.wantSource && a.Kind == anomaly.KindDoS:
			source = true
		default:
			tb.Errorf("unexpected alert: %+v", a)
		}
	}
	if route != tc.wantRoute || source != (tc.wantSource != "") {
		tb.Errorf("route alert %v (want %v), source alert %v (want %q) among %d alerts",
			route, tc.wantRoute, source, tc.wantSource, len(list))
	}
}
