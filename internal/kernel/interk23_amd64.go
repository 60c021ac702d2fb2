//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set interk23 -pkg kernel -out ../interk23_amd64.s -stubs ../interk23_stub_amd64.go"

import "github.com/sputnik-llm/sputnik/internal/tensor"

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
// that serve long batches need.
func withInterK23(ts *tileSet, t tensor.DType, tiles *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int), unpack func(p *byte, nb int, dst *byte)) *tileSet {
	withInterK(ts, tiles, unpack)
	ts.inter.k = packedKOffset(t)
	return ts
}
