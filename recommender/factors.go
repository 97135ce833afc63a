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
}

// scoreBlock items are scored into a stack buffer before they meet the heap:
// the dot products run in one tight loop, and no per-request slice of all
// scores is allocated.
const scoreBlock = 256

// recommend scores every item for the user at row exactly and keeps the best k.
func (a *alsFactors) recommend(row int32, k int, excludeSeen bool) []Scored {
	f, n := a.factors, len(a.items)
	q := a.userVecs[int(row)*f : (int(row)+1)*f]
	var exclude []int32
	if excludeSeen {
		exclude = a.seenIdx[a.seenPtr[row]:a.seenPtr[row+1]]
	}
	top := newTopK(min(k, n))
	var buf [scoreBlock]float32
	next := 0
	for lo := 0; lo < n; lo += scoreBlock {
		scores := buf[:min(scoreBlock, n-lo)]
		scoreRows(q, a.itemVecs[lo*f:], scores)
		for j, s := range scores {
			i := int32(lo + j)
			if next < len(exclude) && exclude[next] == i {
				next++
				continue
			}
			top.offer(i, s)
		}
	}
	best := top.best()
	out := make([]Scored, len(best))
	for j, b := range best {
		out[j] = Scored{Item: a.items[b.index], Score: float64(b.score)}
	}
	return out
}
