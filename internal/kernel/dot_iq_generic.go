package kernel

import (
	"encoding/binary"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Row dots of the codebook ("grid") types IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS,
// IQ3_S, IQ1_S and IQ1_M against Q8_K activations (292-byte blocks: d
// float32, qs [256]int8, bsums [16]int16), as ggml's
// ggml_vec_dot_iq*_q8_K. Block layouts: see package tensor (doc.go and
// quant_iq*.go). For each 256-block the integer sum over its sub-blocks is
// exact,
//
//	bsum = Σ_sub-blocks (2s+1) · Σ_j grid[idx][j] · sign_j · q8_j
//
// (IQ1: plus delta terms, below), and the float part is the block's
// h2f(d_w)·d_a·bsum, summed over blocks in float32 and scaled once at the
// end by the type's constant (1/8 for IQ2, 1/4 for IQ3_XXS, 1 for IQ3_S):
// the arithmetic of ggml's generic C versions, whose results these match to
// the last bit except where the C compiler fused a multiply-add.
//
// A group of 8 products is one multiply of 64-bit words (laneDot): the
// codebook entries are pre-spread into 16-bit lanes (gridLanes), the signs
// are applied to the 8 activation bytes with lane-wise integer tricks, and
// the one coefficient of the lane product that collects Σ g_j·q_j is read
// from the top 16 bits. Nothing branches per element.

// Lane-wise constants: one bit pattern per byte or per 16-bit lane.
const (
	lanesHigh = 0x8080808080808080 // top bit of every byte
	lanesOne  = 0x0101010101010101 // 1 in every byte
	lanesLow  = 0x00ff00ff00ff00ff // low byte of every 16-bit lane
)

// laneDot returns Σ_j g_j·(s_j·q_j + 128) for the 8 int8 activations q
// (byte j = element j), the signs s_j = −1 where byte j of neg is 0xff (+1
// where it is 0), and a codebook group spread by spread8: even holds
// g6, g4, g2, g0 and odd g7, g5, g3, g1 in 16-bit lanes 0..3. q must not
// hold −128 where its sign is −1 (Q8_K never holds −128).
//
// How: x = s·q + 128 per byte (negation as ~q + 1 without carries between
// bytes, then the bias), every value in [1, 255]. Spreading the even and
// odd bytes of x into 16-bit lanes and multiplying by the reversed codebook
// lanes makes lane 3 of the product Σ g·x over those four elements; the
// lower lanes hold partial sums below 4·255·62 < 2^16, so none carries into
// lane 3, whose top bits fall off the 64-bit word.
func laneDot(q, neg, even, odd uint64) int32 {
	x := q ^ neg
	x = ((x &^ lanesHigh) + (neg & lanesOne)) ^ (x & lanesHigh) ^ lanesHigh
	return int32((x&lanesLow)*even>>48 + (x>>8&lanesLow)*odd>>48)
}

// gridLanes is one 8-element codebook entry prepared for laneDot, with
// bias = 128·Σ g_j, the amount laneDot's result exceeds Σ g_j·s_j·q_j.
type gridLanes struct {
	even, odd uint64
	bias      int32
}

// spread8 prepares the 8 unsigned bytes of codebook entry g for laneDot.
func spread8(g uint64) gridLanes {
	var l gridLanes
	for k := 0; k < 4; k++ {
		l.even |= (g >> (16 * k) & 0xff) << (48 - 16*k)
		l.odd |= (g >> (16*k + 8) & 0xff) << (48 - 16*k)
	}
	for j := 0; j < 8; j++ {
		l.bias += 128 * int32(g>>(8*j)&0xff)
	}
	return l
}

func spreadGrid8(grid []uint64) []gridLanes {
	t := make([]gridLanes, len(grid))
	for i, g := range grid {
		t[i] = spread8(g)
	}
	return t
}

// Codebooks of package tensor, prepared for laneDot.
var (
	lanesIQ2_XXS = (*[256]gridLanes)(spreadGrid8(tensor.GridIQ2_XXS[:]))
	lanesIQ2_XS  = (*[512]gridLanes)(spreadGrid8(tensor.GridIQ2_XS[:]))
	lanesIQ2_S   = (*[1024]gridLanes)(spreadGrid8(tensor.GridIQ2_S[:]))
)

// quadLanes is a 4-element codebook entry (IQ3) prepared for laneDot: two
// such entries make one group's even/odd words (see iq3Group).
type quadLanes struct {
	w    uint64 // g2, g0 in 16-bit lanes 0, 1; g3, g1 in lanes 2, 3
	bias int32  // 128·Σ g_j
}

func spreadGrid4(grid []uint32) []quadLanes {
	t := make([]quadLanes, len(grid))
	for i, g := range grid {
		b := func(j int) uint64 { return uint64(g >> (8 * j) & 0xff) }
		t[i] = quadLanes{
			w:    b(2) | b(0)<<16 | b(3)<<32 | b(1)<<48,
			bias: 128 * int32(b(0)+b(1)+b(2)+b(3)),
		}
	}
	return t
}

var (
	lanesIQ3_XXS = (*[256]quadLanes)(spreadGrid4(tensor.GridIQ3_XXS[:]))
	lanesIQ3_S   = (*[512]quadLanes)(spreadGrid4(tensor.GridIQ3_S[:]))
)

// iq3Group returns Σ_j g_j·s_j·q_j for a group of 8 whose elements 0..3
// come from entry a and 4..7 from entry b.
func iq3Group(q, neg uint64, a, b *quadLanes) int32 {
	even := b.w&0xffffffff | a.w<<32
	odd := b.w>>32 | a.w&^0xffffffff
	return laneDot(q, neg, even, odd) - a.bias - b.bias
}

// signMasks expands a sign byte to a laneDot mask: byte j is 0xff where bit
// j is set. IQ2_XXS, IQ2_XS and IQ3_XXS store 7 bits and imply the eighth
// (even parity, ggml's ksigns_iq2xs); signMasks7 maps those 7 bits.
var signMasks, signMasks7 = func() (m [256]uint64, m7 [128]uint64) {
	for s := range m {
		for j := 0; j < 8; j++ {
			if s>>j&1 != 0 {
				m[s] |= 0xff << (8 * j)
			}
		}
	}
	for i := range m7 {
		p := i ^ i>>4
		p ^= p >> 2
		p ^= p >> 1
		m7[i] = m[i|(p&1)<<7]
	}
	return m, m7
}()

// q8Word returns the 8 activation bytes of group g (elements 8g..8g+7).
func q8Word(q8 []byte, g int) uint64 { return binary.LittleEndian.Uint64(q8[8*g:]) }

// dotIQ2_XXSGeneric: IQ2_XXS block (66 bytes) = d f16, then per sub-block
// a u32 of four 8-bit grid indices and a u32 of four 7-bit sign indices
// (bits 7l..) and the scale s (bits 28..31). Result ×1/8.
func dotIQ2_XXSGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*66:b*66+66], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			idx := binary.LittleEndian.Uint32(wb[2+8*ib:])
			aux := binary.LittleEndian.Uint32(wb[6+8*ib:])
			var s int32
			for l := 0; l < 4; l++ {
				g := &lanesIQ2_XXS[uint8(idx>>(8*l))]
				s += laneDot(q8Word(q8, 4*ib+l), signMasks7[aux>>(7*l)&127], g.even, g.odd) - g.bias
			}
			bsum += s * int32(2*(aux>>28)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return 0.125 * sum
}

