package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// benchShapes are Qwen2-1.5B's matrix shapes: attention/output projection,
// FFN gate/up, FFN down (rows×cols).
var benchShapes = [][2]int{{1536, 1536}, {8960, 1536}, {1536, 8960}}

// BenchmarkMatMul reports weight bytes per second (SetBytes is the weight
// size, whatever n is) and, for n > 1, the token rate of that one matrix.
func BenchmarkMatMul(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, typ := range allTypes {
		for _, sh := range benchShapes {
			rows, cols := sh[0], sh[1]
			if cols%typ.BlockSize() != 0 {
				continue
			}
			w := randomMat(rng, typ, rows, cols)
			for _, n := range []int{1, 64} {
				x := randomVec(rng, n*cols)
				out := make([]float32, n*rows)
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("%s/%dx%d/n=%d/threads=%d", typ, rows, cols, n, threads)
					b.Run(name, func(b *testing.B) {
						parallel.SetThreads(threads)
						b.SetBytes(int64(len(w.Data)))
						b.ReportAllocs()
						for b.Loop() {
							MatMul(out, w, x, n)
						}
						b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
					})
				}
			}
		}
	}
}

// BenchmarkMatMulGeneric is the reference, for comparison (decode shape).
func BenchmarkMatMulGeneric(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	gt := genericTable()
	for _, typ := range allTypes {
		w := randomMat(rng, typ, 1536, 1536)
		x := randomVec(rng, 1536)
		out := make([]float32, 1536)
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(w.Data)))
			b.ReportAllocs()
			for b.Loop() {
				matMul(out, w, x, 1, gt[typ])
			}
		})
	}
}

var _ = tensor.F32
