//go:build !purego

package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// avx2DecTypes are the types whose AVX2 interleaved decode tiles
// BenchmarkAVX2DecodeTiles times.
var avx2DecTypes = []tensor.DType{
	tensor.Q4_0, tensor.Q8_0, tensor.IQ4_NL, tensor.Q5_0, tensor.Q4_1, tensor.Q5_1,
	tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.Q2_K, tensor.Q3_K, tensor.IQ4_XS,
}

// BenchmarkAVX2DecodeTiles times the AVX2 interleaved tiles of the avx2
// set hot in cache: one group of 16 rows × 1536 columns against T tokens,
// reported as CPU-time ns per 16-row block (all T tokens; CPU time, as the
// machine may be shared), and the weight bytes per ns that this is.
func BenchmarkAVX2DecodeTiles(b *testing.B) {
	set := variantTable("avx2")
	if set == nil {
		b.Skip("no AVX2, FMA and F16C")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	const cols = 1536
	for _, typ := range avx2DecTypes {
		im := set[typ].inter
		w := interleave(randomMat(rng, typ, packRows, cols))
		nb := cols / im.blockElems
		tileBytes := packTokens * im.actBytes
		act := make([]byte, nb*tileBytes)
		for t := 0; t < packTokens; t++ {
			x := randomVec(rng, cols)
			im.quant(&x[0], &act[t*im.actBytes], nb, tileBytes, -int(im.k))
		}
		out := make([]float32, packRows*packTokens)
		for T := 1; T <= min(4, im.maxT); T++ {
			b.Run(fmt.Sprintf("%v/16x%d", typ, T), func(b *testing.B) {
				b.SetBytes(int64(len(w.Data)))
				cpu0 := cpuTime()
				for b.Loop() {
					im.tiles[T](&w.Data[0], &act[0], tileBytes, nb, &out[0], packRows, 1<<packRows-1)
				}
				ns := float64((cpuTime() - cpu0).Nanoseconds()) / float64(b.N) / float64(nb)
				b.ReportMetric(ns, "cpu-ns/block")
			})
			if old := avx2DecOld[typ]; old != nil && T == 1 {
				b.Run(fmt.Sprintf("%v/16x%d-old", typ, T), func(b *testing.B) {
					b.SetBytes(int64(len(w.Data)))
					cpu0 := cpuTime()
					for b.Loop() {
						old(&w.Data[0], &act[0], tileBytes, nb, &out[0], packRows, 1<<packRows-1)
					}
					ns := float64((cpuTime() - cpu0).Nanoseconds()) / float64(b.N) / float64(nb)
					b.ReportMetric(ns, "cpu-ns/block")
				})
			}
		}
	}
}

// TODO(avx2dec): A/B only, remove.
var avx2DecOld = map[tensor.DType]avx2TileFunc{
	tensor.Q2_K:   tileA2Q2_K_16x1old,
	tensor.Q5_0:   tileAQ5_0_16x1old,
	tensor.Q5_1:   tileAQ5_1_16x1old,
	tensor.IQ4_NL: tileAIQ4_NL_16x1old,
}
