package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidRequest is returned for a Request that Check cannot decide: no
// subject, too many counters, or a counter without a name or window.
var ErrInvalidRequest = errors.New("invalid check request")

// ErrNotChecker is returned by Fallback.Check when its limiters only
// implement Limiter.
var ErrNotChecker = errors.New("limiter does not implement Check")

// MaxCounters bounds the anomaly counters one request may name.
const MaxCounters = 8

// Values of Verdict.Blocked.
const (
	BlockedIP      = "ip"
	BlockedSubject = "subject"
)

// Checker makes the whole per-request decision after policy: the block
// list, jti revocation, the principal's limit and the anomaly counters. The
// Redis implementation does it in one round trip.
type Checker interface {
	Check(ctx context.Context, req Request) (Verdict, error)
}

// Request is one authenticated request as Check sees it.
type Request struct {
	// Subject is the principal. Its limit key is "sub:<Subject>", the same
	// key the Limiter path uses, and every Redis key of the request carries
	// the hash tag {sub:<Subject>}.
	Subject string
	// IP is the client address; empty skips the IP block list.
	IP string
	// JTI is the token id; empty skips the revocation check.
	JTI string
	// Rate is the principal's tier.
	Rate Rate
	// Counters are incremented for an allowed request only.
	Counters []Counter
}

// Counter is an anomaly counter kept per subject. A request counter counts
// in fixed windows that start with the window's first request. A member
// counter counts distinct members; in Redis over a sliding window (the
// union of two half windows: between the last half window and the last
// whole one, shared by every replica), in Memory over fixed windows.
type Counter struct {
	// Name tells counters of one subject apart, e.g. "recommend".
	Name string
	// Window is how long one count lasts; at least a millisecond.
	Window time.Duration
	// Member, when set, makes the counter count distinct members (for
	// example target users, an extraction signal) instead of requests. In
	// Redis it is a HyperLogLog: about 0.8% error.
	Member string
}

// Verdict is Check's answer. A request may proceed only when Allowed says so.
type Verdict struct {
	// Blocked is "", BlockedIP or BlockedSubject.
	Blocked string
	// Revoked reports that the token's jti is on the revocation list.
	Revoked bool
	// Limit is the principal's rate decision; zero when blocked or revoked,
	// since then no budget is spent.
	Limit Result
	// Counters holds each Request counter's value after this request, in
	// order; nil when the request was not allowed.
	Counters []int64
	// Degraded reports an answer from the in-process fallback.
	Degraded bool
}

// Allowed reports whether the request may proceed.
func (v Verdict) Allowed() bool {
	return v.Blocked == "" && !v.Revoked && v.Limit.Allowed
}

// LimitKey is the key of the request's budget.
func (req Request) LimitKey() string {
	return "sub:" + req.Subject
}

// Validate reports ErrInvalidRate or ErrInvalidRequest.
func (req Request) Validate() error {
	if err := req.Rate.Validate(); err != nil {
		return err
	}
	if req.Subject == "" {
		return fmt.Errorf("%w: empty subject", ErrInvalidRequest)
	}
	if len(req.Counters) > MaxCounters {
		return fmt.Errorf("%w: %d counters, at most %d", ErrInvalidRequest, len(req.Counters), MaxCounters)
	}
	for _, c := range req.Counters {
		if c.Name == "" || strings.ContainsAny(c.Name, "{}") || c.Window < time.Millisecond {
			return fmt.Errorf("%w: counter %q window %v", ErrInvalidRequest, c.Name, c.Window)
		}
	}
	return nil
}
