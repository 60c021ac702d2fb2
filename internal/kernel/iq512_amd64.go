//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set iq512 -pkg kernel -out ../iq512_amd64.s -stubs ../iq512_stub_amd64.go"

import "github.com/sputnik-llm/sputnik/internal/tensor"

// iq512Tiles returns the iq512 set's decode tiles of IQ2_XS or IQ2_S
// (iq512_amd64.s, _asm/iq512.go): one row × 1..4 Q8_K tokens on AVX-512
// VNNI, in the i-quant order (dotIQOrdered), the bits of the packiq set's
// tileOrd tiles they replace in iqTiles (about 15% faster per block hot
// in cache).
func iq512Tiles(t tensor.DType) [5][5]tileFunc {
	switch t {
	case tensor.IQ2_XS:
		return gridTiles(&tensor.GridIQ2_XS[0], tileI5IQ2_XS_1x1, tileI5IQ2_XS_1x2, tileI5IQ2_XS_1x3, tileI5IQ2_XS_1x4)
	case tensor.IQ2_S:
		return gridTiles(&tensor.GridIQ2_S[0], tileI5IQ2_S_1x1, tileI5IQ2_S_1x2, tileI5IQ2_S_1x3, tileI5IQ2_S_1x4)
	}
	panic("kernel: iq512Tiles: no tiles for " + t.String())
}

// iq512Types are the types of the iq512 set, in a fixed order.
var iq512Types = []tensor.DType{tensor.IQ2_XS, tensor.IQ2_S}
