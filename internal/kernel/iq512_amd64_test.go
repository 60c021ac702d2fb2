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

// iq512Set returns the iq512 tiles of typ as a tile set.
func iq512Set(typ tensor.DType) *tileSet {
	return &tileSet{fn: iq512Tiles(typ), wBlock: typ.TypeSize(), aBlock: 292, blockElems: 256}
}

// iq512Groups is, per type, the number of codebook groups of a block and
// the size of the codebook as the tiles index it (IQ1_M: with the delta
// sign as bit 11).
var iq512Groups = map[tensor.DType][2]int{
	tensor.IQ1_S: {32, 2048}, tensor.IQ1_M: {32, 4096},
	tensor.IQ2_XS: {32, 512}, tensor.IQ2_S: {32, 1024}, tensor.IQ3_S: {64, 512},
}

// setI5Index sets the codebook index of group k of the block blk of type
// typ to idx (masked to the type's index bits; IQ1_M: bit 11 is the
// group's delta sign).
func setI5Index(typ tensor.DType, blk []byte, k, idx int) {
	switch typ {
	case tensor.IQ1_S:
		blk[2+k] = byte(idx)
		o := 34 + 2*(k/4)
		sh := 3 * uint(k%4)
		qh := binary.LittleEndian.Uint16(blk[o:])
		binary.LittleEndian.PutUint16(blk[o:], qh&^(7<<sh)|uint16(idx>>8&7)<<sh)
	case tensor.IQ1_M:
		blk[k] = byte(idx)
		sh := 4 * uint(k%2)
		blk[32+k/2] = blk[32+k/2]&^(15<<sh) | byte(idx>>8&15)<<sh
	case tensor.IQ2_XS, tensor.IQ2_S:
		setIQ2Index(typ, blk, k, idx)
	case tensor.IQ3_S:
		blk[2+k] = byte(idx)
		blk[66+k/8] = blk[66+k/8]&^(1<<(k%8)) | byte(idx>>8&1)<<(k%8)
	}
}

// randomI5Rows returns rows×nb random blocks of type typ whose codebook
// indices walk through the whole codebook (from a random start), with f16
// scales d of both signs from subnormal to large.
func randomI5Rows(rng *rand.Rand, typ tensor.DType, rows, nb int) []byte {
	ts := typ.TypeSize()
	w := make([]byte, rows*nb*ts)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	ds := []uint16{0x2e66, 0xae66, 0x0001, 0x8400, 0x5bff, 0xdbff, 0x3c00, 0x03ff}
	gs := iq512Groups[typ]
	idx := rng.IntN(gs[1])
	for b := 0; b < rows*nb; b++ {
		blk := w[b*ts : (b+1)*ts]
		for k := 0; k < gs[0]; k++ {
			setI5Index(typ, blk, k, idx)
			idx++
		}
		putIQScale(typ, blk, ds[rng.IntN(len(ds))])
	}
	return w
}

// i5Acts returns T Q8_K rows of nb blocks: random, every quant ±127,
// every quant 127, and random with spikes.
func i5Acts(rng *rand.Rand, T, nb int) []byte {
	a := make([]byte, T*nb*292)
	for k := 0; k < T; k++ {
		x := randomVec(rng, 256*nb)
		for i := range x {
			switch k {
			case 1:
				x[i] = float32(1 - 2*rng.IntN(2))
			case 2:
				x[i] = 1
			case 3:
				if rng.IntN(20) == 0 {
					x[i] *= 100
				}
			}
		}
		quantizeRowQ8_KGeneric(a[k*nb*292:(k+1)*nb*292], x)
	}
	return a
}

