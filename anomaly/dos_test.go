package anomaly

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func newTestDoS(tb testing.TB, cfg DoSConfig) *DoS {
	tb.Helper()
	d, err := NewDoS(cfg)
	mustNoErr(tb, err)
	return d
}

// flood feeds n hits from ip at perSecond, 429 for every limitedEvery-th
// (0: none), and returns the first decision with an alert and the last one.
func flood(d *DoS, ip netip.Addr, from time.Time, n, perSecond, limitedEvery int) (first *Decision, last Decision, firstAt int) {
	for i := range n {
		status := 200
		if limitedEvery > 0 && i%limitedEvery == 0 {
			status = 429
		}
		last = d.Observe(Hit{Time: from.Add(time.Duration(i) * time.Second / time.Duration(perSecond)), IP: ip, Status: status})
		if last.Alert != nil && first == nil {
			dec := last
			first, firstAt = &dec, i+1
		}
	}
	return first, last, firstAt
}

func TestDoSThresholds(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.5")
	cases := []struct {
		name                     string
		n, perSecond, limitEvery int
		want                     Action
		reason                   string
	}{
		{"steady client", 3000, 20, 0, ActionNone, ""},
		{"busy NAT under the rate, few 429s", 5000, 90, 10, ActionNone, ""},
		{"fast flood", 2000, 500, 0, ActionThrottled, "rate"},
		{"ignores 429s", 400, 30, 1, ActionThrottled, "rate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDoS(t, DoSConfig{})
			first, _, _ := flood(d, ip, t0, tc.n, tc.perSecond, tc.limitEvery)
			if tc.want == ActionNone {
				if first != nil {
					t.Fatalf("false alarm: %+v", first.Alert)
				}
				return
			}
			if first == nil || first.Action != tc.want || first.Alert.Evidence["reason"] != tc.reason ||
				first.Alert.Kind != KindDoS || first.Alert.IP != ip.String() || first.Block != nil {
				t.Fatalf("first decision %+v, want %s (%s)", first, tc.want, tc.reason)
			}
		})
	}
}

func TestDoSSevereFloodBlocksWithoutWaiting(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.5")
	d := newTestDoS(t, DoSConfig{EscalateAfter: time.Hour})
	var block *Decision
	for i := 0; i < 20000 && block == nil; i++ { // 5,000 a second: the window average passes 1,000/s in 2 s
		dec := d.Observe(Hit{Time: t0.Add(time.Duration(i) * 200 * time.Microsecond), IP: ip, Status: 200})
		if dec.Block != nil {
			block = &dec
		}
	}
	if block == nil || block.Block.Key != ip.String() || block.Block.Kind != BlockIP ||
		block.Alert.Evidence["reason"] != "severe_rate" || block.Alert.Severity != SeverityCritical {
		t.Fatalf("severe flood: %+v", block)
	}
}

func TestDoSEscalatesThenRepeatOffenderBlocks(t *testing.T) {
	d := newTestDoS(t, DoSConfig{EscalateAfter: 30 * time.Second})
	ip := netip.MustParseAddr("203.0.113.6")
	var blockedAt time.Duration
	at := t0
	for i := 0; blockedAt == 0 && i < 100000; i++ {
		at = t0.Add(time.Duration(i) * 5 * time.Millisecond) // 200/s, all 429 once throttled
		dec := d.Observe(Hit{Time: at, IP: ip, Status: 429})
		if i > 0 && dec.Action == ActionNone {
			if a, _ := d.flagged(ip, at); a == ActionNone && at.Sub(t0) > 10*time.Second {
				t.Fatalf("flood not flagged after %v", at.Sub(t0))
			}
		}
		if dec.Block != nil {
			blockedAt = at.Sub(t0)
		}
	}
	if blockedAt < 30*time.Second {
		t.Fatalf("blocked after %v: before EscalateAfter (or never)", blockedAt)
	}
	// After the block list lets it back in, its first detection blocks.
	first, _, _ := flood(d, ip, at.Add(time.Hour), 3000, 200, 1)
	if first == nil || first.Block == nil || first.Alert.Evidence["reason"] != "repeat_offender" {
		t.Errorf("repeat offender: %+v", first)
	}
}

func TestDoSGroupsIPv6Prefix(t *testing.T) {
	d := newTestDoS(t, DoSConfig{})
	var first *Decision
	for i := range 3000 { // one /64, a new address every request
		ip := netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1))
		dec := d.Observe(Hit{Time: t0.Add(time.Duration(i) * 2 * time.Millisecond), IP: ip, Status: 200})
		if dec.Alert != nil && first == nil {
			first = &dec
		}
	}
	if first == nil || first.Alert.Evidence["source"] != "2001:db8:1:2::/64" {
		t.Fatalf("address-hopping flood within a /64 not flagged: %+v", first)
	}
	b := NewBlocks(BlocksConfig{})
	_, err := Apply(Decision{Block: &BlockOrder{Kind: BlockIP, Key: "2001:db8:1:2::/64"}}, nil, b)
	mustNoErr(t, err)
	if _, ok := b.Blocked(BlockIP, "2001:db8:1:2::ffff"); !ok {
		t.Error("prefix block does not cover its addresses")
	}
}

func TestDoSBoundedAndInvalidIP(t *testing.T) {
	d := newTestDoS(t, DoSConfig{MaxSources: 64})
	if dec := d.Observe(Hit{Time: t0}); dec.Action != ActionNone {
		t.Errorf("zero address: %+v", dec)
	}
	for i := range 5000 {
		d.Observe(Hit{Time: t0.Add(time.Duration(i) * time.Millisecond), IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})})
	}
	total := 0
	for i := range d.shards {
		total += len(d.shards[i].m)
	}
	if total > 64 {
		t.Errorf("tracking %d sources, cap 64", total)
	}
}

func TestWindowSlides(t *testing.T) {
	var w window
	width := time.Second
	for i := range 30 {
		w.add(t0.Add(time.Duration(i)*time.Second), width, i%2 == 0)
	}
	if total, errs := w.sums(t0.Add(29*time.Second), width); total != 10 || errs != 5 {
		t.Errorf("sums = %d, %d; want the last 10 seconds: 10, 5", total, errs)
	}
	if total, _ := w.sums(t0.Add(35*time.Second), width); total != 4 {
		t.Errorf("5 s later: %d, want 4", total)
	}
	if total, _ := w.sums(t0.Add(time.Hour), width); total != 0 {
		t.Errorf("an hour later: %d, want 0", total)
	}
	w.add(t0, width, false) // far in the past: ignored
	if total, _ := w.sums(t0.Add(29*time.Second), width); total != 10 {
		t.Errorf("an old event counted: %d", total)
	}
}
