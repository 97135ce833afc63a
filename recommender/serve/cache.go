package serve

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// DefaultCacheSize is how many answers a model's result cache holds when
// Config.CacheSize is zero: about 60 MB of JSON bodies at most.
const DefaultCacheSize = 65536

// cacheShards spreads the cache's locks so cores rarely contend.
const cacheShards = 32

// resultCache holds encoded answers of one model, keyed by user and
// format. It lives beside its model, so swapping the model starts an empty
// cache and an answer of the old model can never be served after the swap.
// Each shard evicts by CLOCK (second chance): a hit only sets a bit, under a
// read lock, and the hand skips recently hit entries when it must evict.
type resultCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheKey struct {
	user string
	json bool
}

type cacheShard struct {
	mu    sync.RWMutex
	index map[cacheKey]int
	slots []cacheSlot // capacity fixed at creation: the shard's bound
	hand  int
}

type cacheSlot struct {
	key  cacheKey
	body []byte
	used atomic.Bool
}

// newResultCache holds about size answers; nil (no caching) when size <= 0.
func newResultCache(size int) *resultCache {
	if size <= 0 {
		return nil
	}
	c := &resultCache{seed: maphash.MakeSeed()}
	per := max(1, (size+cacheShards-1)/cacheShards)
	for i := range c.shards {
		c.shards[i].index = make(map[cacheKey]int)
		c.shards[i].slots = make([]cacheSlot, 0, per)
	}
	return c
}

func (c *resultCache) shard(k cacheKey) *cacheShard {
	return &c.shards[maphash.String(c.seed, k.user)%cacheShards]
}

// get returns the cached body for k; the caller must not modify it. A nil
// cache holds nothing.
func (c *resultCache) get(k cacheKey) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	s := c.shard(k)
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index[k]
	if !ok {
		return nil, false
	}
	s.slots[i].used.Store(true)
	return s.slots[i].body, true
}

// put stores body for k, evicting an entry not hit since the hand last
// passed when the shard is full. body must not be modified afterwards.
func (c *resultCache) put(k cacheKey, body []byte) {
	if c == nil {
		return
	}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[k]; ok {
		s.slots[i].body = body
		return
	}
	if n := len(s.slots); n < cap(s.slots) {
		s.slots = s.slots[:n+1]
		s.slots[n].key, s.slots[n].body = k, body
		s.index[k] = n
		return
	}
	for s.slots[s.hand].used.Swap(false) {
		s.hand = (s.hand + 1) % len(s.slots)
	}
	victim := &s.slots[s.hand]
	delete(s.index, victim.key)
	victim.key, victim.body = k, body
	s.index[k] = s.hand
	s.hand = (s.hand + 1) % len(s.slots)
}

// len counts the cached answers.
func (c *resultCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.slots)
		s.mu.RUnlock()
	}
	return n
}
