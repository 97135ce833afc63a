package recommender

// Tight float32 loops for training and scoring. Go does not vectorize, so
// these unroll by 8 into four independent accumulators: the adds no longer
// wait on one another, which roughly halves the time of the naive loop. The
// summation order depends only on the length, so results are deterministic.

// dot32 returns the dot product of a and b[:len(a)].
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x, y := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += x[0]*y[0] + x[4]*y[4]
		s1 += x[1]*y[1] + x[5]*y[5]
		s2 += x[2]*y[2] + x[6]*y[6]
		s3 += x[3]*y[3] + x[7]*y[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy32 sets y[:len(x)] += alpha*x.
func axpy32(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+8 <= len(x); i += 8 {
		xs, ys := x[i:i+8:i+8], y[i:i+8:i+8]
		ys[0] += alpha * xs[0]
		ys[1] += alpha * xs[1]
		ys[2] += alpha * xs[2]
		ys[3] += alpha * xs[3]
		ys[4] += alpha * xs[4]
		ys[5] += alpha * xs[5]
		ys[6] += alpha * xs[6]
		ys[7] += alpha * xs[7]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// scoreRows sets out[i] = dot(q, rows[i*len(q):(i+1)*len(q)]) for each row of
// the row-major matrix rows; len(out) rows are scored. (Scoring four rows at
// a time to share q's loads measured slower here: the item matrix streams
// from memory, so bandwidth, not arithmetic, bounds this loop.)
func scoreRows(q, rows, out []float32) {
	f := len(q)
	if f == 0 {
		clear(out)
		return
	}
	rows = rows[:len(out)*f]
	for i := range out {
		out[i] = dot32(q, rows[i*f:(i+1)*f:(i+1)*f])
	}
}
