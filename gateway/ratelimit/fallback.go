package ratelimit

import (
	"context"
	"time"
)

// FallbackOptions configure a Fallback; the zero value works.
type FallbackOptions struct {
	// Replicas is how many gateway replicas share the budget: while degraded
	// each answers at every rate ÷ Replicas (see Rate.Divide), so together
	// they stay within it. Default 1.
	Replicas int
	// FailClosed denies every request while degraded instead of limiting it
	// locally; blocks and revocations are still answered. Default false.
	FailClosed bool
	// Failures is how many consecutive primary errors open the breaker; a
	// timeout opens it at once. Default DefaultBreakerFailures.
	Failures int
	// ProbeEvery is how often an open breaker lets one request try the
	// primary. Default 1s.
	ProbeEvery time.Duration
	// ProbeTimeout bounds each probe. Default 250ms.
	ProbeTimeout time.Duration
	// OnChange, when set, is called with true once when the primary starts
	// failing (raise the limiter alert) and with false once when a probe
	// finds it well again. Calls are serialised: keep it quick and do not
	// call the Fallback from it.
	OnChange func(degraded bool)
}

// Fallback answers from a primary limiter (Redis) behind a circuit breaker
// and, while the breaker is open, from a local one at the primary's rate
// divided among the replicas (or denies, FailClosed). It never returns an
// error caused by the primary, and recovers by itself when a probe succeeds.
type Fallback struct {
	primary, local           Limiter
	primaryCheck, localCheck Checker // nil when the limiter is no Checker
	replicas                 int
	failClosed               bool
	breaker                  breaker
}

var (
	_ Limiter = (*Fallback)(nil)
	_ Checker = (*Fallback)(nil)
)

// NewFallback is NewFallbackWith with Replicas divisor, OnChange onChange
// and the other options at their defaults.
func NewFallback(primary Limiter, local Limiter, divisor int, onChange func(degraded bool)) *Fallback {
	return NewFallbackWith(primary, local, FallbackOptions{Replicas: divisor, OnChange: onChange})
}

// NewFallbackWith returns a limiter preferring primary. Check works when
// both limiters are Checkers (Redis and Memory are).
func NewFallbackWith(primary, local Limiter, o FallbackOptions) *Fallback {
	f := &Fallback{primary: primary, local: local, replicas: max(o.Replicas, 1), failClosed: o.FailClosed}
	f.primaryCheck, _ = primary.(Checker)
	f.localCheck, _ = local.(Checker)
	f.breaker = breaker{
		failures:     o.Failures,
		probeEvery:   o.ProbeEvery,
		probeTimeout: o.ProbeTimeout,
		onChange:     o.OnChange,
		now:          time.Now,
	}
	if f.breaker.failures < 1 {
		f.breaker.failures = DefaultBreakerFailures
	}
	if f.breaker.probeEvery <= 0 {
		f.breaker.probeEvery = probeEvery
	}
	if f.breaker.probeTimeout <= 0 {
		f.breaker.probeTimeout = probeTimeout
	}
	return f
}

// Degraded reports whether the local limiter is answering for the primary.
func (f *Fallback) Degraded() bool {
	return f.breaker.open.Load()
}

// Allow decides with the primary when the breaker lets it, and locally
// otherwise. Errors come only from an invalid Rate or the local limiter.
func (f *Fallback) Allow(ctx context.Context, key string, r Rate) (Result, error) {
	if err := r.Validate(); err != nil {
		return Result{}, err
	}
	res, ok := guarded(f, ctx, func(ctx context.Context) (Result, error) {
		return f.primary.Allow(ctx, key, r)
	})
	if ok {
		return res, nil
	}
	if f.failClosed {
		return f.closedResult(r), nil
	}
	return f.local.Allow(ctx, key, r.Divide(f.replicas))
}

// Check is Allow for a whole request (see Checker); the verdict says
// Degraded when it comes from the local side. It returns ErrNotChecker when
// the limiters cannot Check.
func (f *Fallback) Check(ctx context.Context, req Request) (Verdict, error) {
	if f.primaryCheck == nil || f.localCheck == nil {
		return Verdict{}, ErrNotChecker
	}
	if err := req.Validate(); err != nil {
		return Verdict{}, err
	}
	v, ok := guarded(f, ctx, func(ctx context.Context) (Verdict, error) {
		return f.primaryCheck.Check(ctx, req)
	})
	if ok {
		return v, nil
	}
	full := req.Rate
	req.Rate = req.Rate.Divide(f.replicas)
	v, err := f.localCheck.Check(ctx, req)
	if err != nil {
		return Verdict{}, err
	}
	v.Degraded = true
	if f.failClosed && v.Blocked == "" && !v.Revoked {
		v.Limit, v.Counters = f.closedResult(full), nil
	}
	return v, nil
}

// guarded calls the primary if the breaker admits it, and reports whether
// its answer stands.
func guarded[T any](f *Fallback, ctx context.Context, call func(context.Context) (T, error)) (T, bool) {
	var zero T
	t, ok := f.breaker.admit()
	if !ok {
		return zero, false
	}
	pctx := ctx
	if t.probe {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, f.breaker.probeTimeout)
		defer cancel()
	}
	v, err := call(pctx)
	if err == nil {
		f.breaker.succeeded(t)
		return v, true
	}
	// A caller that gave up says nothing about the primary's health.
	if ctx.Err() == nil {
		f.breaker.failed(t, err)
	}
	return zero, false
}

// closedResult is the fail-closed denial: retry when the next probe may
// have found the primary again.
func (f *Fallback) closedResult(r Rate) Result {
	wait := max(f.breaker.untilProbe(), time.Second)
	return Result{Limit: r.Burst, ResetAfter: wait, RetryAfter: wait}
}
