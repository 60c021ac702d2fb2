package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Element-by-element transcriptions of ggml's ggml_vec_dot_iq*_q8_K_generic
// (one product per element, signs applied per product), kept as the
// oracle for the lane-multiply reference kernels of dot_iq_generic.go:
// their integer sums are exact and their float operations the same, so the
// two must agree to the bit.

// iqSigns is ggml's ksigns_iq2xs: 7 stored sign bits plus an even-parity
// eighth.
var iqSigns = func() (t [128]uint8) {
	for i := range t {
		s := uint8(i)
		p := s ^ s>>4
		p ^= p >> 2
		p ^= p >> 1
		t[i] = s | (p&1)<<7
	}
	return t
}()

// group8 is Σ_j g_j·s_j·q_j element by element.
func group8(g uint64, s uint8, q []byte) int32 {
	q = q[:8]
	var sum int32
	for j := 0; j < 8; j++ {
		p := int32(uint8(g>>(8*j))) * int32(int8(q[j]))
		m := -int32(s >> j & 1)
		sum += (p ^ m) - m
	}
	return sum
}

// group4x2 is group8 for two 4-element entries.
func group4x2(g1, g2 uint32, s uint8, q []byte) int32 {
	q = q[:8]
	var sum int32
	for j := 0; j < 4; j++ {
		p := int32(uint8(g1>>(8*j))) * int32(int8(q[j]))
		m := -int32(s >> j & 1)
		sum += (p ^ m) - m
		p = int32(uint8(g2>>(8*j))) * int32(int8(q[j+4]))
		m = -int32(s >> (j + 4) & 1)
		sum += (p ^ m) - m
	}
	return sum
}

// groupIQ1 is Σ_j g_j·q_j for a signed IQ1 entry.
func groupIQ1(g uint64, q []byte) int32 {
	q = q[:8]
	var sum int32
	for j := 0; j < 8; j++ {
		sum += int32(int8(g>>(8*j))) * int32(int8(q[j]))
	}
	return sum
}

func dotIQ2_XXSScalar(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*66:b*66+66], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			q := wb[2+8*ib : 10+8*ib]
			aux := binary.LittleEndian.Uint32(q[4:])
			var s int32
			for l := 0; l < 4; l++ {
				s += group8(tensor.GridIQ2_XXS[q[l]], iqSigns[aux>>(7*l)&127], q8[32*ib+8*l:])
			}
			bsum += s * int32(2*(aux>>28)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return 0.125 * sum
}

func dotIQ2_XSScalar(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*74:b*74+74], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			sc := wb[66+ib]
			var s1, s2 int32
			for l := 0; l < 4; l++ {
				q := binary.LittleEndian.Uint16(wb[2+8*ib+2*l:])
				v := group8(tensor.GridIQ2_XS[q&511], iqSigns[q>>9], q8[32*ib+8*l:])
				if l < 2 {
					s1 += v
				} else {
					s2 += v
				}
			}
			bsum += s1*int32(2*(sc&15)+1) + s2*int32(2*(sc>>4)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return 0.125 * sum
}

func dotIQ2_SScalar(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*82:b*82+82], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		qs, signs, qh, scales := wb[2:34], wb[34:66], wb[66:74], wb[74:82]
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			var s1, s2 int32
			for l := 0; l < 4; l++ {
				idx := uint16(qs[4*ib+l]) | uint16(qh[ib])<<(8-2*l)&0x300
				v := group8(tensor.GridIQ2_S[idx], signs[4*ib+l], q8[32*ib+8*l:])
				if l < 2 {
					s1 += v
				} else {
					s2 += v
				}
			}
			bsum += s1*int32(2*(scales[ib]&15)+1) + s2*int32(2*(scales[ib]>>4)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return 0.125 * sum
}

