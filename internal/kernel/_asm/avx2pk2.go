package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The avx2pk2 set (avx2pk2_amd64.s): the rest of the AVX2 packed prefill
// path of the K-quants and the codebook i-quants on CPUs without AVX-512
// (the kernel package's avx2pk_amd64.go): the Q8_K activation quantizers,
// the pack kernels of the codebook i-quants into the Q6_K packed layout,
// and 8-token packed tiles. VEX encodings only (AVX2, FMA, F16C, BMI1/2 only
// where noted), 16 ymm registers.

// a2qConst is the quantizers' RODATA.
var a2qConst Mem

// Offsets in a2qConst.
const (
	a2qAbs   = 0   // dwords 0x7fffffff
	a2q127   = 32  // dwords 127
	a2qFF    = 64  // dwords 0xff
	a2qOnesB = 96  // bytes 1
	a2qOnesW = 128 // words 1
	a2qPerm  = 160 // VPERMD: dwords 0, 4, 1, 5, 2, 6, 3, 7
	a2qSize  = 192
)

func genAVX2PK2() {
	var c [a2qSize]byte
	for i := 0; i < 8; i++ {
		put := func(off int, v uint32) {
			for b := 0; b < 4; b++ {
				c[off+4*i+b] = byte(v >> (8 * b))
			}
		}
		put(a2qAbs, 0x7fffffff)
		put(a2q127, 127)
		put(a2qFF, 0xff)
		put(a2qOnesB, 0x01010101)
		put(a2qOnesW, 0x00010001)
		put(a2qPerm, uint32([]int{0, 4, 1, 5, 2, 6, 3, 7}[i]))
	}
	a2qConst = GLOBL("a2pk2qconst", RODATA|NOPTR)
	for i, v := range c {
		DATA(i, U8(v))
	}
	a2qQuant(false)
	a2qQuant(true)
	genA2IQPack()
}

// a2qC returns the constant at offset off of a2qConst.
func a2qC(off int) Mem { return a2qConst.Offset(off) }

