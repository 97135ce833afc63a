package recommender

import (
	"sync"
	"sync/atomic"
)

// alsSolver runs the half-iterations of implicit ALS.
type alsSolver struct {
	f       int
	reg     float32
	steps   int
	workers int
	gram    []float32 // f×f: YᵀY + λI of the fixed side
	// Rows with at most directMax items are solved exactly (directRow) when
	// z, the fixed side's rows times gram⁻¹, is worth computing; z is nil
	// when every row goes to conjugate gradient.
	directMax int
	z         []float32
}

func newALSSolver(f int, cfg ALSConfig) *alsSolver {
	return &alsSolver{f: f, reg: cfg.Regularization, steps: cfg.CGSteps, workers: cfg.Workers,
		gram: make([]float32, f*f), directMax: directMaxItems(f, cfg.CGSteps)}
}

// Row blocks handed to a worker at a time: large enough that claiming one is
// cheap, small enough that heavy users spread across workers.
const (
	solveBlock = 64
	gramBlock  = 1024
)

// solve updates every row of dst (one vector per row of m) given the fixed
// factors of the other side.
func (s *alsSolver) solve(dst, fixed []float32, m csr) {
	s.setGram(fixed)
	s.setDirect(fixed, m)
	f := s.f
	parallelBlocks(m.rows(), solveBlock, s.workers, func() func(lo, hi int) {
		sc := newCGScratch(f)
		ds := newDirectScratch(s.directMax)
		return func(lo, hi int) {
			for r := lo; r < hi; r++ {
				cols, conf := m.idx[m.ptr[r]:m.ptr[r+1]], m.val[m.ptr[r]:m.ptr[r+1]]
				x := dst[r*f : (r+1)*f]
				if s.z == nil || len(cols) > s.directMax || !s.directRow(x, cols, conf, fixed, ds) {
					s.cgRow(x, cols, conf, fixed, sc)
				}
			}
		}
	})
}

// setGram sets s.gram = YᵀY + λI. Blocks of rows are summed in float32 in
// parallel, then the block sums are added in block order in float64, so the
// result does not depend on the number of workers.
func (s *alsSolver) setGram(y []float32) {
	f := s.f
	rows := 0
	if f > 0 {
		rows = len(y) / f
	}
	nBlocks := (rows + gramBlock - 1) / gramBlock
	partial := make([][]float32, nBlocks)
	parallelBlocks(rows, gramBlock, s.workers, func() func(lo, hi int) {
		return func(lo, hi int) {
			g := make([]float32, f*f)
			for r := lo; r < hi; r++ {
				v := y[r*f : (r+1)*f]
				for a, va := range v { // upper triangle
					axpy32(va, v[a:], g[a*f+a:(a+1)*f])
				}
			}
			partial[lo/gramBlock] = g
		}
	})
	sum := make([]float64, f*f)
	for _, g := range partial {
		for i, x := range g {
			sum[i] += float64(x)
		}
	}
	for a := range f {
		for b := a; b < f; b++ {
			v := float32(sum[a*f+b])
			if a == b {
				v += s.reg
			}
			s.gram[a*f+b], s.gram[b*f+a] = v, v
		}
	}
}

type cgScratch struct{ r, p, ap []float32 }

func newCGScratch(f int) *cgScratch {
	return &cgScratch{r: make([]float32, f), p: make([]float32, f), ap: make([]float32, f)}
}

// cgRow improves x, in place, toward the solution of
//
//	(YᵀY + λI + Σ_i c'_i y_i y_iᵀ) x = Σ_i (1 + c'_i) y_i
//
// over the row's items i with c'_i = confidence - 1, by a few conjugate
// gradient steps from the current x. This is the implicit library's
// least_squares_cg; each row depends only on its own inputs.
func (s *alsSolver) cgRow(x []float32, cols []int32, conf []float32, y []float32, sc *cgScratch) {
	f := s.f
	r, p, ap := sc.r, sc.p, sc.ap
	matVec(s.gram, x, r)
	for k := range r {
		r[k] = -r[k]
	}
	for j, c := range cols {
		yi := y[int(c)*f : (int(c)+1)*f]
		axpy32(1+conf[j]-conf[j]*dot32(yi, x), yi, r)
	}
	copy(p, r)
	rsOld := dot32(r, r)
	if rsOld < 1e-20 {
		return
	}
	for range s.steps {
		matVec(s.gram, p, ap)
		for j, c := range cols {
			yi := y[int(c)*f : (int(c)+1)*f]
			axpy32(conf[j]*dot32(yi, p), yi, ap)
		}
		pap := dot32(p, ap)
		if pap <= 0 { // only rounding can get here: the matrix is positive definite
			return
		}
		alpha := rsOld / pap
		axpy32(alpha, p, x)
		axpy32(-alpha, ap, r)
		rsNew := dot32(r, r)
		if rsNew < 1e-20 {
			return
		}
		beta := rsNew / rsOld
		for k := range p {
			p[k] = r[k] + beta*p[k]
		}
		rsOld = rsNew
	}
}

// matVec sets out = a·v for the square row-major matrix a.
func matVec(a, v, out []float32) {
	f := len(v)
	for i := range out {
		out[i] = dot32(v, a[i*f:(i+1)*f])
	}
}

// parallelBlocks calls a worker's function for each block [lo, hi) of
// [0, n), blocks claimed in order from a shared counter by up to workers
// goroutines. newWorker runs once per goroutine to set up its scratch space.
func parallelBlocks(n, block, workers int, newWorker func() func(lo, hi int)) {
	nBlocks := (n + block - 1) / block
	workers = max(1, min(workers, nBlocks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			fn := newWorker()
			for {
				b := int(next.Add(1) - 1)
				if b >= nBlocks {
					return
				}
				fn(b*block, min((b+1)*block, n))
			}
		})
	}
	wg.Wait()
}
