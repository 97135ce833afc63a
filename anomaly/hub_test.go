package anomaly

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func newTestHub(tb testing.TB, cfg HubConfig) (*Hub, *fakeClock) {
	tb.Helper()
	clk := newFakeClock()
	cfg.Now = clk.Now
	h := NewHub(cfg)
	tb.Cleanup(func() { _ = h.Close(context.Background()) })
	return h, clk
}

func TestHubRecentNewestFirstAndRing(t *testing.T) {
	h, clk := newTestHub(t, HubConfig{Keep: 3})
	for i := range 5 {
		clk.Advance(time.Second)
		_, _, err := h.Raise(testAlert(KindDoS, fmt.Sprint("s", i)))
		mustNoErr(t, err)
	}
	got := h.Recent(0)
	if len(got) != 3 {
		t.Fatalf("kept %d alerts, want 3", len(got))
	}
	for i, want := range []string{"s4", "s3", "s2"} {
		if got[i].Subject != want {
			t.Errorf("Recent[%d] = %s, want %s", i, got[i].Subject, want)
		}
		if got[i].ID == "" || !got[i].Time.Equal(t0.Add(time.Duration(5-i)*time.Second)) {
			t.Errorf("Recent[%d] id %q time %v: not filled", i, got[i].ID, got[i].Time)
		}
	}
	if one := h.Recent(1); len(one) != 1 || one[0].Subject != "s4" {
		t.Errorf("Recent(1) = %+v", one)
	}
	if got[0].ID <= got[1].ID {
		t.Errorf("ids do not sort by time: %s after %s", got[0].ID, got[1].ID)
	}
}

func TestHubRaiseRejectsInvalid(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{})
	for _, a := range []Alert{{Kind: "nope", Severity: SeverityInfo}, {Kind: KindDoS, Severity: "loud"},
		{Kind: KindDoS, Severity: SeverityInfo, Action: "shot"}} {
		if _, _, err := h.Raise(a); !errors.Is(err, ErrInvalidAlert) {
			t.Errorf("Raise(%+v) err = %v, want ErrInvalidAlert", a, err)
		}
	}
	if n := len(h.Recent(0)); n != 0 {
		t.Errorf("invalid alerts stored: %d", n)
	}
	a, _, err := h.Raise(Alert{Kind: KindLimiter, Severity: SeverityInfo})
	mustNoErr(t, err)
	if a.Action != ActionNone || a.Evidence == nil {
		t.Errorf("defaults not filled: %+v", a)
	}
}

func TestHubDedupe(t *testing.T) {
	h, clk := newTestHub(t, HubConfig{DedupeWindow: time.Minute})
	first, folded, err := h.Raise(testAlert(KindExtraction, "svc"))
	mustNoErr(t, err)
	if folded {
		t.Fatal("first alert folded")
	}
	for range 3 {
		clk.Advance(10 * time.Second)
		a, folded, err := h.Raise(testAlert(KindExtraction, "svc"))
		mustNoErr(t, err)
		if !folded || a.ID != first.ID {
			t.Fatalf("repeat not folded into %s: %+v", first.ID, a)
		}
	}
	got := h.Recent(0)
	if len(got) != 1 || got[0].Evidence["repeats"] != 3 || got[0].Evidence["last_seen"] != t0.Add(30*time.Second) {
		t.Fatalf("after 3 repeats: %+v", got)
	}
	if _, ok := first.Evidence["repeats"]; ok {
		t.Error("folding changed an alert already handed out")
	}
	cases := []struct {
		name    string
		mutate  func(*Alert)
		advance time.Duration
	}{
		{"other ip", func(a *Alert) { a.IP = "10.0.0.2" }, 0},
		{"other kind", func(a *Alert) { a.Kind = KindDoS }, 0},
		{"stronger action", func(a *Alert) { a.Action = ActionBlocked }, 0},
		{"stronger severity", func(a *Alert) { a.Severity = SeverityCritical; a.Action = ActionBlocked }, 0},
		{"after the window", func(*Alert) {}, time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			a := testAlert(KindExtraction, "svc")
			tc.mutate(&a)
			if _, folded, err := h.Raise(a); err != nil || folded {
				t.Errorf("folded = %v, err = %v; want a new alert", folded, err)
			}
		})
	}
	if st := h.Stats(); st.Folded != 3 || st.Raised != 1+uint64(len(cases)) || st.ByKind[KindDoS] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHubDedupeOff(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{DedupeWindow: -1})
	for range 3 {
		_, folded, err := h.Raise(testAlert(KindDoS, "x"))
		mustNoErr(t, err)
		if folded {
			t.Fatal("folded with dedupe off")
		}
	}
}

