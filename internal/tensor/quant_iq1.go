package tensor

import "encoding/binary"

// The 1-bit-class codebook types IQ1_S and IQ1_M share one codebook of 2048
// entries of 8 values in {−1, 0, +1} (GridIQ1_S) and shift each group by
// ±1/8:
//
//	x = dl · (grid[index][j] + delta),  delta = ±0.125,  dl = d · (2s + 1)
//
// with a 3-bit scale s. IQ1_S has one scale and one delta sign per
// 32-element sub-block; IQ1_M one scale per 16 elements, one delta sign per
// group of 8, and no f16 field: its d is spread over the top nibbles of its
// four scale words. Every product is exact in float32, so the values match
// ggml's dequantize_row_iq1_* bit for bit. Quantization is not supported.

// iq1Delta is ggml's IQ1S_DELTA (and IQ1M_DELTA).
const iq1Delta = 0.125

// putGroupIQ1 writes the 8 elements dl·(grid + delta) of one group.
func putGroupIQ1(y []float32, dl, delta float32, g uint64) {
	y = y[:8]
	for j := range 8 {
		y[j] = dl * (float32(int8(g>>(8*j))) + delta)
	}
}

// dequantizeIQ1_S: block = f16 d, qs[32] (low 8 bits of each group's 11-bit
// index), u16 qh[8] per sub-block: bits 3l..3l+2 are bits 8-10 of group l's
// index, bits 12-14 the scale s, bit 15 the delta sign (set: −1/8).
func dequantizeIQ1_S(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeIQ1S : (b+1)*sizeIQ1S]
		y := dst[b*256 : (b+1)*256]
		d := half(x)
		qs := x[2:34]
		for ib := range 8 {
			qh := binary.LittleEndian.Uint16(x[34+2*ib:])
			dl := d * float32(2*(qh>>12&7)+1)
			delta := float32(iq1Delta)
			if qh&0x8000 != 0 {
				delta = -iq1Delta
			}
			for l := range 4 {
				idx := uint16(qs[4*ib+l]) | (qh>>(3*l)&7)<<8
				putGroupIQ1(y[32*ib+8*l:], dl, delta, GridIQ1_S[idx])
			}
		}
	}
}

// iq1MScale returns the f16 bit pattern of an IQ1_M block's d: nibble i is
// the top nibble of the i-th little-endian u16 of scales.
func iq1MScale(scales []byte) uint16 {
	var h uint16
	for i := range 4 {
		h |= uint16(scales[2*i+1]>>4) << (4 * i)
	}
	return h
}

// dequantizeIQ1_M: block = qs[32] (low 8 bits of each group's index),
// qh[16] (two bytes per sub-block; nibble l%2 of byte l/2 holds bits 8-10
// of group l's index in its low 3 bits and the delta sign in bit 3),
// scales[8] = four u16: word ib/2 holds 3-bit scales for sub-block ib at
// bits 6(ib%2) (groups 0-1) and 6(ib%2)+3 (groups 2-3), and d's nibbles.
func dequantizeIQ1_M(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeIQ1M : (b+1)*sizeIQ1M]
		y := dst[b*256 : (b+1)*256]
		qs, qh, scales := x[0:32], x[32:48], x[48:56]
		d := Float16ToFloat32(iq1MScale(scales))
		for ib := range 8 {
			sc := binary.LittleEndian.Uint16(scales[2*(ib/2):])
			shift := 6 * (ib % 2)
			dl := [2]float32{
				d * float32(2*(sc>>shift&7)+1),
				d * float32(2*(sc>>(shift+3)&7)+1),
			}
			for l := range 4 {
				h := qh[2*ib+l/2] >> (4 * (l % 2))
				idx := uint16(qs[4*ib+l]) | uint16(h&7)<<8
				delta := float32(iq1Delta)
				if h&8 != 0 {
					delta = -iq1Delta
				}
				putGroupIQ1(y[32*ib+8*l:], dl[l/2], delta, GridIQ1_S[idx])
			}
		}
	}
}
