package recommender

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestVectorOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 64, 67} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = rng.Float32()-0.5, rng.Float32()-0.5
		}
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot32(a, b); math.Abs(float64(got)-want) > 1e-5 {
			t.Errorf("n=%d: dot32 = %v, want %v", n, got, want)
		}
		y := slices.Clone(b)
		axpy32(2, a, y)
		for i := range y {
			if y[i] != b[i]+2*a[i] {
				t.Fatalf("n=%d: axpy32[%d] = %v, want %v", n, i, y[i], b[i]+2*a[i])
			}
		}
	}
}

// TestCGRowSolves: with as many CG steps as factors, one row's solve must
// reach the exact least-squares solution (computed here in float64).
func TestCGRowSolves(t *testing.T) {
	const f, items, reg = 6, 20, 0.1
	rng := rand.New(rand.NewPCG(5, 6))
	y := make([]float32, items*f)
	for i := range y {
		y[i] = rng.Float32() - 0.5
	}
	cols, conf := []int32{1, 4, 5, 11, 19}, []float32{3, 0, 10, 1, 40}
	s := newALSSolver(f, ALSConfig{Regularization: reg, CGSteps: 4 * f, Workers: 1})
	s.setGram(y)
	x := make([]float32, f)
	s.cgRow(x, cols, conf, y, newCGScratch(f))

	// A = YᵀY + λI + Σ c' y yᵀ, b = Σ (1+c') y, solved by Gaussian elimination.
	want := exactRow(y, items, f, reg, cols, conf)
	for r := range f {
		if math.Abs(float64(x[r])-want[r]) > 1e-3*math.Max(1, math.Abs(want[r])) {
			t.Fatalf("x = %v, want %v", x, want)
		}
	}
}

func solveDense(a [][]float64, b []float64) []float64 {
	n := len(b)
	for r := range n {
		a[r][n] = b[r]
	}
	for p := range n {
		best := p
		for r := p + 1; r < n; r++ {
			if math.Abs(a[r][p]) > math.Abs(a[best][p]) {
				best = r
			}
		}
		a[p], a[best] = a[best], a[p]
		for r := p + 1; r < n; r++ {
			m := a[r][p] / a[p][p]
			for c := p; c <= n; c++ {
				a[r][c] -= m * a[p][c]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := a[r][n]
		for c := r + 1; c < n; c++ {
			s -= a[r][c] * x[c]
		}
		x[r] = s / a[r][r]
	}
	return x
}

// benchInteractions makes users×perUser interactions over items with a
// popularity skew, fast enough to build inside a benchmark.
func benchInteractions(users, items, perUser int) []Interaction {
	rng := rand.New(rand.NewPCG(1, 1))
	zipf := rand.NewZipf(rng, 1.1, 8, uint64(items-1))
	ids := make([]string, items)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%06d", i)
	}
	in := make([]Interaction, 0, users*perUser)
	for u := range users {
		user := fmt.Sprint(u)
		for range perUser {
			in = append(in, Interaction{User: user, Item: ids[zipf.Uint64()], Weight: 1})
		}
	}
	return in
}

// BenchmarkALSIteration times one full iteration (users, then items) at
// 64 factors on 20k users × 5k items × 1M interactions (50 per user: every
// user goes to conjugate gradient).
func BenchmarkALSIteration(b *testing.B) { benchALSIteration(b, 20000, 5000, 50) }

// BenchmarkALSIterationLight: the course logs' shape, 200k users × 27k items
// with 5 items per user (1M interactions), where users are solved exactly.
func BenchmarkALSIterationLight(b *testing.B) { benchALSIteration(b, 200000, 27000, 5) }

func benchALSIteration(b *testing.B, nUsers, nItems, perUser int) {
	cfg := ALSConfig{}.WithDefaults()
	data, err := newALSData(benchInteractions(nUsers, nItems, perUser), cfg.Alpha)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	users, items := randomFactors(rng, len(data.users), cfg.Factors), randomFactors(rng, len(data.items), cfg.Factors)
	s := newALSSolver(cfg.Factors, cfg)
	b.ReportMetric(float64(len(data.byUser.idx)), "nnz")
	for b.Loop() {
		s.solve(users, items, data.byUser)
		s.solve(items, users, data.byItem)
	}
}

// benchALSModel is 27k items × 64 factors with random factors and 1k users
// who have each seen 100 items: the serving target's shape.
func benchALSModel() *Model {
	const users, items, f, seen = 1000, 27000, 64, 100
	rng := rand.New(rand.NewPCG(7, 8))
	a := &alsFactors{factors: f, userRow: map[string]int32{}, seenPtr: make([]int64, users+1)}
	for i := range items {
		a.items = append(a.items, fmt.Sprintf("m%06d", i))
	}
	for u := range users {
		a.users = append(a.users, fmt.Sprint(u))
		a.userRow[fmt.Sprint(u)] = int32(u)
		var row []int32
		for range seen {
			row = append(row, int32(rng.IntN(items)))
		}
		slices.Sort(row)
		a.seenIdx = append(a.seenIdx, slices.Compact(row)...)
		a.seenPtr[u+1] = int64(len(a.seenIdx))
	}
	a.userVecs = make([]float32, users*f)
	a.itemVecs = make([]float32, items*f)
	for _, m := range [][]float32{a.userVecs, a.itemVecs} {
		for i := range m {
			m[i] = float32(rng.NormFloat64()) * 0.1
		}
	}
	return &Model{meta: Meta{Kind: KindALS}, popular: []Scored{{Item: "m000000"}}, als: a}
}

// BenchmarkRecommendALS: exact top-20 over 27k items × 64 factors for one
// request, seen items excluded. Reports the 99th percentile of single calls
// beside the mean.
func BenchmarkRecommendALS(b *testing.B) {
	m := benchALSModel()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		m.Recommend(m.als.users[i%len(m.als.users)], 20, true)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