// a2qQuant generates quantQ8_KA2 (full false: nb Q8_K blocks of 292 bytes,
// quantizeRowQ8_KGeneric) or quantQ8_KxA2 (nb interleaved K activation
// blocks stride bytes apart, quantizeRowQ8_KxGeneric with the offsets
// gk·bsum_g at 320): ggml's quantize_row_q8_K_ref as quantQ8_KAVX512 does it
// (max = the first value of largest magnitude, iscale = −127/max, q =
// min(127, round-half-even(iscale·x)) kept as its low byte, d = 1/iscale),
// then the bsums from the quants: VPMADDUBSW and VPMADDWD by ones, two
// VPHADDD levels.
func a2qQuant(full bool) {
	name, sig := "quantQ8_KA2", "func(x *float32, out *byte, nb int)"
	doc := "quantQ8_KA2 writes nb Q8_K blocks (292 bytes: d, qs, bsums) to out from 256·nb floats at x, the bytes of quantizeRowQ8_KGeneric (AVX2)."
	bytes := 292
	if full {
		name, sig = "quantQ8_KxA2", "func(x *float32, out *byte, nb int, stride int, negk int, gk int)"
		doc = "quantQ8_KxA2 writes nb interleaved K activation blocks (384 bytes, stride bytes apart) to out from 256·nb floats at x: Q8_K, the pair sums, negk·Σq at 308, zeros, gk·bsum_g as int32 at 320 (AVX2)."
		bytes = actK
	}
	TEXT(name, NOSPLIT, sig)
	Doc(doc)
	x := loadGP("x")
	out := loadGP("out")
	nb := loadGP("nb")
	stride := GP64()
	if full {
		Load(Param("stride"), stride)
	} else {
		MOVQ(U32(292), stride)
	}
	L := func(s string) string { return name + "_" + s }
	onesB, perm := YMM(), YMM()
	VMOVDQU(a2qC(a2qOnesB), onesB)
	VMOVDQU(a2qC(a2qPerm), perm)
	absm := YMM()
	VMOVDQU(a2qC(a2qAbs), absm)

	Label(L("loop"))
	TESTQ(nb, nb)
	JZ(LabelRef(L("done")))
	// amax over the 32 vectors, four chains.
	var m [4]VecVirtual
	for i := 0; i < 32; i++ {
		t := YMM()
		VANDPS(Mem{Base: x, Disp: 32 * i}, absm, t)
		if i < 4 {
			m[i] = t
		} else {
			VMAXPS(t, m[i%4], m[i%4])
		}
	}
	VMAXPS(m[1], m[0], m[0])
	VMAXPS(m[3], m[2], m[2])
	VMAXPS(m[2], m[0], m[0])
	xm, t := XMM(), XMM()
	VEXTRACTF128(U8(1), m[0], xm)
	VMAXPS(m[0].AsX(), xm, xm)
	VPERMILPS(U8(0x4e), xm, t)
	VMAXPS(t, xm, xm)
	VPERMILPS(U8(0xb1), xm, t)
	VMAXPS(t, xm, xm) // lane 0: amax
	ab := GP32()
	VMOVD(xm, ab)
	TESTL(ab, ab)
	JZ(LabelRef(L("zero")))
	amax := YMM()
	VBROADCASTSS(xm, amax)
	// The first element with |x| == amax gives the signed max.
	idx := GP64()
	XORQ(idx, idx)
	km := GP32()
	Label(L("find"))
	{
		t := YMM()
		VANDPS(Mem{Base: x, Index: idx, Scale: 4}, absm, t)
		VCMPPS(U8(0), amax, t, t) // EQ_OQ
		VMOVMSKPS(t, km)
		TESTL(km, km)
		JNZ(LabelRef(L("found")))
		ADDQ(U8(8), idx)
		CMPQ(idx, U32(256))
		JB(LabelRef(L("find")))
	}
	// Not found (NaN input) or all zeros: a zero block.
	Label(L("zero"))
	{
		z := YMM()
		VPXOR(z, z, z)
		for off := 0; off+32 <= bytes; off += 32 {
			VMOVDQU(z, Mem{Base: out, Disp: off})
		}
		if r := bytes % 32; r != 0 {
			VMOVDQU(z, Mem{Base: out, Disp: bytes - 32})
		}
		JMP(LabelRef(L("next")))
	}
	Label(L("found"))
	BSFL(km, km)
	ADDQ(km.As64(), idx)
	{
		mx, is, d, g := XMM(), XMM(), XMM(), GP32()
		MOVL(U32(0xc2fe0000), g) // −127.0
		VMOVD(g, is)
		VMOVSS(Mem{Base: x, Index: idx, Scale: 4}, mx)
		VDIVSS(mx, is, is) // iscale = −127/max
		MOVL(U32(0x3f800000), g)
		VMOVD(g, d)
		VDIVSS(is, d, d) // 1/iscale
		VMOVSS(d, Mem{Base: out})
		VBROADCASTSS(is, amax)
	}
	isc := amax
	// Quants: 8 vectors of 32, each from 4 float vectors; per vector the
	// dword sums of 4 quants (s) for the bsums.
	s := make([]VecVirtual, 8)
	for v := 0; v < 8; v++ {
		d := make([]VecVirtual, 4)
		for i := range d {
			d[i] = YMM()
			VMULPS(Mem{Base: x, Disp: 128*v + 32*i}, isc, d[i])
			VCVTPS2DQ(d[i], d[i])
			VPMINSD(a2qC(a2q127), d[i], d[i])
			VPAND(a2qC(a2qFF), d[i], d[i])
		}
		VPACKUSDW(d[1], d[0], d[0])
		VPACKUSDW(d[3], d[2], d[2])
		VPACKUSWB(d[2], d[0], d[0])
		q := d[0]
		VPERMD(q, perm, q)
		VMOVDQU(q, Mem{Base: out, Disp: 4 + 32*v})
		VPMADDUBSW(q, onesB, q)
		VPMADDWD(a2qC(a2qOnesW), q, q)
		s[v] = q // lane 0: group 2v's four sums, lane 1: group 2v+1's
	}
	// Two VPHADDD levels: lane 0 of b[i] holds groups 8i, 8i+2, .., 8i+6,
	// lane 1 the odd ones; VPERMD puts them in order.
	var b [2]VecVirtual
	for i := 0; i < 2; i++ {
		VPHADDD(s[4*i+1], s[4*i], s[4*i])
		VPHADDD(s[4*i+3], s[4*i+2], s[4*i+2])
		VPHADDD(s[4*i+2], s[4*i], s[4*i])
		b[i] = s[4*i]
		VPERMD(b[i], perm, b[i]) // bsum[8i..8i+7] as int32
	}
	{
		w := YMM()
		VPACKSSDW(b[1], b[0], w)
		VPERMQ(U8(0xd8), w, w)
		VMOVDQU(w, Mem{Base: out, Disp: 260})
	}
	if full {
		// Pair sums, Σq.
		p, px := YMM(), XMM()
		VPHADDD(b[1], b[0], p)
		VPERMQ(U8(0xd8), p, p) // pair[0..7] as int32
		VEXTRACTI128(U8(1), p, px)
		VPACKSSDW(px, p.AsX(), px)
		VMOVDQU(px, Mem{Base: out, Disp: 292})
		VPMADDWD(a2qC(a2qOnesW), px, px) // 4 dwords
		sx := XMM()
		VPSHUFD(U8(0x4e), px, sx)
		VPADDD(sx, px, px)
		VPSHUFD(U8(0xb1), px, sx)
		VPADDD(sx, px, px)
		sum, nk := GP32(), GP64()
		VMOVD(px, sum)
		Load(Param("negk"), nk)
		IMULL(nk.As32(), sum)
		MOVL(sum, Mem{Base: out, Disp: 308})
		MOVL(U32(0), Mem{Base: out, Disp: 312})
		MOVL(U32(0), Mem{Base: out, Disp: 316})
		// The group offsets gk·bsum_g.
		gk, gv := GP64(), YMM()
		Load(Param("gk"), gk)
		VMOVD(gk.As32(), gv.AsX())
		VPBROADCASTD(gv.AsX(), gv)
		for i := 0; i < 2; i++ {
			VPMULLD(gv, b[i], b[i])
			VMOVDQU(b[i], Mem{Base: out, Disp: 320 + 32*i})
		}
	}
	Label(L("next"))
	ADDQ(U32(1024), x)
	ADDQ(stride, out)
	DECQ(nb)
	JMP(LabelRef(L("loop")))
	Label(L("done"))
	VZEROUPPER()
	RET()
}

