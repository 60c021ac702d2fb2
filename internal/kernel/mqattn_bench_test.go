package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkAttnMulti compares nq queries scored and summed over the same
// 512 cached rows by the multi-query kernels and by the single-query ones
// in a loop, hot in cache, in GFLOP/s (2 per multiply-add): Qwen2-1.5B's
// heads (128 wide, 2 KV heads interleaved, 6 queries per KV head, 12 for
// two tokens) and DeepSeek MLA's (scores over 288, sums over 512 of the
// same rows, 16 heads per token).
func BenchmarkAttnMulti(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	const nk = 512
	for _, sh := range []struct {
		name           string
		kd, vd, stride int
		nqs            []int
	}{
		{"qwen2", 128, 128, 256, []int{1, 6, 12}},
		{"mla", 288, 512, 288, []int{1, 4, 16}},
	} {
		kv := make([]uint16, nk*sh.stride+sh.vd)
		for i := range kv {
			kv[i] = floatToHalf(float32(rng.NormFloat64()))
		}
		for _, nq := range sh.nqs {
			q := randomVec(rng, nq*sh.kd)
			RoundF16(q)
			s := make([]float32, nq*nk)
			out := make([]float32, nq*sh.vd)
			flops := func(b *testing.B, d int) {
				b.ReportMetric(float64(2*nq*nk*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			b.Run(fmt.Sprintf("%s/dots/nq=%d/single", sh.name, nq), func(b *testing.B) {
				for b.Loop() {
					for r := range nq {
						DotsF16(s[r*nk:(r+1)*nk], q[r*sh.kd:(r+1)*sh.kd], kv, sh.stride, 0.088)
					}
				}
				flops(b, sh.kd)
			})
			b.Run(fmt.Sprintf("%s/dots/nq=%d/multi", sh.name, nq), func(b *testing.B) {
				for b.Loop() {
					DotsF16Multi(s, nk, nk, q, nq, kv, sh.stride, 0.088)
				}
				flops(b, sh.kd)
			})
			for r := range nq {
				SoftmaxF16(s[r*nk : (r+1)*nk])
			}
			b.Run(fmt.Sprintf("%s/wsum/nq=%d/single", sh.name, nq), func(b *testing.B) {
				for b.Loop() {
					for r := range nq {
						WeightedSumF16(out[r*sh.vd:(r+1)*sh.vd], s[r*nk:(r+1)*nk], kv, sh.stride)
					}
				}
				flops(b, sh.vd)
			})
			b.Run(fmt.Sprintf("%s/wsum/nq=%d/multi", sh.name, nq), func(b *testing.B) {
				for b.Loop() {
					clear(out)
					AddWeightedSumF16Multi(out, nq, s, nk, nk, kv, sh.stride)
				}
				flops(b, sh.vd)
			})
		}
	}
}
