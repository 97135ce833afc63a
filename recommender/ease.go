package recommender

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
)

// KindEASE scores items with EASE^R (Steck 2019): a dense item-to-item
// weight matrix learned in closed form from the item co-occurrence matrix.
const KindEASE Kind = "ease"

// EASEConfig tunes TrainEASE. Zero fields take the defaults in their comments.
type EASEConfig struct {
	// Lambda is the L2 penalty added to the Gram matrix's diagonal; default 300.
	// Larger catalogs and denser data want larger values.
	Lambda float64
	// MaxItems refuses catalogs whose n×n inversion would take too long in
	// pure Go on a few cores (the cost grows as n³); default 8000. Use
	// item-kNN above it, or filter candidates first.
	MaxItems int
	// Workers share the inversion's row updates; default runtime.GOMAXPROCS(0).
	Workers int
	// Popularity tunes the cold-start list.
	Popularity PopularityConfig
}

// EASE defaults.
const (
	DefaultEASELambda   = 300
	DefaultEASEMaxItems = 8000
)

func (c EASEConfig) withDefaults() EASEConfig {
	if c.Lambda == 0 {
		c.Lambda = DefaultEASELambda
	}
	if c.MaxItems == 0 {
		c.MaxItems = DefaultEASEMaxItems
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// trainEASE learns the weights B = I − P·diag(1/diag(P)) with
// P = (XᵀX + λI)⁻¹ and a zero diagonal, X the binary user-item matrix.
func trainEASE(in []Interaction, cfg EASEConfig) (*itemItem, error) {
	cfg = cfg.withDefaults()
	if cfg.Lambda < 0 || cfg.MaxItems < 0 || cfg.Workers < 0 {
		return nil, fmt.Errorf("%w: ease lambda, max items and workers must be positive", ErrInvalidConfig)
	}
	data, err := newALSData(in, 1)
	if err != nil {
		return nil, err
	}
	n := len(data.items)
	if n > cfg.MaxItems {
		return nil, fmt.Errorf("%w: ease over %d items exceeds max items %d; use item-kNN or filter candidates",
			ErrInvalidConfig, n, cfg.MaxItems)
	}
	p := gram(data, cfg.Workers)
	for i := range n {
		p[i*n+i] += cfg.Lambda
	}
	invertSPD(p, n, cfg.Workers)
	m := newItemItem(data)
	m.weights = make([]float32, n*n)
	for i := range n {
		for j := range n {
			if i != j {
				m.weights[i*n+j] = float32(-p[i*n+j] / p[j*n+j])
			}
		}
	}
	return m, nil
}

// gram returns XᵀX for the binary matrix X of positive weights (a zero
// weight, such as a low rating, is seen but is no preference), dense and
// row-major. Each worker fills whole rows, so no two write the same cell.
func gram(data *alsData, workers int) []float64 {
	n := len(data.items)
	g := make([]float64, n*n)
	parallelRows(n, workers, func(i int) {
		row := g[i*n : (i+1)*n]
		for p := data.byItem.ptr[i]; p < data.byItem.ptr[i+1]; p++ {
			if data.byItem.val[p] <= 0 {
				continue
			}
			u := data.byItem.idx[p]
			for q := data.byUser.ptr[u]; q < data.byUser.ptr[u+1]; q++ {
				if data.byUser.val[q] > 0 {
					row[data.byUser.idx[q]]++
				}
			}
		}
	})
	return g
}

// invertSPD inverts the symmetric positive-definite n×n matrix a in place by
// Gauss-Jordan elimination; positive definiteness makes every pivot positive,
// so no pivoting is needed.
func invertSPD(a []float64, n, workers int) {
	for k := range n {
		rowK := a[k*n : (k+1)*n]
		pivot := rowK[k]
		rowK[k] = 1
		for j := range rowK {
			rowK[j] /= pivot
		}
		parallelRows(n, workers, func(i int) {
			if i == k {
				return
			}
			row := a[i*n : (i+1)*n]
			f := row[k]
			if f == 0 {
				return
			}
			row[k] = 0
			axpy64(-f, rowK, row)
		})
	}
}

// axpy64 sets y += alpha*x.
func axpy64(alpha float64, x, y []float64) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		ys[0] += alpha * xs[0]
		ys[1] += alpha * xs[1]
		ys[2] += alpha * xs[2]
		ys[3] += alpha * xs[3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// parallelRows calls f for every row in [0, n), split into contiguous
// ranges over workers.
func parallelRows(n, workers int, f func(i int)) {
	workers = max(1, min(workers, n))
	if workers == 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				f(i)
			}
		})
	}
	wg.Wait()
}

// TrainEASE trains an EASE^R model; users it has never seen get the popular list.
func TrainEASE(in []Interaction, version string, cfg EASEConfig) (*Model, error) {
	cfg = cfg.withDefaults()
	ii, err := trainEASE(in, cfg)
	if err != nil {
		return nil, fmt.Errorf("train ease: %w", err)
	}
	m := TrainPopularityWith(in, version, cfg.Popularity)
	m.meta.Kind = KindEASE
	m.meta.Params = withPrefix(map[string]string{"lambda": strconv.FormatFloat(cfg.Lambda, 'g', -1, 64)},
		"popularity_", m.meta.Params)
	m.ii = ii
	return m, nil
}

// withPrefix adds extra's entries to p under prefix.
func withPrefix(p map[string]string, prefix string, extra map[string]string) map[string]string {
	for k, v := range extra {
		p[prefix+k] = v
	}
	return p
}
