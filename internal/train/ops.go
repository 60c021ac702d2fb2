package train

import (
	"math"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// linear sets y ([n][out]) = x ([n][in]) · wᵀ for w [out][in]: the
// forward pass of a projection, one dot product per output (kernel.Gemm,
// with B = w stored transposed). g is the caller's reused argument block.
func linear(g *kernel.GemmArgs, y, x, w []float32, n, out, in int) {
	*g = kernel.GemmArgs{M: n, N: out, K: in, A: x, LDA: in, B: w, LDB: in, TransB: true, C: y, LDC: out}
	kernel.Gemm(g)
}

// linear is the free function linear, or with engineArith the engine's
// own kernel.MatMul (whose sums add in another order), so that the
// engine-equivalence test compares the same arithmetic.
func (n *Net) linear(y, x, w []float32, out, in int) {
	if n.engineArith {
		m := tensor.Mat{Type: tensor.F32, Rows: out, Cols: in, Data: unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), 4*out*in)}
		kernel.MatMul(y[:n.n*out], m, x[:n.n*in], n.n)
		return
	}
	linear(&n.gm, y, x, w, n.n, out, in)
}

// linearInput sets dx ([n][in]) = dy ([n][out]) · w for w [out][in]: the
// gradient with respect to a projection's input.
func linearInput(g *kernel.GemmArgs, dx, dy, w []float32, n, out, in int) {
	*g = kernel.GemmArgs{M: n, N: in, K: out, A: dy, LDA: out, B: w, LDB: in, C: dx, LDC: in}
	kernel.Gemm(g)
}

// linearWeight adds dyᵀ · x to dw ([out][in]) for dy [n][out] and x
// [n][in]: the gradient with respect to a projection's weights, each
// element summed over the tokens in order.
func linearWeight(g *kernel.GemmArgs, dw, dy, x []float32, n, out, in int) {
	*g = kernel.GemmArgs{M: out, N: in, K: n, A: dy, LDA: out, TransA: true, B: x, LDB: in, C: dw, LDC: in, Acc: true}
	kernel.Gemm(g)
}

// The constants of expf.
const (
	log2e = 1.44269504088896341
	ln2hi = 0.693359375
	ln2lo = -2.12194440e-4
)

// expf returns e^x in float32, within 3e-7 relative error for x in [−87,
// 88] (Cody–Waite reduction by ln 2 and a degree-6 polynomial); x is
// clamped to that range, so the result is never 0 or +Inf.
func expf(x float32) float32 {
	if x < -87 { // plain comparisons: min and max of floats also order NaNs and zeros, at a cost
		x = -87
	}
	if x > 88 {
		x = 88
	}
	k := int32(x*log2e + 128.5) // round(x/ln 2) + 128; the sum is positive, so int32 floors it
	kf := float32(k - 128)
	r := x - kf*ln2hi - kf*ln2lo
	y := (((((1.3981999507e-3*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r+5.0000001201e-1)*r+1)*r + 1
	return y * math.Float32frombits(uint32(k-1)<<23) // 2^(k−128)
}
