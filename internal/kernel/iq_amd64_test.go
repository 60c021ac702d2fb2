//go:build !purego

package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// iqGenericDots are the reference row dots of the types in iqTiles.
var iqGenericDots = map[tensor.DType]func(w, a []byte, cols int) float32{
	tensor.IQ2_XXS: dotIQ2_XXSGeneric,
	tensor.IQ1_S:   dotIQ1_SGeneric,
	tensor.IQ1_M:   dotIQ1_MGeneric,
	tensor.IQ2_XS:  dotIQ2_XSGeneric,
	tensor.IQ2_S:   dotIQ2_SGeneric,
	tensor.IQ3_XXS: dotIQ3_XXSGeneric,
	tensor.IQ3_S:   dotIQ3_SGeneric,
}

// TestIQTilesEveryBit runs each codebook kernel (1 row × 1..4 tokens) on
// one block, then again with each bit of the block but its f16 d flipped
// in turn (grid indices, signs, scales, delta signs), and compares every
// output with the generic dot, and bit for bit with the i-quant order's
// (dotIQOrdered): a kernel that reads any field bit wrong disagrees on
// that flip.
func TestIQTilesEveryBit(t *testing.T) {
	if !hasIQTiles {
		t.Skip("no AVX-512 VNNI and BMI2")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for typ, ts := range iqTiles {
		ref := iqGenericDots[typ]
		if ref == nil {
			t.Fatalf("%v: no generic dot listed", typ)
		}
		for T := 1; T <= 4; T++ {
			if ts.fn[1][T] == nil {
				continue
			}
			t.Run(fmt.Sprintf("%v/1x%d", typ, T), func(t *testing.T) {
				a := make([]byte, T*292)
				for k := 0; k < T; k++ {
					quantizeRowQ8_KGeneric(a[k*292:(k+1)*292], randomVec(rng, 256))
				}
				w := make([]byte, ts.wBlock)
				for i := range w {
					w[i] = byte(rng.Uint32())
				}
				// d = 0.1, kept: its bits are not flipped.
				isD := func(i, b int) bool { return i < 2 }
				if typ == tensor.IQ1_M {
					putIQ1MScale(w, 0x2e66)
					isD = func(i, b int) bool { return i >= 48 && i%2 == 1 && b >= 4 }
				} else {
					binary.LittleEndian.PutUint16(w, 0x2e66)
				}
				ad := dequantRows(t, tensor.Q8_K, a, T, 256)
				check := func(what string) {
					out := make([]float32, T)
					ts.block(out, 1, w, ts.wBlock, a, 292, 1, T, 256)
					mag := magnitudes(dequantRows(t, typ, w, 1, 256), ad)
					for k := 0; k < T; k++ {
						want := ref(w, a[k*292:], 256)
						if d := math.Abs(float64(out[k] - want)); !(d <= iqDotTol(mag[k])) {
							t.Fatalf("%s: token %d: kernel %v, generic %v", what, k, out[k], want)
						}
						if o := dotIQOrdered(typ, w, a[k*292:], 256); math.Float32bits(out[k]) != math.Float32bits(o) {
							t.Fatalf("%s: token %d: kernel %v, i-quant order %v", what, k, out[k], o)
						}
					}
				}
				check("random block")
				for i := range w {
					for b := 0; b < 8; b++ {
						if isD(i, b) {
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

// iqTileTypes are the keys of iqTiles in a fixed order, for the fuzzer.
var iqTileTypes = []tensor.DType{
	tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ3_XXS, tensor.IQ3_S, tensor.IQ1_S, tensor.IQ1_M,
}

// FuzzIQTiles runs the codebook kernels (1 row × 1..4 tokens, 1..4 blocks)
// on weight and Q8_K bytes from the fuzzer (any field bits, a finite f16
// d) and compares with the generic dots within iqDotTol of Σ|w·a|.
func FuzzIQTiles(f *testing.F) {
	if !hasIQTiles {
		f.Skip("no AVX-512 VNNI and BMI2")
	}
	f.Add(uint8(0), uint8(1), uint8(3), []byte("seed"))
	f.Add(uint8(5), uint8(2), uint8(0), make([]byte, 300))
	f.Add(uint8(6), uint8(3), uint8(1), []byte{0xff, 0x7f, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, ti, nb8, t8 uint8, data []byte) {
		typ := iqTileTypes[int(ti)%len(iqTileTypes)]
		ts := iqTiles[typ]
		nb, T := int(nb8%4)+1, int(t8%4)+1
		w := make([]byte, nb*ts.wBlock)
		for i := range w {
			if len(data) > 0 {
				w[i] = data[(i*7)%len(data)] ^ byte(i*37)
			}
		}
		for b := 0; b < nb; b++ {
			blk := w[b*ts.wBlock:]
			h := uint16(0x2e66)
			if len(data) >= 2 {
				h = binary.LittleEndian.Uint16(data) &^ 0x4000 // finite
			}
			if typ == tensor.IQ1_M {
				putIQ1MScale(blk, h)
			} else {
				binary.LittleEndian.PutUint16(blk, h)
			}
		}
		rng := rand.New(rand.NewPCG(uint64(len(data)), uint64(ti)))
		a := randomQ8K(rng, data, nb*T, 1e-3)
		cols := 256 * nb
		out := make([]float32, T)
		ts.block(out, 1, w, len(w), a, nb*292, 1, T, cols)
		mag := magnitudes(dequantRows(t, typ, w, 1, cols), dequantRows(t, tensor.Q8_K, a, T, cols))
		for k := 0; k < T; k++ {
			want := iqGenericDots[typ](w, a[k*nb*292:], cols)
			if d := math.Abs(float64(out[k] - want)); !(d <= iqDotTol(mag[k])) {
				t.Fatalf("%v, %d blocks, token %d of %d: kernel %v, generic %v", typ, nb, k, T, out[k], want)
			}
		}
	})
}
