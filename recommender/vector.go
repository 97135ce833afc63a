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

// packedDots sets sums[3g+l] = Σ_j lane l of words[g*len(p)+j] × p[j] for
// each group g of len(p) words: three int8 dot products per 64-bit
// multiply-add, two groups at a time when the lanes need no unpacking
// midway (at most laneDims factors). Lanes are 21-bit two's complement fields, so a word is
// q0 + q1·2^21 + q2·2^42 and the products add lane by lane; a lane's sum
// stays within ±2^20 for laneDims factors, after which it is unpacked.
func packedDots(words, p []uint64, sums []int32) {
	f := len(p)
	groups := len(sums) / lanesPerWord
	g := 0
	if f <= laneDims {
		for ; g+2 <= groups; g += 2 {
			a, b := packedDot2(words[g*f:(g+1)*f], words[(g+1)*f:(g+2)*f], p)
			put3(sums[g*lanesPerWord:], a)
			put3(sums[(g+1)*lanesPerWord:], b)
		}
	}
	for ; g < groups; g++ {
		w := words[g*f : (g+1)*f : (g+1)*f]
		var l0, l1, l2 int64
		for lo := 0; lo < f; lo += laneDims {
			hi := min(lo+laneDims, f)
			a, b, c := unpackLanes(packedDot(w[lo:hi], p[lo:hi]))
			l0, l1, l2 = l0+a, l1+b, l2+c
		}
		s := sums[g*lanesPerWord : g*lanesPerWord+lanesPerWord : g*lanesPerWord+lanesPerWord]
		s[0], s[1], s[2] = int32(l0), int32(l1), int32(l2)
	}
}

// put3 stores the three lane sums of v in s[:3].
func put3(s []int32, v uint64) {
	s = s[:3]
	a, b, c := unpackLanes(v)
	s[0], s[1], s[2] = int32(a), int32(b), int32(c)
}

// packedDot2 is packedDot for two groups at once: each p[j] is loaded once
// for both, and four accumulators keep the multiplier busy.
func packedDot2(w, v, p []uint64) (uint64, uint64) {
	w, v = w[:len(p)], v[:len(p)]
	var a0, a1, b0, b1 uint64
	i := 0
	for ; i+2 <= len(p); i += 2 {
		x, y, z := w[i:i+2:i+2], v[i:i+2:i+2], p[i:i+2:i+2]
		a0 += x[0] * z[0]
		b0 += y[0] * z[0]
		a1 += x[1] * z[1]
		b1 += y[1] * z[1]
	}
	for ; i < len(p); i++ {
		a0 += w[i] * p[i]
		b0 += v[i] * p[i]
	}
	return a0 + a1, b0 + b1
}

// packedDot returns Σ w[j]·p[j] with wrapping 64-bit arithmetic, unrolled
// into four independent accumulators like dot32.
func packedDot(w, p []uint64) uint64 {
	p = p[:len(w)]
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+4 <= len(w); i += 4 {
		x, y := w[i:i+4:i+4], p[i:i+4:i+4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
	}
	for ; i < len(w); i++ {
		s0 += w[i] * p[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// unpackLanes splits a word of three signed 21-bit lane sums. The word's
// value as an int64 is exactly l0 + l1·2^21 + l2·2^42, so each lane is the
// sign-extended low field of what remains after removing the lanes below.
func unpackLanes(v uint64) (l0, l1, l2 int64) {
	r := int64(v)
	l0 = r << (64 - laneBits) >> (64 - laneBits)
	r = (r - l0) >> laneBits
	l1 = r << (64 - laneBits) >> (64 - laneBits)
	l2 = (r - l1) >> laneBits
	return l0, l1, l2
}