// Constants of the pack kernels (a2jConst).
var a2jConst Mem

// Offsets in a2jConst.
const (
	a2jK64   = 0   // bytes 64
	a2jK32   = 32  // bytes 32
	a2j25    = 64  // bytes 25 (IQ1_S, delta +1)
	a2j23    = 96  // bytes 23 (IQ1_S, delta −1; IQ1_M)
	a2jBcast = 128 // VPSHUFB: byte i of each lane from byte i/8 of the dword
	a2jBits  = 160 // bytes 1 << (i%8)
	a2jC8    = 192 // float32 1/8
	a2jC4    = 196 // float32 1/4
	a2jSize  = 200
)

func genA2KConsts() {
	var c [a2jSize]byte
	for i := 0; i < 32; i++ {
		c[a2jK64+i], c[a2jK32+i], c[a2j25+i], c[a2j23+i] = 64, 32, 25, 23
		c[a2jBcast+i] = byte(i % 16 / 8)
		if i >= 16 {
			c[a2jBcast+i] += 2
		}
		c[a2jBits+i] = 1 << (i % 8)
	}
	for i, v := range []uint32{0x3e000000, 0x3e800000} { // 0.125, 0.25
		for b := 0; b < 4; b++ {
			c[a2jC8+4*i+b] = byte(v >> (8 * b))
		}
	}
	a2jConst = GLOBL("a2pk2kconst", RODATA|NOPTR)
	for i, v := range c {
		DATA(i, U8(v))
	}
}

// a2jC returns the constant at offset off of a2jConst.
func a2jC(off int) Mem { return a2jConst.Offset(off) }

