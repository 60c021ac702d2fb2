package kernel

import (
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

var vecLens = []int{0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000}

func TestRMSNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range vecLens[1:] {
		x, w := randomVec(rng, n), randomVec(rng, n)
		out := make([]float32, n)
		RMSNorm(out, x, w, 1e-6)
		ss := 0.0
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		s := 1 / math.Sqrt(ss/float64(n)+1e-6)
		for i := range x {
			want := float64(x[i]) * s * float64(w[i])
			if d := math.Abs(float64(out[i]) - want); d > 1e-6*(math.Abs(want)+1) {
				t.Fatalf("n=%d: out[%d] = %v, want %v", n, i, out[i], want)
			}
		}
		// In place gives the same result.
		RMSNorm(x, x, w, 1e-6)
		for i := range x {
			if x[i] != out[i] {
				t.Fatalf("n=%d: in-place out[%d] = %v, want %v", n, i, x[i], out[i])
			}
		}
	}
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range vecLens[1:] {
		x := randomVec(rng, n)
		for i := range x {
			x[i] *= 10
		}
		x[0] = float32(math.Inf(-1))
		want := make([]float64, n)
		mx := math.Inf(-1)
		for _, v := range x {
			mx = math.Max(mx, float64(v))
		}
		sum := 0.0
		for i, v := range x {
			want[i] = math.Exp(float64(v) - mx)
			sum += want[i]
		}
		Softmax(x)
		for i := range x {
			w := want[i] / sum
			if n == 1 {
				w = math.NaN() // a lone -Inf: exp(-Inf - -Inf) is NaN, as in ggml
				if !math.IsNaN(float64(x[i])) {
					t.Fatalf("n=1: got %v, want NaN", x[i])
				}
				continue
			}
			if d := math.Abs(float64(x[i]) - w); d > 1e-6*w+1e-12 {
				t.Fatalf("n=%d: p[%d] = %v, want %v", n, i, x[i], w)
			}
		}
	}
}

func TestSwiGLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	g, u := randomVec(rng, 100), randomVec(rng, 100)
	out := make([]float32, 100)
	SwiGLU(out, g, u)
	for i := range g {
		want := float64(g[i]) / (1 + math.Exp(-float64(g[i]))) * float64(u[i])
		if d := math.Abs(float64(out[i]) - want); d > 1e-6*(math.Abs(want)+1e-3) {
			t.Fatalf("out[%d] = %v, want %v", i, out[i], want)
		}
	}
}

// requireVecSIMD skips t, naming the reason, when the vector kernels
// dispatch to their references (neither the AVX-512 nor the AVX2 set on
// this CPU, the purego tag, or an architecture without SIMD kernels): a
// differential test would then compare the reference with itself.
// Otherwise it checks that every kernel in pairs (dispatched, reference)
// really dispatches to a SIMD version.
func requireVecSIMD(t *testing.T, pairs map[string][2]any) {
	t.Helper()
	same := func(p [2]any) bool { return reflect.ValueOf(p[0]).Pointer() == reflect.ValueOf(p[1]).Pointer() }
	if same([2]any{vecDotF32, vecDotF32Generic}) {
		t.Skipf("the vector kernels are the references here (%s): no SIMD version to compare with", whyNoVecSIMD())
	}
	for name, p := range pairs {
		if same(p) {
			t.Errorf("%s dispatches to its reference although the other vector kernels use SIMD", name)
		}
	}
}

// whyNoVecSIMD says why the vector kernels use their references. The
// features are those of vec_amd64.go's smaller set (hasAVX2).
func whyNoVecSIMD() string {
	if runtime.GOARCH != "amd64" {
		return "GOARCH " + runtime.GOARCH + " has no SIMD vector kernels"
	}
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"AVX2", cpu.X86.HasAVX2}, {"FMA", cpu.X86.HasFMA}, {"F16C", cpu.X86.HasF16C},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return "this CPU lacks " + strings.Join(missing, ", ")
	}
	return "built with -tags purego"
}