func TestHubSubscriberGetsAlertsAndSlowOneDrops(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{SubscriberBuffer: 2, DedupeWindow: -1})
	ctx, cancel := context.WithCancel(context.Background())
	ch := h.Subscribe(ctx)
	for i := range 5 { // nobody reads: Raise must not block
		_, _, err := h.Raise(testAlert(KindDoS, fmt.Sprint(i)))
		mustNoErr(t, err)
	}
	if a := <-ch; a.Subject != "0" {
		t.Errorf("first delivered %q, want 0", a.Subject)
	}
	if a := <-ch; a.Subject != "1" {
		t.Errorf("second delivered %q, want 1", a.Subject)
	}
	if st := h.Stats(); st.SubscriberDrops != 3 || st.Subscribers != 1 {
		t.Errorf("stats %+v, want 3 drops and 1 subscriber", st)
	}
	cancel()
	for range ch { // closed once ctx ends
	}
	if st := h.Stats(); st.Subscribers != 0 {
		t.Errorf("subscriber still registered: %+v", st)
	}
}

func TestHubFoldedRepeatsNotResent(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{})
	ch := h.Subscribe(context.Background())
	for range 3 {
		_, _, err := h.Raise(testAlert(KindDoS, "x"))
		mustNoErr(t, err)
	}
	<-ch
	select {
	case a := <-ch:
		t.Errorf("folded repeat delivered: %+v", a)
	default:
	}
}

// gateSink blocks every Send until released, counting what it got.
type gateSink struct {
	release chan struct{}
	mu      sync.Mutex
	got     []Alert
	fail    bool
}

func (s *gateSink) Send(ctx context.Context, a Alert) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.got = append(s.got, a)
	s.mu.Unlock()
	if s.fail {
		return errors.New("sink down")
	}
	return nil
}

func TestHubSinkQueueDropsInsteadOfBlocking(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{SinkQueue: 2, DedupeWindow: -1})
	sink := &gateSink{release: make(chan struct{})}
	mustNoErr(t, h.AddSink("gate", sink))
	for i := range 10 { // the sink is stuck: Raise must still return
		_, _, err := h.Raise(testAlert(KindDoS, fmt.Sprint(i)))
		mustNoErr(t, err)
	}
	drops := h.Stats().SinkDrops
	if drops < 7 || drops > 8 { // one in Send, two queued (the first may not be taken yet)
		t.Errorf("sink drops = %d, want 7 or 8", drops)
	}
	close(sink.release)
	mustNoErr(t, h.Close(context.Background()))
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if uint64(len(sink.got))+drops != 10 || sink.got[0].Subject != "0" {
		t.Errorf("sink got %d alerts with %d drops, want 10 in all, first 0", len(sink.got), drops)
	}
}

func TestHubSinkErrorsCounted(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{DedupeWindow: -1})
	sink := &gateSink{release: make(chan struct{}), fail: true}
	close(sink.release)
	mustNoErr(t, h.AddSink("failing", sink))
	for range 3 {
		_, _, err := h.Raise(testAlert(KindDoS, "x"))
		mustNoErr(t, err)
	}
	mustNoErr(t, h.Close(context.Background()))
	if st := h.Stats(); st.SinkErrors != 3 {
		t.Errorf("sink errors = %d, want 3", st.SinkErrors)
	}
}

func TestHubCloseCancelsStuckSink(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{})
	sink := &gateSink{release: make(chan struct{})} // never released
	mustNoErr(t, h.AddSink("stuck", sink))
	_, _, err := h.Raise(testAlert(KindDoS, "x"))
	mustNoErr(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	if err := h.AddSink("late", sink); !errors.Is(err, ErrClosed) {
		t.Errorf("AddSink after Close = %v, want ErrClosed", err)
	}
	if _, ok := <-h.Subscribe(context.Background()); ok {
		t.Error("Subscribe after Close delivered")
	}
	if _, _, err := h.Raise(testAlert(KindDoS, "y")); err != nil || len(h.Recent(0)) != 2 {
		t.Errorf("Raise after Close: %v, kept %d", err, len(h.Recent(0)))
	}
}

func TestHubConcurrent(t *testing.T) {
	h, _ := newTestHub(t, HubConfig{Keep: 50})
	var sent sync.WaitGroup
	mustNoErr(t, h.AddSink("count", SinkFunc(func(context.Context, Alert) error { return nil })))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readers sync.WaitGroup
	for range 3 {
		ch := h.Subscribe(ctx)
		readers.Go(func() {
			for a := range ch {
				_ = a.Evidence["repeats"] // read while others fold
			}
		})
	}
	for g := range 8 {
		sent.Go(func() {
			for i := range 200 {
				_, _, _ = h.Raise(testAlert(KindDoS, fmt.Sprint(g, i%7)))
				_ = h.Recent(10)
			}
		})
	}
	sent.Wait()
	cancel()
	readers.Wait()
	if st := h.Stats(); st.Raised+st.Folded != 1600 {
		t.Errorf("raised %d + folded %d != 1600", st.Raised, st.Folded)
	}
}
