//go:build !purego

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttnMultiSets checks each multi-query kernel set this CPU can run
// against its own single-query kernels (checkMulti), so that both sets
// are tested on an AVX-512 CPU.
func TestAttnMultiSets(t *testing.T) {
	for _, s := range []struct {
		name string
		ok   bool
		m    *mqSet
	}{{"avx512", hasAVX512, mqAVX512}, {"avx2", hasAVX2, mqAVX2}} {
		t.Run(s.name, func(t *testing.T) {
			if !s.ok {
				t.Skipf("this CPU cannot run the %s kernels", s.name)
			}
			checkMulti(t, s.name, s.m.dotsF16Multi, s.m.vec.dotsF16, s.m.weightedSumF16Multi, s.m.vec.weightedSumF16)
		})
	}
}

// TestAttnMultiAVX2SameBits checks that the AVX2 multi-query kernels give
// the AVX-512 ones' bits, including on special values (infinite, NaN,
// subnormal keys); a NaN may differ in its payload (which operand of an
// addition it came from), as between the single-query sets.
func TestAttnMultiAVX2SameBits(t *testing.T) {
	if !hasAVX512 || !hasAVX2 {
		t.Skip("comparing the AVX2 and AVX-512 sets needs a CPU with both")
	}
	rng := rand.New(rand.NewPCG(63, 64))
	special := []uint16{0x7c00, 0xfc00, 0x7e00, 0x0001, 0x8000, 0x7bff}
	for _, d := range mqDims {
		for _, nq := range []int{1, 2, 3, 4, 5, 6, 7, 9, 16} {
			for _, nk := range []int{1, 4, 5, 16, 19} {
				stride := d + 5
				kv := make([]uint16, (nk-1)*stride+d)
				for i := range kv {
					kv[i] = floatToHalf(float32(rng.NormFloat64()))
					if rng.IntN(50) == 0 {
						kv[i] = special[rng.IntN(len(special))]
					}
				}
				q := randomVec(rng, nq*d)
				roundF16Generic(q)
				o1, o2 := make([]float32, nq*nk), make([]float32, nq*nk)
				mqAVX512.dotsF16Multi(o1, nk, nk, q, nq, kv, stride, 0.3)
				mqAVX2.dotsF16Multi(o2, nk, nk, q, nq, kv, stride, 0.3)
				for i := range o1 {
					if math.Float32bits(o1[i]) != math.Float32bits(o2[i]) && !(o1[i] != o1[i] && o2[i] != o2[i]) {
						t.Fatalf("dots d=%d nq=%d nk=%d: [%d] avx2 %v, avx512 %v", d, nq, nk, i, o2[i], o1[i])
					}
				}
				p := randomVec(rng, nq*nk)
				w1, w2 := randomVec(rng, nq*d), make([]float32, nq*d)
				copy(w2, w1)
				mqAVX512.weightedSumF16Multi(w1, nq, p, nk, nk, kv, stride)
				mqAVX2.weightedSumF16Multi(w2, nq, p, nk, nk, kv, stride)
				for i := range w1 {
					if math.Float32bits(w1[i]) != math.Float32bits(w2[i]) && !(w1[i] != w1[i] && w2[i] != w2[i]) {
						t.Fatalf("weighted sum d=%d nq=%d nk=%d: [%d] avx2 %v, avx512 %v", d, nq, nk, i, w2[i], w1[i])
					}
				}
			}
		}
	}
}
