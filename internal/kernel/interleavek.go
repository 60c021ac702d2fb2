package kernel

import "github.com/sputnik-llm/sputnik/internal/tensor"

// Interleaved K-quant groups (Q4_K, Q5_K, Q6_K; Q2_K and Q3_K in
// interleavek23.go): the file's bytes of 16
// rows, each field transposed by dword, so that one zmm holds the same
// dword of every row (lane r: row r), and the fields in the order the
// kernels read them (a weight stream the hardware prefetchers follow). A
// group of nb blocks has the size of its 16 rows (rows past Rows are
// zero); per 256-element block b, at 16·TypeSize·b (Q6_K: see below):
//
//	Q4_K (2304 bytes):
//	[0, 192)      s[k][r][i] = byte 4k+i of row r's 12 packed 6-bit scales
//	              and mins (k < 3)
//	[192, 224)    d[r] float16
//	[224, 256)    dmin[r] float16
//	[256, 2304)   qs[v][r][i] = byte 4v+i of row r's 128 nibble bytes
//	              (v < 32): the low nibbles are elements 64(v/8)+4(v%8)+i
//	              (sub-block 2(v/8), dword v%8), the high nibbles those of
//	              sub-block 2(v/8)+1
//	Q5_K (2816 bytes):
//	[0, 256)      s, d, dmin as Q4_K's
//	[256, 768)    qh[w][r][i] = byte 4w+i of row r's 32 high-bit bytes
//	              (w < 8): bit j is the fifth bit of element 32j+4w+i
//	[768, 2816)   qs as Q4_K's
//	Q6_K (3328 bytes and 32 of d, in pairs of blocks 6720 bytes long, so
//	that every vector is 64-byte aligned: block 2i at 6720i, its d at
//	6720i+3328, block 2i+1's d at 6720i+3360 and the block at 6720i+3392):
//	[0, 256)      sc[k][r][i] = row r's int8 scale of group 4k+i (k < 4)
//	then vectors of 64 bytes, [r][i] for row r (interK6Vec places them):
//	qh(h, w)      byte 32h+4w+i of row r's 64 high-bit bytes (h < 2,
//	              w < 8): bits 2c, 2c+1 are the top two bits of element
//	              128h+32c+4w+i (c < 4)
//	ql(h, c, w)   byte 64h+32c+4w+i of row r's 128 low-nibble bytes
//	              (c < 2): the low nibbles of elements 128h+32c+4w+i
//	              (sub-block 4h+c), the high nibbles those of sub-block
//	              4h+2+c
//	              in the order the kernels first read them: per h and
//	              four w (a half of each sub-block, groups of 16), qh and
//	              ql(c = 0) in turns, then ql(c = 1)
//	d             d[r] float16
//
// The kernels unpack the scales once per block and add in the K-quant
// order (packedk_generic.go) with the packed K path's activations, so an
// interleaved Mat gives every token the bits the row-major one gives.

// interleaveGroupK writes nb blocks of rows ≤ 16 row-major rows of K type
// t (row r at w[r*ws:]) in the interleaved group layout into dst; rows
// from rows to 15 stay zero (dst must be zero).
func interleaveGroupK(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	wb := t.TypeSize()
	for b := range nb {
		at, dat := interKBlock(t, b)
		p := dst[at:]
		for r := range rows {
			blk := w[r*ws+b*wb : r*ws+(b+1)*wb]
			switch t {
			case tensor.Q4_K, tensor.Q5_K:
				putDwords(p, blk[4:16], r, 0, 0)
				p[192+2*r], p[193+2*r] = blk[0], blk[1]
				p[224+2*r], p[225+2*r] = blk[2], blk[3]
				if t == tensor.Q4_K {
					putDwords(p, blk[16:144], r, 256, 0)
				} else {
					putDwords(p, blk[16:48], r, 256, 0)
					putDwords(p, blk[48:176], r, 768, 0)
				}
			case tensor.Q2_K, tensor.Q3_K:
				interleaveGroupK23(t, p, blk, r, dst, dat)
			case tensor.Q6_K:
				putDwords(p, blk[192:208], r, 0, 0)
				for h := range 2 {
					for w := range 8 {
						putDwords(p, blk[128+32*h+4*w:][:4], r, interK6Vec(h, -1, w), 0)
						putDwords(p, blk[64*h+4*w:][:4], r, interK6Vec(h, 0, w), 0)
						putDwords(p, blk[64*h+32+4*w:][:4], r, interK6Vec(h, 1, w), 0)
					}
				}
				dst[dat+2*r], dst[dat+2*r+1] = blk[208], blk[209]
			default:
				panic("kernel: interleaveGroupK: unsupported type " + t.String())
			}
		}
	}
}

