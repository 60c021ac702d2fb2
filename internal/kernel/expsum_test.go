package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpSum compares ExpSum with float64 arithmetic on awkward lengths:
// every value within 3e-7 relative, the sum within 1e-6 relative (it adds
// positive terms), and the values past the slice untouched.
func TestExpSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	for _, n := range []int{0, 1, 15, 16, 17, 33, 255, 1000} {
		x := make([]float32, n+4)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 20)
		}
		m := float32(math.Inf(-1))
		for _, v := range x[:n] {
			m = max(m, v)
		}
		orig := append([]float32(nil), x...)
		const scale = 0.37
		got := ExpSum(x[:n], m, scale)
		want := 0.0
		for i := range n {
			w := math.Exp(float64((orig[i] - m) * scale))
			want += w
			if d := math.Abs(float64(x[i]) - w); d > 3e-7*w {
				t.Fatalf("n=%d: x[%d] = %v, want %v", n, i, x[i], w)
			}
		}
		if d := math.Abs(float64(got) - want); d > 1e-6*want {
			t.Errorf("n=%d: sum %v, want %v", n, got, want)
		}
		for i := n; i < len(x); i++ {
			if x[i] != orig[i] {
				t.Fatalf("n=%d: x[%d] written", n, i)
			}
		}
	}
}

// TestSigmoid compares Sigmoid with float64 arithmetic, within 3e-7
// relative or 1e-38 absolute (at −100, e^100 overflows float32 and the
// result is 0), including the saturated ends.
func TestSigmoid(t *testing.T) {
	rng := rand.New(rand.NewPCG(93, 94))
	for _, n := range []int{1, 16, 31, 100} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 8)
		}
		x[0] = 100
		if n > 1 {
			x[1] = -100
		}
		out := make([]float32, n+3)
		Sigmoid(out[:n], x)
		for i, v := range x {
			w := 1 / (1 + math.Exp(-float64(v)))
			if d := math.Abs(float64(out[i]) - w); d > 3e-7*w+1e-38 {
				t.Fatalf("n=%d: Sigmoid(%v) = %v, want %v", n, v, out[i], w)
			}
		}
		for i := n; i < len(out); i++ {
			if out[i] != 0 {
				t.Fatalf("n=%d: out[%d] written", n, i)
			}
		}
	}
}

func BenchmarkExpSum(b *testing.B) {
	x := make([]float32, 256)
	for b.Loop() {
		for i := range x {
			x[i] = -float32(i) * 0.1
		}
		ExpSum(x, 0, 1)
	}
}
