package kernel

import "github.com/sputnik-llm/sputnik/internal/tensor"

// Interleaved K-quant groups (Q4_K, Q5_K, Q6_K): the file's bytes of 16
// rows, each field transposed by dword, so that one zmm holds the same
// dword of every row (lane r: row r). A group block is 16 file blocks, the
// same size, per 256-element block b at 16·TypeSize·b (rows past Rows are
// zero):
//
//	Q4_K (2304 bytes):
//	[0, 2048)     qs[v][r][i] = byte 4v+i of row r's 128 nibble bytes
//	              (v < 32): the low nibbles are elements 64(v/8)+4(v%8)+i
//	              (sub-block 2(v/8), dword v%8), the high nibbles those of
//	              sub-block 2(v/8)+1
//	[2048, 2240)  s[k][r][i] = byte 4k+i of row r's 12 packed 6-bit scales
//	              and mins (k < 3)
//	[2240, 2272)  d[r] float16
//	[2272, 2304)  dmin[r] float16
//	Q5_K (2816 bytes):
//	[0, 2048)     qs as Q4_K's
//	[2048, 2560)  qh[w][r][i] = byte 4w+i of row r's 32 high-bit bytes
//	              (w < 8): bit j is the fifth bit of element 32j+4w+i
//	[2560, 2752)  scales and mins as Q4_K's
//	[2752, 2784)  d[r], [2784, 2816) dmin[r] float16
//	Q6_K (3360 bytes):
//	[0, 2048)     ql[v][r][i] = byte 4v+i of row r's 128 low-nibble bytes
//	              (v = 16h+8c+w): the low nibbles of elements
//	              128h+32c+4w+i (sub-block 4h+c), the high nibbles those of
//	              sub-block 4h+2+c
//	[2048, 3072)  qh[u][r][i] = byte 4u+i of row r's 64 high-bit bytes
//	              (u = 8h+w): bits 2c, 2c+1 are the top two bits of element
//	              128h+32c+4w+i (c < 4)
//	[3072, 3328)  sc[k][r][i] = row r's int8 scale of group 4k+i (k < 4)
//	[3328, 3360)  d[r] float16
//
// The kernels unpack the scales once per block and add in the K-quant
// order (packedk_generic.go) with the packed K path's activations, so an
// interleaved Mat gives every token the bits the row-major one gives.

// interleaveGroupK writes nb blocks of rows ≤ 16 row-major rows of K type
// t (row r at w[r*ws:]) in the interleaved group layout into dst; rows
// from rows to 15 stay zero (dst must be zero).
func interleaveGroupK(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	wb := t.TypeSize()
	// field copies the n-byte field at off of row r's block into the
	// group block p at to, transposed by dword.
	field := func(p, blk []byte, r, off, n, to int) {
		for v := range n / 4 {
			copy(p[to+64*v+4*r:to+64*v+4*r+4], blk[off+4*v:off+4*v+4])
		}
	}
	for b := range nb {
		p := dst[b*packRows*wb : (b+1)*packRows*wb]
		for r := range rows {
			blk := w[r*ws+b*wb : r*ws+(b+1)*wb]
			switch t {
			case tensor.Q4_K:
				field(p, blk, r, 16, 128, 0)
				field(p, blk, r, 4, 12, 2048)
				copy(p[2240+2*r:], blk[0:2])
				copy(p[2272+2*r:], blk[2:4])
			case tensor.Q5_K:
				field(p, blk, r, 48, 128, 0)
				field(p, blk, r, 16, 32, 2048)
				field(p, blk, r, 4, 12, 2560)
				copy(p[2752+2*r:], blk[0:2])
				copy(p[2784+2*r:], blk[2:4])
			case tensor.Q6_K:
				field(p, blk, r, 0, 128, 0)
				field(p, blk, r, 128, 64, 2048)
				field(p, blk, r, 192, 16, 3072)
				copy(p[3328+2*r:], blk[208:210])
			default:
				panic("kernel: interleaveGroupK: unsupported type " + t.String())
			}
		}
	}
}

// decodeInterK decodes row r's block of K type t from the interleaved
// group block p into kb, reading the layout above directly.
func decodeInterK(t tensor.DType, p []byte, r int, kb *kBlock) {
	at := func(off, v, i int) byte { return p[off+64*v+4*r+i] }
	if t == tensor.Q6_K {
		for v := range 32 {
			h, c, w := v/16, v/8%2, v%8
			for i := range 4 {
				z := at(0, v, i)
				e := 128*h + 32*c + 4*w + i
				kb.u[e], kb.u[e+64] = z&15, z>>4
			}
		}
		for u := range 16 {
			h, w := u/8, u%8
			for i := range 4 {
				q := at(2048, u, i)
				for c := range 4 {
					kb.u[128*h+32*c+4*w+i] |= (q >> (2 * c) & 3) << 4
				}
			}
		}
		for g := range 16 {
			kb.sc[g] = int32(int8(at(3072, g/4, g%4)))
		}
		kb.d = h2f(p[3328+2*r:])
		return
	}
	scales, d := 2048, 2240
	if t == tensor.Q5_K {
		scales, d = 2560, 2752
	}
	for v := range 32 {
		for i := range 4 {
			z := at(0, v, i)
			e := 64*(v/8) + 4*(v%8) + i
			kb.u[e], kb.u[e+32] = z&15, z>>4
		}
	}
	if t == tensor.Q5_K {
		for w := range 8 {
			for i := range 4 {
				q := at(2048, w, i)
				for j := range 8 {
					kb.u[32*j+4*w+i] |= (q >> j & 1) << 4
				}
			}
		}
	}
	var q [12]byte
	for k := range 3 {
		for i := range 4 {
			q[4*k+i] = at(scales, k, i)
		}
	}
	for j := range 8 {
		kb.sc[j], kb.mn[j] = scaleMinK4(j, q[:])
	}
	kb.d, kb.dmin = h2f(p[d+2*r:]), h2f(p[d+32+2*r:])
}

// tileInterleavedKGeneric is the Go reference of the interleaved K tile
// kernels: out[t*os+r] for t < T tokens and r < rows of the group p (nb
// blocks of K type typ) against a tile of interleaved K activations a
// (block b of token t at a[b*as+384*t:]), in the K-quant order.
func tileInterleavedKGeneric(typ tensor.DType, p, a []byte, as, nb, T, rows int, out []float32, os int) {
	bb := packRows * typ.TypeSize()
	var kb kBlock
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				decodeInterK(typ, p[b*bb:], r, &kb)
				ab := a[b*as+actKBytes*t:]
				isum, msum := kSums(typ, &kb, ab[:292])
				acc = kStep(typ, acc, isum, msum, kb.d, kb.dmin, q8KScale(ab))
			}
			out[t*os+r] = acc
		}
	}
}