// interK6Vec returns the offset in an interleaved Q6_K block of the
// vector qh(h, w) (c < 0) or ql(h, c, w) (see above).
func interK6Vec(h, c, w int) int {
	o := 256 + 1536*h + 768*(w/4)
	switch c {
	case -1:
		return o + 128*(w%4)
	case 0:
		return o + 128*(w%4) + 64
	}
	return o + 512 + 64*(w%4)
}

// interKBlock returns the offsets of block b and of its d in an
// interleaved group of K type t (see above).
func interKBlock(t tensor.DType, b int) (at, d int) {
	switch t {
	case tensor.Q6_K:
		return 6720*(b/2) + 3392*(b%2), 6720*(b/2) + 3328 + 32*(b%2)
	case tensor.Q3_K:
		return 3520*(b/2) + 1792*(b%2), 3520*(b/2) + 1728 + 32*(b%2)
	}
	at = b * packRows * t.TypeSize()
	if t == tensor.Q2_K {
		return at, at + 1280
	}
	return at, at + 192
}

// decodeInterK decodes row r's block b of K type t from the interleaved
// group g into kb, reading the layout above directly.
func decodeInterK(t tensor.DType, g []byte, b, r int, kb *kBlock) {
	bo, dat := interKBlock(t, b)
	p := g[bo:]
	if t == tensor.Q2_K || t == tensor.Q3_K {
		decodeInterK23(t, g, p, dat, r, kb)
		return
	}
	at := func(off, v, i int) byte { return p[off+64*v+4*r+i] }
	if t == tensor.Q6_K {
		for h := range 2 {
			for c := range 2 {
				for w := range 8 {
					for i := range 4 {
						z := at(interK6Vec(h, c, w), 0, i)
						e := 128*h + 32*c + 4*w + i
						kb.u[e], kb.u[e+64] = z&15, z>>4
					}
				}
			}
			for w := range 8 {
				for i := range 4 {
					q := at(interK6Vec(h, -1, w), 0, i)
					for c := range 4 {
						kb.u[128*h+32*c+4*w+i] |= (q >> (2 * c) & 3) << 4
					}
				}
			}
		}
		for k := range 16 {
			kb.sc[k] = int32(int8(at(0, k/4, k%4)))
		}
		kb.d = h2f(g[dat+2*r:])
		return
	}
	qs := 256
	if t == tensor.Q5_K {
		qs = 768
	}
	for v := range 32 {
		for i := range 4 {
			z := at(qs, v, i)
			e := 64*(v/8) + 4*(v%8) + i
			kb.u[e], kb.u[e+32] = z&15, z>>4
		}
	}
	if t == tensor.Q5_K {
		for w := range 8 {
			for i := range 4 {
				q := at(256, w, i)
				for j := range 8 {
					kb.u[32*j+4*w+i] |= (q >> j & 1) << 4
				}
			}
		}
	}
	var q [12]byte
	for k := range 3 {
		for i := range 4 {
			q[4*k+i] = at(0, k, i)
		}
	}
	for j := range 8 {
		kb.sc[j], kb.mn[j] = scaleMinK4(j, q[:])
	}
	kb.d, kb.dmin = h2f(g[dat+2*r:]), h2f(g[dat+32+2*r:])
}

// unpackInterKGeneric writes the nb blocks of the interleaved group g of
// K type t in the packed K group layout (packedk_generic.go) into dst:
// what the packed K tiles read, for long batches.
func unpackInterKGeneric(t tensor.DType, g []byte, nb int, dst []byte) {
	bb := packedKBlockBytes(t)
	var kb kBlock
	for b := range nb {
		o := dst[b*bb : (b+1)*bb]
		for r := range packRows {
			decodeInterK(t, g, b, r, &kb)
			if t == tensor.Q2_K || t == tensor.Q3_K {
				packK23(t, o, r, &kb)
				continue
			}
			putPackedK(t, o, r, &kb)
		}
	}
}

// tileInterleavedKGeneric is the Go reference of the interleaved K tile
// kernels: out[t*os+r] for t < T tokens and r < rows of the group p (nb
// blocks of K type typ) against a tile of interleaved K activations a
// (block b of token t at a[b*as+384*t:]), in the K-quant order.
func tileInterleavedKGeneric(typ tensor.DType, p, a []byte, as, nb, T, rows int, out []float32, os int) {
	var kb kBlock
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				decodeInterK(typ, p, b, r, &kb)
				ab := a[b*as+actKBytes*t:]
				isum, msum := kSums(typ, &kb, ab[:292])
				acc = kStep(typ, acc, isum, msum, kb.d, kb.dmin, q8KScale(ab))
			}
			out[t*os+r] = acc
		}
	}
}
