//go:build !purego

package kernel

// ExpSum and Sigmoid dispatch: the AVX-512 kernels of train_amd64.s or
// the references.
var (
	expSum  = choose(hasAVX512, expSumFast, expSumGeneric)
	sigmoid = choose(hasAVX512, sigmoidFast, sigmoidGeneric)
)

// The wrappers run the 16-element kernels on the longest prefix that is a
// multiple of 16 and the reference on the rest.

func expSumFast(x []float32, m, scale float32) float32 {
	n := len(x) &^ 15
	var s float32
	if n > 0 {
		s = expSumAVX512(&x[0], n/16, m, scale)
	}
	for i := n; i < len(x); i++ {
		e := exp32((x[i] - m) * scale)
		x[i] = e
		s += e
	}
	return s
}

func sigmoidFast(out, x []float32) {
	n := len(x) &^ 15
	if n > 0 {
		sigmoidAVX512(&out[0], &x[0], n/16)
	}
	sigmoidGeneric(out[n:], x[n:])
}
