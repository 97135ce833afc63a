package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// probeEvery is how often a degraded Fallback lets one request try the
// primary again, so a dead Redis is not dialled by every request.
const probeEvery = time.Second

// probeTimeout bounds the one request a second that probes a failing
// primary: a black-holed Redis must not hold it for the client's dial timeout.
const probeTimeout = 250 * time.Millisecond

// Fallback answers from a primary limiter (Redis) and, while the primary
// fails, from a local limiter at the primary's rate divided among the
// replicas. It never returns an error caused by the primary.
type Fallback struct {
	primary  Limiter
	local    Limiter
	divisor  int
	onChange func(degraded bool)
	now      func() time.Time

	degraded  atomic.Bool
	nextProbe atomic.Int64 // UnixNano before which no request retries the primary
	mu        sync.Mutex   // orders state changes and their onChange calls
}

var _ Limiter = (*Fallback)(nil)

// NewFallback returns a limiter that prefers primary. While primary errors it
// answers from local at rate÷divisor (divisor is the number of replicas, so
// together they stay within the budget; below 1 counts as 1) and retries
// primary about once a second. onChange, which may be nil, is called with
// true once when primary starts failing and with false once when it answers
// again; calls are serialised, so onChange must be quick and must not call
// Allow.
func NewFallback(primary Limiter, local Limiter, divisor int, onChange func(degraded bool)) *Fallback {
	return &Fallback{
		primary:  primary,
		local:    local,
		divisor:  max(divisor, 1),
		onChange: onChange,
		now:      time.Now,
	}
}

// Degraded reports whether the local limiter is answering for the primary.
func (f *Fallback) Degraded() bool {
	return f.degraded.Load()
}

// Allow decides with the primary when it is healthy or due for a probe, and
// with the local limiter otherwise. Errors come only from an invalid Rate or
// from the local limiter.
func (f *Fallback) Allow(ctx context.Context, key string, r Rate) (Result, error) {
	if err := r.Validate(); err != nil {
		return Result{}, err
	}
	probing := f.degraded.Load()
	if probing && !f.probeDue() {
		return f.local.Allow(ctx, key, r.Divide(f.divisor))
	}
	res, err := f.askPrimary(ctx, key, r, probing)
	if err == nil {
		// Only a probe recovers: a success that set out before the primary
		// failed must not flap the state back.
		if probing {
			f.setDegraded(false)
		}
		return res, nil
	}
	// A caller that gave up says nothing about the primary's health.
	if ctx.Err() == nil {
		f.setDegraded(true)
	}
	return f.local.Allow(ctx, key, r.Divide(f.divisor))
}

func (f *Fallback) askPrimary(ctx context.Context, key string, r Rate, probing bool) (Result, error) {
	if !probing {
		return f.primary.Allow(ctx, key, r)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return f.primary.Allow(ctx, key, r)
}

// probeDue lets exactly one caller through per probe interval.
func (f *Fallback) probeDue() bool {
	now := f.now().UnixNano()
	next := f.nextProbe.Load()
	return now >= next && f.nextProbe.CompareAndSwap(next, now+int64(probeEvery))
}

func (f *Fallback) setDegraded(degraded bool) {
	if f.degraded.Load() == degraded {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.degraded.Load() == degraded {
		return
	}
	if degraded {
		f.nextProbe.Store(f.now().Add(probeEvery).UnixNano())
	}
	f.degraded.Store(degraded)
	if f.onChange != nil {
		f.onChange(degraded)
	}
}
