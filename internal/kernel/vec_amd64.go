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
