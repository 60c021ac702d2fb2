package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func genQuantizers() {
	quantQ8_0()
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
