package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// BenchmarkInterleaveGroup measures the copy of one group of 16 rows into
// the interleaved layout, per type, from and to the cache (a 7168-column
// group: DeepSeek-R1's hidden size), as source bytes per second: the Go
// reference and interleaveGroup (the transposing kernel where the CPU has
// one).
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
		for _, impl := range []struct {
			name string
			f    func(tensor.DType, []byte, int, int, int, []byte)
		}{{"go", interleaveGroupGo}, {"fast", interleaveGroup}} {
			b.Run(fmt.Sprintf("%s/%s", typ, impl.name), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				b.ReportAllocs()
				for b.Loop() {
					impl.f(typ, w, ws, packRows, nb, dst)
				}
			})
		}
	}
}

// TestXposeSameBytes checks interleaveGroup (the transposing kernel where
// the CPU has one) against the Go reference, byte for byte, on random
// bytes: every interleaved type, 1..16 rows, 1..40 blocks, row strides
// longer than the row, and a destination that starts out as garbage (the
// kernel writes every byte of a group) with a guard band after it.
func TestXposeSameBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, typ := range interTypes {
		wb := typ.TypeSize()
		for nb := 1; nb <= 40; nb += 1 + nb/8 {
			for _, rows := range []int{1, 2, 7, 8, 9, 15, 16} {
				ws := nb*wb + rng.IntN(3)*rng.IntN(37)
				w := make([]byte, (rows-1)*ws+nb*wb)
				for i := range w {
					w[i] = byte(rng.Uint32())
				}
				gb := packRows * nb * wb
				want := make([]byte, gb)
				interleaveGroupGo(typ, w, ws, rows, nb, want)
				got := make([]byte, gb+64)
				for i := range got {
					got[i] = byte(rng.Uint32())
				}
				guard := append([]byte(nil), got[gb:]...)
				interleaveGroup(typ, w, ws, rows, nb, got[:gb])
				if i := diffAt(got[:gb], want); i >= 0 {
					t.Fatalf("%s rows=%d nb=%d ws=%d: byte %d = %#x, want %#x", typ, rows, nb, ws, i, got[i], want[i])
				}
				if i := diffAt(got[gb:], guard); i >= 0 {
					t.Fatalf("%s rows=%d nb=%d ws=%d: wrote past the group at +%d", typ, rows, nb, ws, i)
				}
			}
		}
	}
}

// diffAt returns the first index where a and b differ, or −1.
func diffAt(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// FuzzXpose is TestXposeSameBytes on bytes, row counts, block counts and
// row strides from the fuzzer.
func FuzzXpose(f *testing.F) {
	f.Add([]byte("seed"), uint8(9), uint8(15), uint8(3), uint8(0))
	f.Add([]byte{0xff, 0x80, 0x7f, 0x00}, uint8(1), uint8(16), uint8(1), uint8(5))
	f.Add([]byte("pairs"), uint8(11), uint8(16), uint8(39), uint8(63))
	f.Fuzz(func(t *testing.T, data []byte, typ8, r8, b8, s8 uint8) {
		typ := interTypes[int(typ8)%len(interTypes)]
		rows, nb := int(r8%16)+1, int(b8%40)+1
		wb := typ.TypeSize()
		ws := nb*wb + int(s8%64)
		w := make([]byte, (rows-1)*ws+nb*wb)
		for i := range w {
			if len(data) > 0 {
				w[i] = data[i%len(data)] ^ byte(i*131)
			}
		}
		gb := packRows * nb * wb
		want := make([]byte, gb)
		interleaveGroupGo(typ, w, ws, rows, nb, want)
		got := make([]byte, gb+64)
		for i := range got {
			got[i] = byte(i*7) ^ 0x5a
		}
		interleaveGroup(typ, w, ws, rows, nb, got[:gb])
		if i := diffAt(got[:gb], want); i >= 0 {
			t.Fatalf("%s rows=%d nb=%d ws=%d: byte %d = %#x, want %#x", typ, rows, nb, ws, i, got[i], want[i])
		}
		for i := gb; i < len(got); i++ {
			if got[i] != byte(i*7)^0x5a {
				t.Fatalf("%s rows=%d nb=%d ws=%d: wrote past the group at +%d", typ, rows, nb, ws, i-gb)
			}
		}
	})
}
