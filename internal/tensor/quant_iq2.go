package tensor

//go:generate go run ./internal/gengrids

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// The codebook ("grid") types IQ2_XXS, IQ2_XS and IQ2_S: 256-element
// super-blocks of eight 32-element sub-blocks, each sub-block four groups
// of 8 elements. A group stores an index into a codebook of 8 magnitudes
// (iq_grids.go) and 8 sign bits; a sub-block (or half sub-block) has a
// 4-bit scale s, and the element value is
//
//	x = d · (0.5 + s) / 4 · grid[index][j] · (−1 if sign bit j is set)
//
// ggml's dequantize_row_iq2_* compute the same products in the same order;
// every one of them is exact in float32 (a 16-bit scale times a 6-bit
// magnitude), so the values match ggml's bit for bit. Quantizing to these
// types needs an importance matrix in ggml and is not supported here.

// signsIQ2 expands a 7-bit sign index (IQ2_XXS, IQ2_XS, IQ3_XXS) to the 8
// sign bits of a group: the low 7 bits as stored, bit 7 chosen so that the
// number of negative elements is even (ggml's ksigns_iq2xs).
var signsIQ2 = func() (t [128]uint8) {
	for i := range t {
		t[i] = uint8(i) | uint8(bits.OnesCount8(uint8(i))&1)<<7
	}
	return t
}()

// Block sizes in bytes.
const (
	sizeIQ2XXS = 66
	sizeIQ2XS  = 74
	sizeIQ2S   = 82
	sizeIQ3XXS = 98
	sizeIQ3S   = 110
	sizeIQ1S   = 50
	sizeIQ1M   = 56
)

// putGroup8 writes the 8 elements of one group: db times the magnitudes
// (bytes of g), negated where bit j of signs is set. Negation flips the
// float's sign bit (exactly ggml's multiplication by −1), without a branch.
func putGroup8(y []float32, db float32, g uint64, signs uint8) {
	y = y[:8]
	for j := range 8 {
		v := db * float32(uint8(g>>(8*j)))
		y[j] = math.Float32frombits(math.Float32bits(v) ^ uint32(signs>>j&1)<<31)
	}
}

// dequantizeIQ2_XXS: block = f16 d, then per sub-block two little-endian
// u32: the first holds the four 8-bit grid indices (group l in byte l), the
// second the four 7-bit sign indices (group l in bits 7l..7l+6) and the
// scale s in bits 28..31.
func dequantizeIQ2_XXS(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeIQ2XXS : (b+1)*sizeIQ2XXS]
		y := dst[b*256 : (b+1)*256]
		d := half(x)
		for ib := range 8 {
			q := x[2+8*ib : 2+8*ib+8]
			aux := binary.LittleEndian.Uint32(q[4:])
			db := d * (0.5 + float32(aux>>28)) * 0.25
			for l := range 4 {
				putGroup8(y[32*ib+8*l:], db, GridIQ2_XXS[q[l]], signsIQ2[aux>>(7*l)&127])
			}
		}
	}
}

// dequantizeIQ2_XS: block = f16 d, u16 qs[32] (one per group: 9-bit grid
// index, 7-bit sign index in the top bits), scales[8] (sub-block ib: the low
// nibble scales groups 0-1, the high nibble groups 2-3).
func dequantizeIQ2_XS(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeIQ2XS : (b+1)*sizeIQ2XS]
		y := dst[b*256 : (b+1)*256]
		d := half(x)
		scales := x[66:74]
		for ib := range 8 {
			db := [2]float32{
				d * (0.5 + float32(scales[ib]&15)) * 0.25,
				d * (0.5 + float32(scales[ib]>>4)) * 0.25,
			}
			for l := range 4 {
				q := binary.LittleEndian.Uint16(x[2+8*ib+2*l:])
				putGroup8(y[32*ib+8*l:], db[l/2], GridIQ2_XS[q&511], signsIQ2[q>>9])
			}
		}
	}
}

// dequantizeIQ2_S: block = f16 d, qs[32] (low 8 bits of each group's 10-bit
// grid index), signs[32] (one full sign byte per group), qh[8] (sub-block
// ib: bits 2l..2l+1 are bits 8-9 of group l's index), scales[8] (as IQ2_XS).
func dequantizeIQ2_S(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeIQ2S : (b+1)*sizeIQ2S]
		y := dst[b*256 : (b+1)*256]
		d := half(x)
		qs, signs, qh, scales := x[2:34], x[34:66], x[66:74], x[74:82]
		for ib := range 8 {
			db := [2]float32{
				d * (0.5 + float32(scales[ib]&15)) * 0.25,
				d * (0.5 + float32(scales[ib]>>4)) * 0.25,
			}
			for l := range 4 {
				idx := uint16(qs[4*ib+l]) | uint16(qh[ib])<<(8-2*l)&0x300
				putGroup8(y[32*ib+8*l:], db[l/2], GridIQ2_S[idx], signs[4*ib+l])
			}
		}
	}
}
