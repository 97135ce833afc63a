package recommender

import (
	"cmp"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Group quality: the held-out nDCG@K of each demographic group's users, with
// a bootstrap confidence interval, and the gap between the best and the
// worst served group. The original team checked only that the training data
// mirrored the user base; a model can serve a group badly all the same.

// Group labels for users the user file does not describe.
const UnknownGroup = "unknown"

// AgeBand names the MovieLens-1M age band of an age in years (also of a
// users.dat age code, each its band's lowest age): "under 18", "18-24",
// "25-34", "35-44", "45-49", "50-55", "56+". The demographic cold-start
// lists use the same bands.
func AgeBand(age int) string { return ageBand(age) }

// AgeBands lists AgeBand's names in age order.
var AgeBands = []string{"under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"}

// GenderOf and AgeBandOf label a user by the user file, UnknownGroup when
// it does not list them.
func GenderOf(users map[string]UserInfo) func(user string) string {
	return func(user string) string {
		if u, ok := users[user]; ok {
			return u.Gender
		}
		return UnknownGroup
	}
}

// AgeBandOf: see GenderOf.
func AgeBandOf(users map[string]UserInfo) func(user string) string {
	return func(user string) string {
		if u, ok := users[user]; ok {
			return ageBand(u.Age)
		}
		return UnknownGroup
	}
}

// GroupQuality is one group's mean per-user score with its bootstrap
// percentile interval.
type GroupQuality struct {
	Group string  `json:"group"`
	Users int     `json:"users"`
	Mean  float64 `json:"mean"`
	Low   float64 `json:"ci_low"`  // 2.5th percentile of the bootstrap means
	High  float64 `json:"ci_high"` // 97.5th percentile
}

// DefaultBootstrapResamples is the number of bootstrap resamples.
const DefaultBootstrapResamples = 1000

// BootstrapCI is the percentile bootstrap 95% interval of the mean of
// values: resamples draws of len(values) values with replacement, from a
// generator seeded by seed, and the 2.5th and 97.5th percentiles of their
// means (nearest rank). One value gives [v, v]; none gives [0, 0].
func BootstrapCI(values []float64, resamples int, seed uint64) (low, high float64) {
	n := len(values)
	if n == 0 {
		return 0, 0
	}
	if resamples <= 0 {
		resamples = DefaultBootstrapResamples
	}
	rng := rand.New(rand.NewPCG(seed, 0xb007_5742))
	means := make([]float64, resamples)
	for r := range means {
		var sum float64
		for range n {
			sum += values[rng.IntN(n)]
		}
		means[r] = sum / float64(n)
	}
	slices.Sort(means)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(resamples))) - 1
		return means[max(0, min(i, resamples-1))]
	}
	return at(0.025), at(0.975)
}

// GroupScores splits per-user scores (scores[i] is users[i]'s) by group
// and returns each group's mean and bootstrap interval, by group name.
// Each group's generator is seeded by seed and the group's name, so adding
// a group leaves the others' intervals unchanged.
func GroupScores(users []string, scores []float64, groupOf func(string) string, resamples int, seed int64) []GroupQuality {
	by := map[string][]float64{}
	for i, u := range users {
		g := groupOf(u)
		by[g] = append(by[g], scores[i])
	}
	out := make([]GroupQuality, 0, len(by))
	for g, vals := range by {
		lo, hi := BootstrapCI(vals, resamples, uint64(seed)^stableHash(g))
		out = append(out, GroupQuality{Group: g, Users: len(vals), Mean: mean(vals), Low: lo, High: hi})
	}
	slices.SortFunc(out, func(a, b GroupQuality) int { return cmp.Compare(a.Group, b.Group) })
	return out
}

// DefaultMinGroupUsers is the fewest held-out users a group needs to count
// in a quality gap: a smaller group's mean is mostly noise.
const DefaultMinGroupUsers = 20

// QualityGap is the best group's mean minus the worst's, over the known
// groups (not UnknownGroup) with at least minUsers users; ok is false when
// fewer than two groups qualify.
func QualityGap(groups []GroupQuality, minUsers int) (gap float64, ok bool) {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, g := range groups {
		if g.Group == UnknownGroup || g.Users < minUsers {
			continue
		}
		lo, hi, n = min(lo, g.Mean), max(hi, g.Mean), n+1
	}
	if n < 2 {
		return 0, false
	}
	return hi - lo, true
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// recommendAll is every user's top k (seen items excluded), on GOMAXPROCS
// goroutines; out[i] is users[i]'s list.
func recommendAll(m *Model, users []string, k int) [][]string {
	out := make([][]string, len(users))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(users)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(users); i += workers {
				recs := m.Recommend(users[i], k, true)
				ids := make([]string, len(recs))
				for j, s := range recs {
					ids[j] = s.Item
				}
				out[i] = ids
			}
		})
	}
	wg.Wait()
	return out
}
