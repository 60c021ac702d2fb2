//go:build !purego

package kernel

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPackedKKernels checks the assembly K pack and quantize kernels byte
// for byte against their references, and the tile kernels against
// tilePackedKGeneric bit for bit (they add in the same order), for every
// token count and partial row groups.
func TestPackedKKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, typ := range packedKTypes {
		im := packedImplOf(t, typ)
		bb := packedKBlockBytes(typ)
		for _, cols := range []int{256, 512, 1280} {
			nb := cols / 256
			w := randomMat(rng, typ, packRows, cols)
			ws := w.RowBytes()
			want := make([]byte, nb*bb)
			packGroupKGeneric(typ, w.Data, ws, packRows, nb, want)
			got := make([]byte, nb*bb+64)
			for i := range got {
				got[i] = 0xa5
			}
			im.pack(&w.Data[0], ws, nb, &got[0])
			if i := firstDiff(got[:len(want)], want); i >= 0 {
				t.Fatalf("%s cols=%d: pack differs from packGroupKGeneric at byte %d of block %d: %#x, want %#x", typ, cols, i%bb, i/bb, got[i], want[i])
			}
			for _, b := range got[len(want):] {
				if b != 0xa5 {
					t.Fatalf("%s cols=%d: pack writes past the group", typ, cols)
				}
			}

			const stride = packTokens * actKBytes
			x := randomVec(rng, packTokens*cols)
			for i := 0; i < 256; i++ { // an all-zero block
				x[cols+i] = 0
			}
			wantA := make([]byte, nb*stride)
			gotA := make([]byte, nb*stride)
			for i := range gotA {
				gotA[i] = 0xa5
			}
			for tk := range packTokens {
				quantizeRowQ8_KxGeneric(wantA[tk*actKBytes:], x[tk*cols:(tk+1)*cols], stride, int(-im.k))
				im.quant(&x[tk*cols], &gotA[tk*actKBytes], nb, stride, int(-im.k))
			}
			if !bytes.Equal(gotA, wantA) {
				t.Fatalf("%s cols=%d: quant differs from quantizeRowQ8_KxGeneric", typ, cols)
			}

			for T := 1; T <= im.maxT; T++ {
				for _, rows := range []int{1, 7, 16} {
					name := fmt.Sprintf("%s/cols=%d/T=%d/rows=%d", typ, cols, T, rows)
					const os = packRows + 3
					ref := make([]float32, packTokens*os)
					tilePackedKGeneric(typ, want, wantA, stride, nb, T, rows, ref, os)
					out := make([]float32, packTokens*os)
					for i := range out {
						out[i] = 12345
					}
					im.tiles[T](&want[0], &wantA[0], stride, nb, &out[0], os, 1<<rows-1)
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
								t.Fatalf("%s: out[%d][%d] = %v, want %v", name, tk, r, out[i], ref[i])
							}
						}
					}
				}
			}
		}
	}
}

// firstDiff returns the first index where a and b differ, or -1.
func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestKQuantOrder checks that MatMul adds Q4_K, Q5_K and Q6_K in the K-quant
// order (dotKOrdered) bit for bit, on the decode tiles (small n) and the
// packed path alike, for awkward row counts and batch sizes.
func TestKQuantOrder(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX-512 VNNI on this CPU: the K-quant order is not used")
	}
	rng := rand.New(rand.NewPCG(65, 66))
	for _, typ := range packedKTypes {
		for _, cols := range []int{256, 1792} {
			for _, rows := range []int{1, 7, 16, 33} {
				for _, n := range []int{1, 2, 3, 4, 5, 8, 9, 17, 40} {
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, n*cols)
					want := orderedMatMul(w, x, n)
					got := make([]float32, n*rows)
					MatMul(got, w, x, n)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %dx%d n=%d: out[%d] = %v, want %v (the K-quant order)", typ, rows, cols, n, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestKQuantOrderExtremes is TestKQuantOrder on weights of one repeated
// byte (every scale, min and value at an extreme or a fixed pattern: for
// Q3_K the packed bytes sc·(u−4) + 124 reach 0 and 252), decode tiles and
// packed path alike.
func TestKQuantOrderExtremes(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX-512 VNNI on this CPU: the K-quant order is not used")
	}
	rng := rand.New(rand.NewPCG(67, 68))
	const rows, cols = 17, 512
	for _, typ := range packedKTypes {
		for _, fill := range []byte{0x00, 0xff, 0x55, 0xaa, 0x0f, 0xf0, 0x20, 0xdf} {
			w := randomMat(rng, typ, rows, cols)
			for b := 0; b < len(w.Data); b += typ.TypeSize() {
				blk := w.Data[b : b+typ.TypeSize()]
				for i := range blk {
					if !slices.ContainsFunc(halfFields[typ], func(off int) bool { return i == off || i == off+1 }) {
						blk[i] = fill
					}
				}
			}
			for _, n := range []int{1, 3, 9, 16} {
				x := randomVec(rng, n*cols)
				want := orderedMatMul(w, x, n)
				got := make([]float32, n*rows)
				MatMul(got, w, x, n)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s fill %#02x n=%d: out[%d] = %v, want %v (the K-quant order)", typ, fill, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}
