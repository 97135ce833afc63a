package recommender

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// topKBySort is the reference: sort everything, drop the excluded, cut.
func topKBySort(scores []float32, k int, exclude []int32) []scoredIndex {
	var all []scoredIndex
	for i, s := range scores {
		if !slices.Contains(exclude, int32(i)) {
			all = append(all, scoredIndex{index: int32(i), score: s})
		}
	}
	slices.SortStableFunc(all, func(a, b scoredIndex) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return int(a.index - b.index)
	})
	return all[:min(max(k, 0), len(all))]
}

func TestTopK(t *testing.T) {
	inf := float32(math.Inf(1))
	tests := []struct {
		name    string
		scores  []float32
		k       int
		exclude []int32
		want    []int32
	}{
		{"empty", nil, 3, nil, nil},
		{"k zero", []float32{1, 2}, 0, nil, nil},
		{"k negative", []float32{1, 2}, -1, nil, nil},
		{"k beyond n", []float32{1, 3, 2}, 10, nil, []int32{1, 2, 0}},
		{"best first", []float32{0.1, 0.9, 0.5, 0.7}, 2, nil, []int32{1, 3}},
		{"ties by index", []float32{1, 2, 2, 1, 2}, 3, nil, []int32{1, 2, 4}},
		{"all tied", []float32{5, 5, 5, 5}, 2, nil, []int32{0, 1}},
		{"exclude the best", []float32{0.1, 0.9, 0.5, 0.7}, 2, []int32{1}, []int32{3, 2}},
		{"exclude all", []float32{1, 2}, 2, []int32{0, 1}, nil},
		{"exclude out of range", []float32{1, 2}, 2, []int32{5}, []int32{1, 0}},
		{"negative and infinite", []float32{-1, -inf, inf, -0.5}, 4, nil, []int32{2, 3, 0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := topKScores(tc.scores, tc.k, tc.exclude)
			var idx []int32
			for _, g := range got {
				idx = append(idx, g.index)
			}
			if !slices.Equal(idx, tc.want) {
				t.Errorf("topK = %v, want %v", idx, tc.want)
			}
			if ref := topKBySort(tc.scores, tc.k, tc.exclude); !slices.Equal(got, ref) && len(got)+len(ref) > 0 {
				t.Errorf("topK = %v, sort says %v", got, ref)
			}
		})
	}
}

// TestTopKMatchesSort compares with the reference on random inputs with many ties.
func TestTopKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		n := rng.IntN(200)
		scores := make([]float32, n)
		for i := range scores {
			scores[i] = float32(rng.IntN(20)) / 4
		}
		var exclude []int32
		for i := range n {
			if rng.IntN(5) == 0 {
				exclude = append(exclude, int32(i))
			}
		}
		k := rng.IntN(30)
		got, want := topKScores(scores, k, exclude), topKBySort(scores, k, exclude)
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("n=%d k=%d: topK = %v, sort says %v", n, k, got, want)
		}
	}
}

// FuzzTopK reads scores from bytes (few distinct values, so many ties) and
// uses every seventh index as an exclusion.
func FuzzTopK(f *testing.F) {
	f.Add([]byte{1, 2, 2, 1, 2}, 3)
	f.Add([]byte{}, 1)
	f.Add([]byte{9, 9, 9, 9, 0, 255}, 2)
	f.Fuzz(func(t *testing.T, data []byte, k int) {
		k %= 64
		scores := make([]float32, len(data))
		var exclude []int32
		for i, b := range data {
			scores[i] = float32(int(b)%16) - 8
			if i%7 == 3 {
				exclude = append(exclude, int32(i))
			}
		}
		got, want := topKScores(scores, k, exclude), topKBySort(scores, k, exclude)
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("k=%d: topK = %v, sort says %v", k, got, want)
		}
	})
}