func dotIQ3_XXSScalar(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*98:b*98+98], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		qs := wb[2:66]
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			aux := binary.LittleEndian.Uint32(wb[66+4*ib:])
			var s int32
			for l := 0; l < 4; l++ {
				k := 8*ib + 2*l
				s += group4x2(tensor.GridIQ3_XXS[qs[k]], tensor.GridIQ3_XXS[qs[k+1]], iqSigns[aux>>(7*l)&127], q8[32*ib+8*l:])
			}
			bsum += s * int32(2*(aux>>28)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return 0.25 * sum
}

func dotIQ3_SScalar(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*110:b*110+110], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		qs, qh, signs, scales := wb[2:66], wb[66:74], wb[74:106], wb[106:110]
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			var s int32
			for l := 0; l < 4; l++ {
				k := 8*ib + 2*l
				i1 := uint16(qs[k]) | uint16(qh[ib]>>(2*l)&1)<<8
				i2 := uint16(qs[k+1]) | uint16(qh[ib]>>(2*l+1)&1)<<8
				s += group4x2(tensor.GridIQ3_S[i1], tensor.GridIQ3_S[i2], signs[4*ib+l], q8[32*ib+8*l:])
			}
			bsum += s * int32(2*(scales[ib/2]>>(4*(ib%2))&15)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return sum
}

func dotIQ1_SScalar(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*50:b*50+50], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		qs := wb[2:34]
		var sumi, sumi1 int32
		for ib := 0; ib < 8; ib++ {
			qh := binary.LittleEndian.Uint16(wb[34+2*ib:])
			ls := int32(2*(qh>>12&7) + 1)
			var lsum int32
			for l := 0; l < 4; l++ {
				idx := uint16(qs[4*ib+l]) | (qh>>(3*l)&7)<<8
				lsum += groupIQ1(tensor.GridIQ1_S[idx], q8[32*ib+8*l:])
			}
			bs := q8KBsum(ab, 2*ib) + q8KBsum(ab, 2*ib+1)
			if qh&0x8000 != 0 {
				bs = -bs
			}
			sumi += ls * lsum
			sumi1 += ls * bs
		}
		sum += h2f(wb) * dy * (float32(sumi) + 0.125*float32(sumi1))
	}
	return sum
}

func dotIQ1_MScalar(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*56:b*56+56], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		qs, qh, scales := wb[0:32], wb[32:48], wb[48:56]
		var dh uint16
		for i := 0; i < 4; i++ {
			dh |= uint16(scales[2*i+1]>>4) << (4 * i)
		}
		var sumi1, sumi2 int32
		for ib := 0; ib < 8; ib++ {
			sc := binary.LittleEndian.Uint16(scales[2*(ib/2):])
			shift := 6 * (ib % 2)
			ls := [2]int32{int32(2*(sc>>shift&7) + 1), int32(2*(sc>>(shift+3)&7) + 1)}
			for l := 0; l < 4; l++ {
				h := qh[2*ib+l/2] >> (4 * (l % 2))
				idx := uint16(qs[4*ib+l]) | uint16(h&7)<<8
				g := q8[32*ib+8*l : 32*ib+8*l+8]
				var s2 int32
				for _, v := range g {
					s2 += int32(int8(v))
				}
				if h&8 != 0 {
					s2 = -s2
				}
				sumi1 += ls[l/2] * groupIQ1(tensor.GridIQ1_S[idx], g)
				sumi2 += ls[l/2] * s2
			}
		}
		sum += halfToFloat(dh) * dy * (float32(sumi1) + 0.125*float32(sumi2))
	}
	return sum
}

var iqScalarDots = map[tensor.DType]func(w, a []byte, cols int) float32{
	tensor.IQ2_XXS: dotIQ2_XXSScalar, tensor.IQ2_XS: dotIQ2_XSScalar, tensor.IQ2_S: dotIQ2_SScalar,
	tensor.IQ3_XXS: dotIQ3_XXSScalar, tensor.IQ3_S: dotIQ3_SScalar,
	tensor.IQ1_S: dotIQ1_SScalar, tensor.IQ1_M: dotIQ1_MScalar,
}

