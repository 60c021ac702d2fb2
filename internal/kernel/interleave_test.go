package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// interTypes are the weight types with an interleaved layout.
var interTypes = []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.IQ4_NL, tensor.Q5_0, tensor.Q4_K, tensor.Q6_K, tensor.Q5_K, tensor.Q4_1, tensor.Q5_1, tensor.IQ4_XS, tensor.Q2_K, tensor.Q3_K}

// TestInterleaveSameBits checks MatMul of an interleaved matrix against
// MatMul of the row-major original, bit for bit, on awkward sizes, batch
// sizes across token tiles, thread counts and group-aligned row slices.
func TestInterleaveSameBits(t *testing.T) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, typ := range interTypes {
		if !CanInterleave(typ) {
			t.Logf("%s: no interleaved kernels on this CPU (needs AVX-512 VNNI; purego build?): skipped", typ)
			continue
		}
		// rows × blocks
		for _, sh := range [][2]int{{1, 1}, {15, 2}, {16, 3}, {17, 1}, {40, 10}, {100, 48}} {
			rows, cols := sh[0], sh[1]*typ.BlockSize()
			w := randomMat(rng, typ, rows, cols)
			wi, ok := Interleave(w)
			if !ok || wi.Layout != tensor.Interleaved {
				t.Fatalf("%s: Interleave did not interleave", typ)
			}
			for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 12, 15, 16, 17, 33, 40, 70, 130} {
				for _, threads := range []int{1, 2, 3} {
					parallel.SetThreads(threads)
					x := randomVec(rng, n*cols)
					want := make([]float32, n*rows)
					got := make([]float32, n*rows+1)
					got[n*rows] = 42
					MatMul(want, w, x, n)
					MatMul(got, wi, x, n)
					if got[n*rows] != 42 {
						t.Fatalf("%s %dx%d n=%d: wrote past the output", typ, rows, cols, n)
					}
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %dx%d n=%d threads=%d: out[%d] = %v, row-major gives %v", typ, rows, cols, n, threads, i, got[i], want[i])
						}
					}
				}
			}
			if rows > 16 {
				lo, hi := 16, rows
				x := randomVec(rng, cols)
				want := make([]float32, hi-lo)
				got := make([]float32, hi-lo)
				MatMul(want, w.Slice(lo, hi), x, 1)
				MatMul(got, wi.Slice(lo, hi), x, 1)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %dx%d rows [%d,%d): out[%d] = %v, want %v", typ, rows, cols, lo, hi, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestInterleaveGeneric checks the Go reference of the interleaved tiles
// against the reference row dots (every CPU), so the layout is pinned down
// where the kernels cannot run.
func TestInterleaveGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	ref := genericTable()
	for _, typ := range interTypes {
		if _, ok := inter41Fields[typ]; ok {
			testInterleaveGeneric41(t, rng, typ)
			continue
		}
		const rows, n = 21, 3
		cols := 3 * typ.BlockSize()
		w := randomMat(rng, typ, rows, cols)
		wi := interleave(w)
		x := randomVec(rng, n*cols)
		want := make([]float32, n*rows)
		nb := cols / typ.BlockSize()
		got := make([]float32, n*rows)
		gb := packRows * w.RowBytes()
		if typ.BlockSize() == 256 {
			// The K-quant order's row dots (dotKOrdered) are the reference.
			a := make([]byte, nb*292)
			for tk := range n {
				quantizeRowQ8_KGeneric(a, x[tk*cols:(tk+1)*cols])
				for r := range rows {
					want[tk*rows+r] = dotKOrdered(typ, w.Row(r), a, cols)
				}
			}
			act := make([]byte, nb*packTokens*actKBytes)
			for tk := range n {
				quantizeRowQ8_KxGeneric(act[tk*actKBytes:], x[tk*cols:(tk+1)*cols], packTokens*actKBytes, int(-packedKOffset(typ)))
			}
			for g := 0; g*packRows < rows; g++ {
				r0 := g * packRows
				tileInterleavedKGeneric(typ, wi.Data[g*gb:], act, packTokens*actKBytes, nb, n, min(packRows, rows-r0), got[r0:], rows)
			}
		} else {
			matMul(want, w, x, n, ref[typ])
			k, _ := packedKindOf(typ)
			act := make([]byte, nb*packTokens*actBlockBytes)
			for tk := range n {
				quantizeRowQ8_0xGeneric(act[tk*actBlockBytes:], x[tk*cols:(tk+1)*cols], packTokens*actBlockBytes, k)
			}
			for g := 0; g*packRows < rows; g++ {
				r0 := g * packRows
				tileInterleavedGeneric(typ, wi.Data[g*gb:], act, packTokens*actBlockBytes, nb, n, min(packRows, rows-r0), got[r0:], rows)
			}
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: out[%d] = %v, reference %v", typ, i, got[i], want[i])
			}
		}
	}
}

