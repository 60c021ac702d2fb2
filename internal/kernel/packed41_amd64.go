//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set pack41 -pkg kernel -out ../pack41_amd64.s -stubs ../pack41_stub_amd64.go"

// packedTiles41 are the 16-row × T-token packed Q4_1/Q5_1 kernels.
var packedTiles41 = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
	1: tileP41_16x1, 2: tileP41_16x2, 3: tileP41_16x3, 4: tileP41_16x4, 5: tileP41_16x5, 6: tileP41_16x6,
	7: tileP41_16x7, 8: tileP41_16x8, 9: tileP41_16x9, 10: tileP41_16x10, 11: tileP41_16x11, 12: tileP41_16x12,
	13: tileP41_16x13, 14: tileP41_16x14, 15: tileP41_16x15, 16: tileP41_16x16,
}

// group41VNNI returns the tile set of Q4_1 or Q5_1 (wBlock bytes per
// block): the row-group kernels group below the packed path's minTokens,
// the packed path (packed41_generic.go) from there. Both add in the same
// order, so a token's results do not depend on which ran.
//
// minTokens: measured with weights streamed from DRAM on 2 threads
// (BenchmarkMatMulStreamBatch's shape, an AMD EPYC Zen 4, best of 5 runs
// on a loaded machine), the row-group kernels read both types as fast as
// the packed path or faster up to 4 tokens (one pass of the 16×4
// kernels), and the packed path is ahead from 6; a 5th token costs the
// row-group path a second pass over the rows, so packing starts at 5.
func group41VNNI(pack func(w *byte, ws int, nb int, dst *byte), wBlock int, group [groupMaxT + 1]groupFunc) *tileSet {
	p := &packedImpl{minTokens: 5, pack: pack, quant: quantQ8_1xAVX512, tiles: &packedTiles41,
		blockElems: 32, blockBytes: packBlockBytes41, actBytes: actBlockBytes, maxT: packTokens}
	return &tileSet{packed: p, group: &group, wBlock: wBlock, aBlock: 36, blockElems: 32}
}

// quantizeRowQ8_1AVX512 is quantizeRowQ8_1Generic in AVX-512.
func quantizeRowQ8_1AVX512(dst []byte, x []float32) {
	nb := len(x) / 32
	if nb == 0 {
		return
	}
	_ = dst[nb*36-1]
	quantQ8_1AVX512(&x[0], &dst[0], nb)
}
