//go:build !purego

package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// TEMP A/B of the old single-token tiles.
func BenchmarkAVX2DecodeOld(b *testing.B) {
	set := variantTable("avx2")
	if set == nil {
		b.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, cols := range []int{1536} {
		for _, c := range []struct {
			typ       tensor.DType
			old, new_ func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)
		}{
			{tensor.Q5_K, tileA2Q5_K_16x1old, tileA2Q5_K_16x1},
			{tensor.IQ4_XS, tileA2IQ4_XS_16x1old, tileA2IQ4_XS_16x1},
			{tensor.Q3_K, tileA2Q3_K_16x1old, tileA2Q3_K_16x1},
		} {
			im := set[c.typ].inter
			w := interleave(randomMat(rng, c.typ, packRows, cols))
			nb := cols / im.blockElems
			tileBytes := packTokens * im.actBytes
			act := make([]byte, nb*tileBytes)
			x := randomVec(rng, cols)
			im.quant(&x[0], &act[0], nb, tileBytes, -int(im.k))
			out := make([]float32, packRows*packTokens)
			for i, f := range []func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){c.old, c.new_} {
				b.Run(fmt.Sprintf("%v/%s", c.typ, []string{"old", "new"}[i]+fmt.Sprint(cols)), func(b *testing.B) {
					cpu0 := cpuTime()
					for b.Loop() {
						f(&w.Data[0], &act[0], tileBytes, nb, &out[0], packRows, 1<<packRows-1)
					}
					b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/float64(nb), "cpu-ns/block")
				})
			}
		}
	}
}
