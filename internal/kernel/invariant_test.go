package kernel

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// invariantCols returns the column counts TestMatMulBatchInvariant uses for
// type t: a few whole blocks and, for the float types, lengths with a tail
// after ggml's 64-element F16 steps.
func invariantCols(t tensor.DType) []int {
	if t.BlockSize() == 1 {
		return []int{16, 100, 256, 300}
	}
	bs := t.BlockSize()
	if bs == 32 {
		return []int{32, 96, 512}
	}
	return []int{bs, 3 * bs}
}

// checkBatchInvariant runs the n-token product with implementation im and
// compares every token's outputs with the one-token product of that token
// alone, bit for bit.
func checkBatchInvariant(t *testing.T, name string, im *matImpl, w tensor.Mat, x []float32, n int) {
	t.Helper()
	rows, cols := w.Rows, w.Cols
	got := make([]float32, n*rows)
	matMul(got, w, x, n, im)
	one := make([]float32, rows)
	for tk := 0; tk < n; tk++ {
		matMul(one, w, x[tk*cols:(tk+1)*cols], 1, im)
		for r := 0; r < rows; r++ {
			if g, want := got[tk*rows+r], one[r]; math.Float32bits(g) != math.Float32bits(want) {
				t.Fatalf("%s: token %d row %d = %v (%#x), want %v (%#x) as for n=1", name, tk, r, g, math.Float32bits(g), want, math.Float32bits(want))
			}
		}
	}
}

// TestMatMulBatchInvariant checks the property continuous batching relies
// on: for every weight type and implementation set, each token's outputs
// of an n-token MatMul are bit-for-bit those of MatMul on that token alone
// (n = 1), whatever n, the tile shapes, the thread count or the path
// (row tiles, 8-row tiles, packed) that ran.
func TestMatMulBatchInvariant(t *testing.T) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(51, 52))
	rowsList := []int{1, 7, 16, 17, 33, 100}
	nList := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 70}
	if testing.Short() {
		rowsList, nList = []int{7, 33}, []int{2, 5, 9, 17, 70}
	}
	for _, v := range variants() {
		for _, typ := range allTypes {
			t.Run(v.name+"/"+typ.String(), func(t *testing.T) {
				im := v.table[typ]
				for _, cols := range invariantCols(typ) {
					for _, rows := range rowsList {
						w := randomMat(rng, typ, rows, cols)
						x := randomVec(rng, 70*cols)
						for i, n := range nList {
							parallel.SetThreads(1 + i%2)
							name := fmt.Sprintf("%dx%d/n=%d", rows, cols, n)
							checkBatchInvariant(t, name, im, w, x[:n*cols], n)
						}
					}
				}
			})
		}
	}
}

// TestMatMulBatchInvariantPositions puts the same token at different
// positions in batches of different sizes and checks its outputs never
// change.
func TestMatMulBatchInvariantPositions(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	const rows = 33
	for _, v := range variants() {
		for _, typ := range allTypes {
			t.Run(v.name+"/"+typ.String(), func(t *testing.T) {
				im := v.table[typ]
				cols := invariantCols(typ)[1]
				w := randomMat(rng, typ, rows, cols)
				tok := randomVec(rng, cols)
				want := make([]float32, rows)
				matMul(want, w, tok, 1, im)
				for _, c := range []struct{ n, pos int }{{2, 1}, {5, 3}, {16, 15}, {17, 16}, {33, 7}, {64, 40}, {70, 69}} {
					x := randomVec(rng, c.n*cols)
					copy(x[c.pos*cols:], tok)
					out := make([]float32, c.n*rows)
					matMul(out, w, x, c.n, im)
					for r := 0; r < rows; r++ {
						if g := out[c.pos*rows+r]; math.Float32bits(g) != math.Float32bits(want[r]) {
							t.Fatalf("n=%d pos=%d: row %d = %v, want %v", c.n, c.pos, r, g, want[r])
						}
					}
				}
			})
		}
	}
}

// FuzzMatMulBatchInvariant checks batch invariance for one weight type
// chosen by the fuzzer, on random shapes.
func FuzzMatMulBatchInvariant(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(7), uint8(5))
	f.Add(uint64(2), uint8(7), uint8(17), uint8(33))
	f.Add(uint64(3), uint8(9), uint8(33), uint8(9))   // Q2_K: decode tiles and packed
	f.Add(uint64(4), uint8(10), uint8(21), uint8(40)) // Q3_K
	f.Fuzz(func(t *testing.T, seed uint64, ti, r8, n8 uint8) {
		typ := allTypes[int(ti)%len(allTypes)]
		rng := rand.New(rand.NewPCG(seed, 55))
		rows, n := int(r8%40)+1, int(n8%70)+1
		cols := typ.BlockSize() * (1 + rng.IntN(3))
		if typ.BlockSize() == 1 {
			cols = 1 + rng.IntN(200)
		}
		w := randomMat(rng, typ, rows, cols)
		x := randomVec(rng, n*cols)
		for _, v := range variants() {
			checkBatchInvariant(t, fmt.Sprintf("%s/%s/%dx%d/n=%d", v.name, typ, rows, cols, n), v.table[typ], w, x, n)
		}
	})
}

