package anomaly

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

var testIP = netip.MustParseAddr("198.51.100.7")

func newTestExtraction(tb testing.TB, cfg ExtractionConfig) *Extraction {
	tb.Helper()
	e, err := NewExtraction(cfg)
	mustNoErr(tb, err)
	return e
}

func rec(at time.Time, principal, role, target string) RecRequest {
	return RecRequest{Time: at, Principal: principal, Role: role, IP: testIP, Target: target}
}

func TestExtractionOwnRecommendationsNeverCount(t *testing.T) {
	for _, role := range []string{RoleUser, RoleService, "admin"} {
		e := newTestExtraction(t, ExtractionConfig{})
		for i := range 100000 {
			d := e.Observe(rec(t0.Add(time.Duration(i)*time.Millisecond), "42", role, "42"))
			if d.Action != ActionNone || d.Alert != nil {
				t.Fatalf("%s reading its own recommendations: %+v", role, d)
			}
		}
		if a, score := e.flagged("42", t0); a != ActionNone || score != 0 {
			t.Errorf("%s: own reads left state: %s %v", role, a, score)
		}
	}
}

func TestExtractionUserThresholds(t *testing.T) {
	cases := []struct {
		name       string
		others     int
		spacing    time.Duration
		wantAction Action
	}{
		{"three others is tolerated", 3, time.Second, ActionNone},
		{"four others degrades", 4, time.Second, ActionDegraded},
		{"four spread beyond the window", 4, 25 * time.Second, ActionNone},
		{"severe: thirteen others blocks", 13, time.Second, ActionBlocked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestExtraction(t, ExtractionConfig{})
			var last Decision
			alerts := 0
			for i := range tc.others {
				last = e.Observe(rec(t0.Add(time.Duration(i)*tc.spacing), "7", RoleUser, fmt.Sprint(100+i)))
				if last.Alert != nil {
					alerts++
				}
			}
			if last.Action != tc.wantAction {
				t.Errorf("action %q, want %q", last.Action, tc.wantAction)
			}
			// Degraded at the fourth, and blocked once severe: one alert per step.
			if wantAlerts := map[Action]int{ActionNone: 0, ActionDegraded: 1, ActionBlocked: 2}[tc.wantAction]; alerts != wantAlerts {
				t.Errorf("%d alerts, want %d", alerts, wantAlerts)
			}
		})
	}
}

func TestExtractionFirstDetectionThenEscalation(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{EscalateAfter: time.Minute})
	at := t0
	var d Decision
	for i := range 4 {
		at = at.Add(time.Second)
		d = e.Observe(rec(at, "7", RoleUser, fmt.Sprint(100+i)))
	}
	if d.Action != ActionDegraded || d.Alert == nil || d.Block != nil ||
		d.Alert.Kind != KindExtraction || d.Alert.Subject != "7" || d.Alert.IP != testIP.String() ||
		d.Alert.Evidence["distinct_targets"] != 4 || d.Alert.Severity != SeverityWarning {
		t.Fatalf("first detection: %+v alert %+v", d, d.Alert)
	}
	at = at.Add(time.Second)
	if d = e.Observe(rec(at, "7", RoleUser, "104")); d.Action != ActionDegraded || d.Alert != nil {
		t.Fatalf("while flagged: %+v, want degraded without a new alert", d)
	}
	if d = e.Observe(rec(at, "7", RoleUser, "7")); d.Action != ActionNone {
		t.Errorf("own read while flagged: %+v", d)
	}
	for i := 0; d.Block == nil && at.Sub(t0) < 5*time.Minute; i++ { // the same four, past EscalateAfter
		at = at.Add(5 * time.Second)
		d = e.Observe(rec(at, "7", RoleUser, fmt.Sprint(100+i%4)))
	}
	if d.Action != ActionBlocked || d.Block == nil || d.Block.Kind != BlockSubject || d.Block.Key != "7" ||
		d.Alert == nil || d.Alert.Severity != SeverityCritical || d.Alert.Evidence["reason"] != "persisted" {
		t.Fatalf("escalation: %+v alert %+v", d, d.Alert)
	}
	if at.Sub(t0) < time.Minute {
		t.Errorf("blocked after %v, before EscalateAfter", at.Sub(t0))
	}
	// Back after the block: the next detection blocks at once (repeat offender).
	at = at.Add(time.Hour)
	for i := range 4 {
		d = e.Observe(rec(at.Add(time.Duration(i)*time.Second), "7", RoleUser, fmt.Sprint(300+i)))
	}
	if d.Action != ActionBlocked || d.Block == nil {
		t.Errorf("repeat offender: %+v", d)
	}
}

// serviceTraffic is a front end reading for `users` users in random order,
// `perSecond` requests a second, each user asked for several times.
func serviceTraffic(e *Extraction, r *rand.Rand, from time.Time, d time.Duration, perSecond, users int, principal string) (alerts int, end time.Time) {
	step := time.Second / time.Duration(perSecond)
	at := from
	for ; at.Before(from.Add(d)); at = at.Add(step) {
		if dec := e.Observe(rec(at, principal, RoleService, fmt.Sprint(1+r.IntN(users)))); dec.Alert != nil || dec.Action != ActionNone {
			alerts++
		}
	}
	return alerts, at
}

