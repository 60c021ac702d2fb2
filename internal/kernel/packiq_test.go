package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// packedIQTypes are the i-quant types of the packed prefill path.
var packedIQTypes = []tensor.DType{
	tensor.IQ4_XS, tensor.IQ1_S, tensor.IQ2_XXS, tensor.IQ1_M, tensor.IQ3_XXS, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ3_S,
}

// quantizeRowQ8_KxIQGeneric is quantizeRowQ8_KxGeneric with the group
// offsets of i-quant type t.
func quantizeRowQ8_KxIQGeneric(t tensor.DType, dst []byte, x []float32, stride int) {
	quantizeRowQ8_KxGeneric(dst, x, stride, 0)
	for b := range len(x) / 256 {
		putIQOffsets(dst[b*stride:], -iqKinds[t].k)
	}
}

// packedIQReference runs the packed i-quant path's reference kernels
// (quantize, pack, tile) over a whole MatMul.
func packedIQReference(w tensor.Mat, x []float32, n int) []float32 {
	nb := w.Cols / 256
	tiles := (n + packTokens - 1) / packTokens
	const tileBytes = packTokens * actKBytes
	act := make([]byte, tiles*nb*tileBytes)
	for t := range n {
		quantizeRowQ8_KxIQGeneric(w.Type, act[(t/packTokens)*nb*tileBytes+(t%packTokens)*actKBytes:], x[t*w.Cols:(t+1)*w.Cols], tileBytes)
	}
	out := make([]float32, n*w.Rows)
	group := make([]byte, nb*packedKBlockBytes(tensor.Q6_K))
	for r0 := 0; r0 < w.Rows; r0 += packRows {
		rows := min(packRows, w.Rows-r0)
		packGroupIQGeneric(w.Type, w.Data[r0*w.RowBytes():], w.RowBytes(), rows, nb, group)
		for t0 := 0; t0 < n; t0 += packTokens {
			tilePackedKGeneric(tensor.Q6_K, group, act[(t0/packTokens)*nb*tileBytes:], tileBytes, nb, min(packTokens, n-t0), rows,
				out[t0*w.Rows+r0:], w.Rows)
		}
	}
	return out
}

// orderedIQMatMul is MatMul through dotIQOrdered, the i-quant order's row
// dot.
func orderedIQMatMul(w tensor.Mat, x []float32, n int) []float32 {
	a := make([]byte, 292*(w.Cols/256))
	out := make([]float32, n*w.Rows)
	for t := range n {
		quantizeRowQ8_KGeneric(a, x[t*w.Cols:(t+1)*w.Cols])
		for r := range w.Rows {
			out[t*w.Rows+r] = dotIQOrdered(w.Type, w.Data[r*w.RowBytes():], a, w.Cols)
		}
	}
	return out
}

// TestIQDecode checks each i-quant's decoded block (d·c·sc_g·(u − k) per
// element) against tensor.Dequantize, the independent reference for every
// layout, on random blocks: a wrong grid index, sign, scale or delta bit
// is off by far more than the rounding of ggml's dequantization.
func TestIQDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	for _, typ := range packedIQTypes {
		kind := iqKinds[typ]
		w := randomMat(rng, typ, 64, 256)
		want := dequantRows(t, typ, w.Data, 64, 256)
		var p kBlock
		for r := range 64 {
			decodeIQ(typ, w.Row(r), &p)
			for i := range 256 {
				u := int32(p.u[i])
				if typ != tensor.IQ4_XS && (u < 0 || u > 2*kind.k) {
					t.Fatalf("%s row %d: u[%d] = %d outside [0, %d]", typ, r, i, u, 2*kind.k)
				}
				got := float64(p.d) * float64(p.sc[i/16]) * float64(u-kind.k)
				if d := math.Abs(got - want[r][i]); d > 1e-6*math.Abs(want[r][i]) {
					t.Fatalf("%s row %d: element %d = %v, want %v", typ, r, i, got, want[r][i])
				}
			}
		}
	}
}

// TestPackedIQReference checks the i-quant order against ggml's reference
// dots (within the tolerance of TestMatMulAllImplementations: the integer
// sums are the same, the float steps round differently), and the packed
// layout and reference kernels against the i-quant order, bit for bit.
func TestPackedIQReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(69, 70))
	for _, typ := range packedIQTypes {
		for _, cols := range []int{256, 768} {
			for _, rows := range []int{1, 16, 17, 35} {
				for _, n := range []int{1, 9, 17} {
					name := fmt.Sprintf("%s/%dx%d/n=%d", typ, rows, cols, n)
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, n*cols)
					want := refMatMul(w, x, n)
					ordered := orderedIQMatMul(w, x, n)
					got := packedIQReference(w, x, n)
					mag := magnitudes(dequantRows(t, typ, w.Data, rows, cols), activations(t, typ, x, n, cols))
					for i := range want {
						if d := math.Abs(float64(ordered[i] - want[i])); !(d <= matTol(mag[i])) {
							t.Fatalf("%s: ordered out[%d] = %v, want %v (diff %g)", name, i, ordered[i], want[i], d)
						}
						if math.Float32bits(got[i]) != math.Float32bits(ordered[i]) {
							t.Fatalf("%s: packed out[%d] = %v, want %v as the i-quant order", name, i, got[i], ordered[i])
						}
					}
				}
			}
		}
	}
}
