package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkInterleaveGroup measures the copy of one group of 16 rows into
// the interleaved layout, per type, from and to the cache (a 7168-column
// group: DeepSeek-R1's hidden size), as source bytes per second.
func BenchmarkInterleaveGroup(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, typ := range interTypes {
		const cols = 7168
		nb := cols / typ.BlockSize()
		ws := nb * typ.TypeSize()
		w := make([]byte, packRows*ws)
		for i := range w {
			w[i] = byte(rng.Uint32())
		}
		dst := make([]byte, packRows*ws)
		b.Run(fmt.Sprint(typ), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			b.ReportAllocs()
			for b.Loop() {
				interleaveGroup(typ, w, ws, packRows, nb, dst)
			}
		})
	}
}
