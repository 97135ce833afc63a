package gateway

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/gateway/ratelimit"
	"github.com/reelguard/reelguard/policy"
)

type ctxKey int

const (
	startKey ctxKey = iota
	principalKey
)

// guard runs before routing: security headers, the cheap per-IP limit that
// shields token verification from floods, and request metrics.
func (g *Gateway) guard(next http.Handler) http.Handler {
	return securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := newRecorder(w, 0)
		if !g.shed.acquire(r.Header.Get("Authorization") != "") {
			g.metrics.shed.Inc()
			rec.Header().Set("Retry-After", "1")
			writeError(rec, http.StatusServiceUnavailable, "overloaded", "too busy; retry shortly")
			g.metrics.observe(routeLabel(r), rec.status, time.Since(start))
			return
		}
		defer g.shed.release()
		state := &reqState{addr: parseAddr(r)}
		r = r.WithContext(context.WithValue(r.Context(), stateKey, state))
		if g.floodFlagged(r) {
			g.metrics.rateLimited.WithLabelValues("flood").Inc()
			rec.Header().Set("Retry-After", "10")
			writeError(rec, http.StatusTooManyRequests, "flood_throttled", "too many requests")
		} else if res := g.preAuth.Allow(clientIP(r)); !res.Allowed {
			g.metrics.rateLimited.WithLabelValues("ip").Inc()
			tooMany(rec, res, "ip_rate_limited")
		} else {
			r = r.WithContext(context.WithValue(r.Context(), startKey, start))
			next.ServeHTTP(rec, r)
		}
		g.observeHit(r, rec.status, routeLabel(r), time.Since(start))
		g.metrics.observe(routeLabel(r), rec.status, time.Since(start))
	}))
}

// protect authenticates, authorizes and rate-limits a route, in DESIGN.md's
// order, before handing the request on.
func (g *Gateway) protect(route string, next http.Handler) http.Handler {
	return g.authorized(route, true, next)
}

// protectAdmin is protect for the loopback admin API: authentication and
// policy, but neither the block list nor the rate limit, so no block can
// lock the operator out of lifting it.
func (g *Gateway) protectAdmin(next http.Handler) http.Handler {
	return g.authorized("admin", false, next)
}

func (g *Gateway) authorized(route string, guarded bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := g.authenticate(r)
		if err != nil {
			reason := auth.Reason(err)
			g.metrics.authFailures.WithLabelValues(reason).Inc()
			g.log.Info("request denied", "stage", "auth", "reason", reason, "route", route, "ip", clientIP(r))
			w.Header().Set("WWW-Authenticate", `Bearer realm="reelguard", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, reason, "authentication required")
			return
		}
		stateOf(r.Context()).authenticated = true
		d, err := g.policy.Decide(r.Context(), policyInput(r, p, g.suspicion(r, p)))
		if err != nil && r.Context().Err() != nil {
			return // the client went away mid-decision: nobody to answer
		}
		if err != nil || !d.Allow {
			reason := d.Reason
			if err != nil {
				reason = "policy_error"
				g.log.Error("policy evaluation failed; denying", "err", err)
			}
			g.metrics.policyDenials.WithLabelValues(reason).Inc()
			g.log.Info("request denied", "stage", "policy", "reason", reason, "route", route, "principal", p)
			writeError(w, http.StatusForbidden, reason, "not allowed")
			return
		}
		if guarded && !g.limit(w, r, p, d.Obligations.Tier) {
			return
		}
		if route == "recommend" && !g.allowedByDetectors(w, r, p) {
			return
		}
		if d.Obligations.Degrade {
			r = withDegrade(r)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

func (g *Gateway) authenticate(r *http.Request) (auth.Principal, error) {
	tok, err := auth.BearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return auth.Principal{}, err
	}
	return g.auth.VerifyContext(r.Context(), tok)
}

// limit makes the guard's decision for an authorized request: the IP and
// subject block lists, jti revocation and the principal's tier, in one
// Redis round trip when Redis is configured. Redis trouble never fails the
// request: the guard answers from its in-process fallback and says so.
func (g *Gateway) limit(w http.ResponseWriter, r *http.Request, p auth.Principal, tier string) bool {
	rate, ok := g.cfg.Tiers[tier]
	if !ok {
		rate = g.cfg.Tiers["user"]
	}
	v, err := g.check(r, p, rate)
	switch {
	case err != nil: // a request the guard cannot judge (no subject): refuse
		g.metrics.limiterErrors.Inc()
		g.log.Error("guard refused to judge a request", "err", err, "principal", p)
		writeError(w, http.StatusForbidden, "unjudgeable", "not allowed")
	case v.Revoked:
		g.metrics.authFailures.WithLabelValues("token_revoked").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="reelguard", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "token_revoked", "authentication required")
	case v.Blocked != "":
		stateOf(r.Context()).blocked = true
		g.metrics.blocked.WithLabelValues(v.Blocked).Inc()
		writeError(w, http.StatusForbidden, v.Blocked+"_blocked", "not allowed")
	case !v.Limit.Allowed:
		g.metrics.rateLimited.WithLabelValues("principal").Inc()
		tooMany(w, v.Limit, "rate_limited")
	default:
		v.Limit.SetHeaders(w.Header())
		return true
	}
	return false
}

// allowedByDetectors feeds the extraction detector and answers for a
// principal it throttles or blocks.
func (g *Gateway) allowedByDetectors(w http.ResponseWriter, r *http.Request, p auth.Principal) bool {
	switch g.observeRecommendation(r, p) {
	case anomaly.ActionBlocked:
		g.metrics.blocked.WithLabelValues("extraction").Inc()
		writeError(w, http.StatusForbidden, "extraction_blocked", "not allowed")
		return false
	case anomaly.ActionThrottled:
		g.metrics.rateLimited.WithLabelValues("extraction").Inc()
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "extraction_throttled", "too many requests")
		return false
	}
	return true
}

func policyInput(r *http.Request, p auth.Principal, suspicion map[string]any) policy.Input {
	return policy.Input{
		Principal:  policy.Principal{Sub: p.Subject, Role: p.Role, ClientIP: clientIP(r)},
		Method:     r.Method,
		Path:       strings.Split(strings.Trim(r.URL.Path, "/"), "/"),
		TargetUser: r.PathValue("userid"),
		Suspicion:  suspicion,
	}
}

func tooMany(w http.ResponseWriter, res ratelimit.Result, reason string) {
	res.SetHeaders(w.Header())
	writeError(w, http.StatusTooManyRequests, reason, "too many requests")
}

// securityHeaderValues are set on every response of the gateway's own. A
// proxied answer's copies of them are dropped (see newProxy), so that each
// appears once.
var securityHeaderValues = [...]struct{ name, value string }{
	{"X-Content-Type-Options", "nosniff"},
	{"Strict-Transport-Security", "max-age=63072000; includeSubDomains"},
	{"Referrer-Policy", "no-referrer"},
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, sh := range securityHeaderValues {
			h.Set(sh.name, sh.value)
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the connection's peer address. X-Forwarded-For is not
// trusted: the gateway is the edge.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// routeLabel keeps metric cardinality bounded: the matched pattern, never
// the raw path.
func routeLabel(r *http.Request) string {
	if r.Pattern == "" || r.Pattern == "/" {
		return "unmatched"
	}
	return r.Pattern
}

func requestStart(ctx context.Context) time.Time {
	if t, ok := ctx.Value(startKey).(time.Time); ok {
		return t
	}
	return time.Now()
}

func principalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey).(auth.Principal)
	return p, ok
}
