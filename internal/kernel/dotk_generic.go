package kernel

import (
	"encoding/binary"
	"math"
)

// K-quant and IQ4_XS row dots against Q8_K activations (292-byte blocks:
// d float32, qs [256]int8, bsums [16]int16). In each the integer part of a
// 256-block is exact; the float part is d_w·d_a·isum − dmin_w·d_a·Σ
// min_j·bsum_j, summed over blocks in float32, as ggml's
// ggml_vec_dot_qX_K_q8_K reference (generic) functions.

// q8K returns the scale, quants and group-of-16 sums of a Q8_K block.
func q8K(ab []byte) (d float32, qs []byte) {
	return math.Float32frombits(binary.LittleEndian.Uint32(ab)), ab[4 : 4+256]
}

func q8KBsum(ab []byte, j int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(ab[260+2*j:])))
}

// dotQ2_KGeneric: Q2_K block (84 bytes) = scales [16]byte (low nibble scale,
// high nibble min of each 16-group), qs [64]byte (2-bit, four planes),
// d f16, dmin f16.
func dotQ2_KGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*84:b*84+84], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		sc, q2 := wb[0:16], wb[16:80]
		var summs int32
		for j := 0; j < 16; j++ {
			summs += q8KBsum(ab, j) * int32(sc[j]>>4)
		}
		var isum int32
		is := 0
		for k := 0; k < 2; k++ { // two halves of 128
			for shift := uint(0); shift < 8; shift += 2 {
				for g := 0; g < 2; g++ { // two 16-groups share the 32 bytes
					var s int32
					for l := 16 * g; l < 16*g+16; l++ {
						s += int32(int8(q8[l])) * int32(q2[32*k+l]>>shift&3)
					}
					isum += int32(sc[is]&15) * s
					is++
				}
				q8 = q8[32:]
			}
		}
		dall := dy * h2f(wb[80:])
		dmin := dy * h2f(wb[82:])
		sum += dall*float32(isum) - dmin*float32(summs)
	}
	return sum
}

// q3KScales decodes Q3_K's twelve bytes of packed 6-bit scales into 16
// values (still biased by 32).
func q3KScales(s []byte) (out [16]int32) {
	for j := 0; j < 16; j++ {
		var lo byte
		if j < 8 {
			lo = s[j] & 15
		} else {
			lo = s[j-8] >> 4
		}
		hi := s[8+j%4] >> (2 * (j / 4)) & 3
		out[j] = int32(lo | hi<<4)
	}
	return out
}

// dotQ3_KGeneric: Q3_K block (110 bytes) = hmask [32]byte, qs [64]byte,
// scales [12]byte (16 6-bit scales), d f16. Value = d·(scale−32)·q with
// q = low 2 bits − (4 if the hmask bit is clear).
func dotQ3_KGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*110:b*110+110], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		hm, q3 := wb[0:32], wb[32:96]
		sc := q3KScales(wb[96:108])
		var isum int32
		m := byte(1)
		is := 0
		for k := 0; k < 2; k++ {
			for shift := uint(0); shift < 8; shift += 2 {
				for g := 0; g < 2; g++ {
					var s int32
					for l := 16 * g; l < 16*g+16; l++ {
						v := int32(q3[32*k+l] >> shift & 3)
						if hm[l]&m == 0 {
							v -= 4
						}
						s += int32(int8(q8[l])) * v
					}
					isum += (sc[is] - 32) * s
					is++
				}
				q8 = q8[32:]
				m <<= 1
			}
		}
		sum += (h2f(wb[108:]) * dy) * float32(isum)
	}
	return sum
}

// scaleMinK4 is ggml's get_scale_min_k4: the j-th (0..7) 6-bit scale and
// min of a Q4_K/Q5_K block's 12 packed bytes.
func scaleMinK4(j int, q []byte) (sc, m int32) {
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&15 | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}

