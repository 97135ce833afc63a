package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// kendallBrute is tau-a by definition, for checking the ring.
func kendallBrute(ids []int64) float64 {
	s := 0
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			s += sign(ids[j] - ids[i])
		}
	}
	n := len(ids)
	return float64(s) / float64(n*(n-1)/2)
}

func TestRankRingKendall(t *testing.T) {
	cases := []struct {
		name string
		size int
		ids  []int64
		want float64
	}{
		{"rising with gaps", 4, []int64{10, 500, 9000, 100000}, 1},
		{"falling", 4, []int64{9, 7, 3, 1}, -1},
		{"one swap: S = 5 - 1 = 4 of 6", 4, []int64{1, 3, 2, 4}, 4.0 / 6},
		{"the oldest (1) dropped: 3 2 4 0, S = 2 - 4", 4, []int64{1, 3, 2, 4, 0}, -2.0 / 6},
		{"ties count zero: 5 5 6, S = 0 + 1 + 1", 3, []int64{5, 5, 6}, 2.0 / 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r rankRing
			for _, id := range tc.ids {
				r.add(id, tc.size)
			}
			if got := r.tau(); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("tau %v, want %v", got, tc.want)
			}
		})
	}
	// The incremental S matches the definition over a long random walk.
	rng := rand.New(rand.NewPCG(5, 6))
	var r rankRing
	var all []int64
	for i := range 1000 {
		id := rng.Int64N(100)
		all = append(all, id)
		r.add(id, maxRankSample)
		if i%97 == 0 || i == 999 {
			last := all[max(0, len(all)-maxRankSample):]
			if got, want := r.tau(), kendallBrute(last); math.Abs(got-want) > 1e-9 {
				t.Fatalf("after %d ids: tau %v, want %v", i+1, got, want)
			}
		}
	}
}

func TestInactiveRingShare(t *testing.T) {
	var r inactiveRing
	for i := range 100 {
		r.add(i < 90, 100) // 90 inactive, then 10 active
	}
	if got := r.share(); got != 0.9 {
		t.Fatalf("share %v, want 0.9", got)
	}
	for range 10 {
		r.add(false, 100) // the ten oldest (inactive) make way for active ones
	}
	if got := r.share(); got != 0.8 {
		t.Fatalf("share %v after ten active, want 0.8", got)
	}
}

// readyActivity is an activity set, warmed up at t0, in which users
// 1..active are active (they watched ten minutes before t0).
func readyActivity(tb testing.TB, active int) *Activity {
	tb.Helper()
	a := NewActivity(ActivityConfig{})
	a.Observe("history", t0.Add(-time.Hour), t0.Add(-10*time.Minute))
	for u := 1; u <= active; u++ {
		a.Observe(fmt.Sprint(u), t0.Add(-10*time.Minute), t0.Add(-10*time.Minute))
	}
	a.Observe("0", t0, t0)
	if !a.Ready(t0) {
		tb.Fatal("activity set not ready")
	}
	return a
}

// firstAlert feeds targets to principal svc, one every step from t0, and
// returns the first alert and its 1-based request number (0: none).
func firstAlert(e *Extraction, role string, step time.Duration, targets []string) (*Alert, int) {
	for i, target := range targets {
		if d := e.Observe(rec(t0.Add(time.Duration(i)*step), "svc", role, target)); d.Alert != nil {
			return d.Alert, i + 1
		}
	}
	return nil, 0
}