func TestExtractionServiceBaselineNoFalseAlarm(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{})
	r := rand.New(rand.NewPCG(1, 2))
	// 1,000 active users, 40 requests a second for 15 minutes.
	if alerts, _ := serviceTraffic(e, r, t0, 15*time.Minute, 40, 1000, "frontend"); alerts != 0 {
		t.Errorf("legitimate service traffic raised %d alerts or actions", alerts)
	}
}

func TestExtractionStolenServiceTokenRandomOrder(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{})
	r := rand.New(rand.NewPCG(3, 4))
	_, at := serviceTraffic(e, r, t0, 10*time.Minute, 40, 1000, "frontend")
	// The scraper, with the same token, walks 100,000 ids in random order
	// at 60 a second on top of the usual traffic.
	ids := r.Perm(100000)
	var first, block *Decision
	start := at
	for i := 0; i < len(ids) && block == nil; i++ {
		at = at.Add(time.Second / 100)
		target := fmt.Sprint(2000 + ids[i])
		if i%5 < 2 {
			target = fmt.Sprint(1 + r.IntN(1000))
		}
		d := e.Observe(rec(at, "frontend", RoleService, target))
		if d.Alert != nil && first == nil {
			first = &d
			t.Logf("flagged after %d requests, %v", i+1, at.Sub(start))
		}
		if d.Block != nil {
			block = &d
			t.Logf("blocked after %d requests, %v", i+1, at.Sub(start))
		}
	}
	if first == nil || first.Action != ActionDegraded || first.Alert.Evidence["reason"] != "distinct_targets" {
		t.Fatalf("random-order scraper not flagged: %+v", first)
	}
	if block == nil || block.Block.Key != "frontend" {
		t.Fatalf("persistent scraper not blocked")
	}
}

func TestExtractionSequentialIDs(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{StrideRun: 50})
	var d Decision
	for i := range 50 {
		d = e.Observe(rec(t0.Add(time.Duration(i)*time.Second), "svc", RoleService, fmt.Sprint(5000+3*i)))
		if i < 49 && d.Alert != nil {
			t.Fatalf("flagged after %d sequential ids", i+1)
		}
	}
	if d.Alert == nil || d.Alert.Evidence["reason"] != "sequential_ids" || d.Action != ActionDegraded {
		t.Fatalf("50 ids with stride 3 not flagged: %+v", d)
	}
	e2 := newTestExtraction(t, ExtractionConfig{StrideRun: -1, RankTau: -1})
	for i := range 200 {
		if d := e2.Observe(rec(t0.Add(time.Duration(i)*time.Second), "svc", RoleService, fmt.Sprint(i))); d.Alert != nil {
			t.Fatal("stride check not turned off")
		}
	}
}

func TestExtractionBounded(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{MaxPrincipals: 64, SetCap: 20000, HardMaxDistinct: 20000})
	for i := range 5000 {
		e.Observe(rec(t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("p", i), RoleService, "x"))
	}
	total := 0
	for i := range e.shards {
		total += len(e.shards[i].m)
	}
	if total > 64 {
		t.Errorf("tracking %d principals, cap 64", total)
	}
}

func TestExtractionConfigValidate(t *testing.T) {
	for _, c := range []ExtractionConfig{{FirstAction: "ban"}, {SetCap: 10, HardMaxDistinct: 100}} {
		if _, err := NewExtraction(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

// An enumeration interleaved with a front end's random reads on the same
// (stolen) token is still seen as sequential; a run that stopped long ago
// is not.
func TestExtractionStrideInterleaved(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{})
	rng := rand.New(rand.NewPCG(1, 2))
	at, flagged := t0, 0
	for i := 1; i <= 60 && flagged == 0; i++ {
		for range 3 { // the front end's reads of random users
			at = at.Add(time.Millisecond)
			e.Observe(rec(at, "svc", RoleService, fmt.Sprint(rng.IntN(1_000_000))))
		}
		at = at.Add(time.Millisecond)
		d := e.Observe(rec(at, "svc", RoleService, fmt.Sprint(5000+i)))
		if d.Alert != nil && d.Alert.Evidence["reason"] == "sequential_ids" {
			flagged = i
		}
	}
	if flagged != 50 {
		t.Fatalf("interleaved enumeration flagged at id %d, want 50", flagged)
	}
	// (The rank correlation would see the 40 ids walked in order: off here.)
	e2 := newTestExtraction(t, ExtractionConfig{RankTau: -1})
	for i := range 40 {
		e2.Observe(rec(t0.Add(time.Duration(i)*time.Millisecond), "svc", RoleService, fmt.Sprint(100+i)))
	}
	for i := range 300 {
		e2.Observe(rec(t0.Add(time.Second+time.Duration(i)*time.Millisecond), "svc", RoleService, fmt.Sprint(rng.IntN(1_000_000))))
	}
	for i := range 15 { // a short walk later does not add to the old one
		if d := e2.Observe(rec(t0.Add(2*time.Second+time.Duration(i)*time.Millisecond), "svc", RoleService, fmt.Sprint(140+i))); d.Action != ActionNone {
			t.Fatalf("stale run revived: %+v", d)
		}
	}
}
