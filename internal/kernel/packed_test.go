package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// packedTypes are the weight types of the packed prefill path.
var packedTypes = []tensor.DType{tensor.Q8_0, tensor.Q4_0, tensor.Q5_0, tensor.IQ4_NL}

// packedReference runs the packed path's reference kernels (quantize, pack,
// tile) over a whole MatMul.
func packedReference(w tensor.Mat, x []float32, n int) []float32 {
	k, _ := packedKindOf(w.Type)
	nb := w.Cols / 32
	tiles := (n + packTokens - 1) / packTokens
	const tileBytes = packTokens * actBlockBytes
	act := make([]byte, tiles*nb*tileBytes)
	for t := range n {
		quantizeRowQ8_0xGeneric(act[(t/packTokens)*nb*tileBytes+(t%packTokens)*actBlockBytes:], x[t*w.Cols:(t+1)*w.Cols], tileBytes, k)
	}
	out := make([]float32, n*w.Rows)
	group := make([]byte, nb*packBlockBytes)
	for r0 := 0; r0 < w.Rows; r0 += packRows {
		rows := min(packRows, w.Rows-r0)
		packGroupGeneric(w.Type, w.Data[r0*w.RowBytes():], w.RowBytes(), rows, nb, group)
		for t0 := 0; t0 < n; t0 += packTokens {
			tilePackedGeneric(group, act[(t0/packTokens)*nb*tileBytes:], tileBytes, nb, min(packTokens, n-t0), rows,
				out[t0*w.Rows+r0:], w.Rows)
		}
	}
	return out
}

// TestPackedReference checks the packed layouts and the reference kernels
// against the row-dot reference: the same integer block sums and scales,
// so the results differ only in the order of float32 additions.
func TestPackedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, typ := range packedTypes {
		for _, cols := range []int{32, 96, 288} {
			for _, rows := range []int{1, 16, 17, 35} {
				for _, n := range []int{1, 16, 17, 33} {
					name := fmt.Sprintf("%s/%dx%d/n=%d", typ, rows, cols, n)
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, n*cols)
					want := refMatMul(w, x, n)
					got := packedReference(w, x, n)
					mag := magnitudes(dequantRows(t, typ, w.Data, rows, cols), activations(t, typ, x, n, cols))
					for i := range want {
						if d := math.Abs(float64(got[i] - want[i])); !(d <= matTol(mag[i])) {
							t.Fatalf("%s: out[%d] = %v, want %v (diff %g)", name, i, got[i], want[i], d)
						}
					}
				}
			}
		}
	}
}