// dotIQ2_XSGeneric: IQ2_XS block (74 bytes) = d f16, u16 qs[32] (9-bit
// grid index, 7-bit sign index), scales[8] (low nibble: groups 0-1 of the
// sub-block, high nibble: groups 2-3). Result ×1/8.
func dotIQ2_XSGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*74:b*74+74], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			qs := binary.LittleEndian.Uint64(wb[2+8*ib:])
			var s [2]int32
			for l := 0; l < 4; l++ {
				q := uint16(qs >> (16 * l))
				g := &lanesIQ2_XS[q&511]
				s[l/2] += laneDot(q8Word(q8, 4*ib+l), signMasks7[q>>9], g.even, g.odd) - g.bias
			}
			sc := int32(wb[66+ib])
			bsum += s[0]*(2*(sc&15)+1) + s[1]*(2*(sc>>4)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return 0.125 * sum
}

// dotIQ2_SGeneric: IQ2_S block (82 bytes) = d f16, qs[32] (low 8 index
// bits), signs[32] (a sign byte per group), qh[8] (index bits 8-9 of group
// l at bits 2l), scales[8] (as IQ2_XS). Result ×1/8.
func dotIQ2_SGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*82:b*82+82], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			qh := uint16(wb[66+ib])
			var s [2]int32
			for l := 0; l < 4; l++ {
				g := &lanesIQ2_S[uint16(wb[2+4*ib+l])|qh<<(8-2*l)&0x300]
				s[l/2] += laneDot(q8Word(q8, 4*ib+l), signMasks[wb[34+4*ib+l]], g.even, g.odd) - g.bias
			}
			sc := int32(wb[74+ib])
			bsum += s[0]*(2*(sc&15)+1) + s[1]*(2*(sc>>4)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return 0.125 * sum
}

