//go:build !purego

package kernel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// TestPackedIQKernels checks the i-quant pack kernels and activation
// quantizer byte for byte against their references, and the Q6_K tile kernels on i-quant groups
// against tilePackedKGeneric bit for bit, for every token count and
// partial row groups.
func TestPackedIQKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	for _, typ := range packedIQTypes {
		im := packedImplOf(t, typ)
		const stride = packTokens * actKBytes
		for _, cols := range []int{256, 1280} {
			nb := cols / 256
			packedIQCase(t, rng, typ, im, cols, nb, stride)
		}
	}
}

// packedIQCase is TestPackedIQKernels for one type and column count.
func packedIQCase(t *testing.T, rng *rand.Rand, typ tensor.DType, im *packedImpl, cols, nb, stride int) {
	t.Helper()
	{
		w := randomMat(rng, typ, packRows, cols)
		group := make([]byte, nb*im.blockBytes+64)
		for i := range group {
			group[i] = 0xa5
		}
		im.pack(&w.Data[0], w.RowBytes(), nb, &group[0])
		want := make([]byte, nb*im.blockBytes)
		packGroupIQGeneric(typ, w.Data, w.RowBytes(), packRows, nb, want)
		if i := firstDiff(group[:len(want)], want); i >= 0 {
			t.Fatalf("%s: pack differs from packGroupIQGeneric at byte %d of block %d: %#x, want %#x", typ, i%im.blockBytes, i/im.blockBytes, group[i], want[i])
		}
		for _, b := range group[len(want):] {
			if b != 0xa5 {
				t.Fatalf("%s: pack writes past the group", typ)
			}
		}
		x := randomVec(rng, packTokens*cols)
		wantA := make([]byte, nb*stride)
		gotA := make([]byte, nb*stride)
		for tk := range packTokens {
			quantizeRowQ8_KxIQGeneric(typ, wantA[tk*actKBytes:], x[tk*cols:(tk+1)*cols], stride)
			im.quant(&x[tk*cols], &gotA[tk*actKBytes], nb, stride, int(-im.k))
		}
		if !bytes.Equal(gotA, wantA) {
			t.Fatalf("%s: quant differs from quantizeRowQ8_KxIQGeneric", typ)
		}
		for T := 1; T <= im.maxT; T++ {
			for _, rows := range []int{1, 7, 16} {
				name := fmt.Sprintf("%s/cols=%d/T=%d/rows=%d", typ, cols, T, rows)
				const os = packRows + 3
				ref := make([]float32, packTokens*os)
				tilePackedKGeneric(tensor.Q6_K, group, wantA, stride, nb, T, rows, ref, os)
				out := make([]float32, packTokens*os)
				for i := range out {
					out[i] = 12345
				}
				im.tiles[T](&group[0], &wantA[0], stride, nb, &out[0], os, 1<<rows-1)
				for i := range out {
					tk, r := i/os, i%os
					if tk >= T || r >= rows {
						if out[i] != 12345 {
							t.Fatalf("%s: wrote out[%d][%d]", name, tk, r)
						}
					} else if math.Float32bits(out[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("%s: out[%d][%d] = %v, want %v", name, tk, r, out[i], ref[i])
					}
				}
			}
		}
	}
}

// TestIQOrder checks that MatMul adds every i-quant in the i-quant order
// (dotIQOrdered) bit for bit, on the decode tiles (small n) and the packed
// path alike, for awkward row counts and batch sizes.
func TestIQOrder(t *testing.T) {
	if !hasIQTiles {
		t.Skip("no AVX-512 VNNI and BMI2 on this CPU: the i-quant order is not used")
	}
	rng := rand.New(rand.NewPCG(73, 74))
	ns := []int{1, 2, 3, 4, 5, 7, 8, 9, 17, 40}
	for _, typ := range packedIQTypes {
		for _, cols := range []int{256, 1792} {
			for _, rows := range []int{1, 7, 16, 33} {
				w := randomMat(rng, typ, rows, cols)
				x := randomVec(rng, 40*cols)
				want := orderedIQMatMul(w, x, 40)
				for _, n := range ns {
					got := make([]float32, n*rows)
					MatMul(got, w, x, n)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %dx%d n=%d: out[%d] = %v, want %v (the i-quant order)", typ, rows, cols, n, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// FuzzPackedIQ runs MatMul of an i-quant type on weight bytes from the
// fuzzer (any field bits, finite f16 scales) for a batch on the packed
// path and for its first token alone, and compares both with the i-quant
// order's row dots bit for bit.
func FuzzPackedIQ(f *testing.F) {
	if !hasIQTiles {
		f.Skip("no AVX-512 VNNI and BMI2")
	}
	f.Add(uint8(0), uint8(17), uint8(2), []byte("seed"))
	f.Add(uint8(1), uint8(3), uint8(40), make([]byte, 300))
	f.Add(uint8(3), uint8(33), uint8(9), []byte{0xff, 0x3f, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, ti, r8, n8 uint8, data []byte) {
		typ := packedIQTypes[int(ti)%len(packedIQTypes)]
		rows, n := int(r8%40)+1, int(n8%40)+impl(typ).packed.minTokens
		nb := 1 + len(data)%3
		cols, ts := 256*nb, typ.TypeSize()
		wd := make([]byte, rows*nb*ts)
		for i := range wd {
			if len(data) > 0 {
				wd[i] = data[(i*7)%len(data)] ^ byte(i*37)
			}
		}
		for b := 0; b < rows*nb; b++ {
			h := uint16(0x2e66)
			if len(data) >= 2 {
				h = binary.LittleEndian.Uint16(data[b%(len(data)-1):]) &^ 0x4000 // finite
			}
			if typ == tensor.IQ1_M {
				putIQ1MScale(wd[b*ts:], h)
			} else {
				binary.LittleEndian.PutUint16(wd[b*ts:], h)
			}
		}
		w, err := tensor.NewMat(typ, rows, cols, wd)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(len(data)), uint64(ti)))
		x := randomVec(rng, n*cols)
		want := orderedIQMatMul(w, x, n)
		got := make([]float32, n*rows)
		MatMul(got, w, x, n)
		one := make([]float32, rows)
		MatMul(one, w, x, 1)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s %dx%d n=%d: out[%d] = %v, want %v", typ, rows, cols, n, i, got[i], want[i])
			}
		}
		for r := range one {
			if math.Float32bits(one[r]) != math.Float32bits(want[r]) {
				t.Fatalf("%s %dx%d n=1: out[%d] = %v, want %v", typ, rows, cols, r, one[r], want[r])
			}
		}
	})
}

// BenchmarkIQMinTokens measures what iqMinTokens is chosen by: batched
// decode from DRAM (BenchmarkMatMulStreamBatch's shape: an 8960×1536
// matrix cycled through copies of ≥ 256 MB, 2 threads) through the decode
// tiles ("tiles") and through the packed path ("packed") for small n.
// Both give the same bits; the packed path pays from the n where its
// bestGB/s passes the tiles'.
func BenchmarkIQMinTokens(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(2, 3))
	for _, typ := range packedIQTypes {
		im := impl(typ)
		if im == nil || im.packed == nil {
			b.Skipf("no packed %s kernels on this CPU", typ)
		}
		tiles, packed := *im, *im
		tiles.packed = nil
		p := *im.packed
		p.minTokens = 1
		packed.packed = &p
		const rows, cols = 8960, 1536
		one := randomMat(rng, typ, rows, cols)
		ws := make([]tensor.Mat, (256<<20)/len(one.Data)+1)
		for i := range ws {
			ws[i] = one
			ws[i].Data = append([]byte(nil), one.Data...)
		}
		for _, n := range []int{2, 3, 4, 5, 6, 8, 12} {
			x := randomVec(rng, n*cols)
			out := make([]float32, n*rows)
			for _, path := range []struct {
				name string
				im   *matImpl
			}{{"tiles", &tiles}, {"packed", &packed}} {
				b.Run(fmt.Sprintf("%s/n=%d/%s", typ, n, path.name), func(b *testing.B) {
					parallel.SetThreads(2)
					b.SetBytes(int64(len(one.Data)))
					i := 0
					best := time.Duration(math.MaxInt64)
					for b.Loop() {
						t0 := time.Now()
						matMul(out, ws[i], x, n, path.im)
						best = min(best, time.Since(t0))
						if i++; i == len(ws) {
							i = 0
						}
					}
					reportBest(b, best, len(one.Data), n)
				})
			}
		}
	}
}
