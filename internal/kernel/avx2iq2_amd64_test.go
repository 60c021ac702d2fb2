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

// avx2IQ2Types are the keys of avx2IQ2Tiles in a fixed order.
var avx2IQ2Types = []tensor.DType{tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S}

// setIQ2Index sets the grid index of group k (0..31) of the block blk of
// IQ2 type typ to idx (masked to the type's index bits).
func setIQ2Index(typ tensor.DType, blk []byte, k, idx int) {
	switch typ {
	case tensor.IQ2_XXS:
		blk[2+8*(k/4)+k%4] = byte(idx)
	case tensor.IQ2_XS:
		o := 2 + 2*k
		binary.LittleEndian.PutUint16(blk[o:], binary.LittleEndian.Uint16(blk[o:])&^511|uint16(idx&511))
	case tensor.IQ2_S:
		blk[2+k] = byte(idx)
		sh := 2 * uint(k%4)
		blk[66+k/4] = blk[66+k/4]&^(3<<sh) | byte(idx>>8&3)<<sh
	}
}

// iq2Grids is the codebook size of each type.
var iq2Grids = map[tensor.DType]int{tensor.IQ2_XXS: 256, tensor.IQ2_XS: 512, tensor.IQ2_S: 1024}

// randomIQ2Rows returns rows×nb random blocks of type typ whose grid
// indices walk through the whole codebook (starting at a random place),
// with f16 scales d of both signs and magnitudes from tiny to large.
func randomIQ2Rows(rng *rand.Rand, typ tensor.DType, rows, nb int) []byte {
	ts := typ.TypeSize()
	w := make([]byte, rows*nb*ts)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	ds := []uint16{0x2e66, 0xae66, 0x0001, 0x8400, 0x5bff, 0xdbff, 0x3c00}
	idx := rng.IntN(iq2Grids[typ])
	for b := 0; b < rows*nb; b++ {
		blk := w[b*ts : (b+1)*ts]
		binary.LittleEndian.PutUint16(blk, ds[rng.IntN(len(ds))])
		for k := 0; k < 32; k++ {
			setIQ2Index(typ, blk, k, idx)
			idx++
		}
	}
	return w
}

// TestAVX2IQ2TilesEveryBit runs each AVX2 tile (1 row × 1..4 tokens) on
// one block, then again with each bit of the block but its f16 d flipped
// in turn (grid indices, signs, scales), and compares every output bit for
// bit with the i-quant order's row dot (dotIQOrdered).
func TestAVX2IQ2TilesEveryBit(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2, FMA and F16C")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	tiles := avx2IQ2Tiles()
	for _, typ := range avx2IQ2Types {
		ts := tiles[typ]
		for T := 1; T <= 4; T++ {
			t.Run(fmt.Sprintf("%v/1x%d", typ, T), func(t *testing.T) {
				a := make([]byte, T*292)
				for k := 0; k < T; k++ {
					quantizeRowQ8_KGeneric(a[k*292:(k+1)*292], randomVec(rng, 256))
				}
				w := make([]byte, ts.wBlock)
				for i := range w {
					w[i] = byte(rng.Uint32())
				}
				binary.LittleEndian.PutUint16(w, 0x2e66)
				check := func(what string) {
					out := make([]float32, T)
					ts.block(out, 1, w, ts.wBlock, a, 292, 1, T, 256)
					for k := 0; k < T; k++ {
						if o := dotIQOrdered(typ, w, a[k*292:], 256); math.Float32bits(out[k]) != math.Float32bits(o) {
							t.Fatalf("%s: token %d: got %v, want %v (i-quant order)", what, k, out[k], o)
						}
					}
				}
				check("random block")
				for i := 2; i < len(w); i++ {
					for b := 0; b < 8; b++ {
						w[i] ^= 1 << b
						check(fmt.Sprintf("byte %d bit %d flipped", i, b))
					}
				}
			})
		}
	}
}

