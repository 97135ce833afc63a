package anomaly

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// maxBlockKey bounds a subject or address key.
const maxBlockKey = 256

// canonicalKey validates kind and key and returns the map key; bits is the
// prefix length of an ip prefix, or -1.
func canonicalKey(kind BlockKind, key string) (blockKey, int, error) {
	if key == "" || len(key) > maxBlockKey {
		return blockKey{}, -1, fmt.Errorf("%w: key must be 1 to %d bytes", ErrInvalidBlock, maxBlockKey)
	}
	switch kind {
	case BlockSubject:
		return blockKey{kind, key}, -1, nil
	case BlockIP:
	default:
		return blockKey{}, -1, fmt.Errorf("%w: kind %q", ErrInvalidBlock, kind)
	}
	if strings.Contains(key, "/") {
		p, err := netip.ParsePrefix(key)
		if err != nil {
			return blockKey{}, -1, fmt.Errorf("%w: %w", ErrInvalidBlock, err)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		if p.Bits() == p.Addr().BitLen() {
			return blockKey{kind, p.Addr().String()}, -1, nil
		}
		return blockKey{kind, p.String()}, p.Bits(), nil
	}
	addr, err := netip.ParseAddr(key)
	if err != nil {
		return blockKey{}, -1, fmt.Errorf("%w: %w", ErrInvalidBlock, err)
	}
	return blockKey{kind, addr.Unmap().WithZone("").String()}, -1, nil
}

// makeRoom frees one entry when the list is full: forgotten history first,
// then any history, then the active block ending soonest. Called with the
// write lock held.
func (b *Blocks) makeRoom(now time.Time) {
	if len(b.entries) < b.cfg.MaxEntries {
		return
	}
	for k, e := range b.entries {
		if now.After(e.Until.Add(b.cfg.Memory)) {
			b.remove(k)
		}
	}
	if len(b.entries) < b.cfg.MaxEntries {
		return
	}
	var victim blockKey
	var soonest time.Time
	found := false
	for k, e := range b.entries {
		if !e.Until.After(now) { // only history: the cheapest to lose
			b.remove(k)
			return
		}
		if !found || e.Until.Before(soonest) {
			victim, soonest, found = k, e.Until, true
		}
	}
	if found {
		b.remove(victim)
	}
}

func (b *Blocks) remove(k blockKey) {
	delete(b.entries, k)
	if k.kind != BlockIP || !strings.Contains(k.key, "/") {
		return
	}
	if p, err := netip.ParsePrefix(k.key); err == nil {
		if b.prefixes[p.Bits()]--; b.prefixes[p.Bits()] <= 0 {
			delete(b.prefixes, p.Bits())
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func compareStrings(a, b string) int { return strings.Compare(a, b) }
