package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// mqGuard marks output elements a kernel must not write.
const mqGuard = 0x7fc0dead

type (
	dotsMultiFunc func(out []float32, ostride, nk int, q []float32, nq int, keys []uint16, stride int, scale float32)
	dotsOneFunc   func(out, q []float32, keys []uint16, stride int, scale float32)
	wsumMultiFunc func(out []float32, nq int, p []float32, pstride, nk int, values []uint16, stride int)
	wsumOneFunc   func(out, p []float32, values []uint16, stride int)
)

// mqDims are the head sizes of the multi-query tests: below, at and around
// the 16-element steps and the 64-column blocks, and MLA's 288 and 576.
var mqDims = []int{1, 7, 16, 32, 40, 48, 64, 80, 128, 136, 288, 576}

var mqKeys = []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 64, 70}

// checkMulti checks that dotsM and wsumM give every query bit for bit the
// results of dots1 and wsum1 called for that query alone, for 1–9 queries,
// awkward key counts and head sizes, the keys in one call or split into
// pages (7 or 16 rows, the last one short), and that they write nothing
// outside their outputs.
func checkMulti(t *testing.T, name string, dotsM dotsMultiFunc, dots1 dotsOneFunc, wsumM wsumMultiFunc, wsum1 wsumOneFunc) {
	t.Helper()
	rng := rand.New(rand.NewPCG(61, 62))
	for _, d := range mqDims {
		for nq := 1; nq <= 9; nq++ {
			for _, nk := range mqKeys {
				stride := 2*d + 3
				kv := make([]uint16, (nk-1)*stride+d)
				for i := range kv {
					kv[i] = floatToHalf(float32(rng.NormFloat64()))
				}
				// q and p are not rounded to f16: the products are not
				// exact, so that a missing FMA shows
				q := randomVec(rng, nq*d)
				p := randomVec(rng, nq*(nk+2))
				init := randomVec(rng, nq*d)
				for _, page := range []int{nk, 16, 7} {
					what := fmt.Sprintf("%s d=%d nq=%d nk=%d page=%d", name, d, nq, nk, page)
					// scores: rows ostride = nk+3 apart, guards between and around
					ostride := nk + 3
					buf := make([]float32, nq*ostride+8)
					for i := range buf {
						buf[i] = math.Float32frombits(mqGuard)
					}
					got := buf[4 : 4+nq*ostride]
					for p0 := 0; p0 < nk; p0 += page {
						n := min(page, nk-p0)
						dotsM(got[p0:], ostride, n, q, nq, kv[p0*stride:], stride, 0.125)
					}
					want := make([]float32, nk)
					for r := range nq {
						dots1(want, q[r*d:(r+1)*d], kv, stride, 0.125)
						for j := range nk {
							if g := got[r*ostride+j]; math.Float32bits(g) != math.Float32bits(want[j]) {
								t.Fatalf("%s: dots query %d key %d = %v, want %v (single query)", what, r, j, g, want[j])
							}
						}
					}
					for i, v := range buf {
						if rel := i - 4; (rel < 0 || rel >= nq*ostride || rel%ostride >= nk) && math.Float32bits(v) != mqGuard {
							t.Fatalf("%s: dots wrote %v at guard %d", what, v, rel)
						}
					}

					// weighted sums: out [nq][d] with guards around it
					wbuf := make([]float32, nq*d+8)
					for i := range wbuf {
						wbuf[i] = math.Float32frombits(mqGuard)
					}
					wgot := wbuf[4 : 4+nq*d]
					copy(wgot, init)
					pstride := nk + 2
					for p0 := 0; p0 < nk; p0 += page {
						n := min(page, nk-p0)
						wsumM(wgot, nq, p[p0:], pstride, n, kv[p0*stride:], stride)
					}
					wwant := make([]float32, d)
					for r := range nq {
						copy(wwant, init[r*d:(r+1)*d])
						for p0 := 0; p0 < nk; p0 += page {
							n := min(page, nk-p0)
							wsum1(wwant, p[r*pstride+p0:r*pstride+p0+n], kv[p0*stride:], stride)
						}
						for i := range d {
							if g := wgot[r*d+i]; math.Float32bits(g) != math.Float32bits(wwant[i]) {
								t.Fatalf("%s: weighted sum query %d column %d = %v, want %v (single query)", what, r, i, g, wwant[i])
							}
						}
					}
					for i := range 4 {
						if math.Float32bits(wbuf[i]) != mqGuard || math.Float32bits(wbuf[len(wbuf)-1-i]) != mqGuard {
							t.Fatalf("%s: weighted sum wrote past its output", what)
						}
					}
				}
			}
		}
	}
}