// TestAVX2IQ2MatMul multiplies random matrices (every codebook entry,
// random signs and scales, d of both signs and several magnitudes) of
// 1..40 rows with 1..12 tokens on 1..3 threads through every SIMD
// implementation table here ("avx2"; "avx512", with AVX-512 VNNI the
// AVX-512 codebook tiles, without it these AVX2 tiles) and compares every
// output bit for bit with dotIQOrdered: the tables agree with each other
// and with the row dot, whatever the batch.
func TestAVX2IQ2MatMul(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2, FMA and F16C")
	}
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, v := range variants() {
		if v.name == "generic" {
			continue
		}
		for _, typ := range avx2IQ2Types {
			im := v.table[typ]
			if im.act != tensor.Q8_K || (im.block == nil && im.packed == nil) {
				t.Fatalf("%s %v: act %v, block %v; want tiles on Q8_K", v.name, typ, im.act, im.block != nil)
			}
			for _, sh := range [][3]int{{1, 1, 1}, {3, 2, 2}, {7, 3, 5}, {16, 1, 12}, {40, 2, 9}, {33, 4, 4}, {5, 1, 3}} {
				rows, nb, n := sh[0], sh[1], sh[2]
				cols := 256 * nb
				w := tensor.Mat{Type: typ, Rows: rows, Cols: cols, Data: randomIQ2Rows(rng, typ, rows, nb)}
				x := randomVec(rng, n*cols)
				for i := range x {
					if rng.IntN(50) == 0 {
						x[i] *= 100 // spikes: quants near ±127 elsewhere near 0
					}
				}
				a := make([]byte, n*nb*292)
				for k := 0; k < n; k++ {
					quantizeRowQ8_KGeneric(a[k*nb*292:(k+1)*nb*292], x[k*cols:(k+1)*cols])
				}
				for threads := 1; threads <= 3; threads++ {
					parallel.SetThreads(threads)
					out := make([]float32, n*rows)
					matMul(out, w, x, n, im)
					for k := 0; k < n; k++ {
						for r := 0; r < rows; r++ {
							want := dotIQOrdered(typ, w.Data[r*nb*typ.TypeSize():], a[k*nb*292:], cols)
							if got := out[k*rows+r]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%s %v %dx%d n=%d threads=%d: out[%d][%d] = %v, want %v (dotIQOrdered)", v.name, typ, rows, cols, n, threads, k, r, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// FuzzAVX2IQ2Tiles runs the AVX2 IQ2 tiles (1 row × 1..4 tokens, 1..4
// blocks) on weight and Q8_K bytes from the fuzzer (any field bits, a
// finite f16 d, quants in [−127, 127]) and compares bit for bit with
// dotIQOrdered.
func FuzzAVX2IQ2Tiles(f *testing.F) {
	if !hasAVX2 {
		f.Skip("no AVX2, FMA and F16C")
	}
	f.Add(uint8(0), uint8(1), uint8(3), []byte("seed"))
	f.Add(uint8(1), uint8(2), uint8(0), make([]byte, 300))
	f.Add(uint8(2), uint8(3), uint8(1), []byte{0xff, 0x3b, 0x80, 0x01})
	tiles := avx2IQ2Tiles()
	f.Fuzz(func(t *testing.T, ti, nb8, t8 uint8, data []byte) {
		typ := avx2IQ2Types[int(ti)%len(avx2IQ2Types)]
		ts := tiles[typ]
		checkGridTileFuzz(t, typ, ts, nb8, t8, ti, data)
	})
}

// BenchmarkAVX2IQ2Tiles times the AVX2 IQ2 tiles hot in cache: one row of
// 16 blocks against T tokens, reported as CPU-time ns per weight block
// (all T tokens; CPU time, as the machine may be shared); times the clock
// rate in GHz that is cycles per block. Where
// this CPU has them, the AVX-512 tiles (iqTiles) run too, for comparison.
func BenchmarkAVX2IQ2Tiles(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2, FMA and F16C")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	sets := []struct {
		name  string
		tiles map[tensor.DType]*tileSet
	}{{"avx2", avx2IQ2Tiles()}}
	if hasIQTiles {
		sets = append(sets, struct {
			name  string
			tiles map[tensor.DType]*tileSet
		}{"avx512", iqTiles})
	}
	const nb = 16
	for _, typ := range avx2IQ2Types {
		w := randomIQ2Rows(rng, typ, 1, nb)
		for T := 1; T <= 4; T++ {
			a := make([]byte, T*nb*292)
			for k := 0; k < T; k++ {
				quantizeRowQ8_KGeneric(a[k*nb*292:(k+1)*nb*292], randomVec(rng, 256*nb))
			}
			out := make([]float32, T)
			for _, set := range sets {
				ts := set.tiles[typ]
				b.Run(fmt.Sprintf("%s/%v/1x%d", set.name, typ, T), func(b *testing.B) {
					b.SetBytes(int64(len(w)))
					cpu0 := cpuTime()
					for b.Loop() {
						ts.tiles(out, 1, w, len(w), a, nb*292, 1, T, nb)
					}
					b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/nb, "cpu-ns/block")
				})
			}
		}
	}
}
