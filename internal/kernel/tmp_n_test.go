package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

func BenchmarkTmpN(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, typ := range []tensor.DType{tensor.Q4_0, tensor.Q8_0} {
		w0 := randomMat(rng, typ, 1536, 1536)
		wi, _ := Interleave(w0)
		for _, n := range []int{1, 16, 64, 512} {
			x := randomVec(rng, n*1536)
			out := make([]float32, n*1536)
			for _, w := range []tensor.Mat{w0, wi} {
				b.Run(fmt.Sprintf("%s/%d/n=%d", typ, w.Layout, n), func(b *testing.B) {
					parallel.SetThreads(1)
					best := time.Duration(math.MaxInt64)
					for b.Loop() {
						t0 := time.Now()
						MatMul(out, w, x, n)
						best = min(best, time.Since(t0))
					}
					b.ReportMetric(float64(1536*1536*n)/best.Seconds()/1e9, "bestGMAC/s")
				})
			}
		}
	}
}
