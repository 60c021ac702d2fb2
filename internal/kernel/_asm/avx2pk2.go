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

var _ = fmt.Sprintf
