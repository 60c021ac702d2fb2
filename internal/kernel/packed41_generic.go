package kernel

import (
	"encoding/binary"
	"math"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// The packed prefill path of Q4_1 and Q5_1, the 32-element types with a
// per-block minimum m (value = d·u + m, u unsigned), paired with Q8_1
// activations (d, s = d·Σq as f16, and the quants q). A block's dot is
// d_w·d_a·Σ u·q + m_w·s_a, and every implementation (the reference row
// dots, the VNNI row-group kernels and the packed kernels) adds it in one
// order: per block, the exact int32 isum = Σ u·q, then
//
//	acc = fma(float32(isum), d_w·d_a, acc)
//	acc = fma(m_w, s_a, acc)
//
// one float32 accumulator per (row, token), blocks in order.
//
// Packed group, per block (packBlockBytes41 = 640 bytes at 640·b), the
// layout of packed_generic.go with k = 0 and the minima after the scales:
//
//	[0, 512)    u[j][r][i] = element 4j+i of row r (0..15 or 0..31)
//	[512, 576)  d[r] float32
//	[576, 640)  m[r] float32
//
// Interleaved Q8_1 activations, actBlockBytes = 40 bytes per token and
// block, in tiles of packTokens tokens as packed_generic.go's:
//
//	[0, 32)   q[0..31], the signed quants
//	[32, 36)  s as float32 (the f16 block sum, exactly)
//	[36, 40)  d as float32 (the f16 scale, exactly)
const packBlockBytes41 = 640

// decodePacked41 sets u to the 32 unsigned values of the Q4_1 or Q5_1
// block blk and returns its scale d and minimum m.
func decodePacked41(t tensor.DType, blk []byte, u *[32]byte) (d, m float32) {
	switch t {
	case tensor.Q4_1:
		for i := range 16 {
			u[i], u[i+16] = blk[4+i]&15, blk[4+i]>>4
		}
	case tensor.Q5_1:
		qh := binary.LittleEndian.Uint32(blk[4:])
		for i := range 16 {
			q := blk[8+i]
			u[i] = q&15 | byte(qh>>i&1)<<4
			u[i+16] = q>>4 | byte(qh>>(i+16)&1)<<4
		}
	default:
		panic("kernel: decodePacked41: unsupported type " + t.String())
	}
	return h2f(blk), h2f(blk[2:])
}

// packGroup41Generic packs nb blocks of rows ≤ 16 weight rows of type t
// (Q4_1 or Q5_1; row r at w[r*ws:]) into dst (nb·packBlockBytes41 bytes);
// the rows from rows to 15 are packed as zeros.
func packGroup41Generic(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	wb := t.TypeSize()
	var u [32]byte
	for b := range nb {
		p := dst[b*packBlockBytes41 : (b+1)*packBlockBytes41]
		clear(p)
		for r := range rows {
			d, m := decodePacked41(t, w[r*ws+b*wb:], &u)
			for j := range 8 {
				copy(p[64*j+4*r:64*j+4*r+4], u[4*j:4*j+4])
			}
			binary.LittleEndian.PutUint32(p[512+4*r:], math.Float32bits(d))
			binary.LittleEndian.PutUint32(p[576+4*r:], math.Float32bits(m))
		}
	}
}

// quantizeRowQ8_1xGeneric quantizes one token row x (32·nb floats) as
// quantizeRowQ8_1Generic and writes its nb interleaved activation blocks
// stride bytes apart into dst.
func quantizeRowQ8_1xGeneric(dst []byte, x []float32, stride int) {
	var blk [36]byte
	for b := range len(x) / 32 {
		quantizeRowQ8_1Generic(blk[:], x[32*b:32*b+32])
		o := dst[b*stride : b*stride+actBlockBytes]
		copy(o, blk[4:])
		binary.LittleEndian.PutUint32(o[32:], math.Float32bits(h2f(blk[2:])))
		binary.LittleEndian.PutUint32(o[36:], math.Float32bits(h2f(blk[:])))
	}
}

// tilePacked41Generic computes out[t*os+r] for t < T tokens and r < rows
// of one packed Q4_1/Q5_1 group p against a tile of interleaved Q8_1
// activations a (block b of token t at a[b*as+40*t:]), nb blocks, in the
// order above.
func tilePacked41Generic(p, a []byte, as, nb, T, rows int, out []float32, os int) {
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				pb, ab := p[b*packBlockBytes41:], a[b*as+actBlockBytes*t:]
				var isum int32
				for j := range 8 {
					for i := range 4 {
						isum += int32(pb[64*j+4*r+i]) * int32(int8(ab[4*j+i]))
					}
				}
				dw := math.Float32frombits(binary.LittleEndian.Uint32(pb[512+4*r:]))
				mw := math.Float32frombits(binary.LittleEndian.Uint32(pb[576+4*r:]))
				sa := math.Float32frombits(binary.LittleEndian.Uint32(ab[32:]))
				da := math.Float32frombits(binary.LittleEndian.Uint32(ab[36:]))
				acc = fma32(float32(isum), dw*da, acc)
				acc = fma32(mw, sa, acc)
			}
			out[t*os+r] = acc
		}
	}
}
