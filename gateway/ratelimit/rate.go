// Package ratelimit holds Reelguard's request limiters: a GCRA limiter kept in
// process (Local) or in Redis (Redis) so that gateway replicas share one budget
// per principal, a Fallback that keeps answering with a conservative local
// limit while Redis is unreachable, and a cheap per-IP pre-auth limiter
// (IPLimiter) that shields token verification from floods.
//
// Check (a Checker) is the request path's one Redis round trip after policy:
// block list, jti revocation, the principal's limit and the anomaly counters
// in one script call, with in-process copies (DenyList, cached denials) that
// answer without Redis when they can. Memory is the same in process, and
// NewRedisClient connects to one server, Sentinel or Cluster with timeouts fit
// for the request path.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// ErrInvalidRate is returned for a Rate that cannot limit anything: a
// PerSecond that is not a positive finite number, or a Burst below 1.
var ErrInvalidRate = errors.New("invalid rate")

// Rate is a budget: PerSecond requests a second on average, up to Burst at
// once after a quiet period.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Default budgets from DESIGN.md's rate tiers.
var (
	DefaultIPRate      = Rate{PerSecond: 50, Burst: 100}
	DefaultUserRate    = Rate{PerSecond: 5, Burst: 10}
	DefaultServiceRate = Rate{PerSecond: 500, Burst: 1000}
	DefaultIngestRate  = Rate{PerSecond: 2000, Burst: 4000}
)

// Validate reports ErrInvalidRate when r cannot be enforced.
func (r Rate) Validate() error {
	if !(r.PerSecond > 0) || math.IsInf(r.PerSecond, 1) || r.Burst < 1 {
		return fmt.Errorf("%w: %g/s burst %d", ErrInvalidRate, r.PerSecond, r.Burst)
	}
	return nil
}

// Divide returns the share of r one of n replicas may spend on its own: both
// the rate and the burst divided by n, the burst never below 1.
func (r Rate) Divide(n int) Rate {
	if n <= 1 {
		return r
	}
	burst := r.Burst / n
	if burst < 1 {
		burst = 1
	}
	return Rate{PerSecond: r.PerSecond / float64(n), Burst: burst}
}

// Result is one limiter decision, shaped for the RateLimit-* response headers.
type Result struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Limit is the burst: the most requests allowed at once.
	Limit int
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// ResetAfter is the time until the budget is whole again.
	ResetAfter time.Duration
	// RetryAfter is the time until the next request would be allowed; 0 when
	// Allowed.
	RetryAfter time.Duration
}

// SetHeaders writes RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset
// (whole seconds, rounded up), and Retry-After on a denial (at least 1 second,
// so a client never retries at once).
func (r Result) SetHeaders(h http.Header) {
	h.Set("RateLimit-Limit", strconv.Itoa(r.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(r.Remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(r.ResetAfter), 10))
	if !r.Allowed {
		h.Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(r.RetryAfter)), 10))
	}
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// Limiter decides whether the request identified by key fits in budget r.
// Implementations spend budget only on allowed requests. An error means the
// decision could not be made (for example Redis is unreachable); callers
// decide how to fail.
type Limiter interface {
	Allow(ctx context.Context, key string, r Rate) (Result, error)
}
