package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/gateway/ratelimit"
)

// reqState travels in a request's context so the outer guard learns what
// the inner stages decided.
type reqState struct {
	addr          netip.Addr // the client's address, parsed once
	blocked       bool       // refused by the block list: not evidence for the detectors
	authenticated bool       // a valid token: its traffic is the principal's tier's business
	// sharedDistinct is the principal's distinct targets over all replicas,
	// from the guard's shared counter (0: none; see check).
	sharedDistinct int64
}

const stateKey ctxKey = 100

func stateOf(ctx context.Context) *reqState {
	if s, ok := ctx.Value(stateKey).(*reqState); ok {
		return s
	}
	return &reqState{}
}

// addrOf is the client's address, as the guard parsed it for this request.
func addrOf(r *http.Request) netip.Addr {
	if st, ok := r.Context().Value(stateKey).(*reqState); ok && st.addr.IsValid() {
		return st.addr
	}
	return parseAddr(r)
}

func parseAddr(r *http.Request) netip.Addr {
	a, _ := netip.ParseAddr(clientIP(r))
	return a.WithZone("")
}

// suspicion is the detectors' view of a principal and its address, for the
// policy's input. It is asked once per authenticated request, so it also
// counts the request for the dashboard's top principals.
func (g *Gateway) suspicion(r *http.Request, p auth.Principal) map[string]any {
	g.monitor.Traffic.Count(p.Subject, p.Role, time.Now())
	return g.monitor.Suspicion(p.Subject, addrOf(r))
}

// targetsCounter names the guard's shared counter of a principal's distinct
// target users.
const targetsCounter = "targets"

// check asks the guard for an authorized request's verdict. When the guard
// is shared through Redis, a request for another user's recommendations
// also adds its target to the principal's distinct-target HyperLogLog in
// the same round trip, and the count goes to the extraction detector with
// the request (see observeRecommendation): replicas then judge a principal
// on all its traffic, not on their share of it.
func (g *Gateway) check(r *http.Request, p auth.Principal, rate ratelimit.Rate) (ratelimit.Verdict, error) {
	req := ratelimit.Request{Subject: p.Subject, IP: clientIP(r), JTI: p.TokenID, Rate: rate}
	_, shared := g.checker.(redisGuard)
	if target := r.PathValue("userid"); shared && target != "" && target != p.Subject {
		req.Counters = []ratelimit.Counter{{Name: targetsCounter, Window: g.monitor.Extraction.Window(), Member: target}}
	}
	v, err := g.checker.Check(r.Context(), req)
	if err == nil && len(req.Counters) == 1 && len(v.Counters) == 1 {
		stateOf(r.Context()).sharedDistinct = v.Counters[0]
	}
	return v, err
}

// floodFlagged reports an address the flood detector throttles or blocks.
func (g *Gateway) floodFlagged(r *http.Request) bool {
	s := g.monitor.Suspicion("", addrOf(r))
	dos, _ := s["dos"].(bool)
	return dos
}

// observeHit feeds the flood detector an answered request that the block
// list did not refuse (while a source is blocked the block list is in
// charge). A request that reached routing counts in its route's baselines
// (request rate, error rate, latency: the route's health, whoever asks);
// one refused before routing (flood-throttled, over the pre-auth limit) is
// the limiter's business, and would make a single flooder look like a
// surge on a route. Only requests that carried no valid token count toward
// their source's flood judgement (a service front end at its 500/s tier is
// no flood; its limit and the extraction detector watch it). The route's
// alerts have no offender and act on nobody.
func (g *Gateway) observeHit(r *http.Request, status int, route string, latency time.Duration) {
	st := stateOf(r.Context())
	if st.blocked {
		return
	}
	h := anomaly.Hit{Time: g.monitor.Now(), IP: addrOf(r), Status: status, Route: route, Latency: latency}
	if r.Pattern != "" { // routed: the mux set the pattern on the guard's request
		g.act(r.Context(), g.monitor.ObserveRoute(h))
	}
	if st.authenticated {
		return
	}
	g.act(r.Context(), g.monitor.ObserveHit(h))
}

// observeRecommendation feeds the extraction detector an allowed request and
// reports whether it may proceed.
func (g *Gateway) observeRecommendation(r *http.Request, p auth.Principal) anomaly.Action {
	d := g.monitor.ObserveRequest(anomaly.RecRequest{Time: time.Now(), Principal: p.Subject, Role: p.Role,
		IP: addrOf(r), Target: r.PathValue("userid"), SharedDistinct: stateOf(r.Context()).sharedDistinct})
	g.act(r.Context(), d)
	return d.Action
}

// act carries out a detector's decision: the escalating block goes on the
// guard's shared block list, the alert on the hub.
func (g *Gateway) act(ctx context.Context, d anomaly.Decision) {
	if d.Alert == nil && d.Block == nil {
		return
	}
	a, err := anomaly.Apply(d, g.alerts, g.offences)
	if err != nil {
		g.log.Error("detector decision not applied", "err", err)
		return
	}
	if d.Block == nil {
		return
	}
	b, ok := g.offences.Blocked(d.Block.Kind, d.Block.Key)
	if !ok {
		return
	}
	if err := g.checker.Block(context.WithoutCancel(ctx), string(d.Block.Kind), d.Block.Key, time.Until(b.Until)); err != nil {
		g.log.Error("detector block not stored", "err", err, "kind", d.Block.Kind, "alert", a.ID)
	}
}
