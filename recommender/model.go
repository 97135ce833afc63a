package recommender

import (
	"cmp"
	"slices"
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
}

// Model answers top-K queries. It is immutable after training or loading, so
// one Model may serve many goroutines; swap models by replacing the pointer.
//
// Every kind keeps the popularity ranking: it is the answer for users the
// model has never seen (cold start), and the whole answer for KindPopularity.
type Model struct {
	meta    Meta
	popular []Scored                       // best first, ties by item id
	seen    map[string]map[string]struct{} // user -> items they interacted with
	als     *alsFactors                    // KindALS only
}

// Version returns the version string chosen when the model was trained.
func (m *Model) Version() string { return m.meta.Version }

// Meta returns the model's description. Params is shared: do not modify it.
func (m *Model) Meta() Meta { return m.meta }

// Knows reports whether the model saw the user in training.
func (m *Model) Knows(user string) bool {
	_, ok := m.seen[user]
	return ok
}

// Recommend returns up to k items for user, best first, ties broken by item id.
// With excludeSeen it skips items the user interacted with in training. A user
// the model has never seen gets the popular list. The result is the caller's.
func (m *Model) Recommend(user string, k int, excludeSeen bool) []Scored {
	if k <= 0 || len(m.popular) == 0 {
		return nil
	}
	if m.als != nil {
		if row, ok := m.als.userRow[user]; ok {
			return m.als.recommend(row, k, excludeSeen)
		}
	}
	seen := m.seen[user]
	if !excludeSeen || len(seen) == 0 {
		return slices.Clone(m.popular[:min(k, len(m.popular))])
	}
	out := make([]Scored, 0, min(k, len(m.popular)))
	for _, s := range m.popular {
		if _, ok := seen[s.Item]; ok {
			continue
		}
		out = append(out, s)
		if len(out) == k {
			break
		}
	}
	return out
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
