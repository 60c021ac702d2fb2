//go:build !purego

package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// TestVecAVX2SameBits checks that every AVX2 vector and attention kernel
// gives bit for bit what its AVX-512 twin gives (and so the same outputs,
// on either kind of CPU, that the AVX-512 tests check against the
// references), on awkward lengths and special values. It needs a CPU with
// both; `make avx2` runs the reference comparisons with the AVX2 set.
func TestVecAVX2SameBits(t *testing.T) {
	if !hasAVX512 || !hasAVX2 {
		t.Skip("comparing the AVX2 and AVX-512 sets needs a CPU with both (the other tests compare the set in use with the references)")
	}
	a, b := vecAVX512, vecAVX2
	rng := rand.New(rand.NewPCG(41, 42))
	same := func(what string, n int, x, y []float32) {
		t.Helper()
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				t.Fatalf("%s n=%d: [%d] avx2 %v (%#x), avx512 %v (%#x)", what, n, i, y[i], math.Float32bits(y[i]), x[i], math.Float32bits(x[i]))
			}
		}
	}
	same1 := func(what string, n int, x, y float32) {
		t.Helper()
		same(what, n, []float32{x}, []float32{y})
	}
	special := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -200, 100, 88.7, -87.5, -100, 1e-40, 0}
	for _, n := range append(vecLens, 4096+37) {
		x, y := randomVec(rng, n), randomVec(rng, n)
		hx, hy := make([]uint16, n), make([]uint16, n)
		toF16Generic(hx, x)
		toF16Generic(hy, y)
		same1("Dot", n, a.dotF32(x, y), b.dotF32(x, y))
		same1("DotF16", n, a.dotF16(hx, hy), b.dotF16(hx, hy))
		d1, d2 := append([]float32(nil), y...), append([]float32(nil), y...)
		a.axpyF32(d1, 0.37, x)
		b.axpyF32(d2, 0.37, x)
		same("Axpy", n, d1, d2)
		a.axpyF16(d1, -1.5, hx)
		b.axpyF16(d2, -1.5, hx)
		same("AxpyF16", n, d1, d2)
		h1, h2 := make([]uint16, n), make([]uint16, n)
		a.toF16(h1, x)
		b.toF16(h2, x)
		for i := range h1 {
			if h1[i] != h2[i] {
				t.Fatalf("ToF16 n=%d: [%d] avx2 %#x, avx512 %#x", n, i, h2[i], h1[i])
			}
		}
		a.fromF16(d1, hx)
		b.fromF16(d2, hx)
		same("FromF16", n, d1, d2)

		// The exponential kernels on a wide range with the special values.
		g := append([]float32(nil), x...)
		for i := range g {
			g[i] *= 30
		}
		copy(g, special)
		a.swiglu(d1, g, y)
		b.swiglu(d2, g, y)
		same("SwiGLU", n, d1, d2)
		a.sigmoid(d1, g)
		b.sigmoid(d2, g)
		same("Sigmoid", n, d1, d2)
		a.roundF16(d1)
		b.roundF16(d2)
		same("RoundF16", n, d1, d2)
		for i := range g {
			g[i] = float32(math.Abs(float64(x[i]))) * 20
		}
		m := float32(0)
		for _, v := range g {
			m = max(m, v)
		}
		copy(d1, g)
		copy(d2, g)
		s1, s2 := a.expSumF32(d1, m, 0.37), b.expSumF32(d2, m, 0.37)
		same("ExpSum", n, d1, d2)
		same1("ExpSum sum", n, s1, s2)
		copy(d1, g)
		copy(d2, g)
		if n > 0 {
			d1[0], d2[0] = float32(math.Inf(-1)), float32(math.Inf(-1))
		}
		a.softmaxF16(d1)
		b.softmaxF16(d2)
		same("SoftmaxF16", n, d1, d2)
	}

	// exp over the float32 range in fine steps (the subnormal results and
	// the overflow edge included).
	var xs []float32
	for v := -110.0; v < 95; v += 1.0 / 512 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, special...)
	xs = append(xs, 1e30, -1e30, 999, -999, 1001, -1001)
	xs = xs[:len(xs)&^15]
	e1, e2 := make([]float32, len(xs)), make([]float32, len(xs))
	a.exp(&e1[0], &xs[0], len(xs)/16)
	b.exp(&e2[0], &xs[0], len(xs)/16)
	same("exp", len(xs), e1, e2)

	// Attention: scores and weighted sums on head sizes and key counts
	// around the block sizes of both sets.
	for _, hd := range []int{1, 16, 40, 64, 80, 128, 136, 256} {
		for _, nk := range []int{1, 3, 4, 5, 15, 16, 17, 33, 100} {
			stride := 2*hd + 3
			kv := make([]uint16, (nk-1)*stride+hd)
			for i := range kv {
				kv[i] = floatToHalf(float32(rng.NormFloat64()))
			}
			q := randomVec(rng, hd)
			roundF16Generic(q)
			o1, o2 := make([]float32, max(nk, hd)), make([]float32, max(nk, hd))
			a.dotsF16(o1[:nk], q, kv, stride, 0.125)
			b.dotsF16(o2[:nk], q, kv, stride, 0.125)
			same(fmt.Sprintf("DotsF16 hd=%d", hd), nk, o1, o2)
			p := randomVec(rng, nk)
			for i := range o1 {
				o1[i] = float32(i) * 0.01
				o2[i] = o1[i]
			}
			a.weightedSumF16(o1[:hd], p, kv, stride)
			b.weightedSumF16(o2[:hd], p, kv, stride)
			same(fmt.Sprintf("AddWeightedSumF16 hd=%d", hd), nk, o1, o2)
		}
	}
}

