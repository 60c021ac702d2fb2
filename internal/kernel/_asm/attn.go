package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Attention kernels over an f16 KV cache (AVX-512): query·key dots for 16
// keys at a time, the probability-weighted sum of value rows, softmax and
// rounding to f16 precision.
func genAttn() {
	dots16()
	weightedSum(8)
	weightedSum(1)
	dotF32F16()
	softmaxKernels()
	roundF16()
}

// dots16 generates dotsF16x16AVX512: 16 dots of a float32 query with f16
// keys, each accumulated in 16 float32 lanes (one FMA per 16 elements), the
// 16 accumulators then reduced together by a transposing add tree.
func dots16() {
	TEXT("dotsF16x16AVX512", NOSPLIT, "func(out *float32, q *float32, k *uint16, ks int, nd int, scale float32)")
	Doc("dotsF16x16AVX512 sets out[j] = scale·Σ_{i<16·nd} q[i]·k_j[i] for the 16 f16 rows k_j at k+j*ks (bytes), j < 16.")
	out, q, k, ks, nd := loadGP("out"), loadGP("q"), loadGP("k"), loadGP("ks"), loadGP("nd")
	// Keys 4i..4i+3 from base kp[i] with index 0, ks, 2ks, 3ks.
	ks3 := GP64()
	LEAQ(Mem{Base: ks, Index: ks, Scale: 2}, ks3)
	kp := []GPVirtual{k, GP64(), GP64(), GP64()}
	for i := 1; i < 4; i++ {
		LEAQ(Mem{Base: kp[i-1], Index: ks, Scale: 4}, kp[i])
	}
	keyMem := func(j int) Mem {
		b := kp[j/4]
		switch j % 4 {
		case 1:
			return Mem{Base: b, Index: ks, Scale: 1}
		case 2:
			return Mem{Base: b, Index: ks, Scale: 2}
		case 3:
			return Mem{Base: b, Index: ks3, Scale: 1}
		}
		return Mem{Base: b}
	}
	acc := make([]Register, 16)
	for j := range acc {
		acc[j] = highZ[j]
		VPXORD(acc[j], acc[j], acc[j])
	}
	Label("dots16_loop")
	TESTQ(nd, nd)
	JZ(LabelRef("dots16_done"))
	for j := 0; j < 16; j++ {
		kv := ZMM()
		VCVTPH2PS(keyMem(j), kv)
		VFMADD231PS(Mem{Base: q}, kv, acc[j])
	}
	ADDQ(U32(64), q)
	for _, p := range kp {
		ADDQ(U32(32), p)
	}
	DECQ(nd)
	JMP(LabelRef("dots16_loop"))
	Label("dots16_done")
	// Level 1: pairs → per 128-bit lane [A0+A2, B0+B2, A1+A3, B1+B3].
	c := make([]VecVirtual, 8)
	for i := 0; i < 8; i++ {
		lo, hi := ZMM(), ZMM()
		VUNPCKLPS(acc[2*i+1], acc[2*i], lo)
		VUNPCKHPS(acc[2*i+1], acc[2*i], hi)
		VADDPS(hi, lo, lo)
		c[i] = lo
	}
	// Level 2: per 128-bit lane the partial sums of keys 4i..4i+3.
	d := make([]VecVirtual, 4)
	for i := 0; i < 4; i++ {
		lo, hi := ZMM(), ZMM()
		VUNPCKLPD(c[2*i+1], c[2*i], lo)
		VUNPCKHPD(c[2*i+1], c[2*i], hi)
		VADDPS(hi, lo, lo)
		d[i] = lo
	}
	// Level 3: add the four 128-bit lanes: g lane 4i+m = key 4i+m.
	e := make([]VecVirtual, 2)
	for i := 0; i < 2; i++ {
		lo, hi := ZMM(), ZMM()
		VSHUFF32X4(U8(0x88), d[2*i+1], d[2*i], lo) // L0 L2 of each
		VSHUFF32X4(U8(0xdd), d[2*i+1], d[2*i], hi) // L1 L3 of each
		VADDPS(hi, lo, lo)
		e[i] = lo
	}
	g, h := ZMM(), ZMM()
	VSHUFF32X4(U8(0x88), e[1], e[0], g)
	VSHUFF32X4(U8(0xdd), e[1], e[0], h)
	VADDPS(h, g, g)
	sc := XMM()
	Load(Param("scale"), sc)
	scz := ZMM()
	VBROADCASTSS(sc, scz)
	VMULPS(scz, g, g)
	VMOVUPS(g, Mem{Base: out})
	VZEROUPPER()
	RET()
}

