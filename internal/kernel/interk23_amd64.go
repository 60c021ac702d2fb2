//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set interk23 -pkg kernel -out ../interk23_amd64.s -stubs ../interk23_stub_amd64.go"

import (
	"encoding/binary"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// interTilesQ2_K and interTilesQ3_K are the 16-row × T-token interleaved
// Q2_K and Q3_K kernels (T ≤ 8, interk23_amd64.s).
var (
	interTilesQ2_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ2_K_16x1, 2: tileIQ2_K_16x2, 3: tileIQ2_K_16x3, 4: tileIQ2_K_16x4,
		5: tileIQ2_K_16x5, 6: tileIQ2_K_16x6, 7: tileIQ2_K_16x7, 8: tileIQ2_K_16x8,
	}
	interTilesQ3_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ3_K_16x1, 2: tileIQ3_K_16x2, 3: tileIQ3_K_16x3, 4: tileIQ3_K_16x4,
		5: tileIQ3_K_16x5, 6: tileIQ3_K_16x6, 7: tileIQ3_K_16x7, 8: tileIQ3_K_16x8,
	}
)

// withInterK23 is withInterK for Q2_K or Q3_K (type t): the activations
// carry the packed values' offset (−124·Σq, Q3_K), which the packed tiles
// need, and the packed tiles serve chunks from interK23MinUnpack tokens;
// Q3_K's activations carry its chains' starts (quantQ8_KxQ3_K).
func withInterK23(ts *tileSet, t tensor.DType, tiles *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int), unpack func(p *byte, nb int, dst *byte)) *tileSet {
	withInterK(ts, tiles, unpack)
	ts.inter.k = packedKOffset(t)
	if t == tensor.Q3_K {
		ts.inter.quant = quantQ8_KxQ3_K
	}
	ts.inter.minUnpack = interK23MinUnpack
	return ts
}

// interK23MinUnpack is the fewest tokens for which an interleaved Q2_K or
// Q3_K group is unpacked into the packed layout rather than read by the
// interleaved tiles: their per-group scale steps cost more per token than
// the packed tiles' folded values, so unpacking (cheaper than the packed
// path's packing) pays from about 16 tokens (1536×1536 from cache, one
// thread, Zen 4, GMAC/s unpacked vs interleaved tiles: Q2_K 160 vs 158 at
// 12 tokens, 166 vs 158 at 16, 185 vs 158 at 64; Q3_K 135 vs 142, 149 vs
// 145, 197 vs 144).
const interK23MinUnpack = 16

// quantQ8_KxQ3_K is quantQ8_KxAVX512 for the interleaved Q3_K tiles:
// [320, 384) of each activation block holds −4·f_g·bsum[g] instead of
// −32·bsum[g] (which only Q6_K reads), f_g the factor of group g's values
// in the tiles (2 for the odd planes, g%4 ≥ 2, else 1; see interleavek23.go).
func quantQ8_KxQ3_K(x *float32, out *byte, nb int, stride int, negk int) {
	quantQ8_KxAVX512(x, out, nb, stride, negk)
	o := unsafe.Slice(out, (nb-1)*stride+actKBytes)
	for b := range nb {
		putQ3_KChainStarts(o[b*stride : b*stride+actKBytes])
	}
}

// putQ3_KChainStarts writes the interleaved Q3_K chain starts −4·f_g·bsum[g]
// into the activation block o (see quantQ8_KxQ3_K).
func putQ3_KChainStarts(o []byte) {
	for g := range 16 {
		f := int32(1 + g%4/2)
		binary.LittleEndian.PutUint32(o[320+4*g:], uint32(-4*f*q8KBsum(o, g)))
	}
}