// TestBF16AVX2SameBits checks that the AVX2 BF16 tiles give bit for bit
// the AVX-512 ones' outputs for every tile shape, awkward column counts
// (tails) and token counts (multi-token tiles). It needs a CPU with both
// sets; TestMatMulAllImplementations and the invariance tests check each
// set on its own.
func TestBF16AVX2SameBits(t *testing.T) {
	vs := map[string]*implTable{}
	for _, v := range variants() {
		vs[v.name] = v.table
	}
	a, b := vs["avx512"], vs["avx2"]
	if a == nil || b == nil {
		t.Skip("comparing the AVX2 and AVX-512 BF16 tiles needs a CPU with both sets")
	}
	rng := rand.New(rand.NewPCG(43, 44))
	for _, cols := range colCases(tensor.BF16) {
		for _, rows := range []int{1, 2, 3, 5, 8, 17} {
			for _, n := range []int{1, 2, 3, 4, 5, 7, 16} {
				w := randomMat(rng, tensor.BF16, rows, cols)
				x := randomVec(rng, n*cols)
				o1, o2 := make([]float32, n*rows), make([]float32, n*rows)
				matMul(o1, w, x, n, a[tensor.BF16])
				matMul(o2, w, x, n, b[tensor.BF16])
				for i := range o1 {
					if math.Float32bits(o1[i]) != math.Float32bits(o2[i]) {
						t.Fatalf("%dx%d n=%d: out[%d] avx2 %v, avx512 %v", rows, cols, n, i, o2[i], o1[i])
					}
				}
			}
		}
	}
}

// TestReadBytesAVX2 checks the AVX2 read of the bandwidth measurement
// against readBytesGo: both return the xor of every 64-bit word, so any
// byte left unread changes the result.
func TestReadBytesAVX2(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2 (with FMA, F16C) on this CPU")
	}
	rng := rand.New(rand.NewPCG(45, 46))
	b := make([]byte, 256*9)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for n := 256; n <= len(b); n += 256 {
		if got, want := readBytesAVX2(&b[0], n), readBytesGo(b[:n]); got != want {
			t.Fatalf("n=%d: %#x, want %#x", n, got, want)
		}
	}
}