// randomQ8K returns nb Q8_K blocks with quants q in [−127, 127] (as
// ggml's quantizer writes them), consistent bsums and scale d, taking
// bytes from src (cycled) when it is not empty.
func randomQ8K(rng *rand.Rand, src []byte, nb int, d float32) []byte {
	a := make([]byte, nb*292)
	for b := 0; b < nb; b++ {
		blk := a[b*292 : (b+1)*292]
		binary.LittleEndian.PutUint32(blk, math.Float32bits(d))
		for j := 0; j < 256; j++ {
			v := byte(rng.IntN(256))
			if len(src) > 0 {
				v = src[(b*256+j)%len(src)] ^ byte(j)
			}
			if v == 0x80 {
				v = 0x81
			}
			blk[4+j] = v
		}
		for g := 0; g < 16; g++ {
			var s int16
			for j := 0; j < 16; j++ {
				s += int16(int8(blk[4+16*g+j]))
			}
			binary.LittleEndian.PutUint16(blk[260+2*g:], uint16(s))
		}
	}
	return a
}

func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// TestIQDotsMatchScalar demands bit-identical results from the lane-multiply
// kernels and the element-by-element transcriptions, on random blocks with
// every scale, sign, index and delta bit exercised, including extreme
// activations (all +127 or all −127) that stress the lane sums.
func TestIQDotsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	for _, typ := range iqTypes {
		for _, nb := range []int{1, 2, 7} {
			for rep := 0; rep < 40; rep++ {
				w := randomMat(rng, typ, 1, 256*nb).Data
				a := randomQ8K(rng, nil, nb, float32(rng.NormFloat64()))
				switch rep {
				case 0, 1: // all +127 / all −127 quants
					v := byte(127)
					if rep == 1 {
						v = 0x81
					}
					for b := 0; b < nb; b++ {
						for j := 0; j < 256; j++ {
							a[b*292+4+j] = v
						}
						for g := 0; g < 16; g++ {
							binary.LittleEndian.PutUint16(a[b*292+260+2*g:], uint16(16*int16(int8(v))))
						}
					}
				}
				got := genericTable()[typ].dot(w, a, 256*nb)
				want := iqScalarDots[typ](w, a, 256*nb)
				if !sameBits(got, want) {
					t.Fatalf("%v, %d blocks, rep %d: got %v, element-by-element %v", typ, nb, rep, got, want)
				}
			}
		}
	}
}

// FuzzIQDot checks the lane-multiply kernels against the element-by-element
// transcriptions (bit for bit) on weight and activation bytes from the
// fuzzer: any scale bits, Q8_K quants in [−127, 127].
func FuzzIQDot(f *testing.F) {
	f.Add(uint8(0), uint8(1), []byte("seed"))
	f.Add(uint8(6), uint8(2), make([]byte, 200))
	f.Add(uint8(5), uint8(3), []byte{0xff, 0x7f, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, ti, nb8 uint8, data []byte) {
		typ := iqTypes[int(ti)%len(iqTypes)]
		nb := int(nb8%4) + 1
		ts := typ.TypeSize()
		w := make([]byte, nb*ts)
		for i := range w {
			if len(data) > 0 {
				w[i] = data[i%len(data)] ^ byte(i*37)
			}
		}
		rng := rand.New(rand.NewPCG(uint64(len(data)), uint64(ti)))
		d := float32(1e-3)
		if len(data) >= 4 {
			d = math.Float32frombits(binary.LittleEndian.Uint32(data))
		}
		a := randomQ8K(rng, data, nb, d)
		got := genericTable()[typ].dot(w, a, 256*nb)
		want := iqScalarDots[typ](w, a, 256*nb)
		if !sameBits(got, want) {
			t.Fatalf("%v, %d blocks: got %v, element-by-element %v", typ, nb, got, want)
		}
	})
}
