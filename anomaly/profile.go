package anomaly

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Profile-level poisoning features, scored over a batch of ratings (the set
// a model is about to train on) rather than rating by rating. They catch
// what the streaming rules cannot: small profiles that never burst and
// patient profiles that rate minutes apart. After Chirita, Nejdl and
// Zamfir, "Preventing shilling attacks in online recommender systems"
// (WIDM 2005), and Burke, Mobasher, Williams and Bhaumik, "Classification
// features for attack detection in collaborative recommender systems"
// (KDD 2006). For user u with ratings r_ui, item means m_i and counts n_i:
//
//	RDMA      = (1/N_u) Σ_i |r_ui − m_i| / n_i     (rating deviation from mean agreement)
//	WDMA      = (1/N_u) Σ_i |r_ui − m_i| / n_i²    (weighted: rare items count more)
//	WDA       = Σ_i |r_ui − m_i| / n_i             (not normalized by profile length)
//	DegSim    = (1/k) Σ_{v ∈ kNN(u)} w_uv          (Pearson w on ≥ MinOverlap co-rated items)
//	LengthVar = |N_u − median N| / median N       (profile length deviation)
//	FMTD      = mean of u's max-rated items − mean of the rest (filler mean target difference)
//	Residual  = (1/N_u) Σ_i |r_ui − p_ui|, p_ui predicted from u's k nearest neighbours
//
// The verdict. On data where genuine tastes vary (the shilling test's
// synthetic users), no single feature separates attack profiles from
// genuine ones: an attacker's filler mimics the population, and only the
// Residual moves for every attack model, by about one robust standard
// deviation. What gives a push campaign away is that many such mildly odd
// profiles rate the same target at the maximum. So each profile's Score is
// its Residual's robust z-score (median/MAD over the judged profiles);
// each item's focus is Stouffer's combination Σ Score / √n over the n
// profiles rating it at the maximum, itself robust-z-scored over the items;
// and a profile is flagged when its Score reaches Threshold on its own, or
// reaches FocusSuspicion while it rates at the maximum an item whose focus
// reaches FocusThreshold (TargetFocus). The other features are reported
// for people and for tuning.

// ProfileConfig sets the batch profile scorer. The zero value works; each
// field's comment gives its default.
type ProfileConfig struct {
	// MinRating and MaxRating bound the scale; ratings outside are ignored.
	// Defaults 1 and 5.
	MinRating, MaxRating int
	// MinProfile: profiles with fewer ratings are scored but never flagged
	// and do not shape the population's medians. Default 5.
	MinProfile int
	// Neighbours is DegSim's k (and Residual's); default 10. MinOverlap is
	// the co-rated items a similarity needs; default 5.
	Neighbours, MinOverlap int
	// MaxRaters caps the raters of one item visited when looking for a
	// user's neighbours: popular items are sampled (every n/MaxRaters-th
	// rater in id order), bounding DegSim's time. Default 200.
	MaxRaters int
	// Threshold: a profile is flagged on its own when its Score (see
	// ProfileScore) reaches it. Default 5 (robust z units).
	Threshold float64
	// FocusThreshold, FocusSuspicion and FocusMin: a profile whose Score
	// is at least FocusSuspicion is also flagged when it rates at the
	// maximum an item whose focus (see itemFocus; over at least FocusMin
	// such raters) reaches FocusThreshold. Defaults 3.5, 1 and 5.
	FocusThreshold, FocusSuspicion float64
	FocusMin                       int
}

func (c ProfileConfig) withDefaults() ProfileConfig {
	c.MinRating, c.MaxRating = cmp.Or(c.MinRating, 1), cmp.Or(c.MaxRating, 5)
	c.MinProfile = cmp.Or(c.MinProfile, 5)
	c.Neighbours, c.MinOverlap = cmp.Or(c.Neighbours, 10), cmp.Or(c.MinOverlap, 5)
	c.MaxRaters = cmp.Or(c.MaxRaters, 200)
	c.Threshold = cmp.Or(c.Threshold, 5)
	c.FocusThreshold, c.FocusSuspicion = cmp.Or(c.FocusThreshold, 3.5), cmp.Or(c.FocusSuspicion, 1)
	c.FocusMin = cmp.Or(c.FocusMin, 5)
	return c
}

// Validate reports a configuration that cannot work.
func (c ProfileConfig) Validate() error {
	d := c.withDefaults()
	switch {
	case c.MinProfile < 0 || c.Neighbours < 0 || c.MinOverlap < 0 || c.MaxRaters < 0 || c.Threshold < 0 ||
		c.FocusThreshold < 0 || c.FocusSuspicion < 0 || c.FocusMin < 0:
		return fmt.Errorf("%w: negative profile scorer size or threshold", ErrInvalidConfig)
	case d.MinRating >= d.MaxRating:
		return fmt.Errorf("%w: profile scorer rating scale", ErrInvalidConfig)
	case d.MinOverlap < 2:
		return fmt.Errorf("%w: profile scorer overlap below 2", ErrInvalidConfig)
	}
	return nil
}

// ProfileFeatures are one profile's raw features (see the package comment
// above ProfileConfig for their definitions).
type ProfileFeatures struct {
	RDMA      float64 `json:"rdma"`
	WDMA      float64 `json:"wdma"`
	WDA       float64 `json:"wda"`
	DegSim    float64 `json:"degsim"`
	LengthVar float64 `json:"length_var"`
	FMTD      float64 `json:"fmtd"`
	Residual  float64 `json:"residual"`
	// TargetFocus is the largest focus (see itemFocus) of the items the
	// profile rates at the maximum. Not z-scored.
	TargetFocus float64 `json:"target_focus"`
}

// ProfileScore is one user's verdict.
type ProfileScore struct {
	User     string          `json:"user"`
	Ratings  int             `json:"ratings"`
	Features ProfileFeatures `json:"features"`
	// Z are the robust z-scores of the features but TargetFocus,
	// (x − median) / (1.4826·MAD) over the judged population.
	Z ProfileFeatures `json:"z"`
	// Score is the profile's own evidence, its Residual's z (see
	// suspicion); Flagged says whether the verdict (see the comment above
	// ProfileConfig) names it.
	Score   float64 `json:"score"`
	Flagged bool    `json:"flagged"`
}

// ProfileReport is a batch's verdict.
type ProfileReport struct {
	Profiles []ProfileScore `json:"profiles"` // by user id
	Flagged  []string       `json:"flagged"`  // flagged user ids, sorted
	Ratings  int            `json:"ratings"`  // distinct (user, movie) ratings scored
	Judged   int            `json:"judged"`   // profiles with at least MinProfile ratings
}

// ratingMatrix is a batch interned: users and items by sorted id, each
// user's ratings sorted by item, each item's raters sorted by user.
type ratingMatrix struct {
	users, items []string
	byUser       [][]cell // item index and value
	byItem       [][]cell // user index and value
	itemMean     []float64
}

type cell struct {
	idx int32
	val float32
}

// ScoreProfiles scores every profile in ratings, a batch such as a
// training set. Re-ratings of a (user, movie) pair count once, the latest
// (by time, then position) winning. Deterministic: the same ratings in any
// order give the same report.
//
// Cost, for R ratings, U users, I items and the config's k and MaxRaters
// = c: time O(R log R) to index, O(R·c) for DegSim (each rating visits at
// most c co-raters of its item), O(R·k·log p) for Residual (p the longest
// profile) and O(R + U log U + I log I) for the medians and the focus;
// memory O(R + U + I): DegSim keeps one row of accumulators over U, reused.
// 100,000 ratings take about 0.4 s on one core (BenchmarkScoreProfiles).
func ScoreProfiles(ratings []Rating, cfg ProfileConfig) (ProfileReport, error) {
	if err := cfg.Validate(); err != nil {
		return ProfileReport{}, err
	}
	cfg = cfg.withDefaults()
	m := indexRatings(ratings, cfg)
	rep := ProfileReport{Profiles: make([]ProfileScore, len(m.users))}
	for u, row := range m.byUser {
		rep.Ratings += len(row)
		rep.Profiles[u] = ProfileScore{User: m.users[u], Ratings: len(row), Features: m.deviation(u, cfg)}
	}
	deg, errs := m.degSim(cfg)
	lengths := make([]float64, 0, len(m.users))
	for u := range rep.Profiles {
		rep.Profiles[u].Features.DegSim, rep.Profiles[u].Features.Residual = deg[u], errs[u]
		if rep.Profiles[u].Ratings >= cfg.MinProfile {
			lengths = append(lengths, float64(rep.Profiles[u].Ratings))
		}
	}
	medLen := median(lengths)
	for u := range rep.Profiles {
		if medLen > 0 {
			rep.Profiles[u].Features.LengthVar = math.Abs(float64(rep.Profiles[u].Ratings)-medLen) / medLen
		}
	}
	judge(&rep, m, cfg)
	return rep, nil
}

// indexRatings interns the valid ratings, keeping the latest per pair.
func indexRatings(ratings []Rating, cfg ProfileConfig) *ratingMatrix {
	type keyed struct {
		r   Rating
		pos int
	}
	valid := make([]keyed, 0, len(ratings))
	for i, r := range ratings {
		if r.Rating >= cfg.MinRating && r.Rating <= cfg.MaxRating {
			valid = append(valid, keyed{r, i})
		}
	}
	slices.SortFunc(valid, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.r.User, b.r.User), cmp.Compare(a.r.Movie, b.r.Movie),
			a.r.Time.Compare(b.r.Time), cmp.Compare(a.pos, b.pos))
	})
	m := &ratingMatrix{}
	itemIdx := map[string]int32{}
	for _, k := range valid {
		itemIdx[k.r.Movie] = 0
	}
	for it := range itemIdx {
		m.items = append(m.items, it)
	}
	slices.Sort(m.items)
	for i, it := range m.items {
		itemIdx[it] = int32(i)
	}
	m.byItem = make([][]cell, len(m.items))
	for i, k := range valid {
		if i+1 < len(valid) && valid[i+1].r.User == k.r.User && valid[i+1].r.Movie == k.r.Movie {
			continue // a later rating of the pair follows
		}
		if len(m.users) == 0 || m.users[len(m.users)-1] != k.r.User {
			m.users = append(m.users, k.r.User)
			m.byUser = append(m.byUser, nil)
		}
		u, it := int32(len(m.users)-1), itemIdx[k.r.Movie]
		m.byUser[u] = append(m.byUser[u], cell{it, float32(k.r.Rating)})
		m.byItem[it] = append(m.byItem[it], cell{u, float32(k.r.Rating)})
	}
	m.itemMean = make([]float64, len(m.items))
	for it, col := range m.byItem {
		var sum float64
		for _, c := range col {
			sum += float64(c.val)
		}
		m.itemMean[it] = sum / float64(len(col))
	}
	return m
}

// deviation computes RDMA, WDMA, WDA and FMTD of user u.
func (m *ratingMatrix) deviation(u int, cfg ProfileConfig) ProfileFeatures {
	row := m.byUser[u]
	var f ProfileFeatures
	top := float32(cfg.MinRating)
	for _, c := range row {
		n := float64(len(m.byItem[c.idx]))
		dev := math.Abs(float64(c.val) - m.itemMean[c.idx])
		f.WDA += dev / n
		f.WDMA += dev / (n * n)
		top = max(top, c.val)
	}
	f.RDMA = f.WDA / float64(len(row))
	f.WDMA /= float64(len(row))
	var targetSum, fillerSum float64
	var targets int
	for _, c := range row {
		if c.val == top {
			targetSum, targets = targetSum+float64(c.val), targets+1
		} else {
			fillerSum += float64(c.val)
		}
	}
	if fillers := len(row) - targets; fillers > 0 {
		f.FMTD = targetSum/float64(targets) - fillerSum/float64(fillers)
	}
	return f
}

// median of xs (0 when empty); xs is reordered.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	mid := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[mid]
	}
	return (xs[mid-1] + xs[mid]) / 2
}
