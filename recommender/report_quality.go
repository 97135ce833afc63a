package recommender

import (
	"errors"
	"slices"
)

// heldOut fills the quality section and the training curve: it splits in
// per user (SplitPerUser, the eval protocol), retrains m's kind on the
// training half and scores every user with a held-out item. When it cannot
// (no held-out user, no trainer, a failed retrain) a note says why.
func (r *Report) heldOut(in []Interaction, m *Model, cfg ReportConfig) {
	train, test := SplitPerUser(in, cfg.TestFraction, cfg.Seed)
	cases := heldOutCases(test)
	if len(cases) == 0 {
		r.note("no user has two items: no held-out quality")
		return
	}
	kind := m.meta.Kind
	var scored *Model
	var err error
	switch {
	case kind == KindALS && !cfg.NoCurve:
		r.Curve, scored, err = alsCurve(train, cases, alsConfigFromParams(m.meta.Params), cfg.K)
	case cfg.Retrain != nil:
		scored, err = cfg.Retrain(kind, train)
	default:
		r.note("no trainer for a %s model: held-out quality left out", kind)
		return
	}
	if err == nil && scored == nil {
		err = errors.New("no model returned")
	}
	if err != nil { // the rest of the report stands without this section
		r.Curve = nil
		r.note("held-out quality left out: retraining %s on the training half failed: %v", kind, err)
		return
	}
	r.Quality = groupQuality(scored, cases, cfg)
	r.Quality.Trained = kind
}

// groupQuality scores every case's top K and groups the nDCGs.
func groupQuality(m *Model, cases []evalCase, cfg ReportConfig) *ReportQuality {
	users, scores := caseNDCG(m, cases, cfg.K)
	q := &ReportQuality{K: cfg.K, TestFraction: cfg.TestFraction, Seed: cfg.Seed, Resamples: cfg.Resamples,
		Users: len(cases), MinGroupUsers: cfg.MinGroupUsers}
	all := GroupScores(users, scores, func(string) string { return "all" }, cfg.Resamples, cfg.Seed)
	q.NDCG = all[0]
	if cfg.Users != nil {
		q.ByGender = GroupScores(users, scores, GenderOf(cfg.Users), cfg.Resamples, cfg.Seed)
		q.ByAge = GroupScores(users, scores, AgeBandOf(cfg.Users), cfg.Resamples, cfg.Seed)
		if gap, ok := QualityGap(q.ByGender, cfg.MinGroupUsers); ok {
			q.GenderGap = &gap
		}
		if gap, ok := QualityGap(q.ByAge, cfg.MinGroupUsers); ok {
			q.AgeGap = &gap
		}
		sortGroups(q.ByAge, AgeBands)
	}
	return q
}

// caseNDCG is each case's nDCG@k, in case order.
func caseNDCG(m *Model, cases []evalCase, k int) (users []string, scores []float64) {
	users = make([]string, len(cases))
	for i, c := range cases {
		users[i] = c.user
	}
	lists := recommendAll(m, users, k)
	scores = make([]float64, len(cases))
	for i, l := range lists {
		scores[i] = NDCGAtK(l, cases[i].relevant, k)
	}
	return users, scores
}

func sortGroups(g []GroupQuality, order []string) {
	slices.SortFunc(g, func(a, b GroupQuality) int { return compareInOrder(order, a.Group, b.Group) })
}
