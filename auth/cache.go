package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// defaultCacheSize caps the verified-token cache. One entry is ~150 bytes.
const defaultCacheSize = 10_000

// tokenCache remembers verified tokens, keyed by the SHA-256 of the token
// string (the cache never holds a token), until the token expires. Only tokens
// that passed every check are stored, so a hit is as good as a verification,
// as long as the key set is still the one the token was verified against:
// an entry only hits for the same *JWKS, so a key withdrawn from the JWKS
// (rotation, compromise) stops its cached tokens at once.
// When full it drops expired entries, then arbitrary ones, down to 7/8 of the
// cap, so sweeps are amortised over many inserts.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]cacheEntry
}

type cacheEntry struct {
	p   Principal
	set *JWKS // the key set the token was verified against
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[[sha256.Size]byte]cacheEntry)}
}

func cacheKey(token string) [sha256.Size]byte {
	return sha256.Sum256([]byte(token))
}

// get returns the principal for a cached token still valid at now and
// verified against set.
func (c *tokenCache) get(key [sha256.Size]byte, now time.Time, set *JWKS) (Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return Principal{}, false
	}
	if !now.Before(e.p.Expires) || e.set != set {
		delete(c.entries, key)
		return Principal{}, false
	}
	return e.p, true
}

func (c *tokenCache) put(key [sha256.Size]byte, p Principal, now time.Time, set *JWKS) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		c.shrink(now)
	}
	c.entries[key] = cacheEntry{p: p, set: set}
}

// shrink frees at least one eighth of the cache; the caller holds mu.
func (c *tokenCache) shrink(now time.Time) {
	target := c.max - max(c.max/8, 1)
	for k, e := range c.entries {
		if !now.Before(e.p.Expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) <= target {
			return
		}
		delete(c.entries, k)
	}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
