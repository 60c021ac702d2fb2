package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// packedKTypes are the K-quant types of the packed prefill path.
var packedKTypes = []tensor.DType{tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.Q2_K, tensor.Q3_K}

// packedKReference runs the packed K path's reference kernels (quantize,
// pack, tile) over a whole MatMul.
func packedKReference(w tensor.Mat, x []float32, n int) []float32 {
	nb := w.Cols / 256
	tiles := (n + packTokens - 1) / packTokens
	const tileBytes = packTokens * actKBytes
	act := make([]byte, tiles*nb*tileBytes)
	for t := range n {
		quantizeRowQ8_KxGeneric(act[(t/packTokens)*nb*tileBytes+(t%packTokens)*actKBytes:], x[t*w.Cols:(t+1)*w.Cols], tileBytes, int(-packedKOffset(w.Type)))
	}
	out := make([]float32, n*w.Rows)
	group := make([]byte, nb*packedKBlockBytes(w.Type))
	for r0 := 0; r0 < w.Rows; r0 += packRows {
		rows := min(packRows, w.Rows-r0)
		packGroupKGeneric(w.Type, w.Data[r0*w.RowBytes():], w.RowBytes(), rows, nb, group)
		for t0 := 0; t0 < n; t0 += packTokens {
			tilePackedKGeneric(w.Type, group, act[(t0/packTokens)*nb*tileBytes:], tileBytes, nb, min(packTokens, n-t0), rows,
				out[t0*w.Rows+r0:], w.Rows)
		}
	}
	return out
}

// orderedMatMul is MatMul through dotKOrdered, the K-quant order's row dot.
func orderedMatMul(w tensor.Mat, x []float32, n int) []float32 {
	rb := 292 * (w.Cols / 256)
	a := make([]byte, rb)
	out := make([]float32, n*w.Rows)
	for t := range n {
		quantizeRowQ8_KGeneric(a, x[t*w.Cols:(t+1)*w.Cols])
		for r := range w.Rows {
			out[t*w.Rows+r] = dotKOrdered(w.Type, w.Data[r*w.RowBytes():], a, w.Cols)
		}
	}
	return out
}

// TestPackedKReference checks the K-quant order against ggml's reference
// dots (within the tolerance of TestMatMulAllImplementations: the integer
// sums are the same, the float steps round differently), and the packed
// K layouts and reference kernels against the K-quant order, bit for bit.
func TestPackedKReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, typ := range packedKTypes {
		for _, cols := range []int{256, 768} {
			for _, rows := range []int{1, 16, 17, 35} {
				for _, n := range []int{1, 9, 17} {
					name := fmt.Sprintf("%s/%dx%d/n=%d", typ, rows, cols, n)
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, n*cols)
					want := refMatMul(w, x, n)
					ordered := orderedMatMul(w, x, n)
					got := packedKReference(w, x, n)
					mag := magnitudes(dequantRows(t, typ, w.Data, rows, cols), activations(t, typ, x, n, cols))
					for i := range want {
						if d := math.Abs(float64(ordered[i] - want[i])); !(d <= matTol(mag[i])) {
							t.Fatalf("%s: ordered out[%d] = %v, want %v (diff %g)", name, i, ordered[i], want[i], d)
						}
						if math.Float32bits(got[i]) != math.Float32bits(ordered[i]) {
							t.Fatalf("%s: packed out[%d] = %v, want %v as the K-quant order", name, i, got[i], ordered[i])
						}
					}
				}
			}
		}
	}
}
