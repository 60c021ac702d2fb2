//go:build !purego

package kernel

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// packedImplOf returns the packed path MatMul uses for t on this CPU, or
// skips the test.
func packedImplOf(t *testing.T, typ tensor.DType) *packedImpl {
	t.Helper()
	im := impl(typ)
	if im == nil || im.packed == nil {
		t.Skipf("no packed %s kernels on this CPU", typ)
	}
	return im.packed
}

// TestPackedKernels checks the assembly pack and quantize kernels byte for
// byte against their references, and the tile kernels against
// tilePackedGeneric for every token count.
func TestPackedKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, typ := range packedTypes {
		im := packedImplOf(t, typ)
		for _, cols := range []int{32, 64, 320} {
			nb := cols / 32
			w := randomMat(rng, typ, packRows, cols)
			ws := w.RowBytes()
			want := make([]byte, nb*packBlockBytes)
			packGroupGeneric(typ, w.Data, ws, packRows, nb, want)
			got := make([]byte, nb*packBlockBytes+64)
			for i := range got {
				got[i] = 0xa5
			}
			im.pack(&w.Data[0], ws, nb, &got[0])
			if !bytes.Equal(got[:len(want)], want) {
				t.Fatalf("%s cols=%d: pack differs from packGroupGeneric", typ, cols)
			}
			for _, b := range got[len(want):] {
				if b != 0xa5 {
					t.Fatalf("%s cols=%d: pack writes past the group", typ, cols)
				}
			}

			const stride = packTokens * actBlockBytes
			x := randomVec(rng, packTokens*cols)
			x[3] = 0
			for i := 32; i < 64 && i < cols; i++ { // an all-zero block
				x[i] = 0
			}
			wantA := make([]byte, nb*stride)
			gotA := make([]byte, nb*stride)
			for tk := range packTokens {
				quantizeRowQ8_0xGeneric(wantA[tk*actBlockBytes:], x[tk*cols:(tk+1)*cols], stride, im.k)
				im.quant(&x[tk*cols], &gotA[tk*actBlockBytes], nb, stride, int(-im.k))
			}
			if !bytes.Equal(gotA, wantA) {
				t.Fatalf("%s cols=%d: quant differs from quantizeRowQ8_0xGeneric", typ, cols)
			}

			for T := 1; T <= packTokens; T++ {
				for _, rows := range []int{1, 7, 16} {
					name := fmt.Sprintf("%s/cols=%d/T=%d/rows=%d", typ, cols, T, rows)
					const os = packRows + 3
					ref := make([]float32, packTokens*os)
					tilePackedGeneric(want, wantA, stride, nb, T, rows, ref, os)
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
							if d := math.Abs(float64(out[i] - ref[i])); d > 1e-5*math.Abs(float64(ref[i]))+1e-6 {
								t.Fatalf("%s: out[%d][%d] = %v, want %v", name, tk, r, out[i], ref[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulPacked runs MatMul on batches that take the packed path
// (several token tiles, partial row groups) against the row-dot reference.
func TestMatMulPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, typ := range append(append(append([]tensor.DType{}, packedTypes...), packedKTypes...), packed41Types...) {
		packedImplOf(t, typ)
		cols := []int{32, 288, 1536}
		if typ.BlockSize() == 256 {
			cols = []int{256, 1280, 1536}
		}
		for _, cols := range cols {
			for _, rows := range []int{16, 17, 50} {
				for _, n := range []int{impl(typ).packed.minTokens, 16, 17, 40} {
					name := fmt.Sprintf("%s/%dx%d/n=%d", typ, rows, cols, n)
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, n*cols)
					want := refMatMul(w, x, n)
					buf := make([]float32, n*rows+2*guard)
					for i := range buf {
						buf[i] = 12345
					}
					out := buf[guard : guard+n*rows]
					MatMul(out, w, x, n)
					for i := 0; i < guard; i++ {
						if buf[i] != 12345 || buf[len(buf)-1-i] != 12345 {
							t.Fatalf("%s: write outside the output", name)
						}
					}
					mag := magnitudes(dequantRows(t, typ, w.Data, rows, cols), activations(t, typ, x, n, cols))
					for i := range want {
						if d := math.Abs(float64(out[i] - want[i])); !(d <= matTol(mag[i])) {
							t.Fatalf("%s: out[%d] = %v, want %v (diff %g)", name, i, out[i], want[i], d)
						}
					}
				}
			}
		}
	}
}
