package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// expConsts are the constants of exp16, broadcast to 16 lanes.
type expConsts struct {
	lo, hi, log2e, ln2hi, ln2lo VecVirtual
	c                           [8]VecVirtual // 1/k!, k = 0..7
}

func bcastF32(v float32) VecVirtual {
	g := GP32()
	MOVL(U32(math.Float32bits(v)), g)
	z := ZMM()
	VPBROADCASTD(g, z)
	return z
}

func newExpConsts() *expConsts {
	c := &expConsts{
		lo: bcastF32(-1000), hi: bcastF32(1000), log2e: bcastF32(float32(math.Log2E)),
		ln2hi: bcastF32(0.693145751953125), ln2lo: bcastF32(1.42860682030941723212e-6),
	}
	f := 1.0
	for k := 0; k < 8; k++ {
		if k > 0 {
			f *= float64(k)
		}
		c.c[k] = bcastF32(float32(1 / f))
	}
	return c
}

// exp16 returns e^x in 16 float32 lanes: x = n·ln2 + r with n =
// round(x·log2 e) and |r| ≤ ln2/2 (ln2 in two parts, Cody–Waite), e^r by
// its Taylor polynomial of degree 7 (truncation < 1e-8 relative) in Horner
// form with FMA, scaled by 2^n with VSCALEFPS, which gives +Inf and 0 (via
// subnormals) past the float32 range. x is first clamped to ±1000 so that
// ±Inf inputs give +Inf and 0; NaN stays NaN. Within 2 ulp of the correctly
// rounded value (TestExpAVX512).
func exp16(x VecVirtual, c *expConsts) VecVirtual {
	v := ZMM()
	VMINPS(x, c.hi, v) // x is the second source: a NaN x passes through
	VMAXPS(v, c.lo, v)
	n := ZMM()
	VMULPS(c.log2e, v, n)
	VRNDSCALEPS(U8(0), n, n) // nearest, ties to even
	r := ZMM()
	VMOVAPS(v, r)
	VFNMADD231PS(c.ln2hi, n, r) // r -= n·ln2hi
	VFNMADD231PS(c.ln2lo, n, r)
	p := ZMM()
	VMOVAPS(c.c[7], p)
	for k := 6; k >= 0; k-- {
		VFMADD213PS(c.c[k], r, p) // p = p·r + c_k
	}
	VSCALEFPS(n, p, p)
	return p
}

// genExp generates the SwiGLU kernel.
func genExp() {
	TEXT("swigluAVX512", NOSPLIT, "func(out, gate, up *float32, n int)")
	Doc("swigluAVX512 sets out[i] = gate[i]/(1+e^−gate[i])·up[i] for 16·n elements (AVX-512; e^x by exp16).")
	out, gate, up, n := loadGP("out"), loadGP("gate"), loadGP("up"), loadGP("n")
	c := newExpConsts()
	sign := bcastF32(float32(math.Copysign(0, -1)))
	Label("swiglu_loop")
	TESTQ(n, n)
	JZ(LabelRef("swiglu_done"))
	g := ZMM()
	VMOVUPS(Mem{Base: gate}, g)
	ng := ZMM()
	VXORPS(sign, g, ng)
	e := exp16(ng, c)
	VADDPS(c.c[0], e, e) // 1 + e^−g
	s := ZMM()
	VDIVPS(e, g, s)
	VMULPS(Mem{Base: up}, s, s)
	VMOVUPS(s, Mem{Base: out})
	ADDQ(U32(64), out)
	ADDQ(U32(64), gate)
	ADDQ(U32(64), up)
	DECQ(n)
	JMP(LabelRef("swiglu_loop"))
	Label("swiglu_done")
	VZEROUPPER()
	RET()

	TEXT("expAVX512", NOSPLIT, "func(dst, src *float32, n int)")
	Doc("expAVX512 sets dst[i] = e^src[i] for 16·n elements (AVX-512, exp16); for tests.")
	{
		d, s, n := loadGP("dst"), loadGP("src"), loadGP("n")
		c := newExpConsts()
		Label("exp_loop")
		TESTQ(n, n)
		JZ(LabelRef("exp_done"))
		x := ZMM()
		VMOVUPS(Mem{Base: s}, x)
		VMOVUPS(exp16(x, c), Mem{Base: d})
		ADDQ(U32(64), d)
		ADDQ(U32(64), s)
		DECQ(n)
		JMP(LabelRef("exp_loop"))
		Label("exp_done")
		VZEROUPPER()
		RET()
	}
}