// a2Pack is one codebook type's AVX2 pack kernel, row by row: header
// writes a row's 16 group scales 2s+1 (int32) and d·c into the packed
// block, row returns sub-block j's 32 values + k as unsigned bytes.
type a2Pack struct {
	name   string
	wBytes int
	grid32 bool // 4-byte codebook entries (IQ3)
	signs  bool // takes signMasks7
	header func(c *a2PackCtx)
	row    func(c *a2PackCtx, j int) VecVirtual
}

// a2PackCtx is what an a2Pack's hooks work with: rp points at the row's
// block, dr at the packed block + 4·r (the row's lane).
type a2PackCtx struct {
	rp, dr, grid, signs GPVirtual
}

// at returns the block's byte off.
func (c *a2PackCtx) at(off int) Mem { return Mem{Base: c.rp, Disp: off} }

// scale stores 2s+1 (s in the low bits of v, already masked) as the
// scales of groups g and, if g1 ≥ 0, g1.
func (c *a2PackCtx) scale(v GPVirtual, g, g1 int) {
	x := GP32()
	LEAL(Mem{Base: v, Index: v, Scale: 1, Disp: 1}, x)
	MOVL(x, Mem{Base: c.dr, Disp: 4096 + 64*g})
	if g1 >= 0 {
		MOVL(x, Mem{Base: c.dr, Disp: 4096 + 64*g1})
	}
}

// field returns (load32(off) >> shift) & mask.
func (c *a2PackCtx) field(off, shift int, mask uint32) GPVirtual {
	x := GP32()
	MOVL(c.at(off), x)
	if shift > 0 {
		SHRL(U8(shift), x)
	}
	if mask != 0 {
		ANDL(U32(mask), x)
	}
	return x
}

// d stores the f16 in the low word of h, times the constant at offset
// cm of a2jConst (0: times 1), as the row's float32 d.
func (c *a2PackCtx) d(h GPVirtual, cm int) {
	x := XMM()
	VMOVD(h, x)
	VCVTPH2PS(x, x)
	if cm != 0 {
		VMULSS(a2jC(cm), x, x)
	}
	VMOVSS(x, Mem{Base: c.dr, Disp: 5120})
}

// entries loads four 8-byte (or, e32, eight 4-byte) table entries
// tbl[idx(l)] into a ymm.
func (c *a2PackCtx) entries(tbl GPVirtual, e32 bool, idx func(l int) Register) VecVirtual {
	g, x := YMM(), XMM()
	VPXOR(g, g, g)
	if e32 {
		for h, v := range []Register{g.AsX(), x} {
			VMOVD(Mem{Base: tbl, Index: idx(4 * h), Scale: 4}, v)
			for l := 1; l < 4; l++ {
				VPINSRD(U8(l), Mem{Base: tbl, Index: idx(4*h + l), Scale: 4}, v, v)
			}
		}
	} else {
		VMOVQ(Mem{Base: tbl, Index: idx(0), Scale: 8}, g.AsX())
		VPINSRQ(U8(1), Mem{Base: tbl, Index: idx(1), Scale: 8}, g.AsX(), g.AsX())
		VMOVQ(Mem{Base: tbl, Index: idx(2), Scale: 8}, x)
		VPINSRQ(U8(1), Mem{Base: tbl, Index: idx(3), Scale: 8}, x, x)
	}
	VINSERTI128(U8(1), x, g, g)
	return g
}

// byteAt returns idx for entries: the bytes at off+l.
func (c *a2PackCtx) byteAt(off int) func(l int) Register {
	return func(l int) Register {
		i := GP64()
		MOVBQZX(c.at(off+l), i)
		return i
	}
}

// sign7 returns idx for entries of signMasks7: the 7-bit fields 7l of the
// dword at off (four sign indices).
func (c *a2PackCtx) sign7(off int) func(l int) Register {
	return func(l int) Register {
		return c.field(off, 7*l, 127).As64()
	}
}

// bitSigns returns the byte mask (0xff where negative) of the 32 sign bits
// at off.
func (c *a2PackCtx) bitSigns(off int) VecVirtual {
	m := YMM()
	VPBROADCASTD(c.at(off), m)
	VPSHUFB(a2jC(a2jBcast), m, m)
	VPAND(a2jC(a2jBits), m, m)
	VPCMPEQB(a2jC(a2jBits), m, m)
	return m
}

