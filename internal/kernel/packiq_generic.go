package kernel

import (
	"encoding/binary"
	"math"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// The i-quant order and the packed i-quant prefill path.
//
// IQ4_XS and the codebook types IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S,
// IQ3_XXS and IQ3_S share the Q6_K packed layout and tile kernels
// (packedk_generic.go): a 256-element block decodes to signed values v
// (IQ4_XS: the IQ4_NL table; IQ2/IQ3: ±codebook bytes; IQ1: 8·g + δ with
// g in {−1, 0, 1} and the delta sign δ = ±1, which folds ggml's
// ±1/8 delta term into the integers), stored as unsigned bytes u = v + k,
// one int32 scale per group of 16 (ggml's 2s+1, or IQ4_XS's ls − 32,
// repeated where the type's scale covers 32 elements) and d·c, the block's
// f16 scale times the type's constant c (IQ2: 1/8, IQ3_XXS: 1/4, IQ1:
// 1/8; exact in float32). The activations carry −k·bsum_g per group, so
// that
//
//	isum = Σ_g sc_g·(Σ_{l<16} u[16g+l]·q[16g+l] − k·bsum_g) = Σ_g sc_g·Σ v·q
//
// is ggml's exact integer block sum (IQ1: 8·sumi + sumi1, ggml's
// sumi + sumi1/8 times 8). The float step per block is the K-quant one,
//
//	acc = fma(float32(isum), (d·c)·d_a, acc)
//
// one float32 accumulator per (row, token), blocks in order. The decode
// tiles of these types (packiq_amd64.s) take the same steps, so a token's
// result does not depend on which path ran. It differs from ggml's order
// (dot_iq_generic.go) only by rounding.

// iqKind is how one i-quant type maps onto the packed layout.
type iqKind struct {
	k int32   // weight offset: u = v + k
	c float32 // constant the block's d is multiplied by
}

// iqKinds are the i-quant types of the packed path.
var iqKinds = map[tensor.DType]*iqKind{
	tensor.IQ4_XS:  {k: 128, c: 1},
	tensor.IQ2_XXS: {k: 64, c: 0.125},
	tensor.IQ2_XS:  {k: 64, c: 0.125},
	tensor.IQ2_S:   {k: 64, c: 0.125},
	tensor.IQ3_XXS: {k: 64, c: 0.25},
	tensor.IQ3_S:   {k: 32, c: 1},
	tensor.IQ1_S:   {k: 32, c: 0.125},
	tensor.IQ1_M:   {k: 32, c: 0.125},
}

// decodeIQ writes the u, sc and d·c of the block blk of i-quant type t
// into p. (A switch, not a function value, so that p does not escape.)
func decodeIQ(t tensor.DType, blk []byte, p *kBlock) {
	switch t {
	case tensor.IQ4_XS:
		decodeIQ4_XS(blk, p)
	case tensor.IQ2_XXS:
		decodeIQ2_XXS(blk, p)
	case tensor.IQ2_XS:
		decodeIQ2_XS(blk, p)
	case tensor.IQ2_S:
		decodeIQ2_S(blk, p)
	case tensor.IQ3_XXS:
		decodeIQ3_XXS(blk, p)
	case tensor.IQ3_S:
		decodeIQ3_S(blk, p)
	case tensor.IQ1_S:
		decodeIQ1_S(blk, p)
	case tensor.IQ1_M:
		decodeIQ1_M(blk, p)
	default:
		panic("kernel: decodeIQ: unsupported type " + t.String())
	}
}

// iq4XSBytes maps a byte of IQ4_XS quants to its two values + 128: low
// nibble in the low byte.
var iq4XSBytes = func() (t [256]uint16) {
	for b := range t {
		t[b] = uint16(uint8(int(iq4nlValues[b&15])+128)) | uint16(uint8(int(iq4nlValues[b>>4])+128))<<8
	}
	return t
}()

// decodeIQ4_XS: sub-block j (32 values) has scale ls − 32, ls = nibble j of
// scales_l | bits 2j..2j+1 of scales_h << 4; values as IQ4_NL.
func decodeIQ4_XS(blk []byte, p *kBlock) {
	p.d = h2f(blk)
	sh := binary.LittleEndian.Uint16(blk[2:])
	for j := range 8 {
		ls := int32(blk[4+j/2]>>(4*uint(j&1))&15) | int32(sh>>(2*uint(j))&3)<<4
		p.sc[2*j], p.sc[2*j+1] = ls-32, ls-32
		qs := blk[8+16*j : 8+16*j+16]
		for l, b := range qs {
			v := iq4XSBytes[b]
			p.u[32*j+l], p.u[32*j+16+l] = byte(v), byte(v>>8)
		}
	}
}

// putSigned writes the 8 values k ± g (codebook bytes g < k, minus where
// byte j of neg is 0xff) at u: per byte, without carries between bytes.
func putSigned(u []byte, g, neg uint64, k int32) {
	kk := uint64(k) * lanesOne
	binary.LittleEndian.PutUint64(u, (kk+g)&^neg|(kk-g)&neg)
}

// decodeIQ2_XXS: per sub-block a u32 of four 8-bit grid indices and a u32
// of four 7-bit sign indices and the scale s (bits 28..31).
func decodeIQ2_XXS(blk []byte, p *kBlock) {
	p.d = h2f(blk) * 0.125
	for ib := range 8 {
		idx := binary.LittleEndian.Uint32(blk[2+8*ib:])
		aux := binary.LittleEndian.Uint32(blk[6+8*ib:])
		for l := range 4 {
			putSigned(p.u[32*ib+8*l:], tensor.GridIQ2_XXS[uint8(idx>>(8*l))], signMasks7[aux>>(7*l)&127], 64)
		}
		s := int32(2*(aux>>28) + 1)
		p.sc[2*ib], p.sc[2*ib+1] = s, s
	}
}

// decodeIQ2_XS: u16 qs[32] (9-bit grid index, 7-bit sign index), scales[8]
// (low nibble: the sub-block's first 16 values, high nibble: the last 16).
func decodeIQ2_XS(blk []byte, p *kBlock) {
	p.d = h2f(blk) * 0.125
	for ib := range 8 {
		for l := range 4 {
			q := binary.LittleEndian.Uint16(blk[2+8*ib+2*l:])
			putSigned(p.u[32*ib+8*l:], tensor.GridIQ2_XS[q&511], signMasks7[q>>9], 64)
		}
		sc := int32(blk[66+ib])
		p.sc[2*ib], p.sc[2*ib+1] = 2*(sc&15)+1, 2*(sc>>4)+1
	}
}

// decodeIQ2_S: qs[32] (low 8 index bits), signs[32], qh[8] (index bits
// 8..9 of group l at bits 2l), scales[8] (as IQ2_XS).
func decodeIQ2_S(blk []byte, p *kBlock) {
	p.d = h2f(blk) * 0.125
	for ib := range 8 {
		qh := uint16(blk[66+ib])
		for l := range 4 {
			g := tensor.GridIQ2_S[uint16(blk[2+4*ib+l])|qh<<(8-2*l)&0x300]
			putSigned(p.u[32*ib+8*l:], g, signMasks[blk[34+4*ib+l]], 64)
		}
		sc := int32(blk[74+ib])
		p.sc[2*ib], p.sc[2*ib+1] = 2*(sc&15)+1, 2*(sc>>4)+1
	}
}

// decodeIQ3_XXS: qs[64] (an 8-bit index per 4 values), then per sub-block
// a u32 of four 7-bit sign indices and the scale s (bits 28..31).
func decodeIQ3_XXS(blk []byte, p *kBlock) {
	p.d = h2f(blk) * 0.25
	for ib := range 8 {
		aux := binary.LittleEndian.Uint32(blk[66+4*ib:])
		qs := blk[2+8*ib : 2+8*ib+8]
		for l := range 4 {
			g := uint64(tensor.GridIQ3_XXS[qs[2*l]]) | uint64(tensor.GridIQ3_XXS[qs[2*l+1]])<<32
			putSigned(p.u[32*ib+8*l:], g, signMasks7[aux>>(7*l)&127], 64)
		}
		s := int32(2*(aux>>28) + 1)
		p.sc[2*ib], p.sc[2*ib+1] = s, s
	}
}

// decodeIQ3_S: qs[64] (low 8 bits of a 9-bit index per 4 values), qh[8]
// (bit k%8 of qh[k/8] is bit 8 of index k), signs[32], scales[4] (a nibble
// per sub-block).
func decodeIQ3_S(blk []byte, p *kBlock) {
	p.d = h2f(blk)
	for ib := range 8 {
		qh := uint16(blk[66+ib])
		qs := blk[2+8*ib : 2+8*ib+8]
		for l := range 4 {
			i1 := uint16(qs[2*l]) | qh<<(8-2*l)&0x100
			i2 := uint16(qs[2*l+1]) | qh<<(7-2*l)&0x100
			g := uint64(tensor.GridIQ3_S[i1]) | uint64(tensor.GridIQ3_S[i2])<<32
			putSigned(p.u[32*ib+8*l:], g, signMasks[blk[74+4*ib+l]], 32)
		}
		s := int32(2*(blk[106+ib/2]>>(4*(ib%2))&15) + 1)
		p.sc[2*ib], p.sc[2*ib+1] = s, s
	}
}

// putIQ1 writes the 8 values 32 + 8·g + δ of IQ1 codebook entry idx (g in
// {−1, 0, 1}) with delta sign δ = +1 (neg false) or −1 at u.
func putIQ1(u []byte, idx uint16, neg bool) {
	g := tensor.GridIQ1_S[idx]
	gp := (g&^lanesHigh + lanesOne) ^ g&lanesHigh // g + 1 per byte: 0, 1, 2
	base := uint64(25) * lanesOne                 // 32 − 8 + δ for δ = +1
	if neg {
		base -= 2 * lanesOne
	}
	binary.LittleEndian.PutUint64(u, gp<<3+base)
}

// decodeIQ1_S: qs[32] (low 8 index bits), u16 qh[8] per sub-block: index
// bits 8..10 of group l at bits 3l, scale s at bits 12..14, delta sign at
// bit 15.
func decodeIQ1_S(blk []byte, p *kBlock) {
	p.d = h2f(blk) * 0.125
	for ib := range 8 {
		qh := binary.LittleEndian.Uint16(blk[34+2*ib:])
		for l := range 4 {
			putIQ1(p.u[32*ib+8*l:], uint16(blk[2+4*ib+l])|(qh>>(3*l)&7)<<8, qh>>15 != 0)
		}
		s := int32(2*(qh>>12&7) + 1)
		p.sc[2*ib], p.sc[2*ib+1] = s, s
	}
}

// decodeIQ1_M: qs[32] (low 8 index bits), qh[16] (nibble l%2 of
// qh[2ib+l/2]: index bits 8..10 of group l, delta sign at bit 3), four u16
// scale words (3-bit scales of sub-block ib at bits 6(ib%2) for its first
// 16 values and +3 for the last 16; the f16 d in the words' top nibbles).
func decodeIQ1_M(blk []byte, p *kBlock) {
	sc := binary.LittleEndian.Uint64(blk[48:])
	p.d = halfToFloat(uint16(sc>>12&0xf|sc>>24&0xf0|sc>>36&0xf00|sc>>48&0xf000)) * 0.125
	for ib := range 8 {
		s := uint16(sc >> (16*(ib/2) + 6*(ib%2)))
		p.sc[2*ib], p.sc[2*ib+1] = int32(2*(s&7)+1), int32(2*(s>>3&7)+1)
		qh := binary.LittleEndian.Uint16(blk[32+2*ib:])
		for l := range 4 {
			h := qh >> (4 * l)
			putIQ1(p.u[32*ib+8*l:], uint16(blk[4*ib+l])|(h&7)<<8, h&8 != 0)
		}
	}
}

// iqSums returns the exact integer sum isum of the decoded block p of an
// i-quant with offset k against the Q8_K block ab (see above).
func iqSums(p *kBlock, k int32, ab []byte) (isum int32) {
	_, q8 := q8K(ab)
	for g := range 16 {
		var s int32
		for l := 16 * g; l < 16*g+16; l++ {
			s += (int32(p.u[l]) - k) * int32(int8(q8[l]))
		}
		isum += p.sc[g] * s
	}
	return isum
}

// dotIQOrdered is the row dot of an i-quant weight row w of type t with a
// Q8_K activation row a (cols elements) in the i-quant order (see above).
func dotIQOrdered(t tensor.DType, w, a []byte, cols int) float32 {
	kind := iqKinds[t]
	var acc float32
	var p kBlock
	ts := t.TypeSize()
	for b := range cols / 256 {
		decodeIQ(t, w[b*ts:], &p)
		ab := a[b*292 : b*292+292]
		acc = fma32(float32(iqSums(&p, kind.k, ab)), p.d*q8KScale(ab), acc)
	}
	return acc
}

// packGroupIQGeneric is the reference of the pack kernels
// (packiq_amd64.s): it packs nb blocks of rows ≤ 16 weight rows of i-quant type t
// (row r at w[r*ws:]) into dst in the Q6_K packed layout
// (packedKBlockBytes(tensor.Q6_K) bytes per block); the rows from rows to
// 15 are packed as zeros.
func packGroupIQGeneric(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	const bb = 5184 // packedKBlockBytes(tensor.Q6_K)
	ts := t.TypeSize()
	var p kBlock
	_ = dst[nb*bb-1]
	for b := range nb {
		o := dst[b*bb : (b+1)*bb]
		if rows < packRows {
			clear(o)
		}
		for r := range rows {
			decodeIQ(t, w[r*ws+b*ts:], &p)
			for v := range 64 {
				binary.LittleEndian.PutUint32(o[64*v+4*r:], binary.LittleEndian.Uint32(p.u[4*v:]))
			}
			for g := range 16 {
				binary.LittleEndian.PutUint32(o[packKQuants+64*g+4*r:], uint32(p.sc[g]))
			}
			binary.LittleEndian.PutUint32(o[5120+4*r:], math.Float32bits(p.d))
		}
	}
}

// putIQOffsets rewrites the Q6_K offsets of the interleaved K activation
// block o (−32·bsum_g as int32 at 320) as negk·bsum_g, the offsets of an
// i-quant with k = −negk.
func putIQOffsets(o []byte, negk int32) {
	for g := range 16 {
		binary.LittleEndian.PutUint32(o[320+4*g:], uint32(negk*q8KBsum(o, g)))
	}
}
