//go:build !purego

package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
		}
	}
}

// TestAVX2Inter32Extremes checks the AVX2 interleaved kernels of the
// 32-element block types bit for bit against the reference on weights
// whose every value byte is one fill byte (every value, fifth bit and
// table index at an extreme) and ±1 activations (every quant ±127), where
// any int16 sum that could saturate would, for 1–5 tokens.
func TestAVX2Inter32Extremes(t *testing.T) {
	set := variantTable("avx2")
	if set == nil {
		t.Skip("no AVX2, FMA and F16C on this CPU")
	}
	ref := genericTable()
	rng := rand.New(rand.NewPCG(33, 34))
	for _, typ := range inter32Types {
		for _, fill := range []byte{0x00, 0xff, 0x0f, 0xf0, 0x55, 0xaa, 0x88} {
			const rows, cols = 17, 64
			w := randomMat(rng, typ, rows, cols)
			for b := 0; b < len(w.Data); b += typ.TypeSize() {
				blk := w.Data[b : b+typ.TypeSize()]
				for i := range blk {
					if !slices.ContainsFunc(halfFields[typ], func(off int) bool { return i == off || i == off+1 }) {
						blk[i] = fill
					}
				}
			}
			wi := interleave(w)
			for n := 1; n <= 5; n++ {
				x := make([]float32, n*cols)
				for i := range x {
					x[i] = float32(1 - 2*rng.IntN(2))
				}
				want := make([]float32, n*rows)
				got := make([]float32, n*rows)
				matMul(want, w, x, n, ref[typ])
				matMul(got, wi, x, n, set[typ])
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s fill %#x n=%d: out[%d] = %v, reference %v", typ, fill, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}
