//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set avx2q -pkg kernel -out ../avx2q_amd64.s -stubs ../avx2q_stub_amd64.go"

import "github.com/sputnik-llm/sputnik/internal/tensor"

// avx2TileFunc is the signature of the interleaved tile kernels.
type avx2TileFunc = func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)

// avx2Tiles32 are the AVX2 interleaved kernels of the 32-element block
// types (avx2q_amd64.s), 16 rows × T ≤ avx2MaxT tokens.
var avx2Tiles32 = map[tensor.DType]*[packTokens + 1]avx2TileFunc{
	tensor.Q4_0:   {1: tileAQ4_0_16x1, 2: tileAQ4_0_16x2, 3: tileAQ4_0_16x3, 4: tileAQ4_0_16x4},
	tensor.Q8_0:   {1: tileAQ8_0_16x1, 2: tileAQ8_0_16x2, 3: tileAQ8_0_16x3, 4: tileAQ8_0_16x4},
	tensor.IQ4_NL: {1: tileAIQ4_NL_16x1, 2: tileAIQ4_NL_16x2, 3: tileAIQ4_NL_16x3, 4: tileAIQ4_NL_16x4},
	tensor.Q5_0:   {1: tileAQ5_0_16x1, 2: tileAQ5_0_16x2, 3: tileAQ5_0_16x3, 4: tileAQ5_0_16x4},
	tensor.Q4_1:   {1: tileAQ4_1_16x1, 2: tileAQ4_1_16x2, 3: tileAQ4_1_16x3, 4: tileAQ4_1_16x4},
	tensor.Q5_1:   {1: tileAQ5_1_16x1, 2: tileAQ5_1_16x2, 3: tileAQ5_1_16x3, 4: tileAQ5_1_16x4},
}

// avx2MaxT is the most tokens an AVX2 interleaved tile takes: 2·T float
// accumulators and T block sums share the 16 ymm registers with the
// weights. It divides packTokens, so a tile never straddles two
// activation tiles.
const avx2MaxT = 4

// avx2Inter32 returns the AVX2 interleaved kernels of the 32-element block
// types. They read the VNNI kernels' activations (quantQ8_0xAVX2 and
// quantQ8_1xAVX2 write the same bytes as the AVX-512 quantizers) and give
// the same bits (avx2q_amd64.s, _asm/avx2q.go).
func avx2Inter32() map[tensor.DType]*interleavedImpl {
	m := map[tensor.DType]*interleavedImpl{}
	for typ, tiles := range avx2Tiles32 {
		im := &interleavedImpl{blockElems: 32, actBytes: actBlockBytes, maxT: avx2MaxT, tiles: tiles}
		switch typ {
		case tensor.Q4_1, tensor.Q5_1:
			im.quant = quantQ8_1xAVX2
		default:
			im.k, _ = packedKindOf(typ)
			im.quant = quantQ8_0xAVX2
		}
		m[typ] = im
	}
	return m
}
