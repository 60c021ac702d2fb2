package train

import (
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// linear sets y ([n][out]) = x ([n][in]) · wᵀ for w [out][in]: the
// forward pass of a projection, one dot product per output (kernel.Gemm,
// with B = w stored transposed). g is the caller's reused argument block;
// its Buf is kept.
func linear(g *kernel.GemmArgs, y, x, w []float32, n, out, in int) {
	*g = kernel.GemmArgs{M: n, N: out, K: in, A: x, LDA: in, B: w, LDB: in, TransB: true, C: y, LDC: out, Buf: g.Buf}
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
	*g = kernel.GemmArgs{M: n, N: in, K: out, A: dy, LDA: out, B: w, LDB: in, C: dx, LDC: in, Buf: g.Buf}
	kernel.Gemm(g)
}

// linearWeight adds dyᵀ · x to dw ([out][in]) for dy [n][out] and x
// [n][in]: the gradient with respect to a projection's weights, each
// element summed over the tokens in order.
func linearWeight(g *kernel.GemmArgs, dw, dy, x []float32, n, out, in int) {
	*g = kernel.GemmArgs{M: out, N: in, K: n, A: dy, LDA: out, TransA: true, B: x, LDB: in, C: dw, LDC: in, Acc: true, Buf: g.Buf}
	kernel.Gemm(g)
}
