package recommender

// TargetStanding is how a model treats one target item for a set of users
// who have not interacted with it (averages over those users).
type TargetStanding struct {
	Users int
	// Rank is the target's mean 1-based rank among each user's unseen
	// candidates (1 is the top); a user whose list lacks it counts as
	// ranking it last.
	Rank float64
	// Hit is the share of users with the target in their top K.
	Hit float64
	// Score is the target's mean score (the model's own units).
	Score float64
}

// TargetShift compares a target's standing before and after an attack.
type TargetShift struct {
	Before, After TargetStanding
	// PredictionShift is After.Score - Before.Score (Mobasher et al.'s
	// prediction shift, in the model's score units).
	PredictionShift float64
	// RankShift is Before.Rank - After.Rank: positive when the target rose.
	RankShift float64
}

// MeasureTarget measures target in model m for users, who should not have
// rated it, with a top-k hit test.
func MeasureTarget(m *Model, target string, users []string, k int) TargetStanding {
	var st TargetStanding
	for _, u := range users {
		list := m.Recommend(u, len(m.popular), true)
		rank, score := len(list)+1, 0.0
		for i, s := range list {
			if s.Item == target {
				rank, score = i+1, float64(s.Score)
				break
			}
		}
		st.Users++
		st.Rank += float64(rank)
		st.Score += score
		if rank <= k {
			st.Hit++
		}
	}
	if st.Users > 0 {
		n := float64(st.Users)
		st.Rank, st.Hit, st.Score = st.Rank/n, st.Hit/n, st.Score/n
	}
	return st
}

// CompareTarget is MeasureTarget on the models trained without and with
// the attack, for the same users.
func CompareTarget(before, after *Model, target string, users []string, k int) TargetShift {
	b := MeasureTarget(before, target, users, k)
	a := MeasureTarget(after, target, users, k)
	return TargetShift{Before: b, After: a, PredictionShift: a.Score - b.Score, RankShift: b.Rank - a.Rank}
}