// TestIQ512EveryBit runs each iq512 tile (1 row × 1..4 tokens) on three
// blocks (the later blocks' values are prepared during the earlier ones'), then
// again with each bit of the first block but its f16 d flipped in turn
// (indices, signs, scales, delta signs), and compares every output bit
// for bit with the i-quant order (dotIQOrdered).
func TestIQ512EveryBit(t *testing.T) {
	if !hasIQTiles {
		t.Skip("no AVX-512 VNNI and BMI2")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, typ := range iq512Types {
		ts := iq512Set(typ)
		for T := 1; T <= 4; T++ {
			t.Run(fmt.Sprintf("%v/1x%d", typ, T), func(t *testing.T) {
				const nb = 3
				a := i5Acts(rng, T, nb)
				w := randomI5Rows(rng, typ, 1, nb)
				putIQScale(typ, w, 0xae66)
				check := func(what string) {
					out := make([]float32, T+1)
					out[T] = 42
					ts.block(out, 1, w, len(w), a, nb*292, 1, T, 256*nb)
					if out[T] != 42 {
						t.Fatalf("%s: wrote past the output", what)
					}
					for k := 0; k < T; k++ {
						if o := dotIQOrdered(typ, w, a[k*nb*292:], 256*nb); math.Float32bits(out[k]) != math.Float32bits(o) {
							t.Fatalf("%s: token %d: got %v, want %v (i-quant order)", what, k, out[k], o)
						}
					}
				}
				check("random blocks")
				for i := 0; i < ts.wBlock; i++ {
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

// TestIQ512EveryIndex runs each iq512 tile on rows of 1..5 blocks whose
// indices walk through the whole codebook, with d of both signs from
// subnormal to large, and compares bit for bit with dotIQOrdered.
func TestIQ512EveryIndex(t *testing.T) {
	if !hasIQTiles {
		t.Skip("no AVX-512 VNNI and BMI2")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	for _, typ := range iq512Types {
		ts := iq512Set(typ)
		gs := iq512Groups[typ]
		for nb := 1; nb <= 5; nb++ {
			rows := gs[1]/(gs[0]*nb) + 1
			w := randomI5Rows(rng, typ, rows, nb)
			ws := nb * ts.wBlock
			for T := 1; T <= 4; T++ {
				a := i5Acts(rng, T, nb)
				out := make([]float32, T)
				for r := 0; r < rows; r++ {
					ts.block(out, 1, w[r*ws:], ws, a, nb*292, 1, T, 256*nb)
					for k := 0; k < T; k++ {
						if o := dotIQOrdered(typ, w[r*ws:], a[k*nb*292:], 256*nb); math.Float32bits(out[k]) != math.Float32bits(o) {
							t.Fatalf("%v nb=%d 1x%d row %d token %d: got %v, want %v (i-quant order)", typ, nb, T, r, k, out[k], o)
						}
					}
				}
			}
		}
	}
}

// TestIQ512MatMul multiplies matrices of the iq512 types (every codebook
// entry; random and one-byte-filled fields; d of both signs) of 1..40 rows
// with 1..12 tokens on 1..3 threads through the avx512 implementation
// table and compares every output bit for bit with dotIQOrdered.
func TestIQ512MatMul(t *testing.T) {
	if !hasIQTiles {
		t.Skip("no AVX-512 VNNI and BMI2")
	}
	tab := variantTable("avx512")
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(25, 26))
	for _, typ := range []tensor.DType{tensor.IQ1_S, tensor.IQ1_M, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ3_S} {
		for _, c := range []struct {
			rows, nb int
			fill     int // −1: codebook walk
		}{{1, 1, -1}, {3, 2, -1}, {7, 3, -1}, {16, 1, -1}, {40, 2, -1}, {33, 1, -1}, {5, 2, 0xff}, {4, 1, 0x00}, {6, 2, 0xaa}} {
			cols := 256 * c.nb
			w := tensor.Mat{Type: typ, Rows: c.rows, Cols: cols, Data: randomI5Rows(rng, typ, c.rows, c.nb)}
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
			for _, n := range []int{1, 2, 3, 4, 5, 7, 9, 12} {
				x := randomVec(rng, n*cols)
				for i := range x {
					if rng.IntN(50) == 0 {
						x[i] *= 100
					}
				}
				a := make([]byte, n*c.nb*292)
				for k := 0; k < n; k++ {
					quantizeRowQ8_KGeneric(a[k*c.nb*292:(k+1)*c.nb*292], x[k*cols:(k+1)*cols])
				}
				for threads := 1; threads <= 3; threads++ {
					parallel.SetThreads(threads)
					out := make([]float32, n*c.rows+1)
					out[n*c.rows] = 42
					matMul(out, w, x, n, tab[typ])
					if out[n*c.rows] != 42 {
						t.Fatalf("%v %d×%d n=%d: wrote past the output", typ, c.rows, cols, n)
					}
					for k := 0; k < n; k++ {
						for r := 0; r < c.rows; r++ {
							want := dotIQOrdered(typ, w.Data[r*c.nb*typ.TypeSize():], a[k*c.nb*292:], cols)
							if got := out[k*c.rows+r]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%v %d×%d fill %#x n=%d threads=%d: out[%d][%d] = %v, want %v (dotIQOrdered)", typ, c.rows, cols, c.fill, n, threads, k, r, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// FuzzIQ512Tiles runs the iq512 tiles (1 row × 1..4 tokens, 1..4 blocks)
// on weight and Q8_K bytes from the fuzzer (any field bits, a finite f16
// d, quants in [−127, 127]) and compares bit for bit with dotIQOrdered.
func FuzzIQ512Tiles(f *testing.F) {
	if !hasIQTiles {
		f.Skip("no AVX-512 VNNI and BMI2")
	}
	f.Add(uint8(0), uint8(1), uint8(3), []byte("seed"))
	f.Add(uint8(1), uint8(2), uint8(0), make([]byte, 300))
	f.Add(uint8(4), uint8(3), uint8(1), []byte{0xff, 0x3b, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, ti, nb8, t8 uint8, data []byte) {
		typ := iq512Types[int(ti)%len(iq512Types)]
		ts := iq512Set(typ)
		checkGridTileFuzz(t, typ, ts, nb8, t8, ti, data)
	})
}

// BenchmarkIQ512Tiles times the decode tiles of the grid i-quants hot in
// cache: one row of 16 blocks against T tokens, as CPU-time ns per weight
// block (all T tokens); times the clock rate in GHz that is cycles per
// block. Sets: "avx2" (avx2IQ13Tiles, avx2IQ2Tiles), "tileOrd" (the packiq
// set's tiles), "iq512", and the avx512 table's tiles ("table").
func BenchmarkIQ512Tiles(b *testing.B) {
	if !hasIQTiles {
		b.Skip("no AVX-512 VNNI and BMI2")
	}
	rng := rand.New(rand.NewPCG(27, 28))
	avx2 := avx2IQ13Tiles()
	for typ, ts := range avx2IQ2Tiles() {
		avx2[typ] = ts
	}
	tab := variantTable("avx512")
	const nb = 16
	for _, typ := range []tensor.DType{tensor.IQ1_S, tensor.IQ1_M, tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ3_XXS, tensor.IQ3_S} {
		w := randomMat(rng, typ, 1, 256*nb).Data
		sets := []struct {
			name string
			ts   *tileSet
		}{{"avx2", avx2[typ]}, {"tileOrd", iqTilesOrd(typ)}}
		for _, t5 := range iq512Types {
			if t5 == typ {
				sets = append(sets, struct {
					name string
					ts   *tileSet
				}{"iq512", iq512Set(typ)})
			}
		}
		sets = append(sets, struct {
			name string
			ts   *tileSet
		}{"table", nil})
		for T := 1; T <= 4; T++ {
			a := i5Acts(rng, T, nb)
			out := make([]float32, T)
			for _, set := range sets {
				b.Run(fmt.Sprintf("%v/1x%d/%s", typ, T, set.name), func(b *testing.B) {
					b.SetBytes(int64(len(w)))
					cpu0 := cpuTime()
					for b.Loop() {
						if set.ts == nil {
							tab[typ].block(out, 1, w, len(w), a, nb*292, 1, T, 256*nb)
						} else {
							set.ts.tiles(out, 1, w, len(w), a, nb*292, 1, T, nb)
						}
					}
					b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/nb, "cpu-ns/block")
				})
			}
		}
	}
}

// iqTilesOrd returns the packiq set's tileOrd tiles of typ as a tile set.
func iqTilesOrd(typ tensor.DType) *tileSet {
	var fn [5][5]tileFunc
	switch typ {
	case tensor.IQ1_S:
		fn = gridTiles(&gridIQ1SPlus1[0], tileOrdIQ1_S_1x1, tileOrdIQ1_S_1x2, tileOrdIQ1_S_1x3, tileOrdIQ1_S_1x4)
	case tensor.IQ1_M:
		fn = gridTiles(&gridIQ1MU[0], tileOrdIQ1_M_1x1, tileOrdIQ1_M_1x2, tileOrdIQ1_M_1x3, tileOrdIQ1_M_1x4)
	case tensor.IQ2_XXS:
		fn = gridTiles(&tensor.GridIQ2_XXS[0], tileOrdIQ2_XXS_1x1, tileOrdIQ2_XXS_1x2, tileOrdIQ2_XXS_1x3, tileOrdIQ2_XXS_1x4)
	case tensor.IQ2_XS:
		fn = gridTiles(&tensor.GridIQ2_XS[0], tileOrdIQ2_XS_1x1, tileOrdIQ2_XS_1x2, tileOrdIQ2_XS_1x3, tileOrdIQ2_XS_1x4)
	case tensor.IQ2_S:
		fn = gridTiles(&tensor.GridIQ2_S[0], tileOrdIQ2_S_1x1, tileOrdIQ2_S_1x2, tileOrdIQ2_S_1x3, tileOrdIQ2_S_1x4)
	case tensor.IQ3_XXS:
		fn = gridTiles(&tensor.GridIQ3_XXS[0], tileOrdIQ3_XXS_1x1, tileOrdIQ3_XXS_1x2, tileOrdIQ3_XXS_1x3, tileOrdIQ3_XXS_1x4)
	case tensor.IQ3_S:
		fn = gridTiles(&tensor.GridIQ3_S[0], tileOrdIQ3_S_1x1, tileOrdIQ3_S_1x2, tileOrdIQ3_S_1x3, tileOrdIQ3_S_1x4)
	}
	return &tileSet{fn: fn, wBlock: typ.TypeSize(), aBlock: 292, blockElems: 256}
}
