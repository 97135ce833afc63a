package recommender

import (
	"math"
	"sync"
)

// itemIndex makes exact top-K fast. Plain float32 scoring does four
// scalar operations per item and factor, and Go does not vectorize, so
// scoring 27k items × 64 factors is compute bound at about 0.7 ms. The index
// quantizes each item vector to int8 (one scale per item) and packs three
// items into the 21-bit lanes of a uint64: one 64-bit multiply-add then
// advances three integer dot products at once (SIMD within a register), on a
// third of the memory of the float32 matrix.
//
// The quantized score is only a filter. Each approximate score comes with a
// proven bound on its distance from the exact float32 score (quantization of
// both sides plus floating point rounding), and an item is scored exactly
// (with dot32, as the plain path does) unless its upper bound is below the
// k-th best exact score found so far. An item skipped that way scores
// strictly below k other items, so the result is the plain ranking exactly,
// ties and all.
type itemIndex struct {
	rows, cols int
	// words[g*cols+j] packs factor j of items 3g, 3g+1, 3g+2 in lanes 0..2.
	words []uint64
	scale []float32 // per item: max |x_ij| / quantMax, the int8 step
	l1    []float32 // per item: Σ_j |x_ij|, for the user side's error
}

const (
	laneBits     = 21
	lanesPerWord = 3
	quantMax     = 127
	// laneDims factors at most are summed in a lane before it is unpacked:
	// 64 × 127 × 127 < 2^20, so a lane's signed sum never spills.
	laneDims = 64
	// quantLimit bounds factor magnitudes the index accepts, so no product
	// or sum can overflow float32; larger models use the plain scan.
	quantLimit = 1e15
)

// newItemIndex quantizes the row-major rows × cols matrix items. It returns
// nil when the matrix is empty or holds values the bounds do not cover
// (non-finite or huge); callers then score with the plain scan.
func newItemIndex(items []float32, rows, cols int) *itemIndex {
	if rows <= 0 || cols <= 0 || len(items) < rows*cols {
		return nil
	}
	groups := (rows + lanesPerWord - 1) / lanesPerWord
	x := &itemIndex{
		rows: rows, cols: cols,
		words: make([]uint64, groups*cols),
		scale: make([]float32, rows),
		l1:    make([]float32, rows),
	}
	for i := range rows {
		v := items[i*cols : (i+1)*cols]
		scale, l1, ok := quantScale(v)
		if !ok {
			return nil
		}
		x.scale[i], x.l1[i] = scale, l1
		g, lane := i/lanesPerWord, uint(i%lanesPerWord)
		w := x.words[g*cols : (g+1)*cols]
		for j, f := range v {
			w[j] += uint64(int64(quantize(f, scale)) << (lane * laneBits))
		}
	}
	return x
}

// quantScale returns the int8 step and the L1 norm of v, or false when v
// holds a value outside ±quantLimit (NaN included).
func quantScale(v []float32) (scale, l1 float32, ok bool) {
	var maxAbs float32
	for _, f := range v {
		a := float32(math.Abs(float64(f)))
		if !(a <= quantLimit) {
			return 0, 0, false
		}
		maxAbs = max(maxAbs, a)
		l1 += a
	}
	return maxAbs / quantMax, l1, true
}

// quantize rounds f/scale to the nearest integer in ±quantMax.
func quantize(f, scale float32) int32 {
	if scale == 0 {
		return 0
	}
	q := int32(math.Round(float64(f / scale)))
	return min(max(q, -quantMax), quantMax)
}

// quantQuery is a user vector quantized for one request, with the constants
// of its error bound.
type quantQuery struct {
	p []uint64 // p[j] = round(u_j / t) as a two's complement word
	t float32  // the user's int8 step
	// errItem multiplies an item's L1 norm (the user side's rounding, plus
	// float32 rounding of both dot products); errScale multiplies an item's
	// step (the item side's rounding).
	errItem, errScale float32
}

// newQuery quantizes u; false when u holds values the bounds do not cover.
func (x *itemIndex) newQuery(u []float32) (quantQuery, bool) {
	if len(u) != x.cols {
		return quantQuery{}, false
	}
	t, _, ok := quantScale(u)
	if !ok {
		return quantQuery{}, false
	}
	q := quantQuery{p: make([]uint64, len(u)), t: t}
	var pSum int64
	for j, f := range u {
		p := quantize(f, t)
		q.p[j] = uint64(int64(p))
		pSum += int64(max(p, -p))
	}
	// |x·u - s·t·Σqp| <= Σ|x_j||u_j - t p_j| + Σ|t p_j||x_j - s q_j|
	//                  <= (t/2)·L1(x) + (s/2)·t·Σ|p_j|,
	// each step rounding at most a relative 2^-24 besides. dot32 is off
	// the real dot product by at most cols·2^-24·Σ|u_j x_j| <=
	// cols·2^-24·max|u|·L1(x); twice that covers the rest of the rounding.
	maxU := t * quantMax
	q.errItem = t/2 + float32(x.cols+8)*0x1p-23*maxU
	q.errScale = t * float32(pSum) / 2
	return q, true
}

// bound returns how far item i's exact score may lie from approx, with
// margins for the rounding of this very computation. The last term covers
// the absolute (not relative) rounding of subnormal products.
func (q *quantQuery) bound(x *itemIndex, i int, approx float32) float32 {
	b := q.errItem*x.l1[i] + q.errScale*x.scale[i]
	return b*(1+0x1p-10) + float32(math.Abs(float64(approx)))*0x1p-18 + 0x1p-100
}

// indexBlockGroups is how many word groups are scored before their items
// meet the heap: 85 × 3 items, so the sums fit a small stack buffer.
const indexBlockGroups = 85

// topK returns the best k items for the user vector u among the rows of
// items (the matrix the index was built from), skipping exclude (ascending),
// best first, ties by lower index: exactly what scoring every row with
// dot32 and keeping the best k gives. false means u cannot be quantized;
// score with the plain scan instead.
func (x *itemIndex) topK(u, items []float32, k int, exclude []int32) ([]scoredIndex, bool) {
	q, ok := x.newQuery(u)
	if !ok {
		return nil, false
	}
	f, groups := x.cols, len(x.words)/x.cols
	top := newTopK(min(k, x.rows))
	if top.k == 0 {
		return nil, true
	}
	var buf [indexBlockGroups * lanesPerWord]int32
	next := 0
	for g0 := 0; g0 < groups; g0 += indexBlockGroups {
		g1 := min(g0+indexBlockGroups, groups)
		sums := buf[:(g1-g0)*lanesPerWord]
		packedDots(x.words[g0*f:g1*f], q.p, sums)
		lo := g0 * lanesPerWord
		sums = sums[:min(len(sums), x.rows-lo)]
		for j, s := range sums {
			i := lo + j
			for next < len(exclude) && exclude[next] < int32(i) {
				next++
			}
			if next < len(exclude) && exclude[next] == int32(i) {
				continue
			}
			if len(top.heap) == top.k {
				approx := float32(s) * (x.scale[i] * q.t)
				if approx+q.bound(x, i, approx) < top.heap[0].score {
					continue
				}
			}
			top.offer(int32(i), dot32(u, items[i*f:(i+1)*f:(i+1)*f]))
		}
	}
	return top.best(), true
}

// lazyIndex builds an itemIndex on first use, once, for any number of
// concurrent readers.
type lazyIndex struct {
	once  sync.Once
	index *itemIndex
}

func (l *lazyIndex) get(items []float32, rows, cols int) *itemIndex {
	l.once.Do(func() { l.index = newItemIndex(items, rows, cols) })
	return l.index
}
