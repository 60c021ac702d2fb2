//go:build !purego

package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// TestCodeTilesSameBits checks the tileCode kernels (intergrid_amd64.s)
// against the packiq set's tileOrd ones they replace: the same bits for
// every row length (odd and even block counts: the one-token IQ2_XXS tile
// takes blocks in pairs) and 1..4 tokens.
func TestCodeTilesSameBits(t *testing.T) {
	if !hasCodeTiles {
		t.Skip("no AVX-512 VBMI")
	}
	rng := rand.New(rand.NewPCG(5, 9))
	old := map[tensor.DType][5][5]tileFunc{
		tensor.IQ2_XXS: gridTiles(&tensor.GridIQ2_XXS[0], tileOrdIQ2_XXS_1x1, tileOrdIQ2_XXS_1x2, tileOrdIQ2_XXS_1x3, tileOrdIQ2_XXS_1x4),
		tensor.IQ3_XXS: gridTiles(&tensor.GridIQ3_XXS[0], tileOrdIQ3_XXS_1x1, tileOrdIQ3_XXS_1x2, tileOrdIQ3_XXS_1x3, tileOrdIQ3_XXS_1x4),
	}
	for typ, oldFn := range old {
		newFn := codeTiles(typ, oldFn)
		for nb := 1; nb <= 7; nb++ {
			w := randomMat(rng, typ, 1, 256*nb)
			for T := 1; T <= 4; T++ {
				t.Run(fmt.Sprintf("%v/nb=%d/T=%d", typ, nb, T), func(t *testing.T) {
					a := make([]byte, T*292*nb)
					for k := 0; k < T; k++ {
						quantizeRowQ8_KGeneric(a[k*292*nb:(k+1)*292*nb], randomVec(rng, 256*nb))
					}
					got, want := make([]float32, T), make([]float32, T)
					newFn[1][T](&w.Data[0], len(w.Data), &a[0], 292*nb, nb, &got[0], 1)
					oldFn[1][T](&w.Data[0], len(w.Data), &a[0], 292*nb, nb, &want[0], 1)
					for k := range got {
						if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
							t.Fatalf("token %d: tileCode %v, tileOrd %v", k, got[k], want[k])
						}
					}
				})
			}
		}
	}
}
