package anomaly

import (
	"cmp"
	"math"
	"slices"
)

// degSim returns every user's DegSim: the mean Pearson similarity to its k
// most similar users, summed over the k best and divided by k (Chirita et
// al.; a user with fewer than k neighbours scores lower). Similarity is
// Pearson correlation on the co-rated items, each rating centred on its
// user's mean over the whole profile (so a constant run of co-rated
// ratings, as in a bandwagon profile's selected items, still correlates),
// needing MinOverlap co-rated items and counting only positive values.
func (m *ratingMatrix) degSim(cfg ProfileConfig) (deg, errs []float64) {
	means := make([]float64, len(m.users))
	for u, row := range m.byUser {
		var sum float64
		for _, c := range row {
			sum += float64(c.val)
		}
		means[u] = sum / float64(len(row))
	}
	raters := make([][]cell, len(m.items))
	for it, col := range m.byItem {
		raters[it] = sampleRaters(col, cfg.MaxRaters)
	}
	acc := newCoRatings(len(m.users))
	out, errs := make([]float64, len(m.users)), make([]float64, len(m.users))
	sims := make([]neighbour, 0, 64)
	for u, row := range m.byUser {
		if len(row) < cfg.MinOverlap {
			continue
		}
		for _, c := range row {
			dx := float64(c.val) - means[u]
			for _, v := range raters[c.idx] {
				if int(v.idx) != u {
					acc.add(v.idx, dx, float64(v.val)-means[v.idx])
				}
			}
		}
		sims = acc.drain(sims[:0], cfg.MinOverlap)
		sims = topK(sims, cfg.Neighbours)
		var sum float64
		for _, s := range sims {
			sum += s.w
		}
		out[u] = sum / float64(cfg.Neighbours)
		errs[u] = m.residual(u, sims, means)
	}
	return out, errs
}

// residual is the mean absolute error of predicting u's ratings from its
// neighbours' (mean-centred, similarity-weighted; items no neighbour rated
// are predicted as u's mean). Genuine tastes are predictable from similar
// users; filler drawn at random around item or global means is not.
func (m *ratingMatrix) residual(u int, nb []neighbour, means []float64) float64 {
	row := m.byUser[u]
	var sum float64
	for _, c := range row {
		var num, den float64
		for _, n := range nb {
			vrow := m.byUser[n.v]
			if j, ok := slices.BinarySearchFunc(vrow, c.idx, func(x cell, it int32) int { return cmp.Compare(x.idx, it) }); ok {
				num += n.w * (float64(vrow[j].val) - means[n.v])
				den += n.w
			}
		}
		pred := means[u]
		if den > 0 {
			pred += num / den
		}
		sum += math.Abs(float64(c.val) - pred)
	}
	return sum / float64(len(row))
}

// sampleRaters keeps every len/limit-th rater of col (in user order) when
// there are more than limit: a deterministic, evenly spread sample.
func sampleRaters(col []cell, limit int) []cell {
	if len(col) <= limit {
		return col
	}
	out := make([]cell, 0, limit)
	step := float64(len(col)) / float64(limit)
	for i := range limit {
		out = append(out, col[int(float64(i)*step)])
	}
	return out
}

// coRatings accumulates one user's co-rating sums with every other user,
// touching only the users met (so each user costs its co-ratings, not U).
type coRatings struct {
	sxy, sxx, syy []float64
	n             []int32
	touched       []int32
}

func newCoRatings(users int) *coRatings {
	return &coRatings{sxy: make([]float64, users), sxx: make([]float64, users), syy: make([]float64, users),
		n: make([]int32, users)}
}

func (a *coRatings) add(v int32, dx, dy float64) {
	if a.n[v] == 0 {
		a.touched = append(a.touched, v)
	}
	a.n[v]++
	a.sxy[v] += dx * dy
	a.sxx[v] += dx * dx
	a.syy[v] += dy * dy
}

// neighbour is a user v and its similarity w to the user scored.
type neighbour struct {
	v int32
	w float64
}

// drain appends the positive similarities of users met on at least
// minOverlap items to sims and resets the accumulators.
func (a *coRatings) drain(sims []neighbour, minOverlap int) []neighbour {
	for _, v := range a.touched {
		if int(a.n[v]) >= minOverlap && a.sxx[v] > 0 && a.syy[v] > 0 {
			if w := a.sxy[v] / math.Sqrt(a.sxx[v]*a.syy[v]); w > 0 {
				sims = append(sims, neighbour{v, w})
			}
		}
		a.sxy[v], a.sxx[v], a.syy[v], a.n[v] = 0, 0, 0, 0
	}
	a.touched = a.touched[:0]
	return sims
}

// topK keeps the k most similar of sims (ties by user index), reordered.
func topK(sims []neighbour, k int) []neighbour {
	slices.SortFunc(sims, func(a, b neighbour) int { return cmp.Or(cmp.Compare(b.w, a.w), cmp.Compare(a.v, b.v)) })
	return sims[:min(k, len(sims))]
}