// signed returns k + g, or k − g where m is 0xff: k + (g ^ m) − m.
func a2Signed(g, m VecVirtual, k int) VecVirtual {
	VPXOR(m, g, g)
	VPSUBB(m, g, g)
	kc := a2jK64
	if k == 32 {
		kc = a2jK32
	}
	VPADDB(a2jC(kc), g, g)
	return g
}

// hiIdx returns idx for entries: the byte at lo+l | bits of the word (or
// byte) at hi: ((hiw << shl(l)) or >> −shl(l)) & mask.
func (c *a2PackCtx) hiIdx(lo, hi int, word bool, shl func(l int) int, mask uint32) func(l int) Register {
	return func(l int) Register {
		i, h := GP64(), GP32()
		if word {
			MOVWLZX(c.at(hi), h)
		} else {
			MOVBLZX(c.at(hi), h)
		}
		switch s := shl(l); {
		case s > 0:
			SHLL(U8(s), h)
		case s < 0:
			SHRL(U8(-s), h)
		}
		ANDL(U32(mask), h)
		MOVBQZX(c.at(lo+l), i)
		ORL(h, i.As32())
		return i
	}
}

var a2Packs = []a2Pack{
	{"IQ2_XXS", 66, false, true,
		func(c *a2PackCtx) {
			for j := 0; j < 8; j++ {
				c.scale(c.field(6+8*j, 28, 0), 2*j, 2*j+1)
			}
			h := GP32()
			MOVWLZX(c.at(0), h)
			c.d(h, a2jC8)
		},
		func(c *a2PackCtx, j int) VecVirtual {
			g := c.entries(c.grid, false, c.byteAt(2+8*j))
			return a2Signed(g, c.entries(c.signs, false, c.sign7(6+8*j)), 64)
		}},
	{"IQ2_XS", 74, false, true,
		func(c *a2PackCtx) {
			for j := 0; j < 8; j++ {
				s := GP32()
				MOVBLZX(c.at(66+j), s)
				hi := GP32()
				MOVL(s, hi)
				SHRL(U8(4), hi)
				ANDL(U8(15), s)
				c.scale(s, 2*j, -1)
				c.scale(hi, 2*j+1, -1)
			}
			h := GP32()
			MOVWLZX(c.at(0), h)
			c.d(h, a2jC8)
		},
		func(c *a2PackCtx, j int) VecVirtual {
			g := c.entries(c.grid, false, func(l int) Register {
				i := GP32()
				MOVWLZX(c.at(2+8*j+2*l), i)
				ANDL(U32(511), i)
				return i.As64()
			})
			m := c.entries(c.signs, false, func(l int) Register {
				i := GP32()
				MOVWLZX(c.at(2+8*j+2*l), i)
				SHRL(U8(9), i)
				return i.As64()
			})
			return a2Signed(g, m, 64)
		}},
	{"IQ2_S", 82, false, false,
		func(c *a2PackCtx) {
			for j := 0; j < 8; j++ {
				s := GP32()
				MOVBLZX(c.at(74+j), s)
				hi := GP32()
				MOVL(s, hi)
				SHRL(U8(4), hi)
				ANDL(U8(15), s)
				c.scale(s, 2*j, -1)
				c.scale(hi, 2*j+1, -1)
			}
			h := GP32()
			MOVWLZX(c.at(0), h)
			c.d(h, a2jC8)
		},
		func(c *a2PackCtx, j int) VecVirtual {
			// index bits 8..9 of group l: bits 2l, 2l+1 of qh[j]
			g := c.entries(c.grid, false, c.hiIdx(2+4*j, 66+j, false, func(l int) int { return 8 - 2*l }, 0x300))
			return a2Signed(g, c.bitSigns(34+4*j), 64)
		}},
	{"IQ3_XXS", 98, true, true,
		func(c *a2PackCtx) {
			for j := 0; j < 8; j++ {
				c.scale(c.field(66+4*j, 28, 0), 2*j, 2*j+1)
			}
			h := GP32()
			MOVWLZX(c.at(0), h)
			c.d(h, a2jC4)
		},
		func(c *a2PackCtx, j int) VecVirtual {
			g := c.entries(c.grid, true, c.byteAt(2+8*j))
			return a2Signed(g, c.entries(c.signs, false, c.sign7(66+4*j)), 64)
		}},
	{"IQ3_S", 110, true, false,
		func(c *a2PackCtx) {
			for j := 0; j < 8; j += 2 {
				s := GP32()
				MOVBLZX(c.at(106+j/2), s)
				hi := GP32()
				MOVL(s, hi)
				SHRL(U8(4), hi)
				ANDL(U8(15), s)
				c.scale(s, 2*j, 2*j+1)
				c.scale(hi, 2*j+2, 2*j+3)
			}
			h := GP32()
			MOVWLZX(c.at(0), h)
			c.d(h, 0)
		},
		func(c *a2PackCtx, j int) VecVirtual {
			// index bit 8 of entry l: bit l of qh[j]
			g := c.entries(c.grid, true, c.hiIdx(2+8*j, 66+j, false, func(l int) int { return 8 - l }, 0x100))
			return a2Signed(g, c.bitSigns(74+4*j), 32)
		}},
	{"IQ1_S", 50, false, false,
		func(c *a2PackCtx) {
			for j := 0; j < 8; j++ {
				s := GP32()
				MOVWLZX(c.at(34+2*j), s)
				SHRL(U8(12), s)
				ANDL(U8(7), s)
				c.scale(s, 2*j, 2*j+1)
			}
			h := GP32()
			MOVWLZX(c.at(0), h)
			c.d(h, a2jC8)
		},
		func(c *a2PackCtx, j int) VecVirtual {
			// 32 + 8·g + δ = 8·(g+1) + 25 − 2·[δ = −1]; index bits 8..10
			// of group l at bits 3l of qh[j].
			g := c.entries(c.grid, false, c.hiIdx(2+4*j, 34+2*j, true, func(l int) int { return 8 - 3*l }, 0x700))
			VPSLLW(U8(3), g, g)
			neg := GP32()
			MOVWLZX(c.at(34+2*j), neg)
			SHRL(U8(15), neg)
			SHLL(U8(5), neg)
			cb := GP64()
			LEAQ(a2jC(a2j25), cb)
			VPADDB(Mem{Base: cb, Index: neg.As64(), Scale: 1}, g, g)
			return g
		}},
	{"IQ1_M", 56, false, false,
		func(c *a2PackCtx) {
			// Scale words at 48: sub-block j's 3-bit scales at bits
			// 6(j%2) and +3 of word j/2; d in the words' top nibbles.
			for j := 0; j < 8; j++ {
				sh := 6 * (j % 2)
				for i := 0; i < 2; i++ {
					x := GP32()
					MOVWLZX(c.at(48+2*(j/2)), x)
					if s := sh + 3*i; s > 0 {
						SHRL(U8(s), x)
					}
					ANDL(U8(7), x)
					c.scale(x, 2*j+i, -1)
				}
			}
			h, x := GP32(), GP32()
			MOVWLZX(c.at(48), h)
			SHRL(U8(12), h)
			for i := 1; i < 4; i++ {
				MOVWLZX(c.at(48+2*i), x)
				SHRL(U8(12), x)
				SHLL(U8(4*i), x)
				ORL(x, h)
			}
			c.d(h, a2jC8)
		},
		func(c *a2PackCtx, j int) VecVirtual {
			// gridIQ1MU's entry (index | delta bit << 11) is 8·(g+1) + 1
			// + δ; the nibble l of the word qh[2j..2j+1] is index bits
			// 8..10 and the delta bit.
			g := c.entries(c.grid, false, c.hiIdx(4*j, 32+2*j, true, func(l int) int { return 8 - 4*l }, 0xf00))
			VPADDB(a2jC(a2j23), g, g)
			return g
		}},
}

