//go:build !purego

package kernel

import (
	"golang.org/x/sys/cpu"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// hasIQTiles reports whether this CPU runs iqTiles: the VNNI kernels' set
// plus BMI2 (PDEP builds IQ1_S's grid indices).
var hasIQTiles = hasVNNI && cpu.X86.HasBMI2

// gridTileFunc is the signature of the codebook kernels: a tileFunc that
// also takes the type's codebook (8-byte entries, or 4-byte for IQ3).
type gridTileFunc[E uint16 | uint32 | uint64] func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, grid *E)

// gridTiles returns the 1-row × 1..4-token tiles of codebook kernels f,
// bound to their codebook.
func gridTiles[E uint16 | uint32 | uint64](grid *E, f ...gridTileFunc[E]) [5][5]tileFunc {
	var t [5][5]tileFunc
	for i, g := range f {
		t[1][i+1] = func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int) {
			g(w, ws, a, as, nb, out, os, grid)
		}
	}
	return t
}

// gridIQ1SPlus1 is tensor.GridIQ1_S with 1 added to every byte: values 0,
// 1, 2 as unsigned bytes, the form tileOrdIQ1_S_* take.
var gridIQ1SPlus1 = func() *[2048]uint64 {
	var t [2048]uint64
	for i, g := range tensor.GridIQ1_S {
		for j := 0; j < 8; j++ {
			t[i] |= uint64(uint8(int8(g>>(8*j))+1)) << (8 * j)
		}
	}
	return &t
}()

// gridIQ1MU is the codebook form tileOrdIQ1_M_* take: entry i (the 11-bit
// grid index, plus the group's delta sign as bit 11) holds, per byte,
// 8·(g+1) + 1 + δ for the GridIQ1_S value g and δ = +1 (bit 11 clear) or
// −1 (set).
var gridIQ1MU = func() *[4096]uint64 {
	var t [4096]uint64
	for i := range t {
		g := tensor.GridIQ1_S[i&2047]
		d := 2 * (1 - i>>11)
		for j := 0; j < 8; j++ {
			u := 8*(int(int8(g>>(8*j)))+1) + d
			t[i] |= uint64(u) << (8 * j)
		}
	}
	return &t
}()

// iqTiles are the AVX-512 VNNI codebook kernels in the i-quant order
// (packiq_generic.go; their decode tiles are packiq_amd64.s's, IQ2_XS's
// and IQ2_S's iq512_amd64.s's), with their
// packed prefill path (IQ2_XXS: 66-byte blocks,
// IQ1_S: 50, IQ1_M: 56, IQ2_XS: 74, IQ2_S: 82,
// IQ3_XXS: 98, IQ3_S: 110; 256 elements against one Q8_K block per step).
var iqTiles = map[tensor.DType]*tileSet{
	tensor.IQ2_XXS: {fn: codeTiles(tensor.IQ2_XXS, gridTiles(&tensor.GridIQ2_XXS[0], tileOrdIQ2_XXS_1x1, tileOrdIQ2_XXS_1x2, tileOrdIQ2_XXS_1x3, tileOrdIQ2_XXS_1x4)),
		wBlock: 66, aBlock: 292, blockElems: 256,
		packed: packedIQVNNI(tensor.IQ2_XXS)},
	tensor.IQ1_S: {fn: gridTiles(&gridIQ1SPlus1[0], tileOrdIQ1_S_1x1, tileOrdIQ1_S_1x2, tileOrdIQ1_S_1x3, tileOrdIQ1_S_1x4),
		wBlock: 50, aBlock: 292, blockElems: 256,
		packed: packedIQVNNI(tensor.IQ1_S)},
	tensor.IQ1_M: {fn: gridTiles(&gridIQ1MU[0], tileOrdIQ1_M_1x1, tileOrdIQ1_M_1x2, tileOrdIQ1_M_1x3, tileOrdIQ1_M_1x4),
		wBlock: 56, aBlock: 292, blockElems: 256,
		packed: packedIQVNNI(tensor.IQ1_M)},
	tensor.IQ2_XS: {fn: iq512Tiles(tensor.IQ2_XS),
		wBlock: 74, aBlock: 292, blockElems: 256,
		packed: packedIQVNNI(tensor.IQ2_XS)},
	tensor.IQ2_S: {fn: iq512Tiles(tensor.IQ2_S),
		wBlock: 82, aBlock: 292, blockElems: 256,
		packed: packedIQVNNI(tensor.IQ2_S)},
	tensor.IQ3_XXS: {fn: codeTiles(tensor.IQ3_XXS, gridTiles(&tensor.GridIQ3_XXS[0], tileOrdIQ3_XXS_1x1, tileOrdIQ3_XXS_1x2, tileOrdIQ3_XXS_1x3, tileOrdIQ3_XXS_1x4)),
		wBlock: 98, aBlock: 292, blockElems: 256,
		packed: packedIQVNNI(tensor.IQ3_XXS)},
	tensor.IQ3_S: {fn: gridTiles(&tensor.GridIQ3_S[0], tileOrdIQ3_S_1x1, tileOrdIQ3_S_1x2, tileOrdIQ3_S_1x3, tileOrdIQ3_S_1x4),
		wBlock: 110, aBlock: 292, blockElems: 256,
		packed: packedIQVNNI(tensor.IQ3_S)},
}
