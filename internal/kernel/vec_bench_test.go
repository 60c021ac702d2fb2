package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkAttnKernels measures one head's attention steps over a 512-
// position f16 cache (head dim 128, two KV heads interleaved, as in
// Qwen2-1.5B).
func BenchmarkAttnKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	const hd, nk, stride = 128, 512, 256
	kv := make([]uint16, nk*stride)
	for i := range kv {
		kv[i] = floatToHalf(float32(rng.NormFloat64()))
	}
	q := randomVec(rng, hd)
	RoundF16(q)
	s := make([]float32, nk)
	out := make([]float32, hd)
	b.Run("DotsF16", func(b *testing.B) {
		b.SetBytes(nk * hd * 2)
		for b.Loop() {
			DotsF16(s, q, kv, stride, 0.088)
		}
	})
	b.Run("SoftmaxF16", func(b *testing.B) {
		for b.Loop() {
			DotsF16(s, q, kv, stride, 0.088) // fresh scores each time
			SoftmaxF16(s)
		}
	})
	b.Run("WeightedSumF16", func(b *testing.B) {
		b.SetBytes(nk * hd * 2)
		for b.Loop() {
			WeightedSumF16(out, s, kv, stride)
		}
	})
}

// BenchmarkSwiGLU measures the FFN activation for 1 and 64 tokens of
// Qwen2-1.5B (8960 wide).
func BenchmarkSwiGLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{1, 64} {
		g, u := randomVec(rng, n*8960), randomVec(rng, n*8960)
		out := make([]float32, n*8960)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(4 * len(g)))
			b.ReportAllocs()
			for b.Loop() {
				SwiGLU(out, g, u)
			}
		})
	}
}
