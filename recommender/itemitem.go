package recommender

import "math"

// itemItem scores an item for a user as the sum, over the items the user
// touched, of one learned item-to-item weight. EASE^R (a dense weight
// matrix) and item-kNN (a few weighted neighbours per item) both have this
// form; only how the weights are stored differs.
type itemItem struct {
	items   []string         // dense index -> item id, ascending
	users   []string         // dense row -> user id, ascending
	userRow map[string]int32 // user id -> row
	// The items each user touched in training: seenIdx[seenPtr[u]:seenPtr[u+1]], ascending.
	seenPtr []int64
	seenIdx []int32
	// EASE^R: weights[i*n+j] is item i's vote for item j.
	weights []float32
	// item-kNN: item i votes nbrVal[p] for item nbrIdx[p], p in nbrPtr[i]:nbrPtr[i+1].
	nbrPtr []int64
	nbrIdx []int32
	nbrVal []float32
}

// scores sums the weight rows of the user's items into a fresh slice.
func (m *itemItem) scores(seen []int32) []float32 {
	n := len(m.items)
	out := make([]float32, n)
	for _, i := range seen {
		if m.weights != nil {
			axpy32(1, m.weights[int(i)*n:(int(i)+1)*n], out)
			continue
		}
		for p := m.nbrPtr[i]; p < m.nbrPtr[i+1]; p++ {
			out[m.nbrIdx[p]] += m.nbrVal[p]
		}
	}
	return out
}

// recommend ranks every item for the user at row exactly and keeps the best k.
func (m *itemItem) recommend(row int32, k int, excludeSeen bool) []Scored {
	seen := m.seenIdx[m.seenPtr[row]:m.seenPtr[row+1]]
	scores := m.scores(seen)
	top := newTopK(min(k, len(m.items)))
	next := 0
	for j, s := range scores {
		if excludeSeen && next < len(seen) && seen[next] == int32(j) {
			next++
			continue
		}
		if math.IsNaN(float64(s)) {
			continue
		}
		top.offer(int32(j), s)
	}
	best := top.best()
	out := make([]Scored, len(best))
	for j, b := range best {
		out[j] = Scored{Item: m.items[b.index], Score: float64(b.score)}
	}
	return out
}

// newItemItem indexes the training data: users, items and each user's items.
func newItemItem(data *alsData) *itemItem {
	return &itemItem{
		items:   data.items,
		users:   data.users,
		userRow: indexOf(data.users),
		seenPtr: data.byUser.ptr,
		seenIdx: data.byUser.idx,
	}
}