// weightedSum generates weightedSumF16x<C>AVX512: C 16-element column
// blocks of out += Σ_j p[j]·v_j, accumulated into out key by key with FMA,
// so that a sequence of calls over consecutive runs of keys adds exactly
// as one call over all of them.
func weightedSum(C int) {
	name := fmt.Sprintf("weightedSumF16x%dAVX512", C)
	TEXT(name, NOSPLIT, "func(out *float32, p *float32, v *uint16, vs int, nk int)")
	Doc(fmt.Sprintf("%s adds Σ_{j<nk} p[j]·v_j[i] to out[i] for i < %d, v_j the f16 row at v+j*vs (bytes), key by key (FMA into out's value).", name, 16*C))
	out, p, v, vs, nk := loadGP("out"), loadGP("p"), loadGP("v"), loadGP("vs"), loadGP("nk")
	acc := make([]VecVirtual, C)
	for c := range acc {
		acc[c] = ZMM()
		VMOVUPS(Mem{Base: out, Disp: 64 * c}, acc[c])
	}
	Label(name + "_loop")
	TESTQ(nk, nk)
	JZ(LabelRef(name + "_done"))
	for c := 0; c < C; c++ {
		kv := ZMM()
		VCVTPH2PS(Mem{Base: v, Disp: 32 * c}, kv)
		VFMADD231PS_BCST(Mem{Base: p}, kv, acc[c])
	}
	ADDQ(U8(4), p)
	ADDQ(vs, v)
	DECQ(nk)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	for c := 0; c < C; c++ {
		VMOVUPS(acc[c], Mem{Base: out, Disp: 64 * c})
	}
	VZEROUPPER()
	RET()
}

