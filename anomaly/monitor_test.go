package anomaly

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func newTestMonitor(tb testing.TB, cfg Config) (*Monitor, *fakeClock) {
	tb.Helper()
	clk := newFakeClock()
	cfg.Now = clk.Now
	m, err := NewMonitor(cfg)
	mustNoErr(tb, err)
	return m, clk
}

// probe makes principal "7" (role user) read four other users at t0.
func probe(m *Monitor) Decision {
	var d Decision
	for i := range 4 {
		d = m.ObserveRequest(rec(t0.Add(time.Duration(i)*time.Second), "7", RoleUser, fmt.Sprint(100+i)))
	}
	return d
}

func TestSuspicion(t *testing.T) {
	m, clk := newTestMonitor(t, Config{})
	clean := m.Suspicion("7", testIP)
	if clean["extraction"] != false || clean["dos"] != false || clean["score"] != 0.0 || len(clean) != 3 {
		t.Fatalf("before any traffic: %v", clean)
	}
	probe(m)
	clk.Advance(5 * time.Second)
	got := m.Suspicion("7", testIP)
	if got["extraction"] != true || got["dos"] != false || got["score"] != 1.0 {
		t.Errorf("flagged principal: %v", got)
	}
	if other := m.Suspicion("8", testIP); other["extraction"] != false {
		t.Errorf("another principal: %v", other)
	}
	clk.Advance(time.Hour) // the flag ends
	if later := m.Suspicion("7", testIP); later["extraction"] != false {
		t.Errorf("an hour later: %v", later)
	}
	flood(m.DoS, testIP, t0.Add(time.Hour), 2000, 500, 0)
	if got := m.Suspicion("7", testIP); got["dos"] != true {
		t.Errorf("flooding address: %v", got)
	}
}

// TestSuspicionScoreIsRounded: a busy source's score, its rate over the
// window, moves with each request; the policy sees it in hundredths, so
// that decisions stay memoizable.
func TestSuspicionScoreIsRounded(t *testing.T) {
	m, _ := newTestMonitor(t, Config{})
	ip := netip.MustParseAddr("192.0.2.77")
	seen := map[float64]bool{}
	for i := range 300 {
		m.DoS.Observe(Hit{Time: t0.Add(time.Duration(i) * time.Millisecond), IP: ip, Status: 200})
		s := m.Suspicion("svc", ip)["score"].(float64)
		if math.Abs(s*100-math.Round(s*100)) > 1e-9 {
			t.Fatalf("after %d requests the score is %v; want hundredths", i+1, s)
		}
		seen[s] = true
	}
	if len(seen) < 2 || len(seen) > 101 {
		t.Fatalf("300 requests gave %d distinct scores; want the score to rise, in hundredths", len(seen))
	}
}

func TestShadowModeActsOnNothing(t *testing.T) {
	m, clk := newTestMonitor(t, Config{Shadow: true})
	d := probe(m)
	if d.Action != ActionNone || d.Block != nil || d.Alert == nil ||
		d.Alert.Action != ActionNone || d.Alert.Evidence["shadow_action"] != string(ActionDegraded) {
		t.Fatalf("shadow decision %+v alert %+v", d, d.Alert)
	}
	clk.Advance(5 * time.Second)
	if s := m.Suspicion("7", testIP); s["extraction"] != false {
		t.Errorf("shadow mode set suspicion: %v", s)
	}
}

func TestApplyBlocksAndRaises(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{})
	b, _ := newTestBlocks(t, BlocksConfig{BaseTTL: time.Minute})
	d := Decision{Action: ActionBlocked, Block: &BlockOrder{Kind: BlockSubject, Key: "svc", Reason: "extraction"},
		Alert: &Alert{Kind: KindExtraction, Severity: SeverityCritical, Subject: "svc", Action: ActionBlocked,
			Evidence: map[string]any{"reason": "persisted"}}}
	a, err := Apply(d, h, b)
	mustNoErr(t, err)
	if _, ok := b.Blocked(BlockSubject, "svc"); !ok {
		t.Error("not blocked")
	}
	if a.ID == "" || a.Evidence["offences"] != 1 || a.Evidence["blocked_until"] == nil {
		t.Errorf("raised %+v", a)
	}
	if _, ok := d.Alert.Evidence["offences"]; ok {
		t.Error("Apply changed the decision's alert")
	}
	if got := h.Recent(0); len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("hub holds %+v", got)
	}
	bad := Decision{Block: &BlockOrder{Kind: "planet", Key: "x"}}
	if _, err := Apply(bad, h, b); !errors.Is(err, ErrInvalidBlock) {
		t.Errorf("bad block order: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	mustNoErr(t, DefaultConfig().Validate())
	for _, c := range []Config{
		{Extraction: ExtractionConfig{FirstAction: "maim"}},
		{DoS: DoSConfig{Max429Ratio: 3}},
		{Poisoning: PoisoningConfig{CoordShare: 7}},
	} {
		if _, err := NewMonitor(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewMonitor(%+v) err = %v", c, err)
		}
	}
}

// TestMonitorConcurrent drives every detector, the hub and the block list
// from several goroutines; run with -race.
func TestMonitorConcurrent(t *testing.T) {
	m, _ := newTestMonitor(t, Config{})
	h, _ := newTestHub(t, HubConfig{})
	b, _ := newTestBlocks(t, BlocksConfig{})
	ch := h.Subscribe(context.Background())
	go func() {
		for range ch {
		}
	}()
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(g)})
			for i := range 2000 {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				for _, d := range []Decision{
					m.ObserveRequest(RecRequest{Time: at, Principal: fmt.Sprint("p", g%3), Role: RoleService, IP: ip, Target: fmt.Sprint(i)}),
					m.ObserveHit(Hit{Time: at, IP: ip, Status: 200 + 229*(i%2)}),
					m.ObserveRejection(Rejection{Time: at, PID: fmt.Sprint(g), KID: "k"}),
				} {
					_, _ = Apply(d, h, b)
				}
				m.ObserveRating(Rating{Time: at, User: fmt.Sprint(g), Movie: fmt.Sprint(i % 50), Rating: 5})
				_ = m.Suspicion(fmt.Sprint("p", g%3), ip)
				_, _ = b.Blocked(BlockIP, ip.String())
			}
		})
	}
	wg.Wait()
	kinds := map[Kind]bool{}
	for _, a := range h.Recent(0) {
		kinds[a.Kind] = true
	}
	if !kinds[KindDoS] || !kinds[KindExtraction] || !kinds[KindSignature] {
		t.Errorf("alert kinds raised: %v; want dos, extraction and signature", kinds)
	}
}
