package tensor

import (
	"encoding/binary"
	"math"
)

// The 3-bit codebook types IQ3_XXS and IQ3_S: 256-element super-blocks of
// eight 32-element sub-blocks, each sub-block four groups of 8 elements
// made of two codebook entries of 4 magnitudes (iq_grids.go) and 8 sign
// bits:
//
//	IQ3_XXS: x = d · (0.5 + s) / 2 · grid[index][j] · sign   (4-bit s per sub-block)
//	IQ3_S:   x = d · (1 + 2s) · grid[index][j] · sign        (4-bit s per pair of sub-blocks)
//
// As for the IQ2 types, every product is exact in float32 and matches
// ggml's dequantize_row_iq3_* bit for bit. Quantization is not supported.

// putGroup4x2 writes the 8 elements of one group from two 4-entry codebook
// words: g1 gives elements 0..3, g2 elements 4..7.
func putGroup4x2(y []float32, db float32, g1, g2 uint32, signs uint8) {
	y = y[:8]
	for j := range 4 {
		v1 := db * float32(uint8(g1>>(8*j)))
		v2 := db * float32(uint8(g2>>(8*j)))
		y[j] = math.Float32frombits(math.Float32bits(v1) ^ uint32(signs>>j&1)<<31)
		y[j+4] = math.Float32frombits(math.Float32bits(v2) ^ uint32(signs>>(j+4)&1)<<31)
	}
}

// dequantizeIQ3_XXS: block = f16 d, qs[64] (8-bit grid indices, index k
// covering elements 4k..4k+3), then one little-endian u32 per sub-block:
// four 7-bit sign indices (group l in bits 7l..7l+6) and the scale s in
// bits 28..31.
func dequantizeIQ3_XXS(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeIQ3XXS : (b+1)*sizeIQ3XXS]
		y := dst[b*256 : (b+1)*256]
		d := half(x)
		qs := x[2:66]
		for ib := range 8 {
			aux := binary.LittleEndian.Uint32(x[66+4*ib:])
			db := d * (0.5 + float32(aux>>28)) * 0.5
			for l := range 4 {
				k := 8*ib + 2*l
				putGroup4x2(y[32*ib+8*l:], db, GridIQ3_XXS[qs[k]], GridIQ3_XXS[qs[k+1]], signsIQ2[aux>>(7*l)&127])
			}
		}
	}
}

// dequantizeIQ3_S: block = f16 d, qs[64] (low 8 bits of the 9-bit grid
// indices, index k covering elements 4k..4k+3), qh[8] (bit k%8 of qh[k/8]
// is bit 8 of index k), signs[32] (one sign byte per group), scales[4]
// (byte i: low nibble for sub-block 2i, high nibble for 2i+1).
func dequantizeIQ3_S(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeIQ3S : (b+1)*sizeIQ3S]
		y := dst[b*256 : (b+1)*256]
		d := half(x)
		qs, qh, signs, scales := x[2:66], x[66:74], x[74:106], x[106:110]
		for ib := range 8 {
			s := scales[ib/2] >> (4 * (ib % 2)) & 15
			db := d * float32(1+2*int32(s))
			for l := range 4 {
				k := 8*ib + 2*l
				i1 := uint16(qs[k]) | uint16(qh[ib]>>(2*l)&1)<<8
				i2 := uint16(qs[k+1]) | uint16(qh[ib]>>(2*l+1)&1)<<8
				putGroup4x2(y[32*ib+8*l:], db, GridIQ3_S[i1], GridIQ3_S[i2], signs[4*ib+l])
			}
		}
	}
}