// splits returns page boundaries covering [0, n): pages of size page and a
// short last one.
func splits(n, page int) [][2]int {
	var s [][2]int
	for lo := 0; lo < n; lo += page {
		s = append(s, [2]int{lo, min(lo+page, n)})
	}
	return s
}

// TestAttnPaged checks the contract a paged KV cache relies on: DotsF16
// over keys split into pages gives the scores of one call over all keys,
// and WeightedSumF16 over the first page then AddWeightedSumF16 over the
// others gives the output of one call, bit for bit, for every page size
// (16 and its multiples, and awkward ones) and key count.
func TestAttnPaged(t *testing.T) {
	rng := rand.New(rand.NewPCG(57, 58))
	impls := []struct {
		name string
		dots func(out, q []float32, keys []uint16, stride int, scale float32)
		ws   func(out, p []float32, values []uint16, stride int)
	}{
		{"best", DotsF16, AddWeightedSumF16},
		{"generic", dotsF16Generic, weightedSumF16Generic},
	}
	for _, im := range impls {
		for _, hd := range []int{16, 64, 72, 128, 5} {
			for _, nk := range []int{1, 2, 15, 16, 17, 31, 33, 47, 64, 100} {
				for _, page := range []int{1, 3, 7, 16, 32, 48} {
					stride := hd + 3
					kv := make([]uint16, nk*stride)
					for i := range kv {
						kv[i] = floatToHalf(float32(rng.NormFloat64()))
					}
					q := randomVec(rng, hd)
					RoundF16(q)
					name := fmt.Sprintf("%s/hd=%d/nk=%d/page=%d", im.name, hd, nk, page)

					whole := make([]float32, nk)
					im.dots(whole, q, kv, stride, 0.125)
					paged := make([]float32, nk)
					for _, s := range splits(nk, page) {
						im.dots(paged[s[0]:s[1]], q, kv[s[0]*stride:], stride, 0.125)
					}
					for j := range whole {
						if math.Float32bits(paged[j]) != math.Float32bits(whole[j]) {
							t.Fatalf("%s: DotsF16 key %d = %v paged, %v in one call", name, j, paged[j], whole[j])
						}
					}

					p := randomVec(rng, nk)
					SoftmaxF16(p)
					wholeV := make([]float32, hd)
					im.ws(wholeV, p, kv, stride)
					pagedV := make([]float32, hd)
					for _, s := range splits(nk, page) {
						im.ws(pagedV, p[s[0]:s[1]], kv[s[0]*stride:], stride)
					}
					for i := range wholeV {
						if math.Float32bits(pagedV[i]) != math.Float32bits(wholeV[i]) {
							t.Fatalf("%s: weighted sum [%d] = %v paged, %v in one call", name, i, pagedV[i], wholeV[i])
						}
					}
					if im.name == "best" && page == 1 {
						// AxpyF16 row by row adds as AddWeightedSumF16.
						axpy := make([]float32, hd)
						for j := range nk {
							AxpyF16(axpy, p[j], kv[j*stride:j*stride+hd])
						}
						for i := range wholeV {
							if math.Float32bits(axpy[i]) != math.Float32bits(wholeV[i]) {
								t.Fatalf("%s: AxpyF16 rows [%d] = %v, weighted sum %v", name, i, axpy[i], wholeV[i])
							}
						}
					}
				}
			}
		}
	}
	// WeightedSumF16 is clear then AddWeightedSumF16.
	out := []float32{1, 2, 3}
	WeightedSumF16(out, []float32{0.5}, []uint16{floatToHalf(2), floatToHalf(4), floatToHalf(6)}, 3)
	if out[0] != 1 || out[1] != 2 || out[2] != 3 {
		t.Fatalf("WeightedSumF16 = %v, want [1 2 3]", out)
	}
}

// TestFMA32 checks fma32 against x·y+z computed exactly and rounded once to
// float32, on random operands and on sums that cancel or tie.
func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(59, 60))
	exact := func(x, y, z float32) float32 {
		p := new(big.Float).SetPrec(400).SetFloat64(float64(x))
		p.Mul(p, new(big.Float).SetPrec(400).SetFloat64(float64(y)))
		p.Add(p, new(big.Float).SetPrec(400).SetFloat64(float64(z)))
		f, _ := p.Float32()
		return f
	}
	r32 := func() float32 {
		return float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(40)-20)))
	}
	for i := 0; i < 200000; i++ {
		x, y, z := r32(), r32(), r32()
		switch i % 4 {
		case 1: // near cancellation
			z = -float32(float64(x) * float64(y))
		case 2: // tiny addend: the product decides, z the tie
			z = float32(float64(x)*float64(y)) * 0x1p-25
		case 3: // integer sums times a scale, as the block dots
			x = float32(rng.IntN(1<<20) - 1<<19)
		}
		if got, want := fma32(x, y, z), exact(x, y, z); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%v, %v, %v) = %v, want %v", x, y, z, got, want)
		}
	}
}
