package recommender

// alsFactors is the learned part of a KindALS model: one vector per user and
// per item, each matrix flat and row-major so scoring walks memory in order.
type alsFactors struct {
	factors  int
	users    []string         // row -> user id, ascending
	userRow  map[string]int32 // user id -> row
	items    []string         // row -> item id, ascending: index order is id order
	userVecs []float32        // len(users) × factors
	itemVecs []float32        // len(items) × factors
	// The items each user touched in training, as a sparse matrix without
	// values: seenIdx[seenPtr[u]:seenPtr[u+1]], ascending.
	seenPtr []int64
	seenIdx []int32
	// index is the quantized item matrix that makes exact top-K fast; built
	// on first use (or by Model.Warm) so every constructor gets it.
	index lazyIndex
}

// scoreBlock items are scored into a stack buffer before they meet the heap:
// the dot products run in one tight loop, and no per-request slice of all
// scores is allocated.
const scoreBlock = 256

// recommend scores every item for the user at row exactly and keeps the best
// k: through the quantized index when it applies, else by a plain scan. Both
// give the same items in the same order.
func (a *alsFactors) recommend(row int32, k int, excludeSeen bool) []Scored {
	f, n := a.factors, len(a.items)
	q := a.userVecs[int(row)*f : (int(row)+1)*f]
	var exclude []int32
	if excludeSeen {
		exclude = a.seenIdx[a.seenPtr[row]:a.seenPtr[row+1]]
	}
	best, ok := []scoredIndex(nil), false
	if x := a.index.get(a.itemVecs, n, f); x != nil {
		best, ok = x.topK(q, a.itemVecs, k, exclude)
	}
	if !ok {
		best = scanTopK(q, a.itemVecs, n, k, exclude)
	}
	out := make([]Scored, len(best))
	for j, b := range best {
		out[j] = Scored{Item: a.items[b.index], Score: float64(b.score)}
	}
	return out
}

// scanTopK scores all n rows of items against q with dot32 and keeps the
// best k, skipping exclude (ascending): the reference the index must match.
func scanTopK(q, items []float32, n, k int, exclude []int32) []scoredIndex {
	f := len(q)
	top := newTopK(min(k, n))
	var buf [scoreBlock]float32
	next := 0
	for lo := 0; lo < n; lo += scoreBlock {
		scores := buf[:min(scoreBlock, n-lo)]
		scoreRows(q, items[lo*f:], scores)
		for j, s := range scores {
			i := int32(lo + j)
			for next < len(exclude) && exclude[next] < i {
				next++
			}
			if next < len(exclude) && exclude[next] == i {
				continue
			}
			top.offer(i, s)
		}
	}
	return top.best()
}

// Warm builds the model's serving indexes now instead of at its first
// request, so a server can prepare a new model before swapping it in.
func (m *Model) Warm() {
	if m == nil {
		return
	}
	m.Knows("") // the first query builds the seen index
	if m.als != nil {
		m.als.index.get(m.als.itemVecs, len(m.als.items), m.als.factors)
	}
}
