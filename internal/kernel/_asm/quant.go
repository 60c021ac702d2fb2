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
	absMask := ZMM()
	g := GP32()
	MOVL(U32(0x7fffffff), g)
	VPBROADCASTD(g, absMask)
	c127 := XMM()
	MOVL(U32(0x42fe0000), g) // 127.0
	VMOVD(g, c127)
	zero := XMM()
	VXORPS(zero, zero, zero)

	Label("q80_loop")
	TESTQ(nb, nb)
	JZ(LabelRef("q80_done"))
	v0, v1 := ZMM(), ZMM()
	VMOVUPS(Mem{Base: x}, v0)
	VMOVUPS(Mem{Base: x, Disp: 64}, v1)
	a0, a1 := ZMM(), ZMM()
	VANDPS(absMask, v0, a0)
	VANDPS(absMask, v1, a1)
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
	VDIVSS(c127, xm, d) // amax/127
	h := XMM()
	VCVTPS2PH(U8(0), d, h)
	hg := GP32()
	VMOVD(h, hg)
	MOVW(hg.As16(), Mem{Base: out})
	id := XMM()
	VDIVSS(xm, c127, id) // 127/amax
	nz := XMM()
	VCMPSS(U8(4), zero, xm, nz) // amax != 0
	VANDPS(nz, id, id)
	idz := ZMM()
	VBROADCASTSS(id, idz)
	for i, v := range []VecVirtual{v0, v1} {
		VMULPS(idz, v, v)
		VCVTPS2DQ(v, v)
		VPMOVDB(v, Mem{Base: out, Disp: 2 + 16*i})
	}
	ADDQ(U32(128), x)
	ADDQ(U32(34), out)
	DECQ(nb)
	JMP(LabelRef("q80_loop"))
	Label("q80_done")
	VZEROUPPER()
	RET()
}
