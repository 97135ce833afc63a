package recommender

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// bruteTopK is the reference: every row scored with dot32, sorted, cut.
func bruteTopK(u, items []float32, rows, k int, exclude []int32) []scoredIndex {
	f := len(u)
	scores := make([]float32, rows)
	for i := range rows {
		scores[i] = dot32(u, items[i*f:(i+1)*f])
	}
	return topKBySort(scores, k, exclude)
}

// indexCase draws a random matrix of the named shape; ties come from
// repeated rows and from small integer factors.
func indexCase(rng *rand.Rand, rows, cols int, shape string) []float32 {
	m := make([]float32, rows*cols)
	for i := range m {
		switch shape {
		case "integers":
			m[i] = float32(rng.IntN(5) - 2)
		case "skewed":
			m[i] = float32(rng.NormFloat64() * math.Exp(3*rng.Float64()-1.5))
		default:
			m[i] = float32(rng.NormFloat64())
		}
	}
	if shape == "duplicates" && rows > 1 {
		for i := 1; i < rows; i += 2 { // every odd row repeats an earlier row
			src := rng.IntN(i)
			copy(m[i*cols:(i+1)*cols], m[src*cols:(src+1)*cols])
		}
	}
	if shape == "zeros" {
		for i := 0; i < rows; i += 3 {
			clear(m[i*cols : (i+1)*cols])
		}
	}
	return m
}

func TestItemIndexMatchesBruteForce(t *testing.T) {
	tests := []struct {
		name       string
		rows, cols int
		k          int
		shape      string
	}{
		{"gaussian 64", 1000, 64, 20, "gaussian"},
		{"rows not a multiple of 3", 1001, 64, 20, "gaussian"},
		{"one factor", 500, 1, 10, "gaussian"},
		{"odd factors", 400, 7, 15, "gaussian"},
		{"two lane chunks", 300, 65, 20, "gaussian"},
		{"long vectors", 200, 300, 20, "skewed"},
		{"integer ties", 2000, 8, 50, "integers"},
		{"duplicate rows", 1500, 16, 40, "duplicates"},
		{"zero rows", 300, 32, 200, "zeros"},
		{"skewed norms", 3000, 64, 20, "skewed"},
		{"k beyond rows", 10, 4, 30, "gaussian"},
		{"k one", 100, 4, 1, "integers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.rows), uint64(tc.cols)))
			items := indexCase(rng, tc.rows, tc.cols, tc.shape)
			x := newItemIndex(items, tc.rows, tc.cols)
			if x == nil {
				t.Fatal("no index for a finite matrix")
			}
			for trial := range 20 {
				u := indexCase(rng, 1, tc.cols, tc.shape)
				if trial == 0 {
					clear(u) // the all-zero user ties every item
				}
				var exclude []int32
				for i := range tc.rows {
					if rng.IntN(10) == 0 {
						exclude = append(exclude, int32(i))
					}
				}
				got, ok := x.topK(u, items, tc.k, exclude)
				want := bruteTopK(u, items, tc.rows, tc.k, exclude)
				if !ok || !slices.Equal(got, want) {
					t.Fatalf("trial %d: index gave %v (ok %v), brute force %v", trial, got, ok, want)
				}
			}
		})
	}
}

// TestItemIndexBound checks the proven error bound on every item: the
// exactness of topK rests on it.
func TestItemIndexBound(t *testing.T) {
	for _, shape := range []string{"gaussian", "skewed", "integers"} {
		rng := rand.New(rand.NewPCG(3, 4))
		const rows, cols = 600, 130
		items := indexCase(rng, rows, cols, shape)
		x := newItemIndex(items, rows, cols)
		sums := make([]int32, len(x.words)/cols*lanesPerWord)
		for range 10 {
			u := indexCase(rng, 1, cols, shape)
			q, ok := x.newQuery(u)
			if !ok {
				t.Fatal("query refused")
			}
			packedDots(x.words, q.p, sums)
			for i := range rows {
				approx := float32(sums[i]) * (x.scale[i] * q.t)
				exact := dot32(u, items[i*cols:(i+1)*cols])
				if b := q.bound(x, i, approx); !(math.Abs(float64(exact-approx)) <= float64(b)) {
					t.Fatalf("%s item %d: |%v - %v| > bound %v", shape, i, exact, approx, b)
				}
			}
		}
	}
}

