package recommender

import (
	"cmp"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
)

// The measures below describe a set of recommendation lists as a whole:
// how many items they use, how unequally they expose them, how popular and
// how personal they are, and how well each list matches its user's genres.
// Each is defined where it is computed; the tests check them on numbers
// worked out by hand.

// Gini is the Gini coefficient of non-negative exposure counts, one per
// item (items never shown included, as zeros): with the counts sorted
// ascending, x_1 ≤ … ≤ x_n,
//
//	G = Σ_i (2i − n − 1)·x_i / (n·Σ_i x_i)
//
// 0 when every item is shown equally, (n−1)/n when one item takes every
// slot: [1 1 1 1] gives 0 and [0 0 0 4] gives 0.75. Fewer than two items
// or no exposure at all give 0. Negative counts are treated as 0.
func Gini(exposure []float64) float64 {
	n := len(exposure)
	if n < 2 {
		return 0
	}
	x := make([]float64, n)
	for i, v := range exposure {
		x[i] = max(v, 0)
	}
	slices.Sort(x)
	var num, total float64
	for i, v := range x {
		num += float64(2*(i+1)-n-1) * v
		total += v
	}
	if total == 0 {
		return 0
	}
	return num / (float64(n) * total)
}

// Jaccard is |a ∩ b| / |a ∪ b| of two lists taken as sets; two empty lists
// give 0 (nothing shared, and nothing to share).
func Jaccard(a, b []string) float64 {
	set := make(map[string]bool, len(a))
	for _, x := range a {
		set[x] = true
	}
	inter, union := 0, len(set)
	counted := make(map[string]bool, len(b))
	for _, x := range b {
		if counted[x] {
			continue
		}
		counted[x] = true
		if set[x] {
			inter++
		} else {
			union++
		}
	}
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// Personalization is 1 − the mean Jaccard similarity of pairs of users'
// lists: 0 when everyone gets the same list, 1 when no two lists share an
// item. With at most maxPairs pairs every pair counts; otherwise maxPairs
// pairs of distinct users are drawn with a generator seeded by seed, so
// the figure is deterministic. Fewer than two lists give 0.
func Personalization(lists [][]string, maxPairs int, seed int64) float64 {
	n := len(lists)
	if n < 2 || maxPairs <= 0 {
		return 0
	}
	ids := internLists(lists)
	var sum float64
	pairs := n * (n - 1) / 2
	if n < 1<<16 && pairs <= maxPairs {
		for i := range n {
			for j := i + 1; j < n; j++ {
				sum += sortedJaccard(ids[i], ids[j])
			}
		}
		return 1 - sum/float64(pairs)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e75_0a11))
	for range maxPairs {
		i := rng.IntN(n)
		j := rng.IntN(n - 1)
		if j >= i {
			j++
		}
		sum += sortedJaccard(ids[i], ids[j])
	}
	return 1 - sum/float64(maxPairs)
}

// internLists numbers the items and returns each list as sorted distinct numbers.
func internLists(lists [][]string) [][]int32 {
	num := map[string]int32{}
	out := make([][]int32, len(lists))
	for i, l := range lists {
		row := make([]int32, 0, len(l))
		for _, item := range l {
			id, ok := num[item]
			if !ok {
				id = int32(len(num))
				num[item] = id
			}
			row = append(row, id)
		}
		slices.Sort(row)
		out[i] = slices.Compact(row)
	}
	return out
}

// sortedJaccard is Jaccard of two sorted, distinct id lists.
func sortedJaccard(a, b []int32) float64 {
	inter, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// DefaultCalibrationAlpha is Steck's smoothing of the list's genre
// distribution, which keeps the divergence finite when a list misses one
// of the user's genres.
const DefaultCalibrationAlpha = 0.01

// CalibrationKL is Steck's (2018) miscalibration of one list: the
// Kullback-Leibler divergence, in nats, of the list's genre distribution q
// from the user's history's p, with q smoothed towards p,
//
//	KL(p‖q̃) = Σ_g p(g)·ln(p(g)/q̃(g)),   q̃ = (1−α)·q + α·p,
//
// summed over the genres with p(g) > 0. 0 means the list mirrors the
// history's genres; it grows as the list drifts from them, to at most
// ln(1/α) when it shares none. alpha outside (0, 1] takes
// DefaultCalibrationAlpha. An empty p gives 0.
func CalibrationKL(p, q map[string]float64, alpha float64) float64 {
	if !(alpha > 0 && alpha <= 1) {
		alpha = DefaultCalibrationAlpha
	}
	var kl float64
	for _, g := range slices.Sorted(maps.Keys(p)) { // a fixed order: the same sum every time
		pg := p[g]
		if pg <= 0 {
			continue
		}
		kl += pg * math.Log(pg/((1-alpha)*q[g]+alpha*pg))
	}
	return kl
}

// GenreDistribution is Steck's p(g|items): each item spreads weight 1
// evenly over its genres (an item with two genres gives each one half),
// summed and normalised to 1. Items without genres count under
// UnknownGenre. No items give an empty map.
func GenreDistribution(items []string, genres func(item string) []string) map[string]float64 {
	dist := map[string]float64{}
	for _, item := range items {
		addGenres(dist, genres(item), 1)
	}
	normalize(dist)
	return dist
}

// UnknownGenre labels items the catalog gives no genre.
const UnknownGenre = "(none)"

func addGenres(dist map[string]float64, gs []string, weight float64) {
	if len(gs) == 0 {
		dist[UnknownGenre] += weight
		return
	}
	for _, g := range gs {
		dist[g] += weight / float64(len(gs))
	}
}

// normalize scales dist to sum to 1, summing in genre order so that the
// result does not depend on map order.
func normalize(dist map[string]float64) {
	var total float64
	for _, g := range slices.Sorted(maps.Keys(dist)) {
		total += dist[g]
	}
	if total == 0 {
		return
	}
	for g := range dist {
		dist[g] /= total
	}
}

// ShortHead returns the popular head of a catalog: the ceil(20%) of the
// items with the most interactions (ties by item id). Every other item is
// the long tail. Abdollahpouri et al. draw the line at 20% of
// interactions instead; the item count is simpler to state and to check.
func ShortHead(counts map[string]int) map[string]struct{} {
	type ic struct {
		item string
		n    int
	}
	all := make([]ic, 0, len(counts))
	for item, n := range counts {
		all = append(all, ic{item, n})
	}
	slices.SortFunc(all, func(a, b ic) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.item, b.item)
	})
	head := make(map[string]struct{})
	for _, x := range all[:(len(all)*ShortHeadPercent+99)/100] {
		head[x.item] = struct{}{}
	}
	return head
}

// ShortHeadPercent is the share of items, by interactions, that ShortHead
// calls popular.
const ShortHeadPercent = 20

// stableHash maps a string to a generator stream, for seeded choices that
// depend on a name (a group, a user) and not on map order.
func stableHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
