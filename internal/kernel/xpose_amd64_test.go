//go:build !purego

package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// TestXposePlans checks what TestXposeSameBytes cannot see: that no
// operation of a plan reads outside its block (the last row's last block
// ends the matrix), and that every type with an interleaved layout has a
// plan.
func TestXposePlans(t *testing.T) {
	for _, typ := range interTypes {
		pl := xposePlans[typ]
		if pl == nil {
			t.Fatalf("%s: no plan", typ)
		}
		wb := typ.TypeSize()
		for i, op := range pl.ops {
			n := 16
			if op.word != 0 {
				n = 4
			}
			k := 0 // the op's block in the step
			if i >= pl.first {
				k = 1
			}
			if lo, hi := int(op.from), int(op.from)+n; lo < k*wb || hi > (k+1)*wb {
				t.Errorf("%s: op %d reads [%d, %d), outside block %d's [%d, %d)", typ, i, lo, hi, k, k*wb, (k+1)*wb)
			}
		}
	}
}

// BenchmarkInterleaveLoad measures Interleave as model load runs it (every
// thread, source and copy in DRAM: a 71680×1536 matrix, 60–110 MB) through
// the Go reference and through xposeAVX2, as source bytes per second.
func BenchmarkInterleaveLoad(b *testing.B) {
	defer parallel.SetThreads(0)
	defer func(h bool) { hasXpose = h }(hasXpose)
	rng := rand.New(rand.NewPCG(6, 6))
	for _, typ := range []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.Q4_K, tensor.Q6_K, tensor.Q2_K} {
		w := randomMat(rng, typ, 71680, 1536)
		dst := make([]byte, InterleavedBytes(w))
		for _, threads := range []int{1, 2} {
			for _, fast := range []bool{false, true} {
				name := map[bool]string{false: "go", true: "fast"}[fast]
				b.Run(fmt.Sprintf("%s/%s/threads=%d", typ, name, threads), func(b *testing.B) {
					hasXpose = fast && cpu.X86.HasAVX2
					parallel.SetThreads(threads)
					b.SetBytes(int64(len(w.Data)))
					for b.Loop() {
						interleaveInto(dst, w)
					}
				})
			}
		}
	}
}
