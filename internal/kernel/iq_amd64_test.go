//go:build !purego

package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// iqGenericDots are the reference row dots of the types in iqTiles.
var iqGenericDots = map[tensor.DType]func(w, a []byte, cols int) float32{
	tensor.IQ2_XXS: dotIQ2_XXSGeneric,
	tensor.IQ1_S:   dotIQ1_SGeneric,
	tensor.IQ1_M:   dotIQ1_MGeneric,
	tensor.IQ2_XS:  dotIQ2_XSGeneric,
	tensor.IQ2_S:   dotIQ2_SGeneric,
	tensor.IQ3_XXS: dotIQ3_XXSGeneric,
	tensor.IQ3_S:   dotIQ3_SGeneric,
}

// TestIQTilesEveryBit runs each codebook kernel (1 row × 1..4 tokens) on
// one block, then again with each bit of the block but its f16 d flipped
// in turn (grid indices, signs, scales, delta signs), and compares every
// output with the generic dot: a kernel that reads any field bit wrong
// disagrees on that flip.
func TestIQTilesEveryBit(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX-512 VNNI")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for typ, ts := range iqTiles {
		ref := iqGenericDots[typ]
		if ref == nil {
			t.Fatalf("%v: no generic dot listed", typ)
		}
		for T := 1; T <= 4; T++ {
			if ts.fn[1][T] == nil {
				continue
			}
			t.Run(fmt.Sprintf("%v/1x%d", typ, T), func(t *testing.T) {
				a := make([]byte, T*292)
				for k := 0; k < T; k++ {
					quantizeRowQ8_KGeneric(a[k*292:(k+1)*292], randomVec(rng, 256))
				}
				w := make([]byte, ts.wBlock)
				for i := range w {
					w[i] = byte(rng.Uint32())
				}
				// d = 0.1, kept: its bits are not flipped.
				isD := func(i, b int) bool { return i < 2 }
				if typ == tensor.IQ1_M {
					putIQ1MScale(w, 0x2e66)
					isD = func(i, b int) bool { return i >= 48 && i%2 == 1 && b >= 4 }
				} else {
					binary.LittleEndian.PutUint16(w, 0x2e66)
				}
				ad := dequantRows(t, tensor.Q8_K, a, T, 256)
				check := func(what string) {
					out := make([]float32, T)
					ts.block(out, 1, w, ts.wBlock, a, 292, 1, T, 256)
					mag := magnitudes(dequantRows(t, typ, w, 1, 256), ad)
					for k := 0; k < T; k++ {
						want := ref(w, a[k*292:], 256)
						if d := math.Abs(float64(out[k] - want)); !(d <= iqDotTol(mag[k])) {
							t.Fatalf("%s: token %d: kernel %v, generic %v", what, k, out[k], want)
						}
					}
				}
				check("random block")
				for i := range w {
					for b := 0; b < 8; b++ {
						if isD(i, b) {
							continue
						}
						w[i] ^= 1 << b
						check(fmt.Sprintf("byte %d bit %d flipped", i, b))
					}
				}
			})
		}
	}
}
