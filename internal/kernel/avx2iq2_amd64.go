//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set avx2iq2 -pkg kernel -out ../avx2iq2_amd64.s -stubs ../avx2iq2_stub_amd64.go"

import (
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// avx2IQ2Tiles returns the AVX2 codebook kernels of IQ2_XXS, IQ2_XS and
// IQ2_S (avx2iq2_amd64.s): one weight row × 1..4 Q8_K tokens, adding in
// the i-quant order (packiq_generic.go), so that they give the bits of
// dotIQOrdered and of the AVX-512 tiles (iqTiles). Longer batches run them
// four tokens at a time, decoding each block's codebook entries again for
// every four tokens; there is no packed path.
//
// Measured with AVX-512 masked off (GODEBUG=cpu.avx512f=off) on a shared,
// noisy 2-CPU AMD EPYC (Zen 4): hot in cache about 15 ns of CPU time per
// 256-element block for one token and 24 for four (BenchmarkAVX2IQ2Tiles;
// the AVX-512 tiles 10.5–17 and 22–27), bound by instruction throughput:
// about 20 instructions per 32-element sub-block (four index loads, four
// codebook loads and three blends, three for the signs, one for the
// scales, five per token); decode from DRAM 4.3–5.3 GB/s on one thread
// (the pure-Go row dots: 0.3–0.65), far below the memory's 27–32.
func avx2IQ2Tiles() map[tensor.DType]*tileSet {
	return map[tensor.DType]*tileSet{
		tensor.IQ2_XXS: {fn: gridTiles(&tensor.GridIQ2_XXS[0], tileA2IQ2_XXS_1x1, tileA2IQ2_XXS_1x2, tileA2IQ2_XXS_1x3, tileA2IQ2_XXS_1x4),
			wBlock: 66, aBlock: 292, blockElems: 256},
		tensor.IQ2_XS: {fn: gridTiles(&tensor.GridIQ2_XS[0], tileA2IQ2_XS_1x1, tileA2IQ2_XS_1x2, tileA2IQ2_XS_1x3, tileA2IQ2_XS_1x4),
			wBlock: 74, aBlock: 292, blockElems: 256},
		tensor.IQ2_S: {fn: gridTiles(&tensor.GridIQ2_S[0], tileA2IQ2_S_1x1, tileA2IQ2_S_1x2, tileA2IQ2_S_1x3, tileA2IQ2_S_1x4),
			wBlock: 82, aBlock: 292, blockElems: 256},
	}
}

// setAVX2IQ2 makes the tile sets of tiles (avx2IQ2Tiles) the
// implementation of their types in t, with dotIQOrdered as their row dot,
// so that every path of t adds in the i-quant order. The activations stay
// t's Q8_K ones.
func setAVX2IQ2(t *implTable, tiles map[tensor.DType]*tileSet) {
	setTiles(t, tiles)
	for typ := range tiles {
		im := *t[typ]
		im.dot = func(w, a []byte, cols int) float32 { return dotIQOrdered(typ, w, a, cols) }
		t[typ] = &im
	}
}
