//go:build !purego

package kernel

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPacked41Kernels checks the assembly pack and quantize kernels of
// Q4_1 and Q5_1 byte for byte against their references, and the tile
// kernels bit for bit against tilePacked41Generic for every token count,
// with guards around every output.
func TestPacked41Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	for _, typ := range packed41Types {
		im := packedImplOf(t, typ)
		for _, cols := range []int{32, 64, 320} {
			nb := cols / 32
			w := randomMat(rng, typ, packRows, cols)
			ws := w.RowBytes()
			want := make([]byte, nb*packBlockBytes41)
			packGroup41Generic(typ, w.Data, ws, packRows, nb, want)
			got := make([]byte, nb*packBlockBytes41+64)
			for i := range got {
				got[i] = 0xa5
			}
			im.pack(&w.Data[0], ws, nb, &got[0])
			if !bytes.Equal(got[:len(want)], want) {
				t.Fatalf("%s cols=%d: pack differs from packGroup41Generic", typ, cols)
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
			for i := cols; i < cols+32 && i < len(x); i++ { // a large block: s is far from d
				x[i] *= 300
			}
			wantA := make([]byte, nb*stride)
			gotA := make([]byte, nb*stride)
			for tk := range packTokens {
				quantizeRowQ8_1xGeneric(wantA[tk*actBlockBytes:], x[tk*cols:(tk+1)*cols], stride)
				im.quant(&x[tk*cols], &gotA[tk*actBlockBytes], nb, stride, 0)
			}
			if !bytes.Equal(gotA, wantA) {
				t.Fatalf("%s cols=%d: quant differs from quantizeRowQ8_1xGeneric", typ, cols)
			}

			for T := 1; T <= packTokens; T++ {
				for _, rows := range []int{1, 7, 16} {
					name := fmt.Sprintf("%s/cols=%d/T=%d/rows=%d", typ, cols, T, rows)
					const os = packRows + 3
					ref := make([]float32, packTokens*os)
					tilePacked41Generic(want, wantA, stride, nb, T, rows, ref, os)
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
