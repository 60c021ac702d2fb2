//go:build !purego

package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// a2pFill sets every byte of w's blocks to fill except their f16 scales
// (IQ1_M's: 1.0), so that every value, scale and min is at an extreme.
func a2pFill(w tensor.Mat, fill byte) {
	ts := w.Type.TypeSize()
	for b := 0; b < len(w.Data); b += ts {
		blk := w.Data[b : b+ts]
		for i := range blk {
			if !slices.ContainsFunc(halfFields[w.Type], func(off int) bool { return i == off || i == off+1 }) {
				blk[i] = fill
			}
		}
		if w.Type == tensor.IQ1_M {
			putIQ1MScale(blk, 0x3c00)
		}
	}
}

// TestAVX2PackedUnpack checks the AVX2 unpack kernels byte for byte
// against unpackInterKA2Generic, with a guard band behind the group.
func TestAVX2PackedUnpack(t *testing.T) {
	avx2 := variantTable("avx2")
	if avx2 == nil {
		t.Skip("no AVX2/FMA/F16C on this CPU")
	}
	rng := rand.New(rand.NewPCG(90, 91))
	for _, typ := range []tensor.DType{tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.Q3_K, tensor.Q2_K} {
		im := avx2[typ].inter
		if im == nil || im.unpack == nil {
			t.Fatalf("%s: the avx2 set has no unpack kernel", typ)
		}
		for _, fill := range []int{-1, 0xff, 0x00, 0x55, 0xaa} {
			const nb = 3
			w := randomMat(rng, typ, 2*packRows, 256*nb)
			if fill >= 0 {
				a2pFill(w, byte(fill))
			}
			wi := interleave(w)
			gb := packRows * w.RowBytes()
			for g := range 2 {
				want := make([]byte, nb*im.packBytes)
				unpackInterKA2Generic(typ, wi.Data[g*gb:], nb, want)
				got := make([]byte, len(want)+64)
				for i := range got {
					got[i] = 0xa5
				}
				im.unpack(&wi.Data[g*gb], nb, &got[0])
				if i := byteDiff(got[:len(want)], want); i >= 0 {
					t.Fatalf("%s fill %#x group %d: unpack byte %d of block %d = %#x, want %#x", typ, fill, g, i%im.packBytes, i/im.packBytes, got[i], want[i])
				}
				for _, b := range got[len(want):] {
					if b != 0xa5 {
						t.Fatalf("%s: unpack writes past the group", typ)
					}
				}
			}
		}
	}
}