// dotIQ3_XXSGeneric: IQ3_XXS block (98 bytes) = d f16, qs[64] (an 8-bit
// index per 4 elements), then per sub-block a u32 of four 7-bit sign
// indices and the scale s (bits 28..31). Result ×1/4.
func dotIQ3_XXSGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*98:b*98+98], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			aux := binary.LittleEndian.Uint32(wb[66+4*ib:])
			qs := wb[2+8*ib : 2+8*ib+8]
			var s int32
			for l := 0; l < 4; l++ {
				s += iq3Group(q8Word(q8, 4*ib+l), signMasks7[aux>>(7*l)&127], &lanesIQ3_XXS[qs[2*l]], &lanesIQ3_XXS[qs[2*l+1]])
			}
			bsum += s * int32(2*(aux>>28)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return 0.25 * sum
}

// dotIQ3_SGeneric: IQ3_S block (110 bytes) = d f16, qs[64] (low 8 bits of
// a 9-bit index per 4 elements), qh[8] (bit k%8 of qh[k/8] is bit 8 of
// index k), signs[32] (a sign byte per group), scales[4] (a nibble per
// sub-block).
func dotIQ3_SGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*110:b*110+110], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var bsum int32
		for ib := 0; ib < 8; ib++ {
			qh := uint16(wb[66+ib])
			qs := wb[2+8*ib : 2+8*ib+8]
			var s int32
			for l := 0; l < 4; l++ {
				i1 := uint16(qs[2*l]) | qh<<(8-2*l)&0x100
				i2 := uint16(qs[2*l+1]) | qh<<(7-2*l)&0x100
				s += iq3Group(q8Word(q8, 4*ib+l), signMasks[wb[74+4*ib+l]], &lanesIQ3_S[i1], &lanesIQ3_S[i2])
			}
			bsum += s * int32(2*(wb[106+ib/2]>>(4*(ib%2))&15)+1)
		}
		sum += h2f(wb) * dy * float32(bsum)
	}
	return sum
}

// lanesIQ1 is GridIQ1_S prepared for laneDot with signed lanes: even/odd
// hold the values −1, 0, 1 as the two's-complement word Σ_k g·2^(16k) (see
// iq1Group), bias = 128·Σ g_j.
var lanesIQ1 = func() *[2048]gridLanes {
	var t [2048]gridLanes
	for i, g := range tensor.GridIQ1_S {
		var e, o int64
		for k := 0; k < 4; k++ {
			e += int64(int8(g>>(16*k))) << (48 - 16*k)
			o += int64(int8(g>>(16*k+8))) << (48 - 16*k)
		}
		var s int32
		for j := 0; j < 8; j++ {
			s += int32(int8(g >> (8 * j)))
		}
		t[i] = gridLanes{even: uint64(e), odd: uint64(o), bias: 128 * s}
	}
	return &t
}()

