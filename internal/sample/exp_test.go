package sample

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpNeg(t *testing.T) {
	check := func(x float64) {
		t.Helper()
		got, want := expNeg(x), math.Exp(x)
		if !(x > -104) {
			want = 0
		}
		if d := math.Abs(got - want); d > 1e-8*want {
			t.Fatalf("expNeg(%v) = %v, want %v (rel err %.2g)", x, got, want, d/want)
		}
	}
	for x := -110.0; x <= 5; x += 1.0 / 64 {
		check(x)
	}
	r := rand.New(rand.NewPCG(14, 14))
	for range 100000 {
		check(-r.Float64() * 104)
		check(-r.Float64() * 1e-3)
	}
	for _, x := range []float64{0, -0.0, -math.Ln2 / 2, math.Ln2 / 2, -103.999, -104, math.Inf(-1)} {
		check(x)
	}
	if got := expNeg(0); got != 1 {
		t.Errorf("expNeg(0) = %v, want exactly 1", got)
	}
	if got := expNeg(math.NaN()); got != 0 {
		t.Errorf("expNeg(NaN) = %v, want 0", got)
	}
}

func BenchmarkExp(b *testing.B) {
	xs := make([]float64, 1024)
	r := rand.New(rand.NewPCG(15, 15))
	for i := range xs {
		xs[i] = -r.Float64() * 30
	}
	var sink float64
	b.Run("expNeg", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				sink += expNeg(x)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				sink += math.Exp(x)
			}
		}
	})
	_ = sink
}
