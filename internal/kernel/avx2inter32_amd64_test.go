//go:build !purego

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// inter32Types are the 32-element block types with AVX2 interleaved kernels.
var inter32Types = []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.IQ4_NL, tensor.Q5_0, tensor.Q4_1, tensor.Q5_1}

// TestAVX2Inter32SameBits checks the AVX2 interleaved kernels (the "avx2"
// set, on any CPU with AVX2, FMA and F16C) against the reference row dots,
// bit for bit, on awkward sizes, batch sizes across tiles and thread
// counts, and that they write no output row past the matrix; and the AVX2
// row tiles of Q4_0 and Q8_0, which add in the same order.
func TestAVX2Inter32SameBits(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2, FMA and F16C on this CPU")
	}
	defer parallel.SetThreads(0)
	var set *implTable
	for _, v := range variants() {
		if v.name == "avx2" {
			set = v.table
		}
	}
	ref := genericTable()
	rng := rand.New(rand.NewPCG(21, 21))
	for _, typ := range inter32Types {
		im := set[typ]
		if im == nil || im.inter == nil {
			t.Fatalf("%s: no interleaved kernels in the avx2 set", typ)
		}
		for _, sh := range [][2]int{{1, 1}, {15, 2}, {16, 3}, {17, 1}, {40, 10}, {100, 48}} {
			rows, cols := sh[0], sh[1]*32
			w := randomMat(rng, typ, rows, cols)
			wi := interleave(w)
			for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 33, 40} {
				parallel.SetThreads(1 + n%3)
				x := randomVec(rng, n*cols)
				want := make([]float32, n*rows)
				got := make([]float32, n*rows+1)
				got[n*rows] = 42
				matMul(want, w, x, n, ref[typ])
				matMul(got, wi, x, n, im)
				if got[n*rows] != 42 {
					t.Fatalf("%s %dx%d n=%d: wrote past the output", typ, rows, cols, n)
				}
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %dx%d n=%d: out[%d] = %v, reference %v", typ, rows, cols, n, i, got[i], want[i])
					}
				}
				if typ != tensor.Q4_0 && typ != tensor.Q8_0 {
					continue // row-major: the reference itself
				}
				matMul(got, w, x, n, im) // the AVX2 row tiles
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %dx%d n=%d row-major: out[%d] = %v, reference %v", typ, rows, cols, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestAVX2QuantSameBytes checks the AVX2 activation quantizers against the
// Go references byte for byte (and so against the AVX-512 ones, which the
// packed tests pin to the same references), including zero blocks.
func TestAVX2QuantSameBytes(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2, FMA and F16C on this CPU")
	}
	rng := rand.New(rand.NewPCG(22, 22))
	const nb, stride = 7, 3 * actBlockBytes
	for _, q81 := range []bool{false, true} {
		for trial := range 50 {
			x := randomVec(rng, 32*nb)
			for i := range x {
				x[i] *= float32(math.Pow(10, float64(rng.IntN(8)-4)))
			}
			if trial%5 == 0 {
				clear(x[32:64]) // a zero block
			}
			want := make([]byte, (nb-1)*stride+actBlockBytes)
			got := make([]byte, len(want))
			const k = 8
			if q81 {
				quantizeRowQ8_1xGeneric(want, x, stride)
				quantQ8_1xAVX2(&x[0], &got[0], nb, stride, 0)
			} else {
				quantizeRowQ8_0xGeneric(want, x, stride, k)
				quantQ8_0xAVX2(&x[0], &got[0], nb, stride, -k)
			}
			if i := byteDiff(got, want); i >= 0 {
				t.Fatalf("q81=%v trial %d: byte %d = %#x, reference %#x", q81, trial, i, got[i], want[i])
			}
		}
	}
}
