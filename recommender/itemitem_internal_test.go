package recommender

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestInvertSPD(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{1, 1}, {7, 1}, {40, 2}, {65, 3}} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), 1))
		m := make([]float64, tc.n*tc.n)
		for i := range m {
			m[i] = rng.Float64()*2 - 1
		}
		a := make([]float64, tc.n*tc.n) // a = mᵀm + I is symmetric positive definite
		for i := range tc.n {
			for j := range tc.n {
				for k := range tc.n {
					a[i*tc.n+j] += m[k*tc.n+i] * m[k*tc.n+j]
				}
			}
			a[i*tc.n+i]++
		}
		inv := append([]float64(nil), a...)
		invertSPD(inv, tc.n, tc.workers)
		for i := range tc.n {
			for j := range tc.n {
				var s float64
				for k := range tc.n {
					s += a[i*tc.n+k] * inv[k*tc.n+j]
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(s-want) > 1e-9 {
					t.Fatalf("n=%d: (A·A⁻¹)[%d][%d] = %g, want %g", tc.n, i, j, s, want)
				}
			}
		}
	}
}

// Three users: two watched a and b, one watched b and c. Whoever watched a
// is most like the users who also watched b, so an item-based model must
// recommend b to a new a-watcher before c.
func coWatch() []Interaction {
	return []Interaction{
		{User: "1", Item: "a", Weight: 1}, {User: "1", Item: "b", Weight: 1},
		{User: "2", Item: "a", Weight: 1}, {User: "2", Item: "b", Weight: 1},
		{User: "3", Item: "b", Weight: 1}, {User: "3", Item: "c", Weight: 1},
		{User: "4", Item: "a", Weight: 1}, {User: "4", Item: "z", Weight: 0}, // a zero weight is no preference
	}
}

func TestItemItemModelsRankCoWatchedItems(t *testing.T) {
	ease, err := trainEASE(coWatch(), EASEConfig{Lambda: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	knn, err := trainItemKNN(coWatch(), KNNConfig{Shrink: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*itemItem{"ease": ease, "itemknn": knn} {
		t.Run(name, func(t *testing.T) {
			if len(m.items) != 4 || len(m.seenIdx) != 8 {
				t.Fatalf("items %v: every interaction, the zero-weight one too, is seen", m.items)
			}
			got := m.recommend(m.userRow["4"], 2, true)
			if len(got) != 2 || got[0].Item != "b" || got[1].Item != "c" || !(got[0].Score > got[1].Score) {
				t.Errorf("user 4 (watched a) gets %+v, want b above c", got)
			}
			for _, s := range m.recommend(m.userRow["1"], 3, true) {
				if s.Item == "a" || s.Item == "b" {
					t.Errorf("seen item %s recommended with exclude-seen", s.Item)
				}
			}
		})
	}
}

func TestEASEZeroDiagonalAndLimits(t *testing.T) {
	m, err := trainEASE(coWatch(), EASEConfig{})
	if err != nil {
		t.Fatal(err)
	}
	n := len(m.items)
	for i := range n {
		if m.weights[i*n+i] != 0 {
			t.Errorf("B[%d][%d] = %v, want 0 (an item may not vote for itself)", i, i, m.weights[i*n+i])
		}
	}
	if _, err := trainEASE(coWatch(), EASEConfig{MaxItems: 2}); err == nil {
		t.Error("EASE over more items than MaxItems was accepted")
	}
}

// BenchmarkTrainEASE is MovieLens-100k-sized: 943 users, 1682 items, 100 each.
func BenchmarkTrainEASE(b *testing.B) {
	in := benchInteractions(943, 1682, 100)
	for b.Loop() {
		if _, err := trainEASE(in, EASEConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrainItemKNN is the same data.
func BenchmarkTrainItemKNN(b *testing.B) {
	in := benchInteractions(943, 1682, 100)
	for b.Loop() {
		if _, err := trainItemKNN(in, KNNConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}