func ids(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestExtractionSignals(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	perm := rng.Perm(1_000_000)
	cases := []struct {
		name     string
		cfg      ExtractionConfig
		active   int // users 1..active are active; 0: no activity set
		step     time.Duration
		targets  []string
		reason   string // "": no alert
		at       int    // the request that raises it
		evidence map[string]any
	}{
		{"ids in order, stride 100 with jitter: rank, at the 64th", ExtractionConfig{}, 0, time.Second,
			ids(200, func(i int) string { return fmt.Sprint(10_000 + 100*i + i%7*13) }), "rank_correlation", 64,
			map[string]any{"rank_tau": 1.0}},
		{"ids falling in order: rank", ExtractionConfig{}, 0, time.Second,
			ids(200, func(i int) string { return fmt.Sprint(900_000 - 1000*i) }), "rank_correlation", 64,
			map[string]any{"rank_tau": -1.0}},
		{"random order, slow: nothing", ExtractionConfig{}, 0, 100 * time.Millisecond,
			ids(1000, func(i int) string { return fmt.Sprint(perm[i]) }), "", 0, nil},
		{"inactive users, random order: at the 100th", ExtractionConfig{}, 1000, time.Second,
			ids(300, func(i int) string { return fmt.Sprint(2000 + perm[i]) }), "inactive_targets", 100,
			map[string]any{"inactive_share": 1.0, "inactive_sample": 100}},
		{"10 active then 90 inactive: share 0.9 flags", ExtractionConfig{RankTau: -1, InactiveShare: 0.9}, 1000, time.Second,
			ids(100, func(i int) string { return fmt.Sprint(map[bool]int{true: 1 + i, false: 2000 + perm[i]}[i < 10]) }),
			"inactive_targets", 100, map[string]any{"inactive_share": 0.9}},
		{"11 active then 89 inactive: 0.89 does not", ExtractionConfig{RankTau: -1, InactiveShare: 0.9}, 1000, time.Second,
			ids(100, func(i int) string { return fmt.Sprint(map[bool]int{true: 1 + i, false: 2000 + perm[i]}[i < 11]) }),
			"", 0, nil},
		{"20 active then 80 inactive: the default share (0.8) flags", ExtractionConfig{RankTau: -1}, 1000, time.Second,
			ids(100, func(i int) string { return fmt.Sprint(map[bool]int{true: 1 + i, false: 2000 + perm[i]}[i < 20]) }),
			"inactive_targets", 100, map[string]any{"inactive_share": 0.8}},
		{"active users in random order: nothing", ExtractionConfig{}, 1000, 25 * time.Millisecond,
			ids(20000, func(i int) string { return fmt.Sprint(1 + rng.IntN(1000)) }), "", 0, nil},
		{"inactive users but no activity data: nothing yet", ExtractionConfig{}, 0, time.Second,
			ids(300, func(i int) string { return fmt.Sprint(2000 + perm[i]) }), "", 0, nil},
		{"600 new targets in 6 s: rate over 50/s at the 501st", ExtractionConfig{NewTargetsPerSecond: 50}, 0, 10 * time.Millisecond,
			ids(600, func(i int) string { return fmt.Sprint("u", perm[i]) }), "new_target_rate", 501,
			map[string]any{"new_targets_per_second": 50.1}},
		{"the same with the default rate (150/s): nothing", ExtractionConfig{}, 0, 10 * time.Millisecond,
			ids(600, func(i int) string { return fmt.Sprint("u", perm[i]) }), "", 0, nil},
		{"coverage of a configured population of 200: at the 201st", ExtractionConfig{Population: 200}, 0, 250 * time.Millisecond,
			ids(300, func(i int) string { return fmt.Sprint("u", perm[i]) }), "coverage", 201,
			map[string]any{"coverage": 1.005, "population": 200}},
		{"coverage of the 151 active users: at the 152nd distinct", ExtractionConfig{InactiveShare: -1}, 150, 250 * time.Millisecond,
			// "0" is active too (readyActivity): 151 in all.
			ids(300, func(i int) string { return fmt.Sprint("u", perm[i]) }), "coverage", 152,
			map[string]any{"population": 151}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestExtraction(t, tc.cfg)
			if tc.active > 0 {
				e.UseActivity(readyActivity(t, tc.active))
			}
			a, at := firstAlert(e, RoleService, tc.step, tc.targets)
			if tc.reason == "" {
				if a != nil {
					t.Fatalf("alert at request %d: %v", at, a.Evidence)
				}
				return
			}
			if a == nil || a.Evidence["reason"] != tc.reason || at != tc.at {
				t.Fatalf("alert at request %d (%v), want %s at %d", at, a, tc.reason, tc.at)
			}
			for k, want := range tc.evidence {
				if got := a.Evidence[k]; got != want {
					t.Errorf("evidence %s = %v, want %v", k, got, want)
				}
			}
		})
	}
}

func TestExtractionSignalsIgnoreOwnReads(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{})
	e.UseActivity(readyActivity(t, 10))
	for i := range 5000 { // an inactive user reading its own list, fast
		if d := e.Observe(rec(t0.Add(time.Duration(i)*time.Millisecond), "5000", RoleUser, "5000")); d.Action != ActionNone || d.Alert != nil {
			t.Fatalf("own read counted: %+v", d)
		}
	}
}

// The rings' evidence lasts a window without new targets, as the distinct
// count does: a principal flagged for inactive targets that then reads
// only users it already asked for is not escalated to a block.
func TestExtractionSignalsExpire(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{EscalateAfter: time.Minute})
	e.UseActivity(readyActivity(t, 10))
	at := t0
	var d Decision
	for i := range 100 {
		at = at.Add(100 * time.Millisecond)
		d = e.Observe(rec(at, "svc", RoleService, fmt.Sprint("gone", i)))
	}
	if d.Alert == nil || d.Alert.Evidence["reason"] != "inactive_targets" {
		t.Fatalf("not flagged: %+v", d)
	}
	for range 300 { // five minutes of re-reads of one of them
		at = at.Add(time.Second)
		if d = e.Observe(rec(at, "svc", RoleService, "gone99")); d.Block != nil {
			t.Fatalf("blocked on expired evidence after %v", at.Sub(t0))
		}
	}
	if d.Action != ActionDegraded {
		t.Errorf("action %s, want the standing flag (degraded) until its TTL", d.Action)
	}
}
