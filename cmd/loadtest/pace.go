package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errBacklog marks a request that was due but could not start because the
// class already had its maximum in flight: the server fell behind.
var errBacklog = errors.New("too many requests in flight on the client")

// budget bounds the requests of a whole run.
type budget struct{ left atomic.Int64 }

func newBudget(n int64) *budget {
	b := &budget{}
	b.left.Store(n)
	return b
}

// take reports whether one more request may be sent.
func (b *budget) take() bool { return b.left.Add(-1) >= 0 }

// pacer starts fn at a fixed rate (open loop: a slow answer does not delay
// the next request) with at most cap calls in flight.
type pacer struct {
	rate    float64
	phase   time.Duration
	budget  *budget
	slots   chan struct{}
	wg      *sync.WaitGroup
	reqCtx  context.Context // outlives the run by a grace period, so answers due are awaited
	backlog func()
}

// run paces until ctx ends or the budget is spent.
func (p *pacer) run(ctx context.Context, fn func(ctx context.Context)) {
	interval := time.Duration(float64(time.Second) / p.rate)
	next := time.Now().Add(p.phase)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if !p.budget.take() {
			return
		}
		select {
		case p.slots <- struct{}{}:
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer func() { <-p.slots }()
				fn(p.reqCtx)
			}()
		default:
			p.backlog()
		}
		next = next.Add(interval)
		timer.Reset(time.Until(next))
	}
}