func genA2IQPack() {
	genA2KConsts()
	for _, k := range a2Packs {
		a2PackRows(k)
	}
}

// a2PackRows generates packA2<name>: 16 rows, nb blocks, into the Q6_K
// packed layout (the kernel package's packGroupIQGeneric). Per block, each
// row's values go to a frame of [16][256] bytes and its scales and d to
// the packed block; then the frame is transposed by dwords: per eight rows,
// sub-block and four dwords, a 4×4 dword transpose in each lane.
func a2PackRows(k a2Pack) {
	name := "packA2" + k.name
	gt := "*uint64"
	if k.grid32 {
		gt = "*uint32"
	}
	sig := "func(w *byte, ws int, nb int, dst *byte, grid " + gt
	if k.signs {
		sig += ", signs *uint64"
	}
	TEXT(name, 0, sig+")")
	Doc(fmt.Sprintf("%s packs nb blocks of the 16 %s rows at w (stride ws bytes) into the Q6_K packed group layout at dst (5184 bytes per block), with the codebook grid%s (AVX2).", name, k.name, map[bool]string{false: "", true: " and signMasks7"}[k.signs]))
	frame := AllocLocal(16 * 256)
	c := &a2PackCtx{}
	w := loadGP("w")
	dst := loadGP("dst")
	c.grid = loadGP("grid")
	if k.signs {
		c.signs = loadGP("signs")
	}
	L := func(s string) string { return name + "_" + s }
	Label(L("loop"))
	{
		nb := GP64()
		Load(Param("nb"), nb)
		TESTQ(nb, nb)
		JZ(LabelRef(L("done")))
	}
	c.rp, c.dr = GP64(), GP64()
	fr, cnt := GP64(), GP64()
	MOVQ(w, c.rp)
	MOVQ(dst, c.dr)
	LEAQ(frame, fr)
	MOVQ(U32(16), cnt)
	Label(L("row"))
	k.header(c)
	for j := 0; j < 8; j++ {
		u := k.row(c, j)
		VMOVDQU(u, Mem{Base: fr, Disp: 32 * j})
	}
	{
		ws := GP64()
		Load(Param("ws"), ws)
		ADDQ(ws, c.rp)
	}
	ADDQ(U8(4), c.dr)
	ADDQ(U32(256), fr)
	DECQ(cnt)
	JNZ(LabelRef(L("row")))

	// Transpose: j by a loop, rows 8h.. and dwords 4q.. unrolled.
	jr, dj := GP64(), GP64()
	XORQ(jr, jr)
	MOVQ(dst, dj)
	Label(L("xpose"))
	for h := 0; h < 2; h++ {
		for q := 0; q < 2; q++ {
			a := make([]VecVirtual, 4)
			for i := range a {
				a[i] = YMM()
				// rows 8h+i (low lane) and 8h+i+4 (high lane); the
				// high lane of a load 16 bytes early is the row's.
				m := frame.Offset(256*(8*h+i)+16*q).Idx(jr, 1)
				VBROADCASTI128(m, a[i])
				VPBLENDD(U8(0xf0), m.Offset(4*256-16), a[i], a[i])
			}
			t0, t1, t2, t3 := YMM(), YMM(), YMM(), YMM()
			VPUNPCKLDQ(a[1], a[0], t0)
			VPUNPCKHDQ(a[1], a[0], t1)
			VPUNPCKLDQ(a[3], a[2], t2)
			VPUNPCKHDQ(a[3], a[2], t3)
			o := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
			VPUNPCKLQDQ(t2, t0, o[0])
			VPUNPCKHQDQ(t2, t0, o[1])
			VPUNPCKLQDQ(t3, t1, o[2])
			VPUNPCKHQDQ(t3, t1, o[3])
			for v := 0; v < 4; v++ {
				VMOVDQU(o[v], Mem{Base: dj, Disp: 64*(4*q+v) + 32*h})
			}
		}
	}
	ADDQ(U8(32), jr)
	ADDQ(U32(512), dj)
	CMPQ(jr, U32(256))
	JB(LabelRef(L("xpose")))

	ADDQ(U32(uint32(k.wBytes)), w)
	ADDQ(U32(5184), dst)
	{
		nb := GP64()
		Load(Param("nb"), nb)
		DECQ(nb)
		Store(nb, Param("nb"))
	}
	JMP(LabelRef(L("loop")))
	Label(L("done"))
	VZEROUPPER()
	RET()
}
