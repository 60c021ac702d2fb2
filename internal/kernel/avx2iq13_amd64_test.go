//go:build !purego

package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// avx2IQ13Types are the types of avx2IQ13Tiles in a fixed order.
var avx2IQ13Types = []tensor.DType{tensor.IQ1_S, tensor.IQ1_M, tensor.IQ3_XXS, tensor.IQ3_S}

// putIQScale stores the f16 bits h as the scale of the block blk of type
// typ.
func putIQScale(typ tensor.DType, blk []byte, h uint16) {
	if typ == tensor.IQ1_M {
		putIQ1MScale(blk, h)
		return
	}
	binary.LittleEndian.PutUint16(blk, h)
}

// checkGridTileFuzz is the body of the grid i-quant tile fuzz targets: the
// tiles ts of type typ on nb8%4+1 blocks built from data (finite f16 d)
// against t8%4+1 Q8_K tokens, bit for bit against dotIQOrdered.
func checkGridTileFuzz(t *testing.T, typ tensor.DType, ts *tileSet, nb8, t8, ti uint8, data []byte) {
	nb, T := int(nb8%4)+1, int(t8%4)+1
	w := make([]byte, nb*ts.wBlock)
	for i := range w {
		if len(data) > 0 {
			w[i] = data[(i*7)%len(data)] ^ byte(i*37)
		}
	}
	for b := 0; b < nb; b++ {
		h := uint16(0x2e66)
		if len(data) >= 2 {
			h = binary.LittleEndian.Uint16(data) &^ 0x4000 // finite
		}
		putIQScale(typ, w[b*ts.wBlock:], h)
	}
	rng := rand.New(rand.NewPCG(uint64(len(data)), uint64(ti)))
	a := randomQ8K(rng, data, nb*T, 1e-3)
	cols := 256 * nb
	out := make([]float32, T)
	ts.block(out, 1, w, len(w), a, nb*292, 1, T, cols)
	for k := 0; k < T; k++ {
		if o := dotIQOrdered(typ, w, a[k*nb*292:], cols); math.Float32bits(out[k]) != math.Float32bits(o) {
			t.Fatalf("%v, %d blocks, token %d of %d: got %v, want %v (i-quant order)", typ, nb, k, T, out[k], o)
		}
	}
}

// isIQScaleBit reports whether bit b of byte i of a block of type typ is
// part of its f16 scale.
func isIQScaleBit(typ tensor.DType, i, b int) bool {
	if typ == tensor.IQ1_M {
		return i >= 48 && i%2 == 1 && b >= 4
	}
	return i < 2
}

// TestAVX2IQ13EveryBit runs each AVX2 kernel (1 row × 1..4 tokens) on one
// block, then again with each bit of the block but its f16 d flipped in
// turn (grid indices, signs, scales, delta signs), against random and
// extreme (every quant ±127, or alternating) activations, and compares
// every output bit for bit with the i-quant order (dotIQOrdered): a kernel
// that reads any field bit wrong disagrees on that flip.
func TestAVX2IQ13EveryBit(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2/FMA/F16C on this CPU")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	tiles := avx2IQ13Tiles()
	for _, typ := range avx2IQ13Types {
		ts := tiles[typ]
		for T := 1; T <= 4; T++ {
			t.Run(fmt.Sprintf("%v/1x%d", typ, T), func(t *testing.T) {
				a := make([]byte, T*292)
				for k := 0; k < T; k++ {
					x := randomVec(rng, 256)
					switch k {
					case 1: // every quant −127 or 127
						for i := range x {
							x[i] = float32(1 - 2*rng.IntN(2))
						}
					case 2: // every quant 127: the largest int16 pair sums
						for i := range x {
							x[i] = 1
						}
					}
					quantizeRowQ8_KGeneric(a[k*292:(k+1)*292], x)
				}
				w := make([]byte, ts.wBlock)
				for i := range w {
					w[i] = byte(rng.Uint32())
				}
				putIQScale(typ, w, 0xae66) // d = −0.1
				check := func(what string) {
					out := make([]float32, T+1)
					out[T] = 42
					ts.block(out, 1, w, ts.wBlock, a, 292, 1, T, 256)
					if out[T] != 42 {
						t.Fatalf("%s: wrote past the output", what)
					}
					for k := 0; k < T; k++ {
						if o := dotIQOrdered(typ, w, a[k*292:], 256); math.Float32bits(out[k]) != math.Float32bits(o) {
							t.Fatalf("%s: token %d: got %v, the i-quant order gives %v", what, k, out[k], o)
						}
					}
				}
				check("random block")
				for i := range w {
					for b := 0; b < 8; b++ {
						if isIQScaleBit(typ, i, b) {
							continue
						}
						w[i] ^= 1 << b
						check(fmt.Sprintf("byte %d bit %d flipped", i, b))
					}
				}
			})
		}
	}
}

