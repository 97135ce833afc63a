package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/recommender"
)

// TestPoisoningScreen: ratings of flagged profiles are skipped (the offset
// advances, Skipped counts them, nothing is retried), everything else goes
// to training, and each flag raises one poisoning alert.
func TestPoisoningScreen(t *testing.T) {
	fb, _ := openTestFeedback(t, recommender.FeedbackConfig{})
	monitor, err := anomaly.NewMonitor(anomaly.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var raised []anomaly.Alert
	screen := &poisoningScreen{monitor: monitor, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		excluded: map[string]int64{}, raise: func(a anomaly.Alert) error { raised = append(raised, a); return nil }}
	handle := screenedFeedbackHandler(fb, screen)

	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	var lines []string
	at := func(d time.Duration) string { return t0.Add(d).Format("2006-01-02T15:04:05") }
	for i := range 10 { // an honest user watches, then rates, varied scores
		lines = append(lines, fmt.Sprintf("%s,42,GET /data/m/movie+%d/1.mpg", at(time.Duration(i)*time.Hour), i),
			fmt.Sprintf("%s,42,GET /rate/movie+%d=%d", at(time.Duration(i)*time.Hour+time.Minute), i, 1+i%5))
	}
	lines = append(lines, at(0)+",900,GET /create_account") // a fake account rating what it never watched
	for i := range 8 {
		lines = append(lines, fmt.Sprintf("%s,900,GET /rate/victim+%d=%d", at(time.Duration(i+1)*time.Minute), i, 2+i%3))
	}
	for i := range 16 { // a pusher: fifteen fives, then anything
		lines = append(lines, fmt.Sprintf("%s,77,GET /rate/pushed+%d=5", at(time.Duration(i)*time.Minute), i))
	}
	lines = append(lines, at(3*time.Hour)+",77,GET /rate/other=3")
	for i, value := range lines {
		if err := handle(context.Background(), &kgo.Record{Value: []byte(value), Partition: 0, Offset: int64(i)}); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	// Excluded: the fake account's ratings from its fifth (the flag, then
	// three of a flagged profile), the pusher's from its fifteenth (the
	// flag, then two).
	wantSkipped := map[string]int64{"rating_without_watching": 1, "extreme_only": 1, "flagged_profile": 5}
	st := fb.Status()
	if st.Skipped != 7 || st.Verified != int64(len(lines)-7) || st.Offsets != fmt.Sprintf("p0:%d", len(lines)) {
		t.Errorf("status %+v: want 7 skipped, %d logged, next offset %d", st, len(lines)-7, len(lines))
	}
	got := screen.Excluded()
	for reason, n := range wantSkipped {
		if got[reason] != n {
			t.Errorf("excluded %v, want %v", got, wantSkipped)
			break
		}
	}
	if len(raised) != 2 {
		t.Fatalf("%d alerts, want one per flagged profile: %+v", len(raised), raised)
	}
	for _, a := range raised {
		if a.Kind != anomaly.KindPoisoning || a.Evidence["excluded_from_training"] != true || (a.Subject != "900" && a.Subject != "77") {
			t.Errorf("alert %+v", a)
		}
	}
}
