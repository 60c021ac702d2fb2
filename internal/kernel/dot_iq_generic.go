package kernel

import (
	"encoding/binary"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Row dots of the codebook types against Q8_K activations (simple version).

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

func groupIQ1(g uint64, q []byte) int32 {
	q = q[:8]
	var sum int32
	for j := 0; j < 8; j++ {
		sum += int32(int8(g>>(8*j))) * int32(int8(q[j]))
	}
	return sum
}

func dotIQ2_XXSGeneric(w, a []byte, cols int) float32 {
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

func dotIQ2_XSGeneric(w, a []byte, cols int) float32 {
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

func dotIQ2_SGeneric(w, a []byte, cols int) float32 {
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

func dotIQ3_XXSGeneric(w, a []byte, cols int) float32 {
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

func dotIQ3_SGeneric(w, a []byte, cols int) float32 {
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

func dotIQ1_SGeneric(w, a []byte, cols int) float32 {
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

func dotIQ1_MGeneric(w, a []byte, cols int) float32 {
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