// dotF32F16 generates dotF32F16AVX512: one float32 × f16 dot, whose lanes
// are added in the order dots16 adds each key's, so that a key's score does
// not depend on whether it was one of 16 or on its own.
func dotF32F16() {
	TEXT("dotF32F16AVX512", NOSPLIT, "func(a *float32, b *uint16, n int) float32")
	Doc("dotF32F16AVX512 returns Σ a[i]·b[i] over 16·n elements, float32 a and f16 b, summed in float32 lanes added as dotsF16x16AVX512 adds them.")
	a, b, n := loadGP("a"), loadGP("b"), loadGP("n")
	acc := ZMM()
	VPXORD(acc, acc, acc)
	Label("dotf32f16_loop")
	TESTQ(n, n)
	JZ(LabelRef("dotf32f16_done"))
	kv := ZMM()
	VCVTPH2PS(Mem{Base: b}, kv)
	VFMADD231PS(Mem{Base: a}, kv, acc)
	ADDQ(U32(64), a)
	ADDQ(U32(32), b)
	DECQ(n)
	JMP(LabelRef("dotf32f16_loop"))
	Label("dotf32f16_done")
	// Per 128-bit lane (x0+x2)+(x1+x3) (dots16's levels 1 and 2; float
	// addition is commutative), then (L0+L1)+(L2+L3) (level 3).
	t := ZMM()
	VPERMILPS(U8(0x4e), acc, t)
	VADDPS(t, acc, acc)
	VPERMILPS(U8(0xb1), acc, t)
	VADDPS(t, acc, acc)
	VSHUFF32X4(U8(0xb1), acc, acc, t)
	VADDPS(t, acc, acc)
	VSHUFF32X4(U8(0x4e), acc, acc, t)
	VADDPS(t, acc, acc)
	Store(acc.AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// softmaxKernels generates the passes of the SIMD SoftmaxF16: the maximum,
// the exponentials with their float64 sum, and the scaling and rounding.
func softmaxKernels() {
	TEXT("maxAVX512", NOSPLIT, "func(x *float32, n int) float32")
	Doc("maxAVX512 returns the largest of 16·n floats (n ≥ 1; NaNs are skipped unless all are NaN).")
	{
		x, n := loadGP("x"), loadGP("n")
		m := ZMM()
		VMOVUPS(Mem{Base: x}, m)
		Label("max_loop")
		ADDQ(U32(64), x)
		DECQ(n)
		JZ(LabelRef("max_done"))
		VMAXPS(Mem{Base: x}, m, m)
		JMP(LabelRef("max_loop"))
		Label("max_done")
		yv := YMM()
		VEXTRACTF64X4(U8(1), m, yv)
		VMAXPS(m.AsY(), yv, yv)
		xv, t := XMM(), XMM()
		VEXTRACTF32X4(U8(1), yv, xv)
		VMAXPS(yv.AsX(), xv, xv)
		VPERMILPS(U8(0x4e), xv, t)
		VMAXPS(t, xv, xv)
		VPERMILPS(U8(0xb1), xv, t)
		VMAXPS(t, xv, xv)
		Store(xv, ReturnIndex(0))
		VZEROUPPER()
		RET()
	}

	TEXT("expSubAVX512", NOSPLIT, "func(x *float32, n int, m float32) float64")
	Doc("expSubAVX512 sets x[i] = e^(x[i]−m) (exp16) for 16·n floats and returns their sum, added in float64 lanes.")
	{
		x, n := loadGP("x"), loadGP("n")
		mx := XMM()
		Load(Param("m"), mx)
		mz := ZMM()
		VBROADCASTSS(mx, mz)
		c := newExpConsts()
		s0, s1 := ZMM(), ZMM()
		VXORPD(s0, s0, s0)
		VXORPD(s1, s1, s1)
		Label("expsub_loop")
		TESTQ(n, n)
		JZ(LabelRef("expsub_done"))
		v := ZMM()
		VMOVUPS(Mem{Base: x}, v)
		VSUBPS(mz, v, v)
		e := exp16(v, c)
		VMOVUPS(e, Mem{Base: x})
		lo, hi := ZMM(), ZMM()
		VCVTPS2PD(e.AsY(), lo)
		eh := YMM()
		VEXTRACTF64X4(U8(1), e, eh)
		VCVTPS2PD(eh, hi)
		VADDPD(lo, s0, s0)
		VADDPD(hi, s1, s1)
		ADDQ(U32(64), x)
		DECQ(n)
		JMP(LabelRef("expsub_loop"))
		Label("expsub_done")
		VADDPD(s1, s0, s0)
		yv := YMM()
		VEXTRACTF64X4(U8(1), s0, yv)
		VADDPD(s0.AsY(), yv, yv)
		xv, t := XMM(), XMM()
		VEXTRACTF64X2(U8(1), yv, xv)
		VADDPD(yv.AsX(), xv, xv)
		VPERMILPD(U8(1), xv, t)
		VADDSD(t, xv, xv)
		Store(xv, ReturnIndex(0))
		VZEROUPPER()
		RET()
	}

	TEXT("scaleRoundF16AVX512", NOSPLIT, "func(x *float32, s float32, n int)")
	Doc("scaleRoundF16AVX512 multiplies 16·n floats at x by s and rounds the products to binary16 precision (nearest even).")
	{
		x, n := loadGP("x"), loadGP("n")
		sx := XMM()
		Load(Param("s"), sx)
		sz := ZMM()
		VBROADCASTSS(sx, sz)
		Label("scale_loop")
		TESTQ(n, n)
		JZ(LabelRef("scale_done"))
		v := ZMM()
		VMULPS(Mem{Base: x}, sz, v)
		h := YMM()
		VCVTPS2PH(U8(0), v, h)
		VCVTPH2PS(h, v)
		VMOVUPS(v, Mem{Base: x})
		ADDQ(U32(64), x)
		DECQ(n)
		JMP(LabelRef("scale_loop"))
		Label("scale_done")
		VZEROUPPER()
		RET()
	}
}

// roundF16 generates roundF16AVX512.
func roundF16() {
	TEXT("roundF16AVX512", NOSPLIT, "func(x *float32, n int)")
	Doc("roundF16AVX512 rounds 16·n floats at x to binary16 precision (nearest even) in place.")
	x, n := loadGP("x"), loadGP("n")
	Label("round16_loop")
	TESTQ(n, n)
	JZ(LabelRef("round16_done"))
	v := ZMM()
	VMOVUPS(Mem{Base: x}, v)
	h := YMM()
	VCVTPS2PH(U8(0), v, h)
	VCVTPH2PS(h, v)
	VMOVUPS(v, Mem{Base: x})
	ADDQ(U32(64), x)
	DECQ(n)
	JMP(LabelRef("round16_loop"))
	Label("round16_done")
	VZEROUPPER()
	RET()
}