// iq1Group returns Σ_j g_j·q_j for an IQ1 codebook entry (values −1, 0, 1)
// and 8 int8 activations. As in laneDot the bytes are biased to q+128 and
// spread into 16-bit lanes, but the codebook lanes are signed: the lane
// product is then the exact integer Σ_k c_k·2^(16k) with |c_k| ≤ 4·255, and
// adding 2^47 before the arithmetic shift rounds away the lower lanes
// (|Σ_{k<3} c_k·2^(16k)| < 2^47), leaving c_3 = Σ g·(q+128).
func iq1Group(q uint64, g *gridLanes) int32 {
	x := q ^ lanesHigh
	e := int64(x&lanesLow)*int64(g.even) + 1<<47
	o := int64(x>>8&lanesLow)*int64(g.odd) + 1<<47
	return int32(e>>48+o>>48) - g.bias
}

// dotIQ1_SGeneric: IQ1_S block (50 bytes) = d f16, qs[32] (low 8 index
// bits), u16 qh[8] per sub-block: index bits 8-10 of group l at bits 3l,
// scale s at bits 12-14, delta sign at bit 15. Each sub-block contributes
// (2s+1)·(Σ g·q + delta·Σq) with delta = ±1/8; Σq over its 32 elements is
// two of Q8_K's bsums. Per block: h2f(d)·d_a·(sumi + sumi1/8).
func dotIQ1_SGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*50:b*50+50], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		var sumi, sumi1 int32
		for ib := 0; ib < 8; ib++ {
			qh := binary.LittleEndian.Uint16(wb[34+2*ib:])
			var lsum int32
			for l := 0; l < 4; l++ {
				idx := uint16(wb[2+4*ib+l]) | (qh>>(3*l)&7)<<8
				lsum += iq1Group(q8Word(q8, 4*ib+l), &lanesIQ1[idx])
			}
			ls := int32(2*(qh>>12&7) + 1)
			bs := q8KBsum(ab, 2*ib) + q8KBsum(ab, 2*ib+1)
			neg := -int32(qh >> 15) // delta sign: bs or −bs without a branch
			sumi += ls * lsum
			sumi1 += ls * (bs ^ neg - neg)
		}
		sum += h2f(wb) * dy * (float32(sumi) + 0.125*float32(sumi1))
	}
	return sum
}

// q8Sum returns Σ q_j of 8 int8 activations (spread into 16-bit lanes,
// added by one multiply, minus the bias 8·128).
func q8Sum(q uint64) int32 {
	x := q ^ lanesHigh
	return int32(((x&lanesLow)+(x>>8&lanesLow))*0x0001000100010001>>48) - 1024
}

// dotIQ1_MGeneric: IQ1_M block (56 bytes) = qs[32] (low 8 index bits),
// qh[16] (nibble l%2 of qh[2ib+l/2]: index bits 8-10 of group l, delta sign
// at bit 3), scales = four u16 words (3-bit scales of sub-block ib at bits
// 6(ib%2) for groups 0-1 and +3 for groups 2-3 of word ib/2; the f16 d in
// the words' top nibbles). Per block: d·d_a·(sumi1 + sumi2/8) with sumi1 =
// Σ (2s+1)·Σ g·q and sumi2 = Σ (2s+1)·(±Σq) per group of 8.
func dotIQ1_MGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, ab := w[b*56:b*56+56], a[b*292:b*292+292]
		dy, q8 := q8K(ab)
		sc := binary.LittleEndian.Uint64(wb[48:])
		dh := uint16(sc>>12&0xf | sc>>24&0xf0 | sc>>36&0xf00 | sc>>48&0xf000)
		var sumi1, sumi2 int32
		for ib := 0; ib < 8; ib++ {
			s := uint16(sc >> (16*(ib/2) + 6*(ib%2)))
			ls := [2]int32{int32(2*(s&7) + 1), int32(2*(s>>3&7) + 1)}
			qh := uint16(wb[32+2*ib]) | uint16(wb[33+2*ib])<<8
			for l := 0; l < 4; l++ {
				h := qh >> (4 * l)
				idx := uint16(wb[4*ib+l]) | (h&7)<<8
				q := q8Word(q8, 4*ib+l)
				neg := -int32(h >> 3 & 1)
				sumi1 += ls[l/2] * iq1Group(q, &lanesIQ1[idx])
				sumi2 += ls[l/2] * (q8Sum(q) ^ neg - neg)
			}
		}
		sum += halfToFloat(dh) * dy * (float32(sumi1) + 0.125*float32(sumi2))
	}
	return sum
}
