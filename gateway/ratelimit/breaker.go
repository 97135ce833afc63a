package ratelimit

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Breaker defaults; see FallbackOptions.
const (
	DefaultBreakerFailures = 3
	// probeEvery is how often a degraded Fallback lets one request try the
	// primary again, so a dead Redis is not dialled by every request.
	probeEvery = time.Second
	// probeTimeout bounds a probe: a black-holed Redis must not hold it for
	// the client's dial timeout.
	probeTimeout = 250 * time.Millisecond
)

// breaker is a circuit breaker: closed (ask the primary), open (answer
// locally) after Failures consecutive errors or one timeout, half-open for
// one probe per ProbeEvery; the probe's success closes it.
type breaker struct {
	failures     int
	probeEvery   time.Duration
	probeTimeout time.Duration
	onChange     func(degraded bool)
	now          func() time.Time

	open      atomic.Bool
	gen       atomic.Uint64 // bumped by every state change
	fails     atomic.Int64  // consecutive failures while closed
	nextProbe atomic.Int64  // UnixNano before which no probe is let through
	mu        sync.Mutex    // orders state changes and their onChange calls
}

// ticket is one admitted call to the primary: the state generation it set
// out in, so a late answer cannot flip a state that changed since.
type ticket struct {
	gen   uint64
	probe bool
}

// admit reports whether a call may go to the primary.
func (b *breaker) admit() (ticket, bool) {
	gen := b.gen.Load()
	if !b.open.Load() {
		return ticket{gen: gen}, true
	}
	if b.probeDue() {
		return ticket{gen: gen, probe: true}, true
	}
	return ticket{}, false
}

// probeDue lets exactly one caller through per probe interval.
func (b *breaker) probeDue() bool {
	now := b.now().UnixNano()
	next := b.nextProbe.Load()
	return now >= next && b.nextProbe.CompareAndSwap(next, now+int64(b.probeEvery))
}

func (b *breaker) succeeded(t ticket) {
	if t.probe {
		b.set(false, t)
		return
	}
	if b.fails.Load() != 0 {
		b.fails.Store(0)
	}
}

func (b *breaker) failed(t ticket, err error) {
	if t.probe || b.open.Load() {
		return // a failed probe keeps it open; the next one is scheduled
	}
	if isTimeout(err) || b.fails.Add(1) >= int64(b.failures) {
		b.set(true, t)
	}
}

func (b *breaker) set(open bool, t ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open.Load() == open || b.gen.Load() != t.gen {
		return
	}
	if open {
		b.nextProbe.Store(b.now().Add(b.probeEvery).UnixNano())
	}
	b.fails.Store(0)
	b.open.Store(open)
	b.gen.Add(1)
	if b.onChange != nil {
		b.onChange(open)
	}
}

// untilProbe is how long until the next probe may go out.
func (b *breaker) untilProbe() time.Duration {
	return max(time.Duration(b.nextProbe.Load()-b.now().UnixNano()), 0)
}

// isTimeout tells a slow or paused Redis (open the breaker at once: every
// request would wait the full timeout) from errors worth a few retries.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrPoolTimeout) ||
		(errors.As(err, &ne) && ne.Timeout())
}
