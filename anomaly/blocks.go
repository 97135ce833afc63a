package anomaly

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// BlockKind says what a block applies to.
type BlockKind string

// Block kinds: a client address (or prefix) and a token subject.
const (
	BlockIP      BlockKind = "ip"
	BlockSubject BlockKind = "subject"
)

// Block is one entry of the block list, as GET /admin/blocks shows it.
type Block struct {
	Kind     BlockKind `json:"kind"`
	Key      string    `json:"key"`
	Reason   string    `json:"reason"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Offences int       `json:"offences"` // blocks of this key within BlocksConfig.Memory, this one included
}

// BlocksConfig configures a block list. The zero value works.
type BlocksConfig struct {
	// BaseTTL is the first block's length when Block is given ttl <= 0.
	// Default 5 minutes.
	BaseTTL time.Duration
	// MaxTTL caps the escalated TTL. Default 24 hours.
	MaxTTL time.Duration
	// Memory is how long an offence is remembered after its block ends, for
	// escalation. Default 24 hours.
	Memory time.Duration
	// MaxEntries bounds the blocks and remembered offences together. When
	// full, forgotten-soon history goes first, then the block ending soonest.
	// Default 100000.
	MaxEntries int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c BlocksConfig) withDefaults() BlocksConfig {
	if c.BaseTTL <= 0 {
		c.BaseTTL = 5 * time.Minute
	}
	if c.MaxTTL <= 0 {
		c.MaxTTL = 24 * time.Hour
	}
	if c.Memory <= 0 {
		c.Memory = 24 * time.Hour
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 100000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

type blockKey struct {
	kind BlockKind
	key  string
}

// Blocks is the in-memory block list of addresses, prefixes and subjects,
// with TTLs that double for repeat offenders. Safe for concurrent use; the
// lookups on the request path take a read lock and do map lookups only.
type Blocks struct {
	cfg BlocksConfig

	mu       sync.RWMutex
	entries  map[blockKey]Block // active and remembered (Until in the past)
	prefixes map[int]int        // prefix lengths of ip-prefix entries, counted
}

// NewBlocks returns an empty block list.
func NewBlocks(cfg BlocksConfig) *Blocks {
	return &Blocks{cfg: cfg.withDefaults(), entries: make(map[blockKey]Block),
		prefixes: make(map[int]int)}
}

// Block blocks key for ttl (BaseTTL when ttl <= 0) doubled for each earlier
// offence still remembered — ttl × 2^(offences-1), capped at MaxTTL — and
// returns the entry. Blocking a key already blocked counts as a new offence
// and never shortens the block. An "ip" key is an address or a CIDR prefix;
// it is stored in canonical form (IPv4-mapped IPv6 unmapped, prefix masked).
func (b *Blocks) Block(kind BlockKind, key string, ttl time.Duration, reason string) (Block, error) {
	return b.block(kind, key, ttl, reason, true)
}

// BlockExact blocks key for exactly ttl (an administrator's choice), still
// counting the offence for later escalation.
func (b *Blocks) BlockExact(kind BlockKind, key string, ttl time.Duration, reason string) (Block, error) {
	return b.block(kind, key, ttl, reason, false)
}

func (b *Blocks) block(kind BlockKind, key string, ttl time.Duration, reason string, escalate bool) (Block, error) {
	k, bits, err := canonicalKey(kind, key)
	if err != nil {
		return Block{}, err
	}
	if ttl <= 0 {
		ttl = b.cfg.BaseTTL
	}
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	prev, known := b.entries[k]
	if known && now.After(prev.Until.Add(b.cfg.Memory)) {
		b.remove(k) // forgotten: this is a first offence again
		known, prev = false, Block{}
	}
	if !known {
		b.makeRoom(now)
	}
	e := Block{Kind: k.kind, Key: k.key, Reason: truncate(reason, 256), Since: now,
		Offences: prev.Offences + 1}
	if escalate {
		ttl = escalated(ttl, e.Offences, b.cfg.MaxTTL)
	}
	e.Until = now.Add(ttl)
	if prev.Until.After(now) {
		e.Since = prev.Since
		if prev.Until.After(e.Until) {
			e.Until = prev.Until
		}
	}
	if !known && bits >= 0 {
		b.prefixes[bits]++
	}
	b.entries[k] = e
	return e, nil
}

// escalated is ttl × 2^(offences-1), capped.
func escalated(ttl time.Duration, offences int, limit time.Duration) time.Duration {
	for i := 1; i < offences && ttl < limit; i++ {
		ttl *= 2
	}
	return min(ttl, limit)
}

// Unblock lifts key's block; the offence stays remembered for escalation.
// It reports whether a block was active.
func (b *Blocks) Unblock(kind BlockKind, key string) (bool, error) {
	k, _, err := canonicalKey(kind, key)
	if err != nil {
		return false, err
	}
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[k]
	if !ok || !e.Until.After(now) {
		return false, nil
	}
	e.Until = now
	b.entries[k] = e
	return true, nil
}

// Blocked returns the active block of key, if any. For "ip" it also matches
// blocked prefixes holding the address. key is not parsed for "subject".
func (b *Blocks) Blocked(kind BlockKind, key string) (Block, bool) {
	now := b.cfg.Now()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if e, ok := b.entries[blockKey{kind, key}]; ok && e.Until.After(now) {
		return e, true
	}
	if kind != BlockIP {
		return Block{}, false
	}
	addr, err := netip.ParseAddr(key)
	if err != nil {
		return Block{}, false
	}
	addr = addr.Unmap().WithZone("")
	if e, ok := b.entries[blockKey{kind, addr.String()}]; ok && e.Until.After(now) {
		return e, true
	}
	for bits := range b.prefixes {
		p, err := addr.Prefix(bits)
		if err != nil {
			continue
		}
		if e, ok := b.entries[blockKey{kind, p.String()}]; ok && e.Until.After(now) {
			return e, true
		}
	}
	return Block{}, false
}

// List returns the active blocks, the longest-running first.
func (b *Blocks) List() []Block {
	now := b.cfg.Now()
	b.mu.RLock()
	out := make([]Block, 0, len(b.entries))
	for _, e := range b.entries {
		if e.Until.After(now) {
			out = append(out, e)
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(x, y Block) int {
		if c := x.Since.Compare(y.Since); c != 0 {
			return c
		}
		return compareStrings(string(x.Kind)+x.Key, string(y.Kind)+y.Key)
	})
	return out
}

// Len returns the number of entries held, remembered offences included.
func (b *Blocks) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.entries)
}
