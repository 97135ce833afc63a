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
// Every kind keeps the popularity ranking: it is the answer for users the
// model has never seen (cold start), and the whole answer for KindPopularity.
type Model struct {
	meta    Meta
	popular []Scored    // best first, ties by item id
	als     *alsFactors // KindALS only
	ii      *itemItem   // KindEASE and KindItemKNN only

	// seen holds training's per-user item sets until the first query turns
	// them into index, the compact form a loaded model has from the start.
	seen    map[string]map[string]struct{}
	compact sync.Once
	index   *seenIndex
	// popularCol is popular[i]'s column in index.items, -1 when absent.
	popularCol []int32
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

// Recommend returns up to k items for user, best first, ties broken by item id.
// With excludeSeen it skips items the user interacted with in training. A user
// the model has never seen gets the popular list. The result is the caller's.
func (m *Model) Recommend(user string, k int, excludeSeen bool) []Scored {
	if k <= 0 || len(m.popular) == 0 {
		return nil
	}
	idx := m.seenIndex()
	row, known := idx.userRow[user]
	if known && m.als != nil {
		return m.als.recommend(row, k, excludeSeen)
	}
	if known && m.ii != nil {
		return m.ii.recommend(row, k, excludeSeen)
	}
	var seen []int32
	if known && excludeSeen {
		seen = idx.row(row)
	}
	if len(seen) == 0 {
		return slices.Clone(m.popular[:min(k, len(m.popular))])
	}
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
		m.popularCol = make([]int32, len(m.popular))
		for i, s := range m.popular {
			if c, ok := col[s.Item]; ok {
				m.popularCol[i] = c
			} else {
				m.popularCol[i] = -1
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
