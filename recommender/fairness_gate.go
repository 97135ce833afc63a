package recommender

import (
	"fmt"
	"strings"
)

// The promotion gate's fairness checks. Beside "not worse in nDCG", a
// candidate must not widen the held-out nDCG gap between genders or between
// age bands, shrink the catalog coverage of its lists, or drift further
// from its users' genres (calibration), each by more than a threshold. All
// are measured on the same held-out users for the current model and the
// candidate, so the comparison is paired.

// Gate check names, as FeedbackDecision.Refused lists them.
const (
	CheckNDCG        = "ndcg"
	CheckGenderGap   = "gender_gap"
	CheckAgeGap      = "age_gap"
	CheckCoverage    = "coverage"
	CheckCalibration = "calibration"
)

// Gate defaults. The gaps are absolute nDCG@K (an overall change of 0.02
// already refuses a candidate); coverage is an absolute share of the
// items; calibration is in nats of mean KL divergence.
const (
	DefaultMaxGroupGapIncrease    = 0.05
	DefaultMaxCoverageDrop        = 0.05
	DefaultMaxCalibrationIncrease = 0.05
)

// Metrics a promoted model records about the gate's measurements.
const (
	MetricGenderGap   = "feedback_gender_gap"
	MetricAgeGap      = "feedback_age_gap"
	MetricCoverage    = "feedback_coverage"
	MetricCalibration = "feedback_calibration_kl"
	// ParamPromotion is the gate's reason for promoting a model, in its
	// metadata's hyperparameters.
	ParamPromotion = "promotion"
)

// GateCheck is one comparison of the candidate with the current model.
type GateCheck struct {
	Name      string  `json:"name"`
	Current   float64 `json:"current"`
	Candidate float64 `json:"candidate"`
	// Limit is the worst change allowed (a drop for nDCG and coverage, a
	// rise for the gaps and calibration).
	Limit   float64 `json:"limit"`
	Refused bool    `json:"refused,omitempty"`
	// Skipped says why the check could not run (no demographics, no
	// genres, groups too small); it then neither passes nor refuses.
	Skipped string `json:"skipped,omitempty"`
}

// String states the check as a reason.
func (c GateCheck) String() string {
	if c.Skipped != "" {
		return fmt.Sprintf("%s check skipped: %s", c.Name, c.Skipped)
	}
	verb := map[bool]string{true: "worsens beyond", false: "within"}[c.Refused]
	return fmt.Sprintf("%s %.4f -> %.4f %s %.4f", c.Name, c.Current, c.Candidate, verb, c.Limit)
}

// gateMeasures are one model's numbers on the held-out users.
type gateMeasures struct {
	ndcg, coverage     float64
	genderGap, ageGap  *float64
	calibration        *float64
	genderWhy, ageWhy  string
	calibrationSkipped string
}

// measureGate scores m's top K for every case: mean nDCG, the group gaps,
// the coverage of the training items and the calibration against each
// user's training history.
func (f *Feedback) measureGate(m *Model, cases []evalCase, stats dataStats) gateMeasures {
	k := f.cfg.Eval.K
	users, scores := caseNDCG(m, cases, k)
	g := gateMeasures{ndcg: mean(scores)}
	lists := recommendAll(m, users, k)
	var genres func(string) []string
	if f.cfg.Items != nil {
		genres = NewGenreIndex(f.cfg.Items).Genres
	}
	div := stats.diversity(users, lists, genres, f.cfg.Eval.Seed)
	g.coverage, g.calibration = div.Coverage, div.Calibration
	if genres == nil {
		g.calibrationSkipped = "no item genres configured"
	} else if g.calibration == nil {
		g.calibrationSkipped = "no held-out user's items have genres"
	}
	if f.cfg.Users == nil {
		g.genderWhy, g.ageWhy = "no user demographics configured", "no user demographics configured"
		return g
	}
	gap := func(groupOf func(string) string) (*float64, string) {
		groups := GroupScores(users, scores, groupOf, 1, 0) // the means only: no interval needed
		if v, ok := QualityGap(groups, f.cfg.MinGroupUsers); ok {
			return &v, ""
		}
		return nil, fmt.Sprintf("fewer than two groups with %d held-out users", f.cfg.MinGroupUsers)
	}
	g.genderGap, g.genderWhy = gap(GenderOf(f.cfg.Users))
	g.ageGap, g.ageWhy = gap(AgeBandOf(f.cfg.Users))
	return g
}

// gateChecks compares the candidate's measures with the current model's.
func (f *Feedback) gateChecks(cur, cand gateMeasures) []GateCheck {
	c := f.cfg
	checks := []GateCheck{{Name: CheckNDCG, Current: cur.ndcg, Candidate: cand.ndcg, Limit: c.Threshold,
		Refused: cand.ndcg < cur.ndcg-c.Threshold}}
	rise := func(name string, a, b *float64, why string, limit float64) GateCheck {
		if a == nil || b == nil {
			return GateCheck{Name: name, Limit: limit, Skipped: why}
		}
		return GateCheck{Name: name, Current: *a, Candidate: *b, Limit: limit, Refused: *b > *a+limit}
	}
	genderWhy, ageWhy := cmpWhy(cur.genderWhy, cand.genderWhy), cmpWhy(cur.ageWhy, cand.ageWhy)
	checks = append(checks,
		rise(CheckGenderGap, cur.genderGap, cand.genderGap, genderWhy, c.MaxGroupGapIncrease),
		rise(CheckAgeGap, cur.ageGap, cand.ageGap, ageWhy, c.MaxGroupGapIncrease),
		GateCheck{Name: CheckCoverage, Current: cur.coverage, Candidate: cand.coverage, Limit: c.MaxCoverageDrop,
			Refused: cand.coverage < cur.coverage-c.MaxCoverageDrop},
		rise(CheckCalibration, cur.calibration, cand.calibration, cmpWhy(cur.calibrationSkipped, cand.calibrationSkipped), c.MaxCalibrationIncrease))
	return checks
}

func cmpWhy(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// gateReason writes the decision's reason from its checks: the refusals
// first, then every skipped check, so a reader sees what was not checked.
func gateReason(k int, checks []GateCheck) (reason string, refused []string) {
	var parts, skipped []string
	for _, c := range checks {
		switch {
		case c.Refused && c.Name == CheckNDCG:
			refused = append(refused, c.Name)
			parts = append(parts, fmt.Sprintf("nDCG@%d %.4f is below the current model's %.4f by more than %.4f",
				k, c.Candidate, c.Current, c.Limit))
		case c.Refused:
			refused = append(refused, c.Name)
			parts = append(parts, c.String())
		case c.Skipped != "":
			skipped = append(skipped, c.String())
		}
	}
	if len(refused) > 0 {
		reason = fmt.Sprintf("candidate refused at K=%d: %s", k, strings.Join(parts, "; "))
	} else {
		var all []string
		for _, c := range checks {
			if c.Skipped == "" {
				all = append(all, c.String())
			}
		}
		reason = fmt.Sprintf("candidate passed at K=%d: %s", k, strings.Join(all, "; "))
	}
	if len(skipped) > 0 {
		reason += "; " + strings.Join(skipped, "; ")
	}
	return reason, refused
}
