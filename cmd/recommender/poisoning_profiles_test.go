package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/recommender"
)

// shillLines are course rate lines of the shilling scene's genuine users
// and of a patient bandwagon attack (20 minutes a rating: the
// rating-by-rating screen lets it through), and the fake users.
func shillLines(tb testing.TB) (lines []string, fake map[string]bool) {
	tb.Helper()
	sc := newShillScene(tb)
	attack, err := recommender.Shill(sc.genuine, recommender.ShillingConfig{Kind: recommender.AttackBandwagon,
		Target: sc.target, Start: sc.start, Profiles: 15, Filler: 25, Gap: 20 * time.Minute, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	all := append(slices.Clone(sc.genuine), attack...)
	slices.SortStableFunc(all, func(a, b recommender.Interaction) int { return a.Time.Compare(b.Time) })
	fake = map[string]bool{}
	for _, r := range attack {
		fake[r.User] = true
	}
	for _, r := range all {
		lines = append(lines, fmt.Sprintf("%s,%s,GET /rate/%s=%d", r.Time.UTC().Format("2006-01-02T15:04:05"), r.User, r.Item, int(r.Weight)))
	}
	return lines, fake
}

// TestProfileScreenRetrain: a retrain leaves the whole profiles the batch
// scorer flags out of training, records how many in its decision and the
// promoted model's metrics, and raises one poisoning alert; the screen is
// wired through screenedFeedbackHandler, as serve does.
func TestProfileScreenRetrain(t *testing.T) {
	lines, fake := shillLines(t)
	var trained []recommender.Interaction
	train := feedbackTrainer()
	fb, cfg := openTestFeedback(t, recommender.FeedbackConfig{
		Train: func(k recommender.Kind, in []recommender.Interaction, v string) (*recommender.Model, error) {
			trained = in
			return train(k, in, v)
		}})
	root, key := cfg.Root, cfg.Key
	monitor, err := anomaly.NewMonitor(anomaly.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var raised []anomaly.Alert
	raise := func(a anomaly.Alert) error { raised = append(raised, a); return nil }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	screen := &poisoningScreen{monitor: monitor, log: log, excluded: map[string]int64{}, raise: raise,
		profiles: &profileScreen{raise: raise, log: log, now: time.Now}}
	handle := screenedFeedbackHandler(fb, screen)
	for i, line := range lines {
		if err := handle(context.Background(), &kgo.Record{Value: []byte(line), Offset: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(raised) != 0 {
		t.Fatalf("the rating-by-rating screen raised %d alerts on a patient attack, want none: the test needs another attack", len(raised))
	}
	d, err := fb.Retrain()
	if err != nil {
		t.Fatal(err)
	}
	caught := 0
	for u := range fake {
		if !slices.ContainsFunc(trained, func(x recommender.Interaction) bool { return x.User == u }) {
			caught++
		}
	}
	t.Logf("decision: %d profiles (%d pairs) excluded, %d of %d fake; promoted %v", d.ExcludedProfiles, d.ExcludedPairs, caught, len(fake), d.Promoted)
	if caught < len(fake)*9/10 || d.ExcludedProfiles < caught || d.ExcludedProfiles > caught+9 || d.ExcludedPairs < caught*31 {
		t.Errorf("excluded %d profiles, %d pairs; %d of %d fake profiles out of training: want at least 90%%, at most 9 genuine",
			d.ExcludedProfiles, d.ExcludedPairs, caught, len(fake))
	}
	if len(raised) != 1 || raised[0].Kind != anomaly.KindPoisoning || raised[0].Evidence["excluded_profiles"] != d.ExcludedProfiles {
		t.Errorf("alerts %+v: want one poisoning alert naming %d excluded profiles", raised, d.ExcludedProfiles)
	}
	if !d.Promoted {
		t.Fatalf("candidate not promoted (%s): the metadata check needs a promotion", d.Reason)
	}
	current, err := recommender.LoadVerified(root, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if got := current.Meta().Metrics[recommender.MetricExcludedProfiles]; got != float64(d.ExcludedProfiles) {
		t.Errorf("promoted model's %s = %v, want %d", recommender.MetricExcludedProfiles, got, d.ExcludedProfiles)
	}
}

// TestProfileScreenFailsClosed: a screen that cannot read the training
// data fails the retrain, and the current model stays.
func TestProfileScreenFailsClosed(t *testing.T) {
	errScreen := errors.New("screen broke")
	fb, _ := openTestFeedback(t, recommender.FeedbackConfig{
		ScreenProfiles: func(io.Reader) (map[string]bool, error) { return nil, errScreen }})
	for i := range 40 {
		line := fmt.Sprintf("2026-01-01T10:%02d:00,%d,GET /rate/m%d=5", i, i%8, i%5)
		if err := fb.Add(line, 0, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fb.Retrain(); !errors.Is(err, errScreen) {
		t.Errorf("retrain with a broken screen: %v, want %v", err, errScreen)
	}
	if st := fb.Status(); st.Promotions != 0 || !strings.Contains(st.LastError, "screen") {
		t.Errorf("status %+v: want no promotion and the screen's error", st)
	}
}

// TestReadRatings keeps rate lines only, the latest limit of them.
func TestReadRatings(t *testing.T) {
	in := strings.Join([]string{
		"2026-01-01T10:00:00,1,GET /rate/a=5",
		"2026-01-01T10:00:01,1,GET /data/m/a/3.mpg",
		"not a line",
		"2026-01-01T10:00:02,2,GET /rate/b=2",
		"2026-01-01T10:00:03,3,GET /rate/c=4",
	}, "\n")
	tests := []struct {
		limit int
		users []string
	}{
		{10, []string{"1", "2", "3"}},
		{2, []string{"2", "3"}},
		{1, []string{"3"}},
	}
	for _, tc := range tests {
		got, err := readRatings(strings.NewReader(in), tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var users []string
		for _, r := range got {
			users = append(users, r.User)
		}
		if !slices.Equal(users, tc.users) {
			t.Errorf("limit %d: users %v, want %v", tc.limit, users, tc.users)
		}
	}
}
