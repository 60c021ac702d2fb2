package kernel

import (
	"encoding/binary"
	"math"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Interleaved Q4_1, Q5_1 and IQ4_XS groups: the file's bytes of 16 rows,
// each field transposed (by dword, or for the float16 fields by word),
// the fields in the order the kernels read them. A group of nb blocks has
// the size of its 16 rows (rows past Rows are zero); per block b, at
// 16·TypeSize·b:
//
//	Q4_1 (320 bytes), Q4_0's layout with the minima after the scales:
//	[0, 256)      z[j][r][i] = byte 4j+i of row r's 16 nibble bytes (j < 4):
//	              the low nibbles are elements 4j..4j+3, the high nibbles
//	              elements 16+4j..16+4j+3
//	[256, 288)    d[r] float16
//	[288, 320)    m[r] float16
//	Q5_1 (384 bytes), Q5_0's layout with the minima after the scales:
//	[0, 64)       qh[r], row r's 32 fifth bits (bit e: element e)
//	[64, 320)     the nibbles as Q4_1's
//	[320, 352)    d[r] float16
//	[352, 384)    m[r] float16
//	IQ4_XS (2176 bytes):
//	[0, 64)       sl[r][i] = byte i of row r's scales_l (nibble j: the low
//	              four bits of sub-block j's scale)
//	[64, 96)      sh[r], row r's scales_h (bits 2j, 2j+1: the top two)
//	[96, 128)     d[r] float16
//	[128, 2176)   qs[v][r][i] = byte 4v+i of row r's 128 quant bytes
//	              (v < 32): the low nibbles index the IQ4_NL values of
//	              elements 32(v/4)+4(v%4)+i (sub-block v/4), the high
//	              nibbles those of elements 32(v/4)+16+4(v%4)+i
//
// The kernels (_asm/inter41.go) add in the order of these types' packed
// paths (packed41_generic.go; packiq_generic.go's i-quant order) with
// those paths' activations, so an interleaved Mat gives every token the
// bits the row-major one gives.

// interField is one field of a row's block in an interleaved group: the n
// bytes at from in the block go to the group block at to, transposed by
// word (n = 2: row r at to+2r) or by dword (byte 4v+i at to+64v+4r+i).
type interField struct{ from, n, to int }

// inter41Fields are the fields of the layouts above.
var inter41Fields = map[tensor.DType][]interField{
	tensor.Q4_1:   {{4, 16, 0}, {0, 2, 256}, {2, 2, 288}},
	tensor.Q5_1:   {{4, 4, 0}, {8, 16, 64}, {0, 2, 320}, {2, 2, 352}},
	tensor.IQ4_XS: {{4, 4, 0}, {2, 2, 64}, {0, 2, 96}, {8, 128, 128}},
}

// interleaveGroup41 writes nb blocks of rows ≤ 16 row-major rows of type t
// (Q4_1, Q5_1 or IQ4_XS; row r at w[r*ws:]) in the interleaved group
// layout into dst; rows from rows to 15 stay zero (dst must be zero).
func interleaveGroup41(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	wb := t.TypeSize()
	gb := packRows * wb
	fields := inter41Fields[t]
	dst = dst[:nb*gb]
	for r := range rows {
		row := w[r*ws : r*ws+nb*wb]
		for b := range nb {
			blk := row[b*wb : (b+1)*wb]
			p := dst[b*gb : (b+1)*gb]
			for _, f := range fields {
				if f.n == 2 {
					p[f.to+2*r], p[f.to+2*r+1] = blk[f.from], blk[f.from+1]
					continue
				}
				putDwords(p, blk[f.from:f.from+f.n], r, f.to, 0)
			}
		}
	}
}

// rowBlock41 copies row r's block out of the interleaved group block p of
// type t (the layout above) into blk, as the file has it.
func rowBlock41(t tensor.DType, p []byte, r int, blk []byte) {
	for _, f := range inter41Fields[t] {
		if f.n == 2 {
			copy(blk[f.from:f.from+2], p[f.to+2*r:])
			continue
		}
		for v := range f.n / 4 {
			copy(blk[f.from+4*v:f.from+4*v+4], p[f.to+64*v+4*r:])
		}
	}
}

// tileInterleaved41Generic is the Go reference of the interleaved Q4_1 and
// Q5_1 tile kernels: out[t*os+r] for t < T tokens and r < rows of the
// group p (nb blocks of type typ) against a tile of interleaved Q8_1
// activations a (block b of token t at a[b*as+40*t:]), in the order of
// packed41_generic.go.
func tileInterleaved41Generic(typ tensor.DType, p, a []byte, as, nb, T, rows int, out []float32, os int) {
	bb := packRows * typ.TypeSize()
	var blk [24]byte
	var u [32]byte
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				rowBlock41(typ, p[b*bb:], r, blk[:])
				dw, mw := decodePacked41(typ, blk[:], &u)
				ab := a[b*as+actBlockBytes*t:]
				var isum int32
				for i, q := range ab[:32] {
					isum += int32(u[i]) * int32(int8(q))
				}
				sa := math.Float32frombits(binary.LittleEndian.Uint32(ab[32:]))
				da := math.Float32frombits(binary.LittleEndian.Uint32(ab[36:]))
				acc = fma32(float32(isum), dw*da, acc)
				acc = fma32(mw, sa, acc)
			}
			out[t*os+r] = acc
		}
	}
}

// tileInterleavedIQ4XSGeneric is the Go reference of the interleaved
// IQ4_XS tile kernels: out[t*os+r] for t < T tokens and r < rows of the
// group p (nb blocks) against a tile of interleaved K activations with
// IQ4_XS's offsets a (block b of token t at a[b*as+384*t:]), in the
// i-quant order (packiq_generic.go).
func tileInterleavedIQ4XSGeneric(p, a []byte, as, nb, T, rows int, out []float32, os int) {
	const bb = packRows * 136
	var blk [136]byte
	var kb kBlock
	k := iqKinds[tensor.IQ4_XS].k
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				rowBlock41(tensor.IQ4_XS, p[b*bb:], r, blk[:])
				decodeIQ4_XS(blk[:], &kb)
				ab := a[b*as+actKBytes*t:]
				acc = fma32(float32(iqSums(&kb, k, ab[:292])), kb.d*q8KScale(ab), acc)
			}
			out[t*os+r] = acc
		}
	}
}