// TestInterleaveRefused checks that types without interleaved kernels are
// returned unchanged, and that row access to an interleaved Mat panics.
func TestInterleaveRefused(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	w := randomMat(rng, tensor.F16, 16, 256)
	if got, ok := Interleave(w); ok || got.Layout != tensor.RowMajor {
		t.Fatalf("F16 was interleaved")
	}
	if !CanInterleave(tensor.Q4_0) {
		t.Skip("no interleaved kernels on this CPU")
	}
	wi, _ := Interleave(randomMat(rng, tensor.Q4_0, 20, 64))
	for name, f := range map[string]func(){
		"Row":        func() { wi.Row(0) },
		"Slice(1,2)": func() { wi.Slice(1, 2) },
		"Slice(0,8)": func() { wi.Slice(0, 8) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s of an interleaved Mat did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestInterleaveUnpack checks that an interleaved K group unpacks into the
// bytes the packed K path packs from the row-major rows (the Go
// references, every CPU), and that the unpack kernels write those bytes.
func TestInterleaveUnpack(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	for _, typ := range []tensor.DType{tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.Q2_K, tensor.Q3_K} {
		const rows, nb = 21, 3
		w := randomMat(rng, typ, rows, nb*256)
		wi := interleave(w)
		rb, bb := w.RowBytes(), packedKBlockBytes(typ)
		for g := 0; g*packRows < rows; g++ {
			r0 := g * packRows
			want := make([]byte, nb*bb)
			packGroupKGeneric(typ, w.Data[r0*rb:], rb, min(packRows, rows-r0), nb, want)
			got := make([]byte, nb*bb)
			unpackInterKGeneric(typ, wi.Data[r0*rb:], nb, got)
			// Rows past the matrix (zero in both layouts) may differ:
			// Q3_K's zero scale unpacks to −32, so its values to 252;
			// MatMul never writes those rows.
			valid := min(packRows, rows-r0)
			for i := range got {
				if i%bb%64/4 >= valid {
					got[i] = want[i]
				}
			}
			if i := byteDiff(got, want); i >= 0 {
				t.Fatalf("%s group %d: unpackInterKGeneric byte %d = %d, packGroupKGeneric %d", typ, g, i, got[i], want[i])
			}
			im := impl(typ).inter
			if im == nil || im.unpack == nil {
				t.Logf("%s: no unpack kernel on this CPU", typ)
				continue
			}
			if im.packBytes != bb {
				// AVX2's Q3_K: the Q6_K layout (TestAVX2PackedUnpack).
				t.Logf("%s: the unpack kernel writes another layout", typ)
				continue
			}
			clear(got)
			im.unpack(&wi.Data[r0*rb], nb, &got[0])
			for i := range got {
				if i%bb%64/4 >= valid {
					got[i] = want[i]
				}
			}
			if i := byteDiff(got, want); i >= 0 {
				t.Fatalf("%s group %d: unpack kernel byte %d = %d, want %d", typ, g, i, got[i], want[i])
			}
		}
	}
}

// TestInterleaveUnpackQ4_0 checks the Q4_0 and IQ4_NL unpack kernels (interleaved
// group → packed group, for long batches) against packing the row-major
// rows, byte for byte.
func TestInterleaveUnpackQ4_0(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, typ := range []tensor.DType{tensor.Q4_0, tensor.IQ4_NL, tensor.Q5_0} {
		im := impl(typ).inter
		if im == nil || im.unpack == nil {
			t.Logf("no interleaved %s unpack kernel on this CPU (AVX-512 VNNI): skipped", typ)
			continue
		}
		const rows, nb = 21, 5
		w := randomMat(rng, typ, rows, nb*32)
		wi := interleave(w)
		rb := w.RowBytes()
		for g := 0; g*packRows < rows; g++ {
			r0 := g * packRows
			want := make([]byte, nb*packBlockBytes)
			packGroupGeneric(typ, w.Data[r0*rb:], rb, min(packRows, rows-r0), nb, want)
			got := make([]byte, nb*packBlockBytes)
			im.unpack(&wi.Data[r0*rb], nb, &got[0])
			// Rows past the matrix (zero in both layouts) may differ:
			// IQ4_NL's nibble 0 unpacks to its value −127 + 128, packing
			// pads with 0; MatMul never writes those rows.
			valid := min(packRows, rows-r0)
			for i := range got {
				if row := i % packBlockBytes % 64 / 4; row < valid && got[i] != want[i] {
					t.Fatalf("%s group %d: unpack kernel byte %d = %d, packing gives %d", typ, g, i, got[i], want[i])
				}
			}
		}
	}
}

// byteDiff returns the first index where a and b differ, or −1.
func byteDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
