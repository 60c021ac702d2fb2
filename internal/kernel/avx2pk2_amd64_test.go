//go:build !purego

package kernel

import (
	"fmt"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"math"
	"math/rand/v2"
	"testing"
)

// a2qInputs returns the activation rows of the quantizer tests (256·nb
// floats each): random at several magnitudes, zeros, lone values, ties at
// .5 of the rounding, subnormals beside normal maxima, huge values, and
// blocks whose maximum comes twice with either sign.
func a2qInputs(rng *rand.Rand, nb int) map[string][]float32 {
	in := map[string][]float32{}
	row := func(f func(i int) float32) []float32 {
		x := make([]float32, 256*nb)
		for i := range x {
			x[i] = f(i)
		}
		return x
	}
	for _, s := range []float32{1, 1e-3, 40, 1e-30, 1e30, 3e38} {
		in[fmt.Sprintf("random×%g", s)] = row(func(int) float32 { return float32(rng.NormFloat64()) * s })
	}
	in["zeros"] = row(func(int) float32 { return 0 })
	in["negative zeros"] = row(func(int) float32 { return float32(math.Copysign(0, -1)) })
	in["lone"] = row(func(i int) float32 {
		if i%256 == 77 {
			return -3.5
		}
		return 0
	})
	// max −127 (iscale 1) or 127 (iscale −1): every other value is k + .5.
	in["ties"] = row(func(i int) float32 {
		switch i % 256 {
		case 5:
			return []float32{-127, 127}[i/256%2]
		}
		return float32(rng.IntN(253)-126) + 0.5
	})
	in["subnormals"] = row(func(i int) float32 {
		if i%256 == 200 {
			return 1e-3
		}
		return math.Float32frombits(uint32(rng.IntN(1<<23))) * float32(1-2*rng.IntN(2))
	})
	// largest magnitude below ~3.7e-37: −127/max overflows to ±Inf.
	in["tiny"] = row(func(i int) float32 {
		return float32(rng.NormFloat64()) * 1e-38
	})
	in["huge"] = row(func(int) float32 { return math.MaxFloat32 * float32(rng.Float64()*2-1) })
	in["max twice"] = row(func(i int) float32 {
		switch i % 256 {
		case 9:
			return 2.5
		case 130:
			return -2.5
		}
		return float32(rng.Float64()*4 - 2)
	})
	return in
}

