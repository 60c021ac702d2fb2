//go:build !purego

package kernel

// The vector kernels' dispatch: AVX-512 (hasAVX512) or the reference.

var (
	vecDotF32 = choose(hasAVX512, dotF32Fast, vecDotF32Generic)
	axpyF32   = choose(hasAVX512, axpyF32Fast, axpyF32Generic)
	vecDotF16 = choose(hasAVX512, dotF16Fast, vecDotF16Generic)
	axpyF16   = choose(hasAVX512, axpyF16Fast, axpyF16Generic)
	toF16     = choose(hasAVX512, toF16Fast, toF16Generic)
	fromF16   = choose(hasAVX512, fromF16Fast, fromF16Generic)
	swiglu    = choose(hasAVX512, swigluFast, swigluGeneric)

	dotsF16        = choose(hasAVX512, dotsF16Fast, dotsF16Generic)
	weightedSumF16 = choose(hasAVX512, weightedSumF16Fast, weightedSumF16Generic)
	roundF16       = choose(hasAVX512, roundF16Fast, roundF16Generic)
	softmaxF16     = choose(hasAVX512, softmaxF16Fast, softmaxF16Generic)
)

func choose[F any](ok bool, fast, generic F) F {
	if ok {
		return fast
	}
	return generic
}

// The wrappers below run the 16-element kernels on the longest prefix that
// is a multiple of 16 and the reference on the rest.

func dotF32Fast(a, b []float32) float32 {
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		s = dotF32AVX512(&a[0], &b[0], n/16)
	}
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

func dotF16Fast(a, b []uint16) float32 {
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		s = dotF16AVX512(&a[0], &b[0], n/16)
	}
	for i := n; i < len(a); i++ {
		s += f16Table[a[i]] * f16Table[b[i]]
	}
	return s
}

func axpyF32Fast(dst []float32, alpha float32, x []float32) {
	n := len(dst) &^ 15
	if n > 0 {
		axpyF32AVX512(&dst[0], alpha, &x[0], n/16)
	}
	axpyF32Generic(dst[n:], alpha, x[n:len(dst)])
}

func axpyF16Fast(dst []float32, alpha float32, src []uint16) {
	n := len(dst) &^ 15
	if n > 0 {
		axpyF16AVX512(&dst[0], alpha, &src[0], n/16)
	}
	axpyF16Generic(dst[n:], alpha, src[n:len(dst)])
}

func toF16Fast(dst []uint16, src []float32) {
	n := len(src) &^ 15
	if n > 0 {
		_ = dst[n-1]
		toF16AVX512(&dst[0], &src[0], n/16)
	}
	toF16Generic(dst[n:], src[n:])
}

func fromF16Fast(dst []float32, src []uint16) {
	n := len(src) &^ 15
	if n > 0 {
		_ = dst[n-1]
		fromF16AVX512(&dst[0], &src[0], n/16)
	}
	fromF16Generic(dst[n:], src[n:])
}

func swigluFast(out, gate, up []float32) {
	n := len(out) &^ 15
	if n > 0 {
		_, _ = gate[n-1], up[n-1]
		swigluAVX512(&out[0], &gate[0], &up[0], n/16)
	}
	swigluGeneric(out[n:], gate[n:], up[n:])
}

// dotsF16Fast runs 16 keys at a time when len(q) is a multiple of 16, the
// rest one by one.
func dotsF16Fast(out, q []float32, keys []uint16, stride int, scale float32) {
	nd := len(q) / 16
	if nd == 0 || len(q)%16 != 0 {
		dotsF16Generic(out, q, keys, stride, scale)
		return
	}
	j := 0
	for ; j+16 <= len(out); j += 16 {
		dotsF16x16AVX512(&out[j], &q[0], &keys[j*stride], 2*stride, nd, scale)
	}
	for ; j < len(out); j++ {
		out[j] = dotF32F16AVX512(&q[0], &keys[j*stride], nd) * scale
	}
}

// weightedSumF16Fast adds to out 128 columns at a time, then 16, then the
// rest by the reference: column i's arithmetic depends only on i and
// len(out).
func weightedSumF16Fast(out, p []float32, values []uint16, stride int) {
	i := 0
	for ; i+128 <= len(out); i += 128 {
		weightedSumF16x8AVX512(&out[i], &p[0], &values[i], 2*stride, len(p))
	}
	for ; i+16 <= len(out); i += 16 {
		weightedSumF16x1AVX512(&out[i], &p[0], &values[i], 2*stride, len(p))
	}
	if i < len(out) {
		weightedSumF16Generic(out[i:], p, values[i:], stride)
	}
}

func roundF16Fast(x []float32) {
	n := len(x) &^ 15
	if n > 0 {
		roundF16AVX512(&x[0], n/16)
	}
	roundF16Generic(x[n:])
}

// softmaxF16Fast: the maximum, exponentials and scaling in AVX-512 on the
// longest multiple of 16, the reference's scalar steps on the rest.
func softmaxF16Fast(x []float32) {
	n := len(x) &^ 15
	if n == 0 {
		softmaxF16Generic(x)
		return
	}
	mx := maxAVX512(&x[0], n/16)
	for _, v := range x[n:] {
		mx = max(mx, v)
	}
	sum := expSubAVX512(&x[0], n/16, mx)
	for i := n; i < len(x); i++ {
		e := exp32(x[i] - mx)
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	scaleRoundF16AVX512(&x[0], inv, n/16)
	for i := n; i < len(x); i++ {
		x[i] = f16Table[floatToHalf(x[i]*inv)]
	}
}
