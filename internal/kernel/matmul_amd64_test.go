//go:build !purego

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// ggmlDotF16Order models ggml_vec_dot_f16 on AVX-512, to the bit: four
// 16-lane float32 accumulators over 64-element steps (element k into
// accumulator (k/16) mod 4), reduced acc0+acc2, acc1+acc3, then their sum,
// then lanes i+8 onto i, i+4 onto i, and (l0+l2)+(l1+l3); the leftover
// elements are added in float64.
func ggmlDotF16Order(w []byte, a []float32, cols int) float32 {
	var acc [4][16]float32
	np := cols &^ 63
	for i := 0; i < np; i += 64 {
		for j := range 4 {
			for l := range 16 {
				k := i + 16*j + l
				acc[j][l] = float32(acc[j][l] + h2f(w[2*k:])*a[k]) // no fused rounding: products are exact
			}
		}
	}
	var x [16]float32
	for l := range 16 {
		x[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])
	}
	var h8 [8]float32
	for i := range 8 {
		h8[i] = x[i] + x[i+8]
	}
	var h4 [4]float32
	for i := range 4 {
		h4[i] = h8[i] + h8[i+4]
	}
	s := float64((h4[0] + h4[2]) + (h4[1] + h4[3]))
	for k := np; k < cols; k++ {
		s += float64(h2f(w[2*k:]) * a[k])
	}
	return float32(s)
}

// TestF16DecodeOrder checks that an F16 MatMul adds in ggml's order
// exactly (bit for bit), so that decoding reproduces llama.cpp where a
// near-tie depends on the last bit, and for every batch size, so that
// batching changes nothing.
func TestF16DecodeOrder(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU: the F16 decode kernels are not used")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, cols := range []int{64, 96, 128, 200, 1536, 2048 + 48} {
		for _, rows := range []int{1, 3, 4, 9, 64} {
			for _, n := range []int{1, 2, 5} {
				w := randomMat(rng, tensor.F16, rows, cols)
				x := randomVec(rng, n*cols)
				got := make([]float32, n*rows)
				MatMul(got, w, x, n)
				xa := make([]float32, n*cols)
				for i, v := range x {
					xa[i] = halfToFloat(floatToHalf(v))
				}
				for tk := range n {
					for r := range rows {
						want := ggmlDotF16Order(w.Data[r*w.RowBytes():], xa[tk*cols:], cols)
						if g := got[tk*rows+r]; math.Float32bits(g) != math.Float32bits(want) {
							t.Fatalf("cols %d rows %d n %d: token %d row %d = %v, ggml's order gives %v", cols, rows, n, tk, r, g, want)
						}
					}
				}
			}
		}
	}
}

// TestMatMulCanonicalQuant checks that the VNNI implementation of Q8_0,
// Q4_0, Q5_0 and IQ4_NL (row-group kernels below minTokens, packed path
// from there) gives the reference's results bit for bit: both add
// fma(float32(Σ w·q), d_w·d_a, acc) over the blocks in order.
func TestMatMulCanonicalQuant(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, typ := range []tensor.DType{tensor.Q8_0, tensor.Q4_0, tensor.Q5_0, tensor.IQ4_NL} {
		for _, cols := range []int{32, 96, 1024} {
			for _, rows := range []int{1, 15, 16, 33} {
				for _, n := range []int{1, 3, 4, 5, 6, 17} {
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, n*cols)
					want := refMatMul(w, x, n)
					got := make([]float32, n*rows)
					MatMul(got, w, x, n)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %dx%d n=%d: out[%d] = %v, reference %v", typ, rows, cols, n, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestExpSIMD checks the exponential of each vector kernel set this CPU
// runs (exp16 of AVX-512, exp8 of AVX2) against math.Exp over the float32
// range, the edges and the special values: within 2 ulp.
func TestExpSIMD(t *testing.T) {
	sets := vecSetsHere()
	if len(sets) == 0 {
		t.Skip("no AVX-512 or AVX2 (with FMA, F16C) on this CPU")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	x := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 88.72, 88.73, 89, -87.3, -103.9, -104, -150, 1e-8, -1e-8,
		float32(math.Ln2) / 2, -float32(math.Ln2) / 2, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for len(x) < 1<<16 {
		x = append(x, float32(rng.Float64()*208-104))
	}
	for name, vs := range sets {
		got := make([]float32, len(x))
		vs.exp(&got[0], &x[0], len(x)/16)
		for i, v := range x {
			want := float32(math.Exp(float64(v)))
			if math.IsNaN(float64(v)) {
				if !math.IsNaN(float64(got[i])) {
					t.Fatalf("%s: exp(NaN) = %v, want NaN", name, got[i])
				}
				continue
			}
			if d := math.Abs(float64(got[i] - want)); got[i] != want && !(d <= 2*ulp32(want)) {
				t.Fatalf("%s: exp(%v) = %v, want %v (%.2f ulp)", name, v, got[i], want, d/ulp32(want))
			}
		}
	}
}

// vecSetsHere returns the vector kernel sets this CPU runs, by name.
func vecSetsHere() map[string]*vecSet {
	sets := map[string]*vecSet{}
	if hasAVX512 {
		sets["avx512"] = vecAVX512
	}
	if hasAVX2 {
		sets["avx2"] = vecAVX2
	}
	return sets
}
