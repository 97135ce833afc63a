package recommender

import "math"

// Exact solves for rows with few items. A user with n items needs
//
//	x = (G + Uᵀ C U)⁻¹ b,  G = YᵀY + λI,  U = those items' vectors,  C = diag(c')
//
// and the Woodbury identity turns the f×f inverse into an n×n one:
//
//	(G + UᵀCU)⁻¹ = G⁻¹ − G⁻¹Uᵀ (C⁻¹ + U G⁻¹ Uᵀ)⁻¹ U G⁻¹.
//
// With z_i = G⁻¹ y_i computed once per half-iteration for every fixed row,
// a row costs about 3nf + n²f/2 + n³/6 multiply-adds instead of conjugate
// gradient's (steps+1)(f² + 2nf): at 64 factors and 3 steps, rows of up to 26
// items, and ten times less for the course logs' typical 5. The answer is
// the exact least-squares solution that the CG steps approach, so quality
// does not suffer; it is computed in float64 where it matters (the n×n
// system) and does not depend on the number of workers.

// directMaxItems is the largest row for which the exact solve costs fewer
// multiply-adds than CG, for f factors and steps CG steps.
func directMaxItems(f, steps int) int {
	n := 0
	for ; n < f; n++ {
		direct := 3*n*f + n*n*f/2 + n*n*n/6
		cg := (steps + 1) * (f*f + 2*n*f)
		if direct >= cg {
			break
		}
	}
	return n - 1
}

// setDirect computes z = Y G⁻¹ (rows of the fixed side) when the rows of m
// that the exact solve would take save more than z costs (fixed rows × f²);
// otherwise it sets z to nil. It runs after setGram.
func (s *alsSolver) setDirect(fixed []float32, m csr) {
	f := s.f
	s.z = nil
	if f == 0 || s.directMax < 1 {
		return
	}
	saved := 0
	for r := range m.rows() {
		if n := int(m.ptr[r+1] - m.ptr[r]); n <= s.directMax {
			saved += (s.steps+1)*(f*f+2*n*f) - (3*n*f + n*n*f/2 + n*n*n/6)
		}
	}
	rows := len(fixed) / f
	if saved <= rows*f*f {
		return
	}
	inv, ok := invertSPD32(s.gram, f)
	if !ok {
		return
	}
	s.z = make([]float32, len(fixed))
	parallelBlocks(rows, gramBlock, s.workers, func() func(lo, hi int) {
		return func(lo, hi int) {
			for r := lo; r < hi; r++ {
				matVec(inv, fixed[r*f:(r+1)*f], s.z[r*f:(r+1)*f])
			}
		}
	})
}

type directScratch struct {
	pos  []int     // indexes of the row's items with positive confidence
	m, t []float64 // the n×n system C⁻¹ + U G⁻¹ Uᵀ and its right-hand side
}

func newDirectScratch(maxItems int) *directScratch {
	n := max(maxItems, 0)
	return &directScratch{pos: make([]int, 0, n), m: make([]float64, n*n), t: make([]float64, n)}
}

// directRow sets x to the exact solution of cgRow's system by the Woodbury
// identity, using s.z. It returns false, leaving x for CG to finish, if the
// small system is not numerically positive definite.
func (s *alsSolver) directRow(x []float32, cols []int32, conf []float32, y []float32, sc *directScratch) bool {
	f, z := s.f, s.z
	vec := func(m []float32, c int32) []float32 { return m[int(c)*f : (int(c)+1)*f] }
	clear(x) // x0 = G⁻¹ b = Σ (1 + c'_i) z_i
	sc.pos = sc.pos[:0]
	for j, c := range cols {
		axpy32(1+conf[j], vec(z, c), x)
		if conf[j] > 0 { // c' = 0 adds nothing to the matrix
			sc.pos = append(sc.pos, j)
		}
	}
	n := len(sc.pos)
	m, t := sc.m[:n*n], sc.t[:n]
	for a, ja := range sc.pos {
		ya := vec(y, cols[ja])
		t[a] = float64(dot32(ya, x))
		for b := a; b < n; b++ {
			k := float64(dot32(ya, vec(z, cols[sc.pos[b]])))
			m[a*n+b], m[b*n+a] = k, k
		}
		m[a*n+a] += 1 / float64(conf[ja])
	}
	if !choleskySolve(m, t, n) {
		return false
	}
	for a, ja := range sc.pos { // x = x0 − G⁻¹Uᵀ s
		axpy32(-float32(t[a]), vec(z, cols[ja]), x)
	}
	return true
}

// choleskySolve solves the symmetric positive definite n×n system a·s = t in
// place (s replaces t, a is overwritten); false if a is not positive definite.
func choleskySolve(a, t []float64, n int) bool {
	if !cholesky(a, n) {
		return false
	}
	for i := range n { // L y = t
		v := t[i]
		for k := range i {
			v -= a[i*n+k] * t[k]
		}
		t[i] = v / a[i*n+i]
	}
	for i := n - 1; i >= 0; i-- { // Lᵀ s = y
		v := t[i]
		for k := i + 1; k < n; k++ {
			v -= a[k*n+i] * t[k]
		}
		t[i] = v / a[i*n+i]
	}
	return true
}

// cholesky replaces the lower triangle of the n×n matrix a with L, a = LLᵀ.
func cholesky(a []float64, n int) bool {
	for j := range n {
		d := a[j*n+j]
		for k := range j {
			d -= a[j*n+k] * a[j*n+k]
		}
		if !(d > 0) || math.IsInf(d, 0) {
			return false
		}
		d = math.Sqrt(d)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			v := a[i*n+j]
			for k := range j {
				v -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = v / d
		}
	}
	return true
}

// invertSPD32 returns the inverse of the symmetric positive definite f×f
// matrix g, computed in float64 through its Cholesky factor.
func invertSPD32(g []float32, f int) ([]float32, bool) {
	a := make([]float64, f*f)
	for i, v := range g {
		a[i] = float64(v)
	}
	if !cholesky(a, f) {
		return nil, false
	}
	inv := make([]float32, f*f)
	col := make([]float64, f)
	for c := range f {
		clear(col)
		col[c] = 1
		for i := range f { // L y = e_c
			v := col[i]
			for k := range i {
				v -= a[i*f+k] * col[k]
			}
			col[i] = v / a[i*f+i]
		}
		for i := f - 1; i >= 0; i-- { // Lᵀ x = y
			v := col[i]
			for k := i + 1; k < f; k++ {
				v -= a[k*f+i] * col[k]
			}
			col[i] = v / a[i*f+i]
		}
		for i := range f {
			inv[i*f+c] = float32(col[i])
		}
	}
	return inv, true
}
