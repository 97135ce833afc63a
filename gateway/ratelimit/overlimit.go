package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// maxOverLimitKeys bounds the keys the over-limit cache remembers.
const maxOverLimitKeys = 1 << 16

// overLimit remembers keys that Redis denied, until the moment their next
// request could be allowed, so a flood from one principal is answered in
// process instead of costing a round trip each. It is exact, not an
// approximation: GCRA's TAT only moves forward, so nothing any replica does
// can make a denied key allowed before its RetryAfter.
type overLimit struct {
	seed   maphash.Seed
	now    func() time.Time
	shards [localShards]overLimitShard
}

type overLimitShard struct {
	mu        sync.Mutex
	denied    map[string]denial
	nextSweep time.Time
}

// denial is a cached Redis denial, in local clock time.
type denial struct {
	retryAt time.Time
	resetAt time.Time
	limit   int
}

func newOverLimit(now func() time.Time) *overLimit {
	c := &overLimit{seed: maphash.MakeSeed(), now: now}
	for i := range c.shards {
		c.shards[i].denied = make(map[string]denial)
	}
	return c
}

func (c *overLimit) shard(key string) *overLimitShard {
	return &c.shards[maphash.String(c.seed, key)%localShards]
}

// lookup returns the cached denial of key, if it still holds.
func (c *overLimit) lookup(key string) (Result, bool) {
	s := c.shard(key)
	now := c.now()
	s.mu.Lock()
	d, ok := s.denied[key]
	s.mu.Unlock()
	if !ok || !now.Before(d.retryAt) {
		return Result{}, false
	}
	return Result{
		Limit:      d.limit,
		ResetAfter: max(d.resetAt.Sub(now), 0),
		RetryAfter: d.retryAt.Sub(now),
	}, true
}

// remember caches a denial of key observed just now.
func (c *overLimit) remember(key string, res Result) {
	if res.Allowed || res.RetryAfter <= 0 {
		return
	}
	now := c.now()
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if len(s.denied) >= maxOverLimitKeys/localShards {
		return
	}
	s.denied[key] = denial{retryAt: now.Add(res.RetryAfter), resetAt: now.Add(res.ResetAfter), limit: res.Limit}
}

// sweep forgets expired denials at most once per sweepEvery, or at once when
// the shard is full; the caller holds s.mu.
func (s *overLimitShard) sweep(now time.Time) {
	if now.Before(s.nextSweep) && len(s.denied) < maxOverLimitKeys/localShards {
		return
	}
	s.nextSweep = now.Add(sweepEvery)
	for k, d := range s.denied {
		if !now.Before(d.retryAt) {
			delete(s.denied, k)
		}
	}
}
