package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// packed41Types are the types with a minimum on the packed prefill path.
var packed41Types = []tensor.DType{tensor.Q4_1, tensor.Q5_1}

// packed41Reference runs the packed Q4_1/Q5_1 path's reference kernels
// (quantize, pack, tile) over a whole MatMul.
func packed41Reference(w tensor.Mat, x []float32, n int) []float32 {
	nb := w.Cols / 32
	tiles := (n + packTokens - 1) / packTokens
	const tileBytes = packTokens * actBlockBytes
	act := make([]byte, tiles*nb*tileBytes)
	for t := range n {
		quantizeRowQ8_1xGeneric(act[(t/packTokens)*nb*tileBytes+(t%packTokens)*actBlockBytes:], x[t*w.Cols:(t+1)*w.Cols], tileBytes)
	}
	out := make([]float32, n*w.Rows)
	group := make([]byte, nb*packBlockBytes41)
	for r0 := 0; r0 < w.Rows; r0 += packRows {
		rows := min(packRows, w.Rows-r0)
		packGroup41Generic(w.Type, w.Data[r0*w.RowBytes():], w.RowBytes(), rows, nb, group)
		for t0 := 0; t0 < n; t0 += packTokens {
			tilePacked41Generic(group, act[(t0/packTokens)*nb*tileBytes:], tileBytes, nb, min(packTokens, n-t0), rows,
				out[t0*w.Rows+r0:], w.Rows)
		}
	}
	return out
}

// TestPacked41Reference checks the packed Q4_1/Q5_1 layouts and reference
// kernels against the row-dot reference bit for bit: the same integer block
// sums, scales and minima, added in the same order.
func TestPacked41Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	for _, typ := range packed41Types {
		for _, cols := range []int{32, 96, 288} {
			for _, rows := range []int{1, 16, 17, 35} {
				for _, n := range []int{1, 16, 17, 33} {
					name := fmt.Sprintf("%s/%dx%d/n=%d", typ, rows, cols, n)
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, n*cols)
					want := refMatMul(w, x, n)
					got := packed41Reference(w, x, n)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: out[%d] = %v, want %v", name, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestMatMul41Exact checks every implementation set's MatMul of Q4_1 and
// Q5_1 (generic row dots; VNNI row-group kernels below minTokens, packed
// kernels from there) against the reference bit for bit, for every batch
// size up to 40 and row counts that leave partial 16-row groups.
func TestMatMul41Exact(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	ns := make([]int, 40)
	for i := range ns {
		ns[i] = i + 1
	}
	colsList := []int{32, 96, 1024}
	if testing.Short() { // -race: the row-group/packed boundary and the tiles' edges
		ns, colsList = []int{1, 4, 5, 16, 17, 40}, []int{32, 288}
	}
	for _, v := range variants() {
		for _, typ := range packed41Types {
			for _, cols := range colsList {
				for _, rows := range []int{1, 7, 16, 17, 33} {
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, 40*cols)
					want := refMatMul(w, x, 40)
					for _, n := range ns {
						got := make([]float32, n*rows)
						matMul(got, w, x[:n*cols], n, v.table[typ])
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s %s %dx%d n=%d: out[%d] = %v, reference %v", v.name, typ, rows, cols, n, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}
