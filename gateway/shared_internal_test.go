package gateway

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/gateway/ratelimit"
	"github.com/reelguard/reelguard/policy"
)

type allowAll struct{}

func (allowAll) VerifyContext(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, nil
}

func (allowAll) Decide(context.Context, policy.Input) (policy.Decision, error) {
	return policy.Decision{Allow: true}, nil
}

func newReplica(tb testing.TB, guard Guard) *Gateway {
	tb.Helper()
	g, err := New(Config{}, Deps{Auth: allowAll{}, Policy: allowAll{}, Guard: guard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	return g
}

// scrapeUntilFlagged sends a service principal's requests for random users
// round-robin over the replicas, in the request path's order (the guard's
// check, then the extraction detector), and returns the request that was
// first flagged (0: none in max).
func scrapeUntilFlagged(tb testing.TB, replicas []*Gateway, max int) int {
	tb.Helper()
	p := auth.Principal{Subject: "stolen-frontend", Role: anomaly.RoleService}
	rate := ratelimit.Rate{PerSecond: 1e6, Burst: 1e6}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 1; i <= max; i++ {
		g := replicas[i%len(replicas)]
		target := strconv.Itoa(rng.IntN(1 << 30))
		r := httptest.NewRequest("GET", "/recommend/"+target, nil)
		r.SetPathValue("userid", target)
		r = r.WithContext(context.WithValue(r.Context(), stateKey, &reqState{addr: netip.MustParseAddr("192.0.2.1")}))
		v, err := g.check(r, p, rate)
		if err != nil || !v.Allowed() {
			tb.Fatalf("request %d: %+v %v", i, v, err)
		}
		if g.observeRecommendation(r, p) != anomaly.ActionNone {
			return i
		}
	}
	return 0
}

// TestSharedCountersAcrossReplicas: replicas sharing Redis see each
// other's distinct targets, so a scraper spreading a stolen service token
// over two replicas is flagged as soon as on one (the threshold is 1500
// distinct users a minute; HyperLogLog counts within about 1%), where
// replicas each counting their own share would let it read twice as many.
func TestSharedCountersAcrossReplicas(t *testing.T) {
	url := testRedisURL(t)
	const threshold = 1500
	cases := []struct {
		name     string
		replicas func(t *testing.T) []*Gateway
		min, max int
	}{
		{"one replica", func(t *testing.T) []*Gateway {
			return []*Gateway{newReplica(t, newSharedGuards(t, url, 1)[0])}
		}, threshold * 97 / 100, threshold + 1},
		{"two replicas sharing redis", func(t *testing.T) []*Gateway {
			gs := newSharedGuards(t, url, 2)
			return []*Gateway{newReplica(t, gs[0]), newReplica(t, gs[1])}
		}, threshold * 97 / 100, threshold * 103 / 100},
		{"two replicas without redis", func(t *testing.T) []*Gateway {
			return []*Gateway{newReplica(t, NewMemoryGuard()), newReplica(t, NewMemoryGuard())}
		}, 2*threshold + 1, 2*threshold + 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := scrapeUntilFlagged(t, tc.replicas(t), 4*threshold)
			if got < tc.min || got > tc.max {
				t.Errorf("flagged at request %d, want %d to %d", got, tc.min, tc.max)
			}
		})
	}
}
