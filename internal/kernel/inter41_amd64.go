//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set inter41 -pkg kernel -out ../inter41_amd64.s -stubs ../inter41_stub_amd64.go"

// interTilesQ4_1 and interTilesQ5_1 are the 16-row × T-token interleaved
// Q4_1 and Q5_1 kernels, interTilesIQ4_XS the IQ4_XS ones (T ≤ 8;
// inter41_amd64.s).
var (
	interTilesQ4_1 = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ4_1_16x1, 2: tileIQ4_1_16x2, 3: tileIQ4_1_16x3, 4: tileIQ4_1_16x4, 5: tileIQ4_1_16x5, 6: tileIQ4_1_16x6,
		7: tileIQ4_1_16x7, 8: tileIQ4_1_16x8, 9: tileIQ4_1_16x9, 10: tileIQ4_1_16x10, 11: tileIQ4_1_16x11, 12: tileIQ4_1_16x12,
		13: tileIQ4_1_16x13, 14: tileIQ4_1_16x14, 15: tileIQ4_1_16x15, 16: tileIQ4_1_16x16,
	}
	interTilesQ5_1 = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ5_1_16x1, 2: tileIQ5_1_16x2, 3: tileIQ5_1_16x3, 4: tileIQ5_1_16x4, 5: tileIQ5_1_16x5, 6: tileIQ5_1_16x6,
		7: tileIQ5_1_16x7, 8: tileIQ5_1_16x8, 9: tileIQ5_1_16x9, 10: tileIQ5_1_16x10, 11: tileIQ5_1_16x11, 12: tileIQ5_1_16x12,
		13: tileIQ5_1_16x13, 14: tileIQ5_1_16x14, 15: tileIQ5_1_16x15, 16: tileIQ5_1_16x16,
	}
	interTilesIQ4_XS = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIIQ4_XS_16x1, 2: tileIIQ4_XS_16x2, 3: tileIIQ4_XS_16x3, 4: tileIIQ4_XS_16x4,
		5: tileIIQ4_XS_16x5, 6: tileIIQ4_XS_16x6, 7: tileIIQ4_XS_16x7, 8: tileIIQ4_XS_16x8,
	}
)

// inter41MinUnpack is the fewest tokens for which an interleaved Q4_1,
// Q5_1 or IQ4_XS group is unpacked into its packed layout for the packed
// tiles rather than read by the interleaved tiles, which unpack each block
// again for every 16 (IQ4_XS: 8) tokens.
const inter41MinUnpack = 128

// withInter41 adds to ts (Q4_1 or Q5_1, group41VNNI's) the interleaved
// kernels tiles and unpack: the packed path's Q8_1 activations, up to 16
// tokens per tile, and the packed tiles for long batches.
func withInter41(ts *tileSet, tiles *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int), unpack func(p *byte, nb int, dst *byte)) *tileSet {
	ts.inter = &interleavedImpl{blockElems: 32, actBytes: actBlockBytes, maxT: packTokens, quant: quantQ8_1xAVX512, tiles: tiles,
		unpack: unpack, ptiles: &packedTiles41, packBytes: packBlockBytes41, minUnpack: inter41MinUnpack}
	return ts
}

// withInterIQ4_XS adds to ts (IQ4_XS's, with its packed path) the
// interleaved IQ4_XS kernels: the packed i-quant path's activations
// (offsets −128·bsum_g), up to 8 tokens per tile, and the packed Q6_K
// tiles for long batches.
func withInterIQ4_XS(ts *tileSet) *tileSet {
	p := ts.packed
	ts.inter = &interleavedImpl{k: p.k, blockElems: 256, actBytes: actKBytes, maxT: p.maxT, quant: p.quant, tiles: &interTilesIQ4_XS,
		unpack: unpackIIQ4_XS, ptiles: p.tiles, packBytes: p.blockBytes, minUnpack: inter41MinUnpack}
	return ts
}
