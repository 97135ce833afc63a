package recommender

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Kind names the algorithm behind a Model; it is stored in the artifact so a
// loader can refuse a kind it does not know.
type Kind string

// KindPopularity ranks every user's list by item popularity.
const KindPopularity Kind = "popularity"

// Scored is one recommended item with its model score; higher is better.
type Scored struct {
	Item  string  `json:"id"`
	Score float64 `json:"score"`
}

// Meta describes a trained model: what it is and what it was trained on.
type Meta struct {
	Kind         Kind      `json:"kind"`
	Version      string    `json:"version"`
	TrainedAt    time.Time `json:"trained_at"`
	Users        int       `json:"users"`
	Items        int       `json:"items"`
	Interactions int       `json:"interactions"`
	// Params holds kind-specific training parameters (for example a half-life),
	// kept for the record; nil when there are none.
	Params map[string]string `json:"params,omitempty"`
	// Parent is the version this one replaced when it was published; empty
	// for the first version and for models not yet saved.
	Parent string `json:"parent,omitempty"`
	// DataSHA256 is the hex sha256 of the training data file, when known.
	DataSHA256 string `json:"data_sha256,omitempty"`
	// Metrics holds evaluation results (for example "ndcg@10"), when known.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Model answers top-K queries. It is immutable after training or loading, so
// one Model may serve many goroutines; swap models by replacing the pointer.
//
// Every kind keeps the popularity ranking: it lists the candidates (the
// items any answer may hold), it is the answer for users the model has never
// seen (cold start; per demographic group when known), and it is the whole
// answer for KindPopularity.
type Model struct {
	meta    Meta
	popular []Scored    // best first, ties by item id
	als     *alsFactors // KindALS only
	ii      *itemItem   // KindEASE and KindItemKNN only
	cold    *coldStart  // demographic lists; nil when training had no user file

	// minSupport is the candidate rule popular was filtered by (see
	// PopularityConfig.MinSupport): popular holds exactly the candidates.
	minSupport int

	// seen holds training's per-user item sets until the first query turns
	// them into index, the compact form a loaded model has from the start.
	seen    map[string]map[string]struct{}
	compact sync.Once
	index   *seenIndex
	// popularCol is popular[i]'s column in index.items, -1 when absent.
	popularCol []int32
	// blocked are the items of index.items that are not candidates, when
	// minSupport > 1 (a model built without the rule may list fewer items in
	// popular than it scores): an ALS or item-item model may score them, and
	// Recommend drops them.
	blocked map[string]struct{}
}

// Version returns the version string chosen when the model was trained.
func (m *Model) Version() string { return m.meta.Version }

// Meta returns the model's description. Params is shared: do not modify it.
func (m *Model) Meta() Meta { return m.meta }

// Knows reports whether the model saw the user in training.
func (m *Model) Knows(user string) bool {
	_, ok := m.seenIndex().userRow[user]
	return ok
}

// MinSupport returns the candidate rule: items fewer distinct users than
// this touched in training are never recommended (0 or 1: none excluded).
func (m *Model) MinSupport() int { return m.minSupport }

// Recommend returns up to k items for user, best first, ties broken by item id,
// only candidates (see PopularityConfig.MinSupport). With excludeSeen it skips
// items the user interacted with in training. A user the model has never seen
// gets their demographic group's list when training had their demographics
// (see ColdStartGroup), else the popular list. The result is the caller's.
func (m *Model) Recommend(user string, k int, excludeSeen bool) []Scored {
	if k <= 0 || len(m.popular) == 0 {
		return nil
	}
	idx := m.seenIndex()
	row, known := idx.userRow[user]
	switch {
	case !known:
		return m.coldStartList(user, k)
	case m.als != nil || m.ii != nil:
		return m.scoredList(row, k, excludeSeen)
	case !excludeSeen:
		return slices.Clone(m.popular[:min(k, len(m.popular))])
	}
	return m.popularUnseen(idx.row(row), k)
}

// popularUnseen is the popular list without the columns in seen (ascending).
func (m *Model) popularUnseen(seen []int32, k int) []Scored {
	out := make([]Scored, 0, min(k, len(m.popular)))
	for i, s := range m.popular {
		if c := m.popularCol[i]; c >= 0 {
			if _, hit := slices.BinarySearch(seen, c); hit {
				continue
			}
		}
		out = append(out, s)
		if len(out) == k {
			break
		}
	}
	return out
}

// scoredList is the ALS or item-item model's top k for the user at row,
// candidates only. The scorers rank every item they know, so when some are
// not candidates it asks for more than k and drops those; if too many of the
// best were dropped, it asks again for twice as many. Asking for k plus every
// blocked item always suffices, so the loop ends; the usual case is one call,
// since rarely touched items rarely score high.
func (m *Model) scoredList(row int32, k int, excludeSeen bool) []Scored {
	score := func(n int) []Scored {
		if m.als != nil {
			return m.als.recommend(row, n, excludeSeen)
		}
		return m.ii.recommend(row, n, excludeSeen)
	}
	if len(m.blocked) == 0 {
		return score(k)
	}
	enough := k + len(m.blocked)
	for ask := min(2*k, enough); ; ask = min(2*ask, enough) {
		got := score(ask)
		out := got[:0]
		for _, s := range got {
			if _, drop := m.blocked[s.Item]; !drop {
				out = append(out, s)
			}
		}
		if len(out) >= k || len(got) < ask || ask == enough {
			return slices.Clip(out[:min(k, len(out))])
		}
	}
}

// seenIndex returns the compact seen index, building it on first use from
// the training sets (or an ALS model's own seen matrix) and dropping them.
func (m *Model) seenIndex() *seenIndex {
	m.compact.Do(func() {
		switch {
		case m.index != nil:
		case m.als != nil:
			m.index = seenFromALS(m.als)
		case m.ii != nil:
			m.index = &seenIndex{users: m.ii.users, userRow: m.ii.userRow, items: m.ii.items,
				ptr: m.ii.seenPtr, idx: m.ii.seenIdx}
		default:
			m.index = seenFromSets(m.seen)
		}
		m.seen = nil
		col := indexOf(m.index.items)
		candidate := make([]bool, len(m.index.items))
		m.popularCol = make([]int32, len(m.popular))
		for i, s := range m.popular {
			if c, ok := col[s.Item]; ok {
				m.popularCol[i], candidate[c] = c, true
			} else {
				m.popularCol[i] = -1
			}
		}
		m.blocked = make(map[string]struct{})
		for c, ok := range candidate {
			if !ok && m.minSupport > 1 { // without a rule, popular need not list every item
				m.blocked[m.index.items[c]] = struct{}{}
			}
		}
	})
	return m.index
}

// sortScored orders best first with a deterministic tie-break by item id.
func sortScored(s []Scored) {
	slices.SortFunc(s, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Item, b.Item)
	})
}

func sortedKeys(set map[string]struct{}) []string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
