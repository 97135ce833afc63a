package recommender_test

import (
	"bufio"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// pairLines aggregates "user item" lines into weight-1 interactions, one per
// pair: a stand-in for the course log reader.
func pairLines(r io.Reader) ([]recommender.Interaction, error) {
	var out []recommender.Interaction
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || seen[f[0]+" "+f[1]] {
			continue
		}
		seen[f[0]+" "+f[1]] = true
		out = append(out, recommender.Interaction{User: f[0], Item: f[1], Weight: 1})
	}
	return out, sc.Err()
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

type feedbackFixture struct {
	root, base string
	key        ed25519.PrivateKey
	clock      *fakeClock
}

// newFeedbackFixture publishes a popularity model trained on base lines,
// in which items a0..a4 are popular, as the current model.
func newFeedbackFixture(t testing.TB) *feedbackFixture {
	t.Helper()
	dir := t.TempDir()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for u := range 20 {
		for i := range 5 {
			fmt.Fprintf(&b, "u%d a%d\n", u, i)
		}
		fmt.Fprintf(&b, "u%d z%d\n", u, u)
	}
	fx := &feedbackFixture{root: filepath.Join(dir, "model"), base: filepath.Join(dir, "base.log"), key: key,
		clock: &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if err := os.WriteFile(fx.base, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	in, _ := pairLines(strings.NewReader(b.String()))
	if _, err := recommender.Publish(fx.root, recommender.TrainPopularity(in, "pop-1"), recommender.SaveOptions{Key: key}); err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *feedbackFixture) open(t testing.TB, train func(recommender.Kind, []recommender.Interaction, string) (*recommender.Model, error), threshold float64) *recommender.Feedback {
	t.Helper()
	if train == nil {
		train = func(_ recommender.Kind, in []recommender.Interaction, v string) (*recommender.Model, error) {
			return recommender.TrainPopularity(in, v), nil
		}
	}
	fb, err := recommender.OpenFeedback(recommender.FeedbackConfig{Root: fx.root, Key: fx.key, BaseData: fx.base,
		Aggregate: pairLines, Train: train, MaxEvents: 10, Interval: time.Minute, Threshold: threshold, Now: fx.clock.now,
		Eval: recommender.EvalConfig{TestFraction: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	return fb
}

// addNewUsers logs new users who each watched a0..a3, on partition p.
func addNewUsers(t testing.TB, fb *recommender.Feedback, users int, p int32, offset int64) int64 {
	t.Helper()
	for u := range users {
		for i := range 4 {
			if err := fb.Add(fmt.Sprintf("n%d a%d", u, i), p, offset); err != nil {
				t.Fatal(err)
			}
			offset++
		}
	}
	return offset
}

func TestFeedbackDue(t *testing.T) {
	fx := newFeedbackFixture(t)
	fb := fx.open(t, nil, 0)
	if fb.Due() {
		t.Fatal("due with no events")
	}
	_ = fb.Add("n1 a1", 0, 0)
	if fb.Due() {
		t.Fatal("due after one event, before the interval")
	}
	fx.clock.t = fx.clock.t.Add(time.Minute)
	if !fb.Due() {
		t.Fatal("not due after the interval with an event pending")
	}
	if _, err := fb.Retrain(); err != nil {
		t.Fatal(err)
	}
	if fb.Due() {
		t.Fatal("due right after a retrain")
	}
	for i := range 10 {
		_ = fb.Add(fmt.Sprintf("n2 a%d", i), 0, int64(i+1))
	}
	if !fb.Due() {
		t.Fatal("not due after MaxEvents events")
	}
}

func TestFeedbackAddRefusesMultiline(t *testing.T) {
	fb := newFeedbackFixture(t).open(t, nil, 0)
	for _, line := range []string{"", "a\nb", "a\rb"} {
		if err := fb.Add(line, 0, 0); err == nil {
			t.Errorf("Add(%q) = nil, want an error", line)
		}
	}
}

func TestFeedbackPromotesAndRecords(t *testing.T) {
	fx := newFeedbackFixture(t)
	fb := fx.open(t, nil, 0)
	next := addNewUsers(t, fb, 6, 0, 100)
	addNewUsers(t, fb, 2, 2, 7)
	fb.Reject("unsigned")
	fb.Reject("replay")
	d, err := fb.Retrain()
	if err != nil {
		t.Fatal(err)
	}
	if !d.Promoted || d.HeldOutUsers == 0 {
		t.Fatalf("decision %+v, want a promotion scored on held-out users", d)
	}
	cur, err := recommender.CurrentVersion(fx.root)
	if err != nil || cur != d.Candidate {
		t.Fatalf("current = %q (%v), want the candidate %q", cur, err, d.Candidate)
	}
	m, err := recommender.LoadVerified(fx.root, fx.key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	meta := m.Meta()
	if got, want := meta.Params[recommender.ParamOffsets], fmt.Sprintf("p0:%d,p2:15", next); got != want {
		t.Errorf("offsets param %q, want %q", got, want)
	}
	if meta.Metrics[recommender.MetricVerifiedEvents] != 32 || meta.Metrics[recommender.MetricRejectedEvents] != 2 {
		t.Errorf("metrics %v, want 32 verified and 2 rejected", meta.Metrics)
	}
	if meta.Parent != "pop-1" || meta.DataSHA256 == "" {
		t.Errorf("parent %q, data sha %q", meta.Parent, meta.DataSHA256)
	}
	if !m.Knows("n0") {
		t.Error("the promoted model does not know the new users")
	}
}

func TestFeedbackKeepsCurrentWhenWorse(t *testing.T) {
	fx := newFeedbackFixture(t)
	junk := func(_ recommender.Kind, _ []recommender.Interaction, v string) (*recommender.Model, error) {
		return recommender.TrainPopularity([]recommender.Interaction{{User: "x", Item: "junk", Weight: 1}}, v), nil
	}
	fb := fx.open(t, junk, 0)
	addNewUsers(t, fb, 6, 0, 0)
	d, err := fb.Retrain()
	if err != nil {
		t.Fatal(err)
	}
	if d.Promoted || !strings.Contains(d.Reason, "below the current model's") || d.CurrentNDCG <= d.CandidateNDCG {
		t.Fatalf("decision %+v, want the current model kept", d)
	}
	if cur, _ := recommender.CurrentVersion(fx.root); cur != "pop-1" {
		t.Errorf("current = %q, want pop-1 kept", cur)
	}
	var st recommender.FeedbackStatus
	data, err := os.ReadFile(filepath.Join(fx.root, recommender.FeedbackDir, recommender.FeedbackStatusFile))
	if err != nil || json.Unmarshal(data, &st) != nil {
		t.Fatalf("status.json: %v %s", err, data)
	}
	if st.LastDecision == nil || st.LastDecision.Promoted || st.Retrains != 1 || st.Verified != 24 {
		t.Errorf("status %s: want one unpromoted retrain over 24 events", data)
	}
}

func TestFeedbackWithoutHeldOutKeepsCurrent(t *testing.T) {
	fx := newFeedbackFixture(t)
	fb := fx.open(t, nil, 0)
	for u := range 5 { // one new movie each, and base pairs the model has seen
		_ = fb.Add(fmt.Sprintf("n%d a1", u), 0, int64(u))
		_ = fb.Add(fmt.Sprintf("u%d a2", u), 0, int64(u))
	}
	d, err := fb.Retrain()
	if err != nil {
		t.Fatal(err)
	}
	if d.Promoted || !strings.Contains(d.Reason, "no held-out events") {
		t.Fatalf("decision %+v, want no promotion for lack of held-out events", d)
	}
}

func TestFeedbackStateSurvivesReopen(t *testing.T) {
	fx := newFeedbackFixture(t)
	fb := fx.open(t, nil, 0)
	addNewUsers(t, fb, 6, 1, 40)
	fb.Reject("bad_signature")
	if _, err := fb.Retrain(); err != nil {
		t.Fatal(err)
	}
	_ = fb.Add("n9 a1", 1, 64)
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
	again := fx.open(t, nil, 0)
	st := again.Status()
	if st.Verified != 25 || st.Offsets != "p1:65" || st.Rejected["bad_signature"] != 1 || st.TrainedOnBytes == 0 {
		t.Errorf("after reopen: %+v", st)
	}
}

func TestOpenFeedbackRefusesBadConfig(t *testing.T) {
	fx := newFeedbackFixture(t)
	for name, cfg := range map[string]recommender.FeedbackConfig{
		"no root":      {Key: fx.key, Aggregate: pairLines, Train: func(recommender.Kind, []recommender.Interaction, string) (*recommender.Model, error) { return nil, nil }},
		"no key":       {Root: fx.root, Aggregate: pairLines},
		"no train":     {Root: fx.root, Key: fx.key, Aggregate: pairLines},
		"negative thr": {Root: fx.root, Key: fx.key, Aggregate: pairLines, Threshold: -1},
	} {
		if _, err := recommender.OpenFeedback(cfg); err == nil {
			t.Errorf("%s: OpenFeedback = nil error", name)
		}
	}
}
