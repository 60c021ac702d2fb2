package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func genQuantizers() {
	quantQ8_0()
	quantQ8_K()
}

// quantQ8_K is ggml's quantize_row_q8_K_ref without the bsums (the Go
// caller adds them): per 256-float block, max = the first value of largest
// magnitude, iscale = −127/max, q = min(127, round-half-even(iscale·x)),
// d = 1/iscale (float32); an all-zero block gets d = 0 and q = 0.
func quantQ8_K() {
	TEXT("quantQ8_KAVX512", NOSPLIT, "func(x *float32, out *byte, nb int)")
	Doc("quantQ8_KAVX512 writes d and qs of nb Q8_K blocks (292 bytes, bsums left alone) from 256·nb floats at x (AVX-512).")
	x := loadGP("x")
	out := loadGP("out")
	nb := loadGP("nb")
	absMask := ZMM()
	g := GP32()
	MOVL(U32(0x7fffffff), g)
	VPBROADCASTD(g, absMask)
	c127 := ZMM()
	MOVL(U32(127), g)
	VPBROADCASTD(g, c127)
	m127 := XMM()
	MOVL(U32(0xc2fe0000), g) // -127.0
	VMOVD(g, m127)
	one := XMM()
	MOVL(U32(0x3f800000), g) // 1.0
	VMOVD(g, one)

	Label("q8k_loop")
	TESTQ(nb, nb)
	JZ(LabelRef("q8k_done"))
	// amax over 16 zmm.
	mx := ZMM()
	VANDPS(Mem{Base: x}, absMask, mx)
	for i := 1; i < 16; i++ {
		t := ZMM()
		VANDPS(Mem{Base: x, Disp: 64 * i}, absMask, t)
		VMAXPS(t, mx, mx)
	}
	y := YMM()
	VEXTRACTF64X4(U8(1), mx, y)
	VMAXPS(mx.AsY(), y, y)
	xm, t := XMM(), XMM()
	VEXTRACTF32X4(U8(1), y, xm)
	VMAXPS(y.AsX(), xm, xm)
	VPERMILPS(U8(0x4e), xm, t)
	VMAXPS(t, xm, xm)
	VPERMILPS(U8(0xb1), xm, t)
	VMAXPS(t, xm, xm) // lane 0: amax
	ab := GP32()
	VMOVD(xm, ab)
	TESTL(ab, ab)
	JZ(LabelRef("q8k_zero")) // all zeros: d = 0, q = 0
	amaxZ := ZMM()
	VBROADCASTSS(xm, amaxZ)
	// The first element with |x| == amax gives the signed max.
	idx := GP64()
	MOVQ(U64(0), idx)
	Label("q8k_find")
	{
		t := ZMM()
		VANDPS(Mem{Base: x, Index: idx, Scale: 4}, absMask, t)
		k := K()
		VCMPPS(U8(0), amaxZ, t, k) // EQ_OQ
		km := GP32()
		KMOVW(k, km)
		TESTL(km, km)
		JNZ(LabelRef("q8k_found"))
		ADDQ(U8(16), idx)
		CMPQ(idx, U32(256))
		JB(LabelRef("q8k_find"))
		// Not found (NaN input): write a zero block.
		Label("q8k_zero")
		VXORPS(t, t, t)
		MOVL(U32(0), Mem{Base: out})
		for i := 0; i < 4; i++ {
			VMOVDQU64(t, Mem{Base: out, Disp: 4 + 64*i})
		}
		JMP(LabelRef("q8k_next"))
		Label("q8k_found")
		TZCNTL(km, km)
		ADDQ(km.As64(), idx)
	}
	mxv := XMM()
	VMOVSS(Mem{Base: x, Index: idx, Scale: 4}, mxv)
	is := XMM()
	VDIVSS(mxv, m127, is) // iscale = -127/max
	d := XMM()
	VDIVSS(is, one, d) // 1/iscale
	VMOVSS(d, Mem{Base: out})
	isZ := ZMM()
	VBROADCASTSS(is, isZ)
	for i := 0; i < 16; i++ {
		v := ZMM()
		VMULPS(Mem{Base: x, Disp: 64 * i}, isZ, v)
		VCVTPS2DQ(v, v)
		VPMINSD(c127, v, v)
		VPMOVDB(v, Mem{Base: out, Disp: 4 + 16*i})
	}
	Label("q8k_next")
	ADDQ(U32(1024), x)
	ADDQ(U32(292), out)
	DECQ(nb)
	JMP(LabelRef("q8k_loop"))
	Label("q8k_done")
	VZEROUPPER()
	RET()
}

