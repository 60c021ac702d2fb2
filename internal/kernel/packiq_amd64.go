//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set packiq -pkg kernel -out ../packiq_amd64.s -stubs ../packiq_stub_amd64.go"

import (
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// iqMinTokens is the smallest batch MatMul sends down an i-quant's packed
// path; smaller ones go to the decode tiles (one row × up to 4 tokens),
// which add in the same order. Measured with weights streamed from DRAM
// on 2 threads (BenchmarkIQMinTokens; an AMD EPYC, Zen 4, shared with
// other jobs, so best-of figures), the tiles lead up to 4 tokens, which
// they serve in one pass over the weights, and the packed path from 5 on
// for every type.
var iqMinTokens = map[tensor.DType]int{
	tensor.IQ4_XS: 5, tensor.IQ2_XXS: 5, tensor.IQ2_XS: 5, tensor.IQ2_S: 5,
	tensor.IQ3_XXS: 5, tensor.IQ3_S: 5, tensor.IQ1_S: 5, tensor.IQ1_M: 5,
}

// iqPacks are the i-quants' pack kernels (packiq_amd64.s; their reference
// is packGroupIQGeneric).
var iqPacks = map[tensor.DType]func(w *byte, ws int, nb int, dst *byte){
	tensor.IQ4_XS:  packX16IQ4_XS,
	tensor.IQ2_XXS: withGrid(packX16IQ2_XXS, &tensor.GridIQ2_XXS[0]),
	tensor.IQ1_S:   withGrid(packX16IQ1_S, &gridIQ1SPlus1[0]),
	tensor.IQ1_M:   withGrid(packX16IQ1_M, &gridIQ1MU[0]),
	tensor.IQ3_XXS: withGrid(packX16IQ3_XXS, &tensor.GridIQ3_XXS[0]),
	tensor.IQ2_XS:  withGrid(packX16IQ2_XS, &tensor.GridIQ2_XS[0]),
	tensor.IQ2_S:   withGrid(packX16IQ2_S, &tensor.GridIQ2_S[0]),
	tensor.IQ3_S:   withGrid(packX16IQ3_S, &tensor.GridIQ3_S[0]),
}

// withGrid binds a codebook pack kernel to its codebook.
func withGrid[E uint32 | uint64](f func(w *byte, ws int, nb int, dst *byte, grid *E), grid *E) func(w *byte, ws int, nb int, dst *byte) {
	return func(w *byte, ws int, nb int, dst *byte) { f(w, ws, nb, dst, grid) }
}

// packedIQVNNI returns the packed path of i-quant type t: its blocks
// packed into the Q6_K layout, the Q6_K tiles, and K activations with the
// type's offsets (packiq_generic.go).
func packedIQVNNI(t tensor.DType) *packedImpl {
	return &packedImpl{k: iqKinds[t].k, minTokens: iqMinTokens[t], pack: iqPacks[t], quant: quantQ8_KxIQAVX512,
		tiles: &packedKTiles6, blockElems: 256, blockBytes: packedKBlockBytes(tensor.Q6_K), actBytes: actKBytes, maxT: 8}
}

// quantQ8_KxIQAVX512 is quantQ8_KxAVX512 with the group offsets negk·bsum_g
// of an i-quant (−k·bsum_g; quantQ8_KxAVX512 writes −32·bsum_g).
func quantQ8_KxIQAVX512(x *float32, out *byte, nb int, stride int, negk int) {
	quantQ8_KxAVX512(x, out, nb, stride, 0)
	if negk == -32 {
		return
	}
	o := unsafe.Slice(out, (nb-1)*stride+actKBytes)
	for b := range nb {
		putIQOffsets(o[b*stride:], int32(negk))
	}
}
