//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set avx2pk2 -pkg kernel -out ../avx2pk2_amd64.s -stubs ../avx2pk2_stub_amd64.go"

import "github.com/sputnik-llm/sputnik/internal/tensor"

// The avx2pk2 set (avx2pk2_amd64.s, _asm/avx2pk2.go) completes the AVX2
// packed prefill path of avx2pk_amd64.go: the Q8_K activation quantizers
// in AVX2, which write the bytes of the Go references (and so of the
// AVX-512 quantizers).

// quantQ8_KxAVX2 is quantizeRowQ8_KxGeneric (quantQ8_KxAVX512) in AVX2: a
// token row's nb interleaved K activation blocks, stride bytes apart, with
// −k·Σq given negk = −k and the Q6_K offsets −32·bsum_g.
func quantQ8_KxAVX2(x *float32, out *byte, nb int, stride int, negk int) {
	quantQ8_KxA2(x, out, nb, stride, negk, -32)
}

// quantQ8_KxIQAVX2 is quantQ8_KxIQAVX512 in AVX2: interleaved K activation
// blocks with the group offsets negk·bsum_g of an i-quant (and 0 at 308).
func quantQ8_KxIQAVX2(x *float32, out *byte, nb int, stride int, negk int) {
	quantQ8_KxA2(x, out, nb, stride, 0, negk)
}

// quantizeRowQ8_KAVX2 is quantizeRowQ8_KGeneric in AVX2.
func quantizeRowQ8_KAVX2(dst []byte, x []float32) {
	nb := len(x) / 256
	if nb == 0 {
		return
	}
	_ = dst[nb*292-1]
	quantQ8_KA2(&x[0], &dst[0], nb)
}

// setAVX2RowQuant gives the row-major Q8_K activations of t (the avx2
// set) the AVX2 quantizer.
func setAVX2RowQuant(t *implTable) {
	for typ, im := range t {
		if im != nil && im.act == tensor.Q8_K {
			c := *im
			c.convert = quantizeRowQ8_KAVX2
			t[typ] = &c
		}
	}
}

// a2IQPacks are the AVX2 pack kernels of the codebook i-quants (their
// reference is packGroupIQGeneric): 16 rows' blocks into the Q6_K packed
// layout, with the codebooks (IQ1: the forms iq_amd64.go makes) and, for
// the types with 7-bit sign indices, signMasks7.
var a2IQPacks = map[tensor.DType]func(w *byte, ws int, nb int, dst *byte){
	tensor.IQ2_XXS: func(w *byte, ws int, nb int, dst *byte) {
		packA2IQ2_XXS(w, ws, nb, dst, &tensor.GridIQ2_XXS[0], &signMasks7[0])
	},
	tensor.IQ2_XS: func(w *byte, ws int, nb int, dst *byte) {
		packA2IQ2_XS(w, ws, nb, dst, &tensor.GridIQ2_XS[0], &signMasks7[0])
	},
	tensor.IQ3_XXS: func(w *byte, ws int, nb int, dst *byte) {
		packA2IQ3_XXS(w, ws, nb, dst, &tensor.GridIQ3_XXS[0], &signMasks7[0])
	},
	tensor.IQ2_S: withGrid(packA2IQ2_S, &tensor.GridIQ2_S[0]),
	tensor.IQ3_S: withGrid(packA2IQ3_S, &tensor.GridIQ3_S[0]),
	tensor.IQ1_S: withGrid(packA2IQ1_S, &gridIQ1SPlus1[0]),
	tensor.IQ1_M: withGrid(packA2IQ1_M, &gridIQ1MU[0]),
}