// quantQ8_0 is llama.cpp's x86 quantize_row_q8_0 on 32-float blocks: amax
// = max|x|, d = f16(amax/127), id = 127/amax (0 if amax is 0), q =
// round-half-even(x·id) (VCVTPS2DQ under the default MXCSR rounding).
func quantQ8_0() {
	TEXT("quantQ8_0AVX512", NOSPLIT, "func(x *float32, out *byte, nb int)")
	Doc("quantQ8_0AVX512 writes nb Q8_0 blocks (34 bytes) to out from 32·nb floats at x (AVX-512).")
	x := loadGP("x")
	out := loadGP("out")
	nb := loadGP("nb")
	c := newQ8Consts()

	Label("q80_loop")
	TESTQ(nb, nb)
	JZ(LabelRef("q80_done"))
	b := q8_0Scale(x, c)
	hg := GP32()
	VMOVD(b.h, hg)
	MOVW(hg.As16(), Mem{Base: out})
	q8_0Quants(b, c, Mem{Base: out, Disp: 2})
	ADDQ(U32(128), x)
	ADDQ(U32(34), out)
	DECQ(nb)
	JMP(LabelRef("q80_loop"))
	Label("q80_done")
	VZEROUPPER()
	RET()
}

// q8Consts are the constants of the Q8_0 quantizers, materialized once per
// function: the |x| mask, 127.0 and 0.0.
type q8Consts struct{ absMask, c127, zero VecVirtual }

func newQ8Consts() q8Consts {
	c := q8Consts{absMask: ZMM(), c127: XMM(), zero: XMM()}
	g := GP32()
	MOVL(U32(0x7fffffff), g)
	VPBROADCASTD(g, c.absMask)
	MOVL(U32(0x42fe0000), g) // 127.0
	VMOVD(g, c.c127)
	VXORPS(c.zero, c.zero, c.zero)
	return c
}

// q8Block is one 32-float block being quantized: the values (v0, v1), their
// amax (lane 0 of amax) and d = f16(amax/127) (low word of h).
type q8Block struct{ v0, v1, amax, h VecVirtual }

// q8_0Scale loads the 32 floats at x and computes their amax and d.
func q8_0Scale(x GPVirtual, c q8Consts) q8Block {
	b := q8Block{v0: ZMM(), v1: ZMM()}
	VMOVUPS(Mem{Base: x}, b.v0)
	VMOVUPS(Mem{Base: x, Disp: 64}, b.v1)
	a0, a1 := ZMM(), ZMM()
	VANDPS(c.absMask, b.v0, a0)
	VANDPS(c.absMask, b.v1, a1)
	VMAXPS(a1, a0, a0)
	y := YMM()
	VEXTRACTF64X4(U8(1), a0, y)
	VMAXPS(a0.AsY(), y, y)
	xm, t := XMM(), XMM()
	VEXTRACTF32X4(U8(1), y, xm)
	VMAXPS(y.AsX(), xm, xm)
	VPERMILPS(U8(0x4e), xm, t)
	VMAXPS(t, xm, xm)
	VPERMILPS(U8(0xb1), xm, t)
	VMAXPS(t, xm, xm) // lane 0: amax
	d := XMM()
	VDIVSS(c.c127, xm, d) // amax/127
	b.h = XMM()
	VCVTPS2PH(U8(0), d, b.h)
	b.amax = xm
	return b
}

// q8_0Quants turns b.v0 and b.v1 into int32 quants round-half-even(x·id),
// id = 127/amax (0 if amax is 0), and stores them as 32 int8 at m.
func q8_0Quants(b q8Block, c q8Consts, m Mem) {
	id := XMM()
	VDIVSS(b.amax, c.c127, id) // 127/amax
	nz := XMM()
	VCMPSS(U8(4), c.zero, b.amax, nz) // amax != 0
	VANDPS(nz, id, id)
	idz := ZMM()
	VBROADCASTSS(id, idz)
	for i, v := range []VecVirtual{b.v0, b.v1} {
		VMULPS(idz, v, v)
		VCVTPS2DQ(v, v)
		VPMOVDB(v, m.Offset(16*i))
	}
}
