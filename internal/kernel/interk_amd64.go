//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set interk -pkg kernel -out ../interk_amd64.s -stubs ../interk_stub_amd64.go"

// interTilesQ4_K, interTilesQ5_K and interTilesQ6_K are the 16-row ×
// T-token interleaved K kernels (T ≤ 8, interk_amd64.s).
var (
	interTilesQ4_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ4_K_16x1, 2: tileIQ4_K_16x2, 3: tileIQ4_K_16x3, 4: tileIQ4_K_16x4,
		5: tileIQ4_K_16x5, 6: tileIQ4_K_16x6, 7: tileIQ4_K_16x7, 8: tileIQ4_K_16x8,
	}
	interTilesQ5_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ5_K_16x1, 2: tileIQ5_K_16x2, 3: tileIQ5_K_16x3, 4: tileIQ5_K_16x4,
		5: tileIQ5_K_16x5, 6: tileIQ5_K_16x6, 7: tileIQ5_K_16x7, 8: tileIQ5_K_16x8,
	}
	interTilesQ6_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ6_K_16x1, 2: tileIQ6_K_16x2, 3: tileIQ6_K_16x3, 4: tileIQ6_K_16x4,
		5: tileIQ6_K_16x5, 6: tileIQ6_K_16x6, 7: tileIQ6_K_16x7, 8: tileIQ6_K_16x8,
	}
)

// withInterK adds to ts (a K type with a packed path) the interleaved K
// kernels tiles and unpack: the packed K path's activations
// (quantQ8_KxAVX512), 256-element blocks, up to 8 tokens per tile, and
// the packed K tiles for chunks of interKMinUnpack tokens or more.
func withInterK(ts *tileSet, tiles *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int), unpack func(p *byte, nb int, dst *byte)) *tileSet {
	ts.inter = &interleavedImpl{blockElems: 256, actBytes: actKBytes, maxT: packedKMaxT, quant: quantQ8_KxAVX512, tiles: tiles,
		unpack: unpack, ptiles: ts.packed.tiles, packBytes: ts.packed.blockBytes, minUnpack: interKMinUnpack}
	return ts
}

// interKMinUnpack is the fewest tokens for which an interleaved K group is
// unpacked into the packed K layout rather than read by the interleaved
// tiles.
const interKMinUnpack = 128

// packedKMaxT is the most tokens a packed or interleaved K tile takes.
const packedKMaxT = 8