// TestAttnMulti checks DotsF16Multi and AddWeightedSumF16Multi against
// DotsF16 and AddWeightedSumF16 one query at a time, bit for bit, with the
// kernels this build dispatches to (`make avx2` and `make purego` run the
// other sets).
func TestAttnMulti(t *testing.T) {
	checkMulti(t, "dispatched", DotsF16Multi, DotsF16, AddWeightedSumF16Multi, AddWeightedSumF16)
}

// TestAttnMultiPanics checks the shape checks of the multi-query kernels.
func TestAttnMultiPanics(t *testing.T) {
	q := make([]float32, 2*16)
	kv := make([]uint16, 4*16)
	out := make([]float32, 2*4)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"q not nq rows", func() { DotsF16Multi(out, 4, 4, q[:31], 2, kv, 16, 1) }},
		{"out short", func() { DotsF16Multi(out[:7], 4, 4, q, 2, kv, 16, 1) }},
		{"ostride < nk", func() { DotsF16Multi(out, 3, 4, q, 2, kv, 16, 1) }},
		{"keys short", func() { DotsF16Multi(out, 4, 4, q, 2, kv[:63], 16, 1) }},
		{"wsum out not nq rows", func() { AddWeightedSumF16Multi(q[:31], 2, out, 4, 4, kv, 16) }},
		{"p short", func() { AddWeightedSumF16Multi(q, 2, out[:7], 4, 4, kv, 16) }},
		{"values short", func() { AddWeightedSumF16Multi(q, 2, out, 4, 4, kv[:63], 16) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.f()
		})
	}
}

// FuzzAttnMulti checks that DotsF16Multi and AddWeightedSumF16Multi give
// each query bit for bit the single-query kernels' results on finite f16
// rows and queries from the fuzzer's bytes.
func FuzzAttnMulti(f *testing.F) {
	f.Add([]byte("seed"), uint8(5), uint8(64), uint8(17), uint8(3))
	f.Add(make([]byte, 64), uint8(4), uint8(128), uint8(16), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, nq8, d8, nk8, pad8 uint8) {
		nq, d, nk := int(nq8)%9+1, int(d8)%160+1, int(nk8)%40+1
		stride := d + int(pad8%5)
		half := func(i int) uint16 {
			if len(data) == 0 {
				return uint16(i * 40503)
			}
			return (uint16(data[(2*i)%len(data)]) | uint16(data[(2*i+1)%len(data)])<<8 ^ uint16(i*40503)) &^ 0x4000 // finite, |v| < 2
		}
		kv := make([]uint16, (nk-1)*stride+d)
		for i := range kv {
			kv[i] = half(i)
		}
		q, p := make([]float32, nq*d), make([]float32, nq*nk)
		for i := range q {
			q[i] = halfToFloat(half(len(kv) + i))
		}
		for i := range p {
			p[i] = halfToFloat(half(len(kv)+len(q)+i)) / 2
		}
		got := make([]float32, nq*nk)
		DotsF16Multi(got, nk, nk, q, nq, kv, stride, 0.5)
		gotV := make([]float32, nq*d)
		AddWeightedSumF16Multi(gotV, nq, p, nk, nk, kv, stride)
		want, wantV := make([]float32, nk), make([]float32, d)
		for r := range nq {
			DotsF16(want, q[r*d:(r+1)*d], kv, stride, 0.5)
			WeightedSumF16(wantV, p[r*nk:(r+1)*nk], kv, stride)
			for j := range nk {
				if math.Float32bits(got[r*nk+j]) != math.Float32bits(want[j]) {
					t.Fatalf("DotsF16Multi nq=%d d=%d nk=%d: query %d key %d = %v, want %v", nq, d, nk, r, j, got[r*nk+j], want[j])
				}
			}
			for i := range d {
				if math.Float32bits(gotV[r*d+i]) != math.Float32bits(wantV[i]) {
					t.Fatalf("AddWeightedSumF16Multi nq=%d d=%d nk=%d: query %d column %d = %v, want %v", nq, d, nk, r, i, gotV[r*d+i], wantV[i])
				}
			}
		}
	})
}