// TestVecAllImplementations checks the SIMD vector kernels against their
// references; it skips, saying why, where there are none.
func TestVecAllImplementations(t *testing.T) {
	requireVecSIMD(t, map[string][2]any{
		"Dot":     {vecDotF32, vecDotF32Generic},
		"DotF16":  {vecDotF16, vecDotF16Generic},
		"ToF16":   {toF16, toF16Generic},
		"FromF16": {fromF16, fromF16Generic},
		"Axpy":    {axpyF32, axpyF32Generic},
		"AxpyF16": {axpyF16, axpyF16Generic},
	})
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range vecLens {
		a, b := randomVec(rng, n), randomVec(rng, n)
		ha, hb := make([]uint16, n), make([]uint16, n)
		toF16Generic(ha, a)
		toF16Generic(hb, b)
		mag := 0.0
		for i := range a {
			mag += math.Abs(float64(a[i] * b[i]))
		}
		if got, want := Dot(a, b), vecDotF32Generic(a, b); math.Abs(float64(got-want)) > 1e-6*mag+1e-30 {
			t.Errorf("Dot n=%d: got %v, want %v", n, got, want)
		}
		if got, want := DotF16(ha, hb), vecDotF16Generic(ha, hb); math.Abs(float64(got-want)) > 1e-6*mag+1e-30 {
			t.Errorf("DotF16 n=%d: got %v, want %v", n, got, want)
		}
		h := make([]uint16, n)
		ToF16(h, a)
		for i := range h {
			if h[i] != ha[i] {
				t.Fatalf("ToF16 n=%d: [%d] = %#x, want %#x", n, i, h[i], ha[i])
			}
		}
		f := make([]float32, n)
		FromF16(f, ha)
		for i := range f {
			if f[i] != halfToFloat(ha[i]) {
				t.Fatalf("FromF16 n=%d: [%d] = %v, want %v", n, i, f[i], halfToFloat(ha[i]))
			}
		}
		d1, d2 := append([]float32(nil), b...), append([]float32(nil), b...)
		Axpy(d1, 0.37, a)
		axpyF32Generic(d2, 0.37, a)
		for i := range d1 {
			if math.Abs(float64(d1[i]-d2[i])) > 1e-6*math.Abs(float64(d2[i]))+1e-6 {
				t.Fatalf("Axpy n=%d: [%d] = %v, want %v", n, i, d1[i], d2[i])
			}
		}
		d1, d2 = append(d1[:0], b...), append(d2[:0], b...)
		AxpyF16(d1, -1.5, ha)
		axpyF16Generic(d2, -1.5, ha)
		for i := range d1 {
			if math.Abs(float64(d1[i]-d2[i])) > 1e-6*math.Abs(float64(d2[i]))+1e-6 {
				t.Fatalf("AxpyF16 n=%d: [%d] = %v, want %v", n, i, d1[i], d2[i])
			}
		}
	}
}

func TestDequantizeRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, typ := range allTypes {
		cols := colCases(typ)[1]
		w := randomMat(rng, typ, 3, cols)
		want := dequantRows(t, typ, w.Data, 3, cols)
		got := make([]float32, cols)
		if err := DequantizeRow(got, w, 2); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		for c := range got {
			if float64(got[c]) != want[2][c] {
				t.Fatalf("%s: [%d] = %v, want %v", typ, c, got[c], want[2][c])
			}
		}
	}
}

// TestSwiGLUAllImplementations checks SwiGLU (SIMD and split across
// threads for long vectors) against the reference: within 4 ulp, since
// only e^x differs (by at most 2 ulp).
func TestSwiGLUAllImplementations(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, n := range append(vecLens, swigluParallelMin+swigluChunk+17) {
		g, u := randomVec(rng, n), randomVec(rng, n)
		for i := range g {
			g[i] *= 8
		}
		if n > 3 {
			g[0], g[1], g[2] = float32(math.Inf(1)), float32(math.Inf(-1)), -200
		}
		got, want := make([]float32, n), make([]float32, n)
		SwiGLU(got, g, u)
		swigluGeneric(want, g, u)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); got[i] != want[i] && !(d <= 4*ulp32(want[i])) && !(math.IsNaN(float64(want[i])) && math.IsNaN(float64(got[i]))) {
				t.Fatalf("n=%d: out[%d] = %v (gate %v), want %v", n, i, got[i], g[i], want[i])
			}
		}
	}
}

// ulp32 returns the spacing of float32 values at |v| (the smallest
// subnormal for 0).
func ulp32(v float32) float64 {
	a := math.Abs(float64(v))
	if a == 0 || math.IsInf(a, 0) {
		return math.SmallestNonzeroFloat32
	}
	return float64(math.Nextafter32(float32(a), float32(math.Inf(1)))) - a
}

