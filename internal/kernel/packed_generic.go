package kernel

import (
	"encoding/binary"
	"math"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// The packed prefill path multiplies several tokens (n ≥ minTokens) by
// a Q8_0, Q4_0, Q5_0 or IQ4_NL matrix (this file), a Q4_1 or Q5_1 one
// (packed41_generic.go) or a Q2_K, Q3_K, Q4_K, Q5_K or Q6_K one
// (packedk_generic.go). Nothing is stored at load time: each MatMul call
// packs every group of 16 weight rows once into a small per-thread buffer
// and then runs it against all n tokens, so the packing costs one pass over
// the weights per call, and the file's bytes stay the only copy.
//
// Packed weight group, per 32-element block b (packBlockBytes = 576 bytes
// at 576·b):
//
//	[0, 512)   u[j][r][i] = value of element 4j+i of row r, plus k, as an
//	           unsigned byte (j < 8, r < 16, i < 4): vector j holds dword j
//	           of every row
//	[512, 576) d[r], row r's block scale as float32
//
// Interleaved activations: the n tokens are quantized to Q8_0 as ggml does
// (quantizeRowQ8_0Generic) and stored by tiles of packTokens tokens; in
// tile i, the block b of token t is the actBlockBytes = 40 bytes at
// i·nb·640 + b·640 + t·40:
//
//	[0, 32)   q[0..31], the signed quants
//	[32, 36)  −k·Σq as int32
//	[36, 40)  d as float32 (the f16 scale, exactly)
//
// so that Σ w·q = Σ u·q − k·Σq is one int32 sum of unsigned × signed
// bytes (VPDPBUSD's operand types), exact like ggml's block sums; each block
// then adds float32(Σ)·(d_w·d_a) to its output, as the row dots do.
const (
	packRows       = 16  // weight rows per packed group
	packTokens     = 16  // tokens per activation tile
	packBlockBytes = 576 // packed group bytes per block
	actBlockBytes  = 40  // interleaved activation bytes per token and block
)

// packedKindOf returns the weight offset k of type t's packed bytes and
// whether the packed path supports t.
func packedKindOf(t tensor.DType) (k int32, ok bool) {
	switch t {
	case tensor.Q8_0, tensor.IQ4_NL:
		return 128, true
	case tensor.Q4_0:
		return 8, true
	case tensor.Q5_0:
		return 16, true
	}
	return 0, false
}

// decodePacked sets u to the 32 values of the weight block blk of type t
// plus k (packedKindOf), as unsigned bytes, and returns the block scale.
func decodePacked(t tensor.DType, blk []byte, u *[32]byte) float32 {
	switch t {
	case tensor.Q8_0:
		for i := range 32 {
			u[i] = blk[2+i] ^ 0x80
		}
	case tensor.Q4_0:
		for i := range 16 {
			u[i], u[i+16] = blk[2+i]&15, blk[2+i]>>4
		}
	case tensor.Q5_0:
		qh := binary.LittleEndian.Uint32(blk[2:])
		for i := range 16 {
			q := blk[6+i]
			u[i] = q&15 | byte(qh>>i&1)<<4
			u[i+16] = q>>4 | byte(qh>>(i+16)&1)<<4
		}
	case tensor.IQ4_NL:
		for i := range 16 {
			q := blk[2+i]
			u[i] = byte(int(iq4nlValues[q&15]) + 128)
			u[i+16] = byte(int(iq4nlValues[q>>4]) + 128)
		}
	default:
		panic("kernel: decodePacked: unsupported type " + t.String())
	}
	return h2f(blk)
}

// packGroupGeneric packs nb blocks of rows ≤ 16 weight rows of type t
// (row r at w[r*ws:]) into dst (nb·packBlockBytes bytes); the rows from
// rows to 15 are packed as zeros.
func packGroupGeneric(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	wb := t.TypeSize()
	var u [32]byte
	for b := range nb {
		p := dst[b*packBlockBytes : (b+1)*packBlockBytes]
		clear(p)
		for r := range rows {
			d := decodePacked(t, w[r*ws+b*wb:], &u)
			for j := range 8 {
				copy(p[64*j+4*r:64*j+4*r+4], u[4*j:4*j+4])
			}
			binary.LittleEndian.PutUint32(p[512+4*r:], math.Float32bits(d))
		}
	}
}

// quantizeRowQ8_0xGeneric quantizes one token row x (32·nb floats) as
// quantizeRowQ8_0Generic and writes its nb interleaved activation blocks
// stride bytes apart into dst, with −k·Σq.
func quantizeRowQ8_0xGeneric(dst []byte, x []float32, stride int, k int32) {
	var blk [34]byte
	for b := range len(x) / 32 {
		quantizeRowQ8_0Generic(blk[:], x[32*b:32*b+32])
		o := dst[b*stride : b*stride+actBlockBytes]
		copy(o, blk[2:])
		s := int32(0)
		for _, q := range blk[2:] {
			s += int32(int8(q))
		}
		binary.LittleEndian.PutUint32(o[32:], uint32(-k*s))
		binary.LittleEndian.PutUint32(o[36:], math.Float32bits(h2f(blk[:])))
	}
}

// tilePackedGeneric computes out[t*os+r] for t < T tokens and r < rows of
// one packed group p against a tile of interleaved activations a (block b of
// token t at a[b*as+40*t:]), nb blocks: acc = fma(float32(Σ u·q − k·Σq),
// d_w·d_a, acc) in block order, as the reference row dots.
func tilePackedGeneric(p, a []byte, as, nb, T, rows int, out []float32, os int) {
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				pb, ab := p[b*packBlockBytes:], a[b*as+actBlockBytes*t:]
				s := int32(binary.LittleEndian.Uint32(ab[32:]))
				for j := range 8 {
					for i := range 4 {
						s += int32(pb[64*j+4*r+i]) * int32(int8(ab[4*j+i]))
					}
				}
				dw := math.Float32frombits(binary.LittleEndian.Uint32(pb[512+4*r:]))
				da := math.Float32frombits(binary.LittleEndian.Uint32(ab[36:]))
				acc = fma32(float32(s), dw*da, acc)
			}
			out[t*os+r] = acc
		}
	}
}
