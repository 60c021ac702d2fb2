//go:build !purego

package kernel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// variantTable returns the implementation set named name on this CPU, or
// nil.
func variantTable(name string) *implTable {
	for _, v := range variants() {
		if v.name == name {
			return v.table
		}
	}
	return nil
}

// TestAVX2InterK checks the AVX2 interleaved K and IQ4_XS kernels (the
// "avx2" set, whatever the CPU's best set is) against the K-quant (i-quant)
// order's reference row dots and, where the CPU has it, the AVX-512 VNNI interleaved path,
// bit for bit: random and one-byte-filled weights (every value, scale and
// min at an extreme), random and ±1 activations (every quant ±127, the
// int16 sums at their largest), awkward row counts, batches across token
// tiles and 1–3 threads; and the avx2 set's row-major path, which must
// give the same bits.
func TestAVX2InterK(t *testing.T) {
	avx2 := variantTable("avx2")
	if avx2 == nil {
		t.Skip("no AVX2/FMA/F16C on this CPU")
	}
	var vnni *implTable
	if hasVNNI {
		vnni = variantTable("avx512")
	}
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(80, 81))
	for _, typ := range []tensor.DType{tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.Q2_K, tensor.Q3_K, tensor.IQ4_XS} {
		im := avx2[typ]
		if im.inter == nil {
			t.Fatalf("%s: the avx2 set has no interleaved kernels", typ)
		}
		for ci, c := range []struct {
			rows, nb int
			fill     int // −1: random weights
			signs    bool
		}{
			{1, 1, -1, false}, {15, 2, -1, false}, {17, 3, -1, true}, {40, 5, -1, false},
			{33, 2, 0xff, true}, {20, 2, 0xff, false}, {18, 1, 0x00, true}, {16, 2, 0x55, true},
			{16, 2, 0xaa, true}, {19, 1, 0xf0, true}, {17, 1, 0x0f, true}, {21, 2, 0xdf, true},
		} {
			cols := 256 * c.nb
			w := randomMat(rng, typ, c.rows, cols)
			if c.fill >= 0 {
				for b := 0; b < len(w.Data); b += typ.TypeSize() {
					blk := w.Data[b : b+typ.TypeSize()]
					for i := range blk {
						if !slices.ContainsFunc(halfFields[typ], func(off int) bool { return i == off || i == off+1 }) {
							blk[i] = byte(c.fill)
						}
					}
				}
			}
			wi := interleave(w)
			for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 40} {
				x := randomVec(rng, n*cols)
				if c.signs {
					for i := range x {
						x[i] = float32(1 - 2*rng.IntN(2))
					}
				}
				var want []float32
				if _, ok := iqKinds[typ]; ok {
					want = orderedIQMatMul(w, x, n)
				} else {
					want = orderedMatMul(w, x, n)
				}
				threads := 1 + (ci+n)%3
				parallel.SetThreads(threads)
				for _, p := range []struct {
					name string
					w    tensor.Mat
					im   *matImpl
				}{{"avx2 interleaved", wi, im}, {"avx2 row-major", w, im}, {"vnni interleaved", wi, nil}} {
					if p.im == nil {
						if vnni == nil {
							continue
						}
						p.im = vnni[typ]
					}
					got := make([]float32, n*c.rows+1)
					got[n*c.rows] = 42
					matMul(got, p.w, x, n, p.im)
					if got[n*c.rows] != 42 {
						t.Fatalf("%s %s %d×%d n=%d: wrote past the output", typ, p.name, c.rows, cols, n)
					}
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %s %d×%d fill %#x n=%d threads=%d: out[%d] = %v, the K-quant (i-quant) order gives %v",
								typ, p.name, c.rows, cols, c.fill, n, threads, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestQuantQ8_KxGo checks that the Go activation quantizer of the AVX2 K
// path writes the bytes of the AVX-512 one (where the CPU has it).
func TestQuantQ8_KxGo(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX-512 VNNI on this CPU to compare with")
	}
	rng := rand.New(rand.NewPCG(82, 83))
	const nb, stride = 5, 3 * actKBytes
	for range 20 {
		x := randomVec(rng, 256*nb)
		x[rng.IntN(len(x))] *= 40
		want := make([]byte, (nb-1)*stride+actKBytes)
		got := make([]byte, len(want))
		quantQ8_KxAVX512(&x[0], &want[0], nb, stride, 0)
		quantQ8_KxGo(&x[0], &got[0], nb, stride, 0)
		for b := range nb {
			o := b * stride
			if i := byteDiff(got[o:o+actKBytes], want[o:o+actKBytes]); i >= 0 {
				t.Fatalf("block %d byte %d = %d, AVX-512 quantizer %d", b, i, got[o+i], want[o+i])
			}
		}
	}
}
