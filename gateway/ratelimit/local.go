package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const (
	localShards = 64
	// sweepEvery is how often, by the limiter's clock, a shard forgets keys
	// whose bucket has refilled; a forgotten key behaves like a full bucket.
	sweepEvery = 10 * time.Second
)

// Local is an in-process GCRA limiter: one theoretical arrival time per key,
// in a map split into shards so that concurrent keys rarely share a lock.
// Keys whose bucket is full again are dropped lazily, when their shard is
// next used, so Local needs no goroutine and no Close. Its zero value is not
// usable; call NewLocal.
type Local struct {
	seed   maphash.Seed
	now    func() time.Time
	shards [localShards]localShard
}

type localShard struct {
	mu        sync.Mutex
	tats      map[string]time.Time
	nextSweep time.Time
}

var _ Limiter = (*Local)(nil)

// NewLocal returns an empty in-process limiter on the real clock.
func NewLocal() *Local {
	return newLocal(time.Now)
}

func newLocal(now func() time.Time) *Local {
	l := &Local{seed: maphash.MakeSeed(), now: now}
	for i := range l.shards {
		l.shards[i].tats = make(map[string]time.Time)
	}
	return l
}

// Allow spends one request of key's budget r if it has one. It fails only
// for an invalid Rate.
func (l *Local) Allow(_ context.Context, key string, r Rate) (Result, error) {
	if err := r.Validate(); err != nil {
		return Result{}, err
	}
	s := &l.shards[maphash.String(l.seed, key)%localShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	now := l.now()
	s.sweep(now)
	tat, res := gcra(s.tats[key], now, r)
	if res.Allowed {
		s.tats[key] = tat
	}
	return res, nil
}

// Len returns how many keys are tracked, stale ones not yet swept included.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}

// sweep drops the shard's full buckets at most once per sweepEvery; the
// caller holds s.mu.
func (s *localShard) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(sweepEvery)
	for key, tat := range s.tats {
		if !tat.After(now) {
			delete(s.tats, key)
		}
	}
}