// TestAttnKernels checks DotsF16, WeightedSumF16, RoundF16 and SoftmaxF16
// against their references on awkward shapes, with guard values after
// every output; it skips, saying why, where there are no SIMD versions.
func TestAttnKernels(t *testing.T) {
	requireVecSIMD(t, map[string][2]any{
		"DotsF16":        {dotsF16, dotsF16Generic},
		"WeightedSumF16": {weightedSumF16, weightedSumF16Generic},
		"RoundF16":       {roundF16, roundF16Generic},
		"SoftmaxF16":     {softmaxF16, softmaxF16Generic},
	})
	rng := rand.New(rand.NewPCG(19, 20))
	for _, hd := range []int{1, 16, 40, 64, 128, 136, 256} {
		for _, nk := range []int{1, 2, 15, 16, 17, 33, 100} {
			stride := 3*hd + 5
			kv := make([]uint16, (nk-1)*stride+hd)
			for i := range kv {
				kv[i] = floatToHalf(float32(rng.NormFloat64()))
			}
			q := randomVec(rng, hd)
			RoundF16(q)
			got := make([]float32, max(nk, hd)+guard)
			want := make([]float32, max(nk, hd))
			for i := range got {
				got[i] = 12345
			}
			DotsF16(got[:nk], q, kv, stride, 0.125)
			dotsF16Generic(want[:nk], q, kv, stride, 0.125)
			for j := range nk {
				mag := 0.0
				for i := range hd {
					mag += math.Abs(float64(q[i] * halfToFloat(kv[j*stride+i])))
				}
				if d := math.Abs(float64(got[j] - want[j])); !(d <= 1e-6*mag*0.125+1e-30) {
					t.Fatalf("DotsF16 hd=%d nk=%d: out[%d] = %v, want %v", hd, nk, j, got[j], want[j])
				}
			}
			if got[nk] != 12345 {
				t.Fatalf("DotsF16 hd=%d nk=%d: wrote past the output", hd, nk)
			}

			p := randomVec(rng, nk)
			for i := range p {
				p[i] = float32(math.Abs(float64(p[i])))
			}
			for i := range got {
				got[i] = 12345
			}
			WeightedSumF16(got[:hd], p, kv, stride)
			clear(want[:hd])
			weightedSumF16Generic(want[:hd], p, kv, stride)
			for i := range hd {
				mag := 0.0
				for j := range nk {
					mag += math.Abs(float64(p[j] * halfToFloat(kv[j*stride+i])))
				}
				if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-6*mag+1e-30) {
					t.Fatalf("WeightedSumF16 hd=%d nk=%d: out[%d] = %v, want %v", hd, nk, i, got[i], want[i])
				}
			}
			if got[hd] != 12345 {
				t.Fatalf("WeightedSumF16 hd=%d nk=%d: wrote past the output", hd, nk)
			}
		}
	}
	for _, n := range vecLens[1:] {
		x := randomVec(rng, n)
		for i := range x {
			x[i] *= 12
		}
		x[0] = float32(math.Inf(-1))
		if n > 2 {
			x[2] = 70000 // rounds to +Inf in f16
		}
		r1, r2 := append([]float32(nil), x...), append([]float32(nil), x...)
		RoundF16(r1)
		roundF16Generic(r2)
		for i := range r1 {
			if r1[i] != r2[i] {
				t.Fatalf("RoundF16 n=%d: [%d] = %v, want %v", n, i, r1[i], r2[i])
			}
		}
		if n > 2 {
			x[2] = 30
		}
		s1, s2 := append([]float32(nil), x...), append([]float32(nil), x...)
		SoftmaxF16(s1)
		softmaxF16Generic(s2)
		for i := range s1 {
			// e^x differs by ≤ 2 ulp, so a probability may round to the
			// neighbouring f16 value: one f16 ulp (2^-10 relative).
			if d := math.Abs(float64(s1[i] - s2[i])); !(d <= math.Abs(float64(s2[i]))/1024+1e-30) && !(n == 1 && math.IsNaN(float64(s1[i]))) {
				t.Fatalf("SoftmaxF16 n=%d: p[%d] = %v, want %v", n, i, s1[i], s2[i])
			}
		}
	}
}
