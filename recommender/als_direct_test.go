package recommender

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDirectRowSolves: the Woodbury solve gives the exact least-squares
// solution (Gaussian elimination in float64), whatever x held before, items
// with zero confidence included.
func TestDirectRowSolves(t *testing.T) {
	const f, items, reg = 6, 20, 0.1
	rng := rand.New(rand.NewPCG(9, 10))
	y := make([]float32, items*f)
	for i := range y {
		y[i] = rng.Float32() - 0.5
	}
	tests := []struct {
		name string
		cols []int32
		conf []float32
	}{
		{"mixed", []int32{1, 4, 5, 11, 19}, []float32{3, 0, 10, 1, 40}},
		{"one item", []int32{7}, []float32{2}},
		{"only dislikes", []int32{2, 3}, []float32{0, 0}},
		{"tiny confidence", []int32{0, 8}, []float32{1e-20, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newALSSolver(f, ALSConfig{Regularization: reg, CGSteps: 3, Workers: 2})
			s.setGram(y)
			var m csr // enough such rows to be worth z
			m.ptr = append(m.ptr, 0)
			for range 50 {
				m.idx, m.val = append(m.idx, tc.cols...), append(m.val, tc.conf...)
				m.ptr = append(m.ptr, int64(len(m.idx)))
			}
			s.setDirect(y, m)
			if s.z == nil {
				t.Fatal("setDirect chose CG for a row that the exact solve makes cheaper")
			}
			x := []float32{9, -9, 9, -9, 9, -9} // a stale warm start must not matter
			if !s.directRow(x, tc.cols, tc.conf, y, newDirectScratch(s.directMax)) {
				t.Fatal("directRow refused a positive definite system")
			}
			want := exactRow(y, items, f, reg, tc.cols, tc.conf)
			for r := range f {
				if math.Abs(float64(x[r])-want[r]) > 1e-4*math.Max(1, math.Abs(want[r])) {
					t.Fatalf("x = %v, want %v", x, want)
				}
			}
		})
	}
}

// exactRow solves (YᵀY + λI + Σ c' y yᵀ) x = Σ (1+c') y in float64.
func exactRow(y []float32, items, f int, reg float64, cols []int32, conf []float32) []float64 {
	a, b := make([][]float64, f), make([]float64, f)
	for r := range f {
		a[r] = make([]float64, f+1)
		a[r][r] = reg
		for i := range items {
			for c := range f {
				a[r][c] += float64(y[i*f+r]) * float64(y[i*f+c])
			}
		}
	}
	for j, i := range cols {
		for r := range f {
			b[r] += (1 + float64(conf[j])) * float64(y[int(i)*f+r])
			for c := range f {
				a[r][c] += float64(conf[j]) * float64(y[int(i)*f+r]) * float64(y[int(i)*f+c])
			}
		}
	}
	return solveDense(a, b)
}

func TestDirectMaxItems(t *testing.T) {
	for _, tc := range []struct{ f, steps, want int }{{64, 3, 26}, {64, 1, 16}, {8, 3, 7}} {
		if got := directMaxItems(tc.f, tc.steps); got != tc.want {
			t.Errorf("directMaxItems(%d, %d) = %d, want %d", tc.f, tc.steps, got, tc.want)
		}
	}
}

func TestCholeskyRefusesIndefinite(t *testing.T) {
	a := []float64{1, 2, 2, 1} // eigenvalues 3 and -1
	if choleskySolve(a, []float64{1, 1}, 2) {
		t.Fatal("solved an indefinite system")
	}
	if _, ok := invertSPD32([]float32{0, 0, 0, 0}, 2); ok {
		t.Fatal("inverted a zero matrix")
	}
}