// TestAVX2Quant checks the AVX2 Q8_K quantizers byte for byte against the
// Go references (quantizeRowQ8_KGeneric, quantQ8_KxGo, quantQ8_KxIQGo) and,
// where the CPU has them, the AVX-512 ones, with the bytes between the
// strided blocks and after the row untouched.
func TestAVX2Quant(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2/FMA/F16C on this CPU")
	}
	rng := rand.New(rand.NewPCG(120, 121))
	for _, nb := range []int{1, 2, 5} {
		for name, x := range a2qInputs(rng, nb) {
			// Row quantizer.
			want := make([]byte, 292*nb)
			quantizeRowQ8_KGeneric(want, x)
			got := make([]byte, 292*nb+32)
			for i := range got {
				got[i] = 0xa5
			}
			quantizeRowQ8_KAVX2(got[:292*nb], x)
			if i := byteDiff(got[:292*nb], want); i >= 0 {
				t.Fatalf("%s nb=%d: quantizeRowQ8_KAVX2 byte %d of block %d = %d, want %d", name, nb, i%292, i/292, got[i], want[i])
			}
			for _, b := range got[292*nb:] {
				if b != 0xa5 {
					t.Fatalf("%s nb=%d: quantizeRowQ8_KAVX2 writes past the row", name, nb)
				}
			}
			if hasAVX512 {
				quantizeRowQ8_KAVX512(want, x)
				if i := byteDiff(got[:292*nb], want); i >= 0 {
					t.Fatalf("%s nb=%d: quantizeRowQ8_KAVX2 byte %d = %d, AVX-512 %d", name, nb, i, got[i], want[i])
				}
			}
			// Interleaved K activations.
			const stride = 3 * actKBytes
			for _, c := range []struct {
				name      string
				avx2, ref func(x *float32, out *byte, nb int, stride int, negk int)
				negk      int
			}{
				{"K", quantQ8_KxAVX2, quantQ8_KxGo, 0},
				{"K3", quantQ8_KxAVX2, quantQ8_KxGo, -124},
				{"IQ k=32", quantQ8_KxIQAVX2, quantQ8_KxIQGo, -32},
				{"IQ k=64", quantQ8_KxIQAVX2, quantQ8_KxIQGo, -64},
			} {
				n := (nb-1)*stride + actKBytes
				want := make([]byte, n)
				c.ref(&x[0], &want[0], nb, stride, c.negk)
				got := make([]byte, n+32)
				for i := range got {
					got[i] = 0xa5
				}
				c.avx2(&x[0], &got[0], nb, stride, c.negk)
				for b := range nb {
					o := b * stride
					if i := byteDiff(got[o:o+actKBytes], want[o:o+actKBytes]); i >= 0 {
						t.Fatalf("%s nb=%d %s: block %d byte %d = %d, want %d", name, nb, c.name, b, i, got[o+i], want[o+i])
					}
					end := o + stride
					if b == nb-1 {
						end = len(got)
					}
					for _, v := range got[o+actKBytes : end] {
						if v != 0xa5 {
							t.Fatalf("%s nb=%d %s: writes past block %d", name, nb, c.name, b)
						}
					}
				}
				if hasVNNI {
					avx512 := quantQ8_KxAVX512
					if c.name[0] == 'I' {
						avx512 = quantQ8_KxIQAVX512
					}
					avx512(&x[0], &want[0], nb, stride, c.negk)
					for b := range nb {
						o := b * stride
						if i := byteDiff(got[o:o+actKBytes], want[o:o+actKBytes]); i >= 0 {
							t.Fatalf("%s nb=%d %s: block %d byte %d = %d, AVX-512 %d", name, nb, c.name, b, i, got[o+i], want[o+i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkAVX2Quant measures the Q8_K activation quantizers of the avx2
// set against the Go reference: one token of 1536 floats.
func BenchmarkAVX2Quant(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2")
	}
	const nb = 6
	x := randomVec(rand.New(rand.NewPCG(1, 2)), 256*nb)
	out := make([]byte, nb*actKBytes)
	for _, c := range []struct {
		name string
		f    func(x *float32, out *byte, nb int, stride int, negk int)
	}{{"go", quantQ8_KxGo}, {"avx2", quantQ8_KxAVX2}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(4 * 256 * nb)
			for b.Loop() {
				c.f(&x[0], &out[0], nb, actKBytes, 0)
			}
		})
	}
}

// TestAVX2PackIQ checks the AVX2 pack kernels of the codebook i-quants
// byte for byte against packGroupIQGeneric on random blocks and blocks at
// the extremes (every byte 0x00, 0xff, 0x55, 0xaa but the f16 scales),
// with a guard band behind the packed blocks.
func TestAVX2PackIQ(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2/FMA/F16C on this CPU")
	}
	rng := rand.New(rand.NewPCG(122, 123))
	for typ, pack := range a2IQPacks {
		for _, fill := range []int{-1, -1, 0x00, 0xff, 0x55, 0xaa} {
			for _, nb := range []int{1, 3} {
				w := randomMat(rng, typ, packRows, 256*nb+256) // a wider stride than the packed blocks
				if fill >= 0 {
					a2pFill(w, byte(fill))
				}
				const bb = a2pQ6Bytes
				want := make([]byte, nb*bb)
				packGroupIQGeneric(typ, w.Data, w.RowBytes(), packRows, nb, want)
				got := make([]byte, nb*bb+64)
				for i := range got {
					got[i] = 0xa5
				}
				pack(&w.Data[0], w.RowBytes(), nb, &got[0])
				if i := byteDiff(got[:len(want)], want); i >= 0 {
					t.Fatalf("%s fill %#x nb=%d: byte %d of block %d = %#x, want %#x", typ, fill, nb, i%bb, i/bb, got[i], want[i])
				}
				for _, b := range got[len(want):] {
					if b != 0xa5 {
						t.Fatalf("%s: pack writes past the group", typ)
					}
				}
			}
		}
	}
}

// BenchmarkAVX2PackIQ measures the AVX2 pack kernels against the Go pack
// they replace: one group of 16 rows × 1536 columns from cache; ns per
// row and block = ns/op / 96.
func BenchmarkAVX2PackIQ(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(124, 125))
	const nb = 6
	for _, typ := range []tensor.DType{tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ3_XXS, tensor.IQ3_S, tensor.IQ1_S, tensor.IQ1_M} {
		w := randomMat(rng, typ, packRows, 256*nb)
		dst := make([]byte, nb*a2pQ6Bytes)
		for _, c := range []struct {
			name string
			f    func(w *byte, ws int, nb int, dst *byte)
		}{{"go", packIQGo(typ)}, {"avx2", a2IQPacks[typ]}} {
			b.Run(typ.String()+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					c.f(&w.Data[0], w.RowBytes(), nb, &dst[0])
				}
			})
		}
	}
}
