package recommender_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// gateFixture: 30 women and 30 men. In the base data each woman watched w1
// and each man m1, and ten more of each watched w2..w4 or m2..m4, so the
// current popularity model serves both groups alike. The new events are
// each woman's w2..w4 and each man's m2..m4; half of them are held out.
type gateFixture struct {
	root, base string
	key        ed25519.PrivateKey
	users      map[string]recommender.UserInfo
	clock      *fakeClock
}

func newGateFixture(t testing.TB) *gateFixture {
	t.Helper()
	dir := t.TempDir()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	fx := &gateFixture{root: filepath.Join(dir, "model"), base: filepath.Join(dir, "base.log"), key: key,
		users: map[string]recommender.UserInfo{}, clock: &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	var b strings.Builder
	for u := range 30 {
		fmt.Fprintf(&b, "f%d w1\nm%d m1\n", u, u)
		fx.users[fmt.Sprint("f", u)] = recommender.UserInfo{Gender: "F", Age: 30}
		fx.users[fmt.Sprint("m", u)] = recommender.UserInfo{Gender: "M", Age: 30}
	}
	for u := range 10 {
		fmt.Fprintf(&b, "bf%d w2\nbf%d w3\nbf%d w4\nbm%d m2\nbm%d m3\nbm%d m4\n", u, u, u, u, u, u)
	}
	if err := os.WriteFile(fx.base, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	in, _ := pairLines(strings.NewReader(b.String()))
	if _, err := recommender.Publish(fx.root, recommender.TrainPopularity(in, "pop-1"), recommender.SaveOptions{Key: key}); err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *gateFixture) open(t testing.TB, cfg recommender.FeedbackConfig) *recommender.Feedback {
	t.Helper()
	cfg.Root, cfg.Key, cfg.BaseData, cfg.Aggregate, cfg.Now = fx.root, fx.key, fx.base, pairLines, fx.clock.now
	cfg.MaxEvents, cfg.Interval, cfg.Eval = 10, time.Minute, recommender.EvalConfig{TestFraction: 0.5}
	cfg.Threshold = 1 // the nDCG check never refuses here: the fairness checks do
	fb, err := recommender.OpenFeedback(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	offset := int64(0)
	for u := range 30 {
		for i := 2; i <= 4; i++ {
			for _, line := range []string{fmt.Sprintf("f%d w%d", u, i), fmt.Sprintf("m%d m%d", u, i)} {
				if err := fb.Add(line, 0, offset); err != nil {
					t.Fatal(err)
				}
				offset++
			}
		}
	}
	return fb
}

// fairTrainer is popularity on everything.
func fairTrainer(_ recommender.Kind, in []recommender.Interaction, v string) (*recommender.Model, error) {
	return recommender.TrainPopularity(in, v), nil
}

// unfairTrainer drops the women's movies: their quality collapses while the
// men's rises.
func unfairTrainer(_ recommender.Kind, in []recommender.Interaction, v string) (*recommender.Model, error) {
	kept := slices.DeleteFunc(slices.Clone(in), func(x recommender.Interaction) bool { return strings.HasPrefix(x.Item, "w") })
	return recommender.TrainPopularity(kept, v), nil
}

func TestGateRefusesGroupCollapse(t *testing.T) {
	fx := newGateFixture(t)
	var told []recommender.FeedbackDecision
	fb := fx.open(t, recommender.FeedbackConfig{Train: unfairTrainer, Users: fx.users, MinGroupUsers: 10,
		OnDecision: func(d recommender.FeedbackDecision) { told = append(told, d) }})
	d, err := fb.Retrain()
	if err != nil {
		t.Fatal(err)
	}
	if d.Promoted || !slices.Contains(d.Refused, recommender.CheckGenderGap) || !d.FairnessRefused() ||
		!strings.Contains(d.Reason, "gender_gap") {
		t.Fatalf("decision %+v: want refused for the gender gap", d)
	}
	if v, _ := recommender.CurrentVersion(fx.root); v != "pop-1" {
		t.Errorf("current is %s after a refusal, want pop-1", v)
	}
	if len(told) != 1 || !told[0].FairnessRefused() {
		t.Errorf("OnDecision got %+v, want the refusal", told)
	}
	if !strings.Contains(d.Reason, "age_gap check skipped") {
		t.Errorf("reason %q does not say the age check (one band) was skipped", d.Reason)
	}
	logged, skipped, err := recommender.ReadFeedbackDecisions(fx.root)
	if err != nil || skipped != 0 || len(logged) != 1 || logged[0].Reason != d.Reason {
		t.Errorf("decisions log %+v (%d skipped, %v), want the one decision", logged, skipped, err)
	}
	if st := fb.Status(); st.LastDecision == nil || !st.LastDecision.FairnessRefused() {
		t.Errorf("status %+v does not record the refusal", st.LastDecision)
	}
}

func TestGatePromotesFairCandidate(t *testing.T) {
	fx := newGateFixture(t)
	fb := fx.open(t, recommender.FeedbackConfig{Train: fairTrainer, Users: fx.users, MinGroupUsers: 10})
	d, err := fb.Retrain()
	if err != nil {
		t.Fatal(err)
	}
	if !d.Promoted || len(d.Refused) != 0 || !strings.Contains(d.Reason, "gender_gap") {
		t.Fatalf("decision %+v: want promoted, the gender gap checked", d)
	}
	m, err := recommender.LoadVerified(fx.root, fx.key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	meta := m.Meta()
	if meta.Params[recommender.ParamPromotion] != d.Reason {
		t.Errorf("metadata promotion %q, want the reason %q", meta.Params[recommender.ParamPromotion], d.Reason)
	}
	if _, ok := meta.Metrics[recommender.MetricGenderGap]; !ok {
		t.Errorf("metrics %v lack %s", meta.Metrics, recommender.MetricGenderGap)
	}
}

func TestGateWithoutDemographics(t *testing.T) {
	fx := newGateFixture(t)
	fb := fx.open(t, recommender.FeedbackConfig{Train: unfairTrainer})
	d, err := fb.Retrain()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(d.Refused, recommender.CheckGenderGap) ||
		!strings.Contains(d.Reason, "gender_gap check skipped: no user demographics configured") {
		t.Errorf("decision %+v: want the gender check skipped, and said", d)
	}
}

func TestGateRefusesNegativeThresholds(t *testing.T) {
	fx := newGateFixture(t)
	for _, cfg := range []recommender.FeedbackConfig{
		{MaxGroupGapIncrease: -1}, {MaxCoverageDrop: -0.1}, {MaxCalibrationIncrease: -0.1}, {MinGroupUsers: -1},
	} {
		cfg.Root, cfg.Key, cfg.Aggregate, cfg.Train = fx.root, fx.key, pairLines, fairTrainer
		if _, err := recommender.OpenFeedback(cfg); !errors.Is(err, recommender.ErrBadFeedbackConfig) {
			t.Errorf("%+v: err %v, want ErrBadFeedbackConfig", cfg, err)
		}
	}
}