// dotQ4_KGeneric: Q4_K block (144 bytes) = d f16, dmin f16, scales [12]byte
// (8 6-bit scales and mins), qs [128]byte; 64-element chunk k uses the low
// nibbles of qs[32k:32k+32] (sub-block 2k) then the high ones (2k+1).
// Value = d·sc·q − dmin·m.
func dotQ4_KGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*144:b*144+144], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		scales, q4 := wb[4:16], wb[16:144]
		var isum, summs int32
		for j := 0; j < 8; j++ {
			sc, m := scaleMinK4(j, scales)
			summs += m * (q8KBsum(ab, 2*j) + q8KBsum(ab, 2*j+1))
			shift := uint(4 * (j & 1))
			qs := q4[32*(j/2) : 32*(j/2)+32]
			var s int32
			for l := 0; l < 32; l++ {
				s += int32(int8(q8[32*j+l])) * int32(qs[l]>>shift&15)
			}
			isum += sc * s
		}
		sum += (h2f(wb)*dy)*float32(isum) - (h2f(wb[2:])*dy)*float32(summs)
	}
	return sum
}

// dotQ5_KGeneric: Q5_K block (176 bytes) = d f16, dmin f16, scales [12]byte,
// qh [32]byte (fifth bit of sub-block j is bit j of qh[l]), qs [128]byte
// laid out as Q4_K.
func dotQ5_KGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*176:b*176+176], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		scales, qh, q4 := wb[4:16], wb[16:48], wb[48:176]
		var isum, summs int32
		for j := 0; j < 8; j++ {
			sc, m := scaleMinK4(j, scales)
			summs += m * (q8KBsum(ab, 2*j) + q8KBsum(ab, 2*j+1))
			shift := uint(4 * (j & 1))
			qs := q4[32*(j/2) : 32*(j/2)+32]
			var s int32
			for l := 0; l < 32; l++ {
				v := int32(qs[l]>>shift&15) | int32(qh[l]>>j&1)<<4
				s += int32(int8(q8[32*j+l])) * v
			}
			isum += sc * s
		}
		sum += (h2f(wb)*dy)*float32(isum) - (h2f(wb[2:])*dy)*float32(summs)
	}
	return sum
}

// dotQ6_KGeneric: Q6_K block (210 bytes) = ql [128]byte, qh [64]byte,
// scales [16]int8, d f16. In each half of 128 values, element l+32i takes
// its low four bits from ql (low nibbles of ql[l], ql[l+32], then high
// nibbles) and its top two from bits 2i of qh[l]; value = d·scale·(q−32).
func dotQ6_KGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*210:b*210+210], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var isum int32
		for h := 0; h < 2; h++ {
			ql, qh := wb[64*h:64*h+64], wb[128+32*h:128+32*h+32]
			for i := 0; i < 4; i++ { // four 32-element quarters of this half
				for g := 0; g < 2; g++ {
					var s int32
					for l := 16 * g; l < 16*g+16; l++ {
						lo := ql[l+32*(i&1)] >> (4 * uint(i/2)) & 15
						hi := qh[l] >> (2 * uint(i)) & 3
						s += int32(int8(q8[128*h+32*i+l])) * (int32(lo|hi<<4) - 32)
					}
					isum += int32(int8(wb[192+8*h+2*i+g])) * s
				}
			}
		}
		sum += (h2f(wb[208:]) * dy) * float32(isum)
	}
	return sum
}

// dotIQ4_XSGeneric: IQ4_XS block (136 bytes) = d f16, scales_h uint16,
// scales_l [4]byte, qs [128]byte. Sub-block j (32 values) has the 6-bit
// scale ls = (scales_l nibble j) | (2 bits j of scales_h)<<4 and values
// d·(ls−32)·iq4nlValues[nibble], nibbles laid out as IQ4_NL per sub-block.
func dotIQ4_XSGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*136:b*136+136], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		sh := binary.LittleEndian.Uint16(wb[2:])
		var isum int32
		for j := 0; j < 8; j++ {
			ls := int32(wb[4+j/2]>>(4*uint(j&1))&15) | int32(sh>>(2*uint(j))&3)<<4
			qs := wb[8+16*j : 8+16*j+16]
			var s int32
			for l := 0; l < 16; l++ {
				s += int32(iq4nlValues[qs[l]&15]) * int32(int8(q8[32*j+l]))
				s += int32(iq4nlValues[qs[l]>>4]) * int32(int8(q8[32*j+16+l]))
			}
			isum += (ls - 32) * s
		}
		sum += (h2f(wb) * dy) * float32(isum)
	}
	return sum
}
