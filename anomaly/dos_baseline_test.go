package anomaly

import (
	"net/netip"
	"testing"
	"time"
)

// sourceTraffic feeds ip's traffic second by second from t0 (perSecond(sec)
// hits, errEvery-th answering 400, 0: none) through observe, and returns
// the first decision with an alert, the first with a block and their
// seconds (-1: none).
func sourceTraffic(ip netip.Addr, seconds int, perSecond func(sec int) int, errEvery int,
	observe func(Hit) Decision) (first, block Decision, firstAt, blockAt int) {
	firstAt, blockAt = -1, -1
	for sec := range seconds {
		n := perSecond(sec)
		for i := range n {
			status := 200
			if errEvery > 0 && i%errEvery == 0 {
				status = 400
			}
			dec := observe(Hit{Time: t0.Add(time.Duration(sec)*time.Second + time.Duration(i)*time.Second/time.Duration(n)),
				IP: ip, Status: status})
			if dec.Alert != nil && firstAt < 0 {
				first, firstAt = dec, sec
			}
			if dec.Block != nil && blockAt < 0 {
				block, blockAt = dec, sec
			}
		}
	}
	return first, block, firstAt, blockAt
}

func steps(before, after, at int) func(int) int {
	return func(sec int) int {
		if sec >= at {
			return after
		}
		return before
	}
}

func TestDoSSourceBaseline(t *testing.T) {
	ip := netip.MustParseAddr("198.51.100.7")
	cases := []struct {
		name       string
		perSecond  func(int) int
		errEvery   int
		reason     string // the first alert's; "": none
		from, upTo int    // its second
		blockBy    int    // a block by this second (0: none expected)
	}{
		{"steady 5/s", steps(5, 5, 0), 0, "", 0, 0, 0},
		{"steady 90/s, under the fixed ceiling", steps(90, 90, 0), 0, "", 0, 0, 0},
		{"a new source at 40/s: no baseline yet, under the ceiling", steps(40, 40, 0), 0, "", 0, 0, 0},
		{"5/s, then 40/s", steps(5, 40, 120), 0, "baseline_rate", 121, 121, 160},
		{"5/s, then 15/s: under MinRequests per Window", steps(5, 15, 120), 0, "", 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDoS(t, DoSConfig{})
			first, block, at, blockAt := sourceTraffic(ip, 200, tc.perSecond, tc.errEvery, d.Observe)
			if tc.reason == "" {
				if at >= 0 {
					t.Fatalf("false alarm at %d s: %+v", at, first.Alert)
				}
				return
			}
			ev := first.Alert.Evidence
			if at < tc.from || at > tc.upTo || ev["reason"] != tc.reason || first.Action != ActionThrottled ||
				first.Block != nil || ev["z"].(float64) < 6 || ev["source"] != ip.String()+"/32" {
				t.Fatalf("first alert at %d s: %+v %+v", at, first, first.Alert)
			}
			if blockAt < 0 || blockAt > tc.blockBy || block.Alert.Evidence["reason"] != "persisted" {
				t.Errorf("block at %d s (want by %d): %+v", blockAt, tc.blockBy, block.Alert)
			}
		})
	}
}

func TestDoSSourceErrorBaseline(t *testing.T) {
	ip := netip.MustParseAddr("198.51.100.8")
	d := newTestDoS(t, DoSConfig{})
	sourceTraffic(ip, 120, steps(30, 30, 0), 0, d.Observe)
	more := func(h Hit) Decision { h.Time = h.Time.Add(120 * time.Second); return d.Observe(h) }
	first, _, at, _ := sourceTraffic(ip, 10, steps(30, 30, 0), 2, more)
	if at != 1 || first.Alert.Evidence["reason"] != "baseline_error_rate" || first.Action != ActionThrottled {
		t.Fatalf("half the requests turning malformed: alert at %d s, %+v", at, first.Alert)
	}
}

func TestDoSSourceBaselineShadow(t *testing.T) {
	ip := netip.MustParseAddr("198.51.100.9")
	m, _ := newTestMonitor(t, Config{Shadow: true})
	first, block, at, blockAt := sourceTraffic(ip, 200, steps(5, 40, 120), 0, m.ObserveHit)
	if at != 121 || first.Action != ActionNone || first.Alert.Action != ActionNone ||
		first.Alert.Evidence["shadow_action"] != string(ActionThrottled) || blockAt >= 0 || block.Block != nil {
		t.Fatalf("shadow: alert at %d s %+v, block at %d s", at, first.Alert, blockAt)
	}
	if s := m.Suspicion("", ip); s["dos"] != false {
		t.Errorf("shadow suspicion %v", s)
	}
}
