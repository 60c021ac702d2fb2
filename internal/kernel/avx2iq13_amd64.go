//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set avx2iq13 -pkg kernel -out ../avx2iq13_amd64.s -stubs ../avx2iq13_stub_amd64.go"

import "github.com/sputnik-llm/sputnik/internal/tensor"

// avx2IQ13Tiles returns the AVX2 codebook kernels of IQ1_S, IQ1_M, IQ3_XXS
// and IQ3_S (avx2iq13_amd64.s, _asm/avx2iq13.go): one row × 1..4 tokens of
// Q8_K activations, in the i-quant order (dotIQOrdered), the bits of the
// AVX-512 tiles (iqTiles). Batches of more than 4 tokens run them 4 tokens
// at a time, decoding each row's codebook entries again per 4 tokens.
func avx2IQ13Tiles() map[tensor.DType]*tileSet {
	return map[tensor.DType]*tileSet{
		tensor.IQ1_S: {fn: gridTiles(&gridIQ1SPlus1[0], tileIQ1_SAVX2_1x1, tileIQ1_SAVX2_1x2, tileIQ1_SAVX2_1x3, tileIQ1_SAVX2_1x4),
			wBlock: 50, aBlock: 292, blockElems: 256},
		tensor.IQ1_M: {fn: gridTiles(&gridIQ1MU[0], tileIQ1_MAVX2_1x1, tileIQ1_MAVX2_1x2, tileIQ1_MAVX2_1x3, tileIQ1_MAVX2_1x4),
			wBlock: 56, aBlock: 292, blockElems: 256},
		tensor.IQ3_XXS: {fn: gridTiles(&tensor.GridIQ3_XXS[0], tileIQ3_XXSAVX2_1x1, tileIQ3_XXSAVX2_1x2, tileIQ3_XXSAVX2_1x3, tileIQ3_XXSAVX2_1x4),
			wBlock: 98, aBlock: 292, blockElems: 256},
		tensor.IQ3_S: {fn: gridTiles(&tensor.GridIQ3_S[0], tileIQ3_SAVX2_1x1, tileIQ3_SAVX2_1x2, tileIQ3_SAVX2_1x3, tileIQ3_SAVX2_1x4),
			wBlock: 110, aBlock: 292, blockElems: 256},
	}
}

// setAVX2IQ13 makes the tile sets tiles (avx2IQ13Tiles) the row-major path
// of their types in t, with dotIQOrdered as the row dot, so that every path
// of t adds those types in the i-quant order. The activations stay t's
// Q8_K quantizer.
func setAVX2IQ13(t *implTable, tiles map[tensor.DType]*tileSet) {
	for typ, ts := range tiles {
		im := *t[typ]
		im.dot = func(w, a []byte, cols int) float32 { return dotIQOrdered(typ, w, a, cols) }
		im.block, im.packed, im.inter = ts.block, nil, nil
		t[typ] = &im
	}
}