func TestItemIndexRefusesUnboundedValues(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1)), 1e20} {
		items := []float32{1, 2, bad, 4}
		if x := newItemIndex(items, 2, 2); x != nil {
			t.Errorf("index built over %v", bad)
		}
		x := newItemIndex([]float32{1, 2, 3, 4}, 2, 2)
		if _, ok := x.topK([]float32{bad, 1}, []float32{1, 2, 3, 4}, 1, nil); ok {
			t.Errorf("query %v accepted", bad)
		}
	}
	if newItemIndex(nil, 0, 64) != nil || newItemIndex([]float32{1}, 1, 0) != nil {
		t.Error("index built over an empty matrix")
	}
}

func TestUnpackLanes(t *testing.T) {
	const lim = 1<<20 - 1
	for _, l := range [][3]int64{{0, 0, 0}, {-1, 1, -1}, {lim, -lim, lim}, {-lim, lim, -lim}, {5, -7, 0}} {
		w := uint64(l[0]) + uint64(l[1])<<laneBits + uint64(l[2])<<(2*laneBits)
		if a, b, c := unpackLanes(w); [3]int64{a, b, c} != l {
			t.Errorf("unpack(pack(%v)) = %v", l, [3]int64{a, b, c})
		}
	}
}

// TestRecommendUsesIndexExactly compares a model's answers with the plain scan.
func TestRecommendUsesIndexExactly(t *testing.T) {
	m := benchALSModel()
	a := m.als
	m.Warm()
	if a.index.index == nil {
		t.Fatal("Warm built no index")
	}
	for _, user := range []string{"0", "17", "999"} {
		row := a.userRow[user]
		got := m.Recommend(user, 20, true)
		q := a.userVecs[int(row)*a.factors : int(row+1)*a.factors]
		want := scanTopK(q, a.itemVecs, len(a.items), 20, a.seenIdx[a.seenPtr[row]:a.seenPtr[row+1]])
		if len(got) != len(want) {
			t.Fatalf("user %s: %d items, want %d", user, len(got), len(want))
		}
		for j := range want {
			if got[j].Item != a.items[want[j].index] || got[j].Score != float64(want[j].score) {
				t.Fatalf("user %s item %d: %+v, want %s %v", user, j, got[j], a.items[want[j].index], want[j].score)
			}
		}
	}
}

// BenchmarkTopK27k: exact top-20 over 27k items × 64 factors for one
// request, seen items excluded, by the plain scan and by the quantized
// index; reports the median and 99th percentile of single calls.
//
//	go test -run '^$' -bench TopK27k -benchtime 20000x ./recommender/
func BenchmarkTopK27k(b *testing.B) {
	m := benchALSModel()
	a := m.als
	x := newItemIndex(a.itemVecs, len(a.items), a.factors)
	variants := []struct {
		name string
		fn   func(q []float32, exclude []int32)
	}{
		{"scan", func(q []float32, ex []int32) { scanTopK(q, a.itemVecs, len(a.items), 20, ex) }},
		{"index", func(q []float32, ex []int32) { x.topK(q, a.itemVecs, 20, ex) }},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, 1<<16)
			for i := 0; b.Loop(); i++ {
				row := i % len(a.users)
				q := a.userVecs[row*a.factors : (row+1)*a.factors]
				start := time.Now()
				v.fn(q, a.seenIdx[a.seenPtr[row]:a.seenPtr[row+1]])
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
