package ratelimit

import (
	"net/netip"
	"sort"
	"sync"
	"time"
)

// maxLocalDenials bounds each of a DenyList's tables (IPs, subjects, jtis).
const maxLocalDenials = 100_000

// Kinds of block, as stored in Redis and listed by DenyList.Blocks.
const (
	KindIP      = "ip"
	KindSubject = "subject"
)

// Block is one entry of the block list; a zero Until never expires.
type Block struct {
	Kind  string    `json:"kind"`
	Value string    `json:"value"`
	Until time.Time `json:"until"`
}

// DenyList is the in-process copy of the block list (IPs and subjects) and
// of the jti revocations this process has made or seen. It answers on the
// request path without Redis: IP blocks always (they live in no subject's
// Cluster slot, see Redis), everything while Redis is unreachable. Entries
// expire by themselves; each table holds at most maxLocalDenials entries.
type DenyList struct {
	now func() time.Time

	mu   sync.RWMutex
	ips  map[string]time.Time
	subs map[string]time.Time
	jtis map[string]time.Time
}

// NewDenyList returns an empty list on the real clock.
func NewDenyList() *DenyList {
	return newDenyList(time.Now)
}

func newDenyList(now func() time.Time) *DenyList {
	return &DenyList{
		now:  now,
		ips:  make(map[string]time.Time),
		subs: make(map[string]time.Time),
		jtis: make(map[string]time.Time),
	}
}

// Block adds value (an address or an IPv6 /64 such as "2001:db8::/64" for
// KindIP, a subject for KindSubject) until the given time (zero: forever).
// Unknown kinds are ignored.
func (d *DenyList) Block(kind, value string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.table(kind); t != nil {
		d.put(t, normalize(kind, value), until)
	}
}

// Unblock removes value from kind's table.
func (d *DenyList) Unblock(kind, value string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.table(kind); t != nil {
		delete(t, normalize(kind, value))
	}
}

// Revoke denies jti until the given time (zero: forever).
func (d *DenyList) Revoke(jti string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.put(d.jtis, jti, until)
}

// Blocked returns BlockedIP, BlockedSubject or "" for a request from ip by
// sub; an IPv6 address is also looked up by its /64.
func (d *DenyList) Blocked(ip, sub string) string {
	now := d.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if ip != "" {
		if live(d.ips, normalize(KindIP, ip), now) || live(d.ips, ipKey(ip), now) {
			return BlockedIP
		}
	}
	if sub != "" && live(d.subs, sub, now) {
		return BlockedSubject
	}
	return ""
}

// Revoked reports whether jti is on the local revocation list.
func (d *DenyList) Revoked(jti string) bool {
	if jti == "" {
		return false
	}
	now := d.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	return live(d.jtis, jti, now)
}

// Blocks lists the live blocks, IPs first, each kind sorted by value.
func (d *DenyList) Blocks() []Block {
	now := d.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []Block
	for _, kind := range []string{KindIP, KindSubject} {
		start := len(out)
		for v, until := range d.table(kind) {
			if until.IsZero() || until.After(now) {
				out = append(out, Block{Kind: kind, Value: v, Until: until})
			}
		}
		part := out[start:]
		sort.Slice(part, func(i, j int) bool { return part[i].Value < part[j].Value })
	}
	return out
}

// replaceBlocks swaps in a fresh copy of the shared block list.
func (d *DenyList) replaceBlocks(blocks []Block) {
	ips := make(map[string]time.Time)
	subs := make(map[string]time.Time)
	for _, b := range blocks {
		switch b.Kind {
		case KindIP:
			ips[normalize(KindIP, b.Value)] = b.Until
		case KindSubject:
			subs[b.Value] = b.Until
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ips, d.subs = ips, subs
}

func (d *DenyList) table(kind string) map[string]time.Time {
	switch kind {
	case KindIP:
		return d.ips
	case KindSubject:
		return d.subs
	}
	return nil
}

// put stores an entry, first forgetting expired ones when the table is full;
// a table still full drops the new entry (Redis keeps the truth).
func (d *DenyList) put(t map[string]time.Time, key string, until time.Time) {
	if _, ok := t[key]; !ok && len(t) >= maxLocalDenials {
		now := d.now()
		for k, u := range t {
			if !u.IsZero() && !u.After(now) {
				delete(t, k)
			}
		}
		if len(t) >= maxLocalDenials {
			return
		}
	}
	t[key] = until
}

func live(t map[string]time.Time, key string, now time.Time) bool {
	until, ok := t[key]
	return ok && (until.IsZero() || until.After(now))
}

// normalize gives an IP block its canonical text: an address without zone
// or IPv4 mapping, or a masked prefix. Anything else is kept as given.
func normalize(kind, value string) string {
	if kind != KindIP {
		return value
	}
	if p, err := netip.ParsePrefix(value); err == nil {
		return p.Masked().String()
	}
	if a, err := netip.ParseAddr(value); err == nil {
		return a.WithZone("").Unmap().String()
	}
	return value
}
