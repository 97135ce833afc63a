package recommender

import "slices"

// scoredIndex is an item by dense index with its score.
type scoredIndex struct {
	index int32
	score float32
}

// better reports whether a ranks before b: higher score first, then lower
// index. Dense item indexes follow item id order, so this is the same
// tie-break as sortScored.
func better(a, b scoredIndex) bool {
	return a.score > b.score || (a.score == b.score && a.index < b.index)
}

// topK keeps the k best items offered so far in a bounded min-heap whose
// root is the worst kept item: offering n items costs O(n log k), and most
// offers end at one comparison against the root. Exact, no approximation.
type topK struct {
	k    int
	heap []scoredIndex
}

func newTopK(k int) *topK {
	k = max(k, 0)
	return &topK{k: k, heap: make([]scoredIndex, 0, k)}
}

// offer considers one item. Scores must not be NaN.
func (t *topK) offer(index int32, score float32) {
	c := scoredIndex{index: index, score: score}
	if len(t.heap) < t.k {
		t.heap = append(t.heap, c)
		t.up(len(t.heap) - 1)
		return
	}
	if t.k == 0 || !better(c, t.heap[0]) {
		return
	}
	t.heap[0] = c
	t.down(0)
}

// best returns the kept items best first; the topK must not be used after.
func (t *topK) best() []scoredIndex {
	out := t.heap
	slices.SortFunc(out, func(a, b scoredIndex) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	t.heap = nil
	return out
}

func (t *topK) up(i int) {
	h := t.heap
	for i > 0 {
		parent := (i - 1) / 2
		if !better(h[parent], h[i]) { // parent is already the worse one
			return
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
}

func (t *topK) down(i int) {
	h := t.heap
	for {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && better(h[worst], h[l]) {
			worst = l
		}
		if r < len(h) && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// topKScores returns the k best of scores, best first, ties by lower index,
// skipping the indexes in exclude, which must be sorted ascending (indexes
// out of range are ignored).
func topKScores(scores []float32, k int, exclude []int32) []scoredIndex {
	t := newTopK(min(k, len(scores)))
	next := 0
	for i, s := range scores {
		for next < len(exclude) && exclude[next] < int32(i) {
			next++
		}
		if next < len(exclude) && exclude[next] == int32(i) {
			continue
		}
		t.offer(int32(i), s)
	}
	return t.best()
}
