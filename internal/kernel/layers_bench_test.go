package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/sysmem"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// BenchmarkMatMulLayers runs the matrices of one decode token through 12
// layers of the Qwen2-1.5B shape (q, k, v, o, gate, up, down: 84 MatMuls
// of 1 token, as a model's decode issues them, without the attention and
// norms between), interleaved, on 2 MiB pages where Linux allows, and
// reports the best pass's GB/s and its fraction of the read bandwidth
// measured just after: what the per-matrix costs (dispatch, activation
// quantization, short streams) take from the bandwidth a single large
// matrix reaches.
func BenchmarkMatMulLayers(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(3, 3))
	for _, typ := range []tensor.DType{tensor.Q4_0, tensor.Q4_K, tensor.Q8_0} {
		shapes := [][2]int{{1536, 1536}, {256, 1536}, {256, 1536}, {1536, 1536}, {8960, 1536}, {8960, 1536}, {1536, 8960}}
		var protos []tensor.Mat
		total := 0
		for _, s := range shapes {
			m, _ := Interleave(randomMat(rng, typ, s[0], s[1]))
			protos = append(protos, m)
			total += len(m.Data)
		}
		const layers = 12
		arena, free, err := sysmem.AllocHuge(layers * total)
		if err != nil || arena == nil {
			arena = make([]byte, layers*total)
			free = func() error { return nil }
		}
		var mats []tensor.Mat
		off := 0
		for range layers {
			for _, p := range protos {
				m := p
				m.Data = arena[off : off+len(p.Data)]
				copy(m.Data, p.Data)
				off += len(p.Data)
				mats = append(mats, m)
			}
		}
		x := randomVec(rng, 8960)
		out := make([]float32, 8960)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", typ, threads), func(b *testing.B) {
				parallel.SetThreads(threads)
				b.SetBytes(int64(off))
				best := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					for _, m := range mats {
						MatMul(out[:m.Rows], m, x[:m.Cols], 1)
					}
					best = min(best, time.Since(t0))
				}
				bw := readBandwidthGBs(threads)
				gbs := float64(off) / best.Seconds() / 1e9
				b.ReportMetric(gbs, "bestGB/s")
				b.ReportMetric(gbs/bw, "bw")
			})
		}
		free()
	}
}