// TestAVX2PackedTiles checks every AVX2 packed tile against
// tilePackedKGeneric bit for bit (the Q6_K layout's types with the
// activations' offsets −k·bsum_g, which the reference reads and the tiles
// form from the bsums), with partial row masks and the output around the
// tile untouched.
func TestAVX2PackedTiles(t *testing.T) {
	if variantTable("avx2") == nil {
		t.Skip("no AVX2/FMA/F16C on this CPU")
	}
	rng := rand.New(rand.NewPCG(92, 93))
	for _, c := range []struct {
		name   string
		typ    tensor.DType // the weights
		layout tensor.DType // the packed layout
		k      int32
		tiles  *a2pTileSet
	}{
		{"Q4_K", tensor.Q4_K, tensor.Q4_K, 0, &a2pTilesQ4_K},
		{"Q5_K", tensor.Q5_K, tensor.Q5_K, 0, &a2pTilesQ5_K},
		{"Q6_K", tensor.Q6_K, tensor.Q6_K, 32, &a2pTilesK6},
		{"Q2_K", tensor.Q2_K, tensor.Q2_K, 0, &a2pTilesQ2_K},
		{"Q3_K", tensor.Q3_K, tensor.Q6_K, 4, &a2pTilesK3},
		{"IQ1_S", tensor.IQ1_S, tensor.Q6_K, 32, &a2pTilesK6},
		{"IQ3_S", tensor.IQ3_S, tensor.Q6_K, 32, &a2pTilesK6},
		{"IQ2_XXS", tensor.IQ2_XXS, tensor.Q6_K, 64, &a2pTilesKI},
		{"IQ3_XXS", tensor.IQ3_XXS, tensor.Q6_K, 64, &a2pTilesKI},
	} {
		for _, fill := range []int{-1, 0xff, 0x55, 0xfe} {
			const nb = 2
			cols := 256 * nb
			w := randomMat(rng, c.typ, packRows, cols)
			if fill >= 0 {
				a2pFill(w, byte(fill))
			}
			bb := packedKBlockBytes(c.layout)
			group := make([]byte, nb*bb)
			if _, ok := iqKinds[c.typ]; ok {
				packGroupIQGeneric(c.typ, w.Data, w.RowBytes(), packRows, nb, group)
			} else {
				unpackInterKA2Generic(c.typ, interleave(w).Data, nb, group)
			}
			const stride = packTokens * actKBytes
			x := randomVec(rng, packTokens*cols)
			switch fill {
			case 0x55: // every quant ±127
				for i := range x {
					x[i] = float32(1 - 2*rng.IntN(2))
				}
			case 0xff, 0xfe: // every quant 127 (tokens 0, 2, …) or −127: the int16 sums at their largest
				for i := range x {
					x[i] = float32(1 - 2*(i/cols%2))
				}
			}
			act := make([]byte, nb*stride)
			for tk := range packTokens {
				quantizeRowQ8_KxGeneric(act[tk*actKBytes:], x[tk*cols:(tk+1)*cols], stride, 0)
				if c.k != 32 {
					for b := range nb {
						putIQOffsets(act[b*stride+tk*actKBytes:], -c.k)
					}
				}
			}
			for T := 1; T <= a2pMaxT; T++ {
				for _, rows := range []int{1, 9, 16} {
					name := fmt.Sprintf("%s/fill=%#x/T=%d/rows=%d", c.name, fill, T, rows)
					const os = packRows + 3
					ref := make([]float32, packTokens*os)
					tilePackedKGeneric(c.layout, group, act, stride, nb, T, rows, ref, os)
					out := make([]float32, packTokens*os)
					for i := range out {
						out[i] = 12345
					}
					c.tiles[T](&group[0], &act[0], stride, nb, &out[0], os, 1<<rows-1)
					for tk := range packTokens {
						for r := range os {
							i := tk*os + r
							if tk >= T || r >= rows {
								if out[i] != 12345 {
									t.Fatalf("%s: wrote out[%d][%d]", name, tk, r)
								}
								continue
							}
							if math.Float32bits(out[i]) != math.Float32bits(ref[i]) {
								t.Fatalf("%s: out[%d][%d] = %v, tilePackedKGeneric gives %v", name, tk, r, out[i], ref[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestAVX2PackedSameBits checks MatMul through the avx2 set (interleaved
// and row-major matrices of the K-quants, row-major i-quants) against the
// K-quant (i-quant) order's row dots bit for bit, at batch sizes on both
// sides of the unpack and packed thresholds, awkward row counts, extreme
// weights and activations, 1–3 threads.
func TestAVX2PackedSameBits(t *testing.T) {
	avx2 := variantTable("avx2")
	if avx2 == nil {
		t.Skip("no AVX2/FMA/F16C on this CPU")
	}
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(94, 95))
	ns := []int{1, 3, 7, 8, 11, 12, 15, 16, 23, a2pIQMinTokens - 1, a2pIQMinTokens, 64, 65, 130}
	if !testing.Short() {
		ns = append(ns, 300)
	}
	for _, typ := range []tensor.DType{tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.Q2_K, tensor.Q3_K,
		tensor.IQ1_S, tensor.IQ1_M, tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ3_XXS, tensor.IQ3_S} {
		im := avx2[typ]
		_, iq := iqKinds[typ]
		for ci, c := range []struct {
			rows, nb int
			fill     int // −1: random weights
			signs    bool
		}{{19, 2, -1, false}, {33, 1, 0xff, true}, {17, 1, 0x55, true}} {
			cols := 256 * c.nb
			w := randomMat(rng, typ, c.rows, cols)
			if c.fill >= 0 {
				a2pFill(w, byte(c.fill))
			}
			mats := []tensor.Mat{w}
			if !iq {
				mats = append(mats, interleave(w))
			}
			for ni, n := range ns {
				x := randomVec(rng, n*cols)
				if c.signs {
					for i := range x {
						x[i] = float32(1 - 2*rng.IntN(2))
					}
				}
				var want []float32
				if iq {
					want = orderedIQMatMul(w, x, n)
				} else {
					want = orderedMatMul(w, x, n)
				}
				threads := 1 + (ci+ni)%3
				parallel.SetThreads(threads)
				for _, m := range mats {
					got := make([]float32, n*c.rows+1)
					got[n*c.rows] = 42
					matMul(got, m, x, n, im)
					if got[n*c.rows] != 42 {
						t.Fatalf("%s %v %d×%d n=%d: wrote past the output", typ, m.Layout, c.rows, cols, n)
					}
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %v %d×%d fill %#x n=%d threads=%d: out[%d] = %v, the ordered row dot gives %v",
								typ, m.Layout, c.rows, cols, c.fill, n, threads, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkAVX2PackedTiles measures the AVX2 packed tiles per token count
// on one cache-resident group (GMAC/s: 16 rows × 256 MACs per block and
// token).
func BenchmarkAVX2PackedTiles(b *testing.B) {
	if variantTable("avx2") == nil {
		b.Skip("no AVX2/FMA/F16C on this CPU")
	}
	const nb = 6
	for _, c := range []struct {
		name  string
		tiles *a2pTileSet
	}{{"Q4_K", &a2pTilesQ4_K}, {"Q5_K", &a2pTilesQ5_K}, {"K6", &a2pTilesK6}, {"K3", &a2pTilesK3}, {"KI", &a2pTilesKI}, {"Q2_K", &a2pTilesQ2_K}} {
		group := make([]byte, nb*a2pQ6Bytes)
		act := make([]byte, nb*packTokens*actKBytes)
		out := make([]float32, packTokens*packRows)
		for T := 1; T <= a2pMaxT; T++ {
			b.Run(fmt.Sprintf("%s/T=%d", c.name, T), func(b *testing.B) {
				for b.Loop() {
					c.tiles[T](&group[0], &act[0], packTokens*actKBytes, nb, &out[0], packRows, 0xffff)
				}
				b.ReportMetric(float64(b.N)*packRows*256*nb*float64(T)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// BenchmarkAVX2PackedMin compares, per batch size, the AVX2 packed path
// (unpack or pack, then the packed tiles) with the tiles it replaces (the
// interleaved K tiles; the i-quants' one-row tiles) on a 1536×1536 matrix,
// one thread: what a2pMinUnpack and a2pIQMinTokens are set from.
func BenchmarkAVX2PackedMin(b *testing.B) {
	avx2 := variantTable("avx2")
	if avx2 == nil {
		b.Skip("no AVX2/FMA/F16C on this CPU")
	}
	defer parallel.SetThreads(0)
	parallel.SetThreads(1)
	rng := rand.New(rand.NewPCG(96, 97))
	const rows, cols = 1536, 1536
	for _, typ := range []tensor.DType{tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.Q2_K, tensor.Q3_K, tensor.IQ2_XXS, tensor.IQ1_S, tensor.IQ3_XXS} {
		w := randomMat(rng, typ, rows, cols)
		im := *avx2[typ]
		_, iq := iqKinds[typ]
		if !iq {
			w = interleave(w)
		}
		for _, n := range []int{4, 8, 12, 16, 24, 32} {
			x := randomVec(rng, n*cols)
			out := make([]float32, n*rows)
			for _, packed := range []bool{false, true} {
				m := im
				if iq {
					p := *im.packed
					p.minTokens = map[bool]int{false: 1 << 30, true: 1}[packed]
					m.packed = &p
				} else {
					in := *im.inter
					in.minUnpack = map[bool]int{false: 1 << 30, true: 1}[packed]
					m.inter = &in
				}
				b.Run(fmt.Sprintf("%s/n=%d/packed=%v", typ, n, packed), func(b *testing.B) {
					for b.Loop() {
						matMul(out, w, x, n, &m)
					}
					b.ReportMetric(float64(b.N)*rows*cols*float64(n)/b.Elapsed().Seconds()/1e9, "GMAC/s")
				})
			}
		}
	}
}