// TestAVX2IQ13MatMul runs the avx2 implementation set's matrix product of
// the types of avx2IQ13Tiles (whatever the CPU's best set is) on random
// and one-byte-filled weights (every index, sign and scale field at an
// extreme; d of both signs), random and ±1 activations, rows 1–40, 1–12
// tokens (across the 4-token tiles) and 1–3 threads, and compares bit for
// bit with the i-quant order's row dots and, where the CPU has them, the
// AVX-512 tiles.
func TestAVX2IQ13MatMul(t *testing.T) {
	avx2 := variantTable("avx2")
	if avx2 == nil {
		t.Skip("no AVX2/FMA/F16C on this CPU")
	}
	var avx512 *implTable
	if hasIQTiles {
		avx512 = variantTable("avx512")
	}
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(15, 16))
	for _, typ := range avx2IQ13Types {
		if avx2[typ].block == nil || avx2[typ].act != tensor.Q8_K {
			t.Fatalf("%v: the avx2 set has no Q8_K tiles", typ)
		}
		for ci, c := range []struct {
			rows, nb int
			fill     int // −1: random weights
			signs    bool
		}{
			{1, 1, -1, false}, {3, 2, -1, true}, {5, 1, -1, false}, {17, 3, -1, false}, {40, 2, -1, true},
			{4, 1, 0xff, true}, {7, 2, 0x00, true}, {6, 1, 0x55, false}, {9, 1, 0xaa, true}, {2, 2, 0x0f, true}, {3, 1, 0xf0, true},
		} {
			cols := 256 * c.nb
			w := randomMat(rng, typ, c.rows, cols)
			if c.fill >= 0 {
				ts := typ.TypeSize()
				for b := 0; b < len(w.Data); b += ts {
					blk := w.Data[b : b+ts]
					for i := range blk {
						blk[i] = byte(c.fill)
					}
					putIQScale(typ, blk, uint16(0x2e66|rng.IntN(2)<<15))
				}
			}
			for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 12} {
				x := randomVec(rng, n*cols)
				if c.signs {
					for i := range x {
						x[i] = float32(1 - 2*rng.IntN(2))
					}
				}
				want := orderedIQMatMul(w, x, n)
				threads := 1 + (ci+n)%3
				parallel.SetThreads(threads)
				for _, v := range []struct {
					name string
					tab  *implTable
				}{{"avx2", avx2}, {"avx512", avx512}} {
					if v.tab == nil {
						continue
					}
					got := make([]float32, n*c.rows+1)
					got[n*c.rows] = 42
					matMul(got, w, x, n, v.tab[typ])
					if got[n*c.rows] != 42 {
						t.Fatalf("%v %s %d×%d n=%d: wrote past the output", typ, v.name, c.rows, cols, n)
					}
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%v %s %d×%d fill %#x n=%d threads=%d: out[%d] = %v, the i-quant order gives %v",
								typ, v.name, c.rows, cols, c.fill, n, threads, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// FuzzAVX2IQ13 runs the AVX2 kernels (1 row × 1..4 tokens, 1..4 blocks) on
// weight and Q8_K bytes from the fuzzer (any field bits, a finite f16 d,
// quants in [−127, 127] as the quantizer writes them) and compares bit for
// bit with the i-quant order (dotIQOrdered).
func FuzzAVX2IQ13(f *testing.F) {
	if !hasAVX2 {
		f.Skip("no AVX2/FMA/F16C on this CPU")
	}
	f.Add(uint8(0), uint8(1), uint8(3), []byte("seed"))
	f.Add(uint8(1), uint8(2), uint8(0), make([]byte, 300))
	f.Add(uint8(2), uint8(3), uint8(1), []byte{0xff, 0x7f, 0x80, 0x01})
	f.Add(uint8(3), uint8(0), uint8(2), []byte{0x55, 0xaa})
	tiles := avx2IQ13Tiles()
	f.Fuzz(func(t *testing.T, ti, nb8, t8 uint8, data []byte) {
		typ := avx2IQ13Types[int(ti)%len(avx2IQ13Types)]
		ts := tiles[typ]
		checkGridTileFuzz(t, typ, ts, nb8, t8, ti, data)
	})
}
