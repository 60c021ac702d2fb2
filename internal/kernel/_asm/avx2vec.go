package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The vector and attention kernels for CPUs with AVX2, FMA and F16C but
// no AVX-512 (-set avx2vec, into avx2vec_amd64.s): VEX encodings, at most
// 16 ymm registers. Each works on 16-element steps, two ymm registers
// standing for the 16 lanes of the AVX-512 kernel of the same name (lanes
// 0–7 and 8–15), and adds its lanes in the AVX-512 kernel's order, and
// exp8 is exp16's arithmetic: every function returns bit for bit what its
// AVX-512 twin returns (TestVecAVX2SameBits).

// avx2VecConsts is the constant table: each constant repeated 8 times (one
// ymm, 32 bytes), at 32·index.
var avx2VecConsts Mem

const (
	cExpLo = 0  // −1000 and 1000: exp8's input clamp
	cExpHi = 1  //
	cLog2e = 2  //
	cLn2hi = 3  // ln 2 in two parts
	cLn2lo = 4  //
	cC0    = 5  // 1/k!, k = 0..7, at cC0+k
	cNMin  = 13 // −252 and 254: the clamp of n
	cNMax  = 14 //
	cBias  = 15 // 127 (int32): the exponent bias
	cSign  = 16 // −0: the sign bit
)

func genAVX2VecConsts() {
	avx2VecConsts = GLOBL("avx2vecc", RODATA|NOPTR)
	put := func(i int, bits uint32) {
		for l := 0; l < 8; l++ {
			DATA(32*i+4*l, U32(bits))
		}
	}
	f := func(i int, v float32) { put(i, math.Float32bits(v)) }
	f(cExpLo, -1000)
	f(cExpHi, 1000)
	f(cLog2e, float32(math.Log2E))
	f(cLn2hi, 0.693145751953125)
	f(cLn2lo, 1.42860682030941723212e-6)
	fact := 1.0
	for k := 0; k < 8; k++ {
		if k > 0 {
			fact *= float64(k)
		}
		f(cC0+k, float32(1/fact))
	}
	f(cNMin, -252)
	f(cNMax, 254)
	put(cBias, 127)
	put(cSign, 0x80000000)
}

// paramMem returns the stack slot of the scalar parameter name.
func paramMem(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// vc returns the constant i's ymm in memory.
func vc(i int) Mem { return avx2VecConsts.Offset(32 * i) }

// exp8 returns e^x in 8 float32 lanes with exp16's steps (x clamped to
// ±1000, n = round(x·log2 e), r = x − n·ln2 in two parts, the degree-7
// Taylor polynomial in Horner form with FMA) and its scaling: p·2^n,
// which VSCALEFPS rounds once, is here p·2^⌊n/2⌋·2^(n−⌊n/2⌋) with n first
// clamped to [−252, 254]. Both factors are normal powers of two, and the
// first product is exact (p ∈ [0.7, 1.42]: no overflow, and it is
// subnormal only for n ≤ −251, where the result is 0 either way), so the
// only rounding is the second product's: the same +Inf, subnormals and 0
// as VSCALEFPS. A NaN x gives NaN.
func exp8(x VecVirtual) VecVirtual {
	v := YMM()
	VMOVUPS(vc(cExpHi), v)
	VMINPS(x, v, v) // x is the second source: a NaN x passes through
	lo := YMM()
	VMOVUPS(vc(cExpLo), lo)
	VMAXPS(v, lo, v)
	n := YMM()
	VMULPS(vc(cLog2e), v, n)
	VROUNDPS(U8(0), n, n) // nearest, ties to even
	r := YMM()
	VMOVAPS(v, r)
	VFNMADD231PS(vc(cLn2hi), n, r) // r -= n·ln2hi
	VFNMADD231PS(vc(cLn2lo), n, r)
	p := YMM()
	VMOVUPS(vc(cC0+7), p)
	for k := 6; k >= 0; k-- {
		VFMADD213PS(vc(cC0+k), r, p) // p = p·r + c_k
	}
	VMAXPS(vc(cNMin), n, n)
	VMINPS(vc(cNMax), n, n)
	n1, n2 := YMM(), YMM()
	VCVTPS2DQ(n, n2)
	VPSRAD(U8(1), n2, n1)
	VPSUBD(n1, n2, n2)
	VPADDD(vc(cBias), n1, n1)
	VPADDD(vc(cBias), n2, n2)
	VPSLLD(U8(23), n1, n1)
	VPSLLD(U8(23), n2, n2)
	VMULPS(n1, p, p)
	VMULPS(n2, p, p)
	return p
}

// yPair is the 16 lanes of an AVX-512 register as two ymm.
type yPair [2]VecVirtual

func newPair() yPair { return yPair{YMM(), YMM()} }

func (p yPair) zero() {
	for _, y := range p {
		VXORPS(y, y, y)
	}
}

// sum16 returns, in lane 0 of an xmm, the 16 lanes of acc added as
// returnSum16 adds a zmm's: 256-bit halves, 128-bit halves, then within.
func sum16(acc yPair) VecVirtual {
	y := YMM()
	VADDPS(acc[0], acc[1], y)
	x, t := XMM(), XMM()
	VEXTRACTF128(U8(1), y, x)
	VADDPS(y.AsX(), x, x)
	VPERMILPS(U8(0x4e), x, t)
	VADDPS(t, x, x)
	VPERMILPS(U8(0xb1), x, t)
	VADDPS(t, x, x)
	return x
}

func genAVX2Vec() {
	genAVX2VecConsts()
	avx2DotLike("dotF32AVX2", "func(a, b *float32, n int) float32", 4, func(m Mem) VecVirtual {
		y := YMM()
		VMOVUPS(m, y)
		return y
	})
	avx2DotLike("dotF16AVX2", "func(a, b *uint16, n int) float32", 2, func(m Mem) VecVirtual {
		y := YMM()
		VCVTPH2PS(m, y)
		return y
	})
	avx2AxpyLike("axpyF32AVX2", "func(dst *float32, alpha float32, src *float32, n int)", 4, func(m Mem) VecVirtual {
		y := YMM()
		VMOVUPS(m, y)
		return y
	})
	avx2AxpyLike("axpyF16AVX2", "func(dst *float32, alpha float32, src *uint16, n int)", 2, func(m Mem) VecVirtual {
		y := YMM()
		VCVTPH2PS(m, y)
		return y
	})
	avx2Map("toF16AVX2", "func(dst *uint16, src *float32, n int)", "rounds 16·n floats to binary16 (nearest even).", 32, 64, func(d, s Mem) {
		y := YMM()
		VMOVUPS(s, y)
		VCVTPS2PH(U8(0), y, d)
	})
	avx2Map("fromF16AVX2", "func(dst *float32, src *uint16, n int)", "converts 16·n binary16 values to float32.", 64, 32, func(d, s Mem) {
		y := YMM()
		VCVTPH2PS(s, y)
		VMOVUPS(y, d)
	})
	avx2Map("expAVX2", "func(dst, src *float32, n int)", "sets dst[i] = e^src[i] for 16·n elements (exp8); for tests.", 64, 64, func(d, s Mem) {
		x := YMM()
		VMOVUPS(s, x)
		VMOVUPS(exp8(x), d)
	})
	avx2Map("sigmoidAVX2", "func(dst, src *float32, n int)", "sets dst[i] = 1/(1+e^−src[i]) for 16·n elements (exp8).", 64, 64, func(d, s Mem) {
		x := YMM()
		VMOVUPS(s, x)
		VXORPS(vc(cSign), x, x)
		e := exp8(x)
		VADDPS(vc(cC0), e, e) // 1 + e^−x
		y := YMM()
		VMOVUPS(vc(cC0), y)
		VDIVPS(e, y, y)
		VMOVUPS(y, d)
	})
	avx2Map("roundF16AVX2", "func(x *float32, n int)", "rounds 16·n floats at x to binary16 precision (nearest even) in place.", 64, 0, func(d, _ Mem) {
		v := YMM()
		VMOVUPS(d, v)
		h := XMM()
		VCVTPS2PH(U8(0), v, h)
		VCVTPH2PS(h, v)
		VMOVUPS(v, d)
	})
	avx2Swiglu()
	avx2ExpSum()
	avx2Dots4()
	avx2WeightedSum(4)
	avx2WeightedSum(1)
	avx2DotF32F16()
	avx2Softmax()
	genAVX2BF16()
	avx2ReadBW()
}

// avx2Map generates a kernel of one pointer (sig's first parameter, the
// destination, advanced dStep bytes per 16 elements) and optionally a
// second (src, sStep; 0: none) with a count n of 16-element steps; body
// handles 8 elements at the two addresses and is called for each half.
func avx2Map(name, sig, doc string, dStep, sStep int, body func(d, s Mem)) {
	TEXT(name, NOSPLIT, sig)
	Doc(name + " " + doc)
	var d, s GPVirtual
	if sStep == 0 {
		d = loadGP("x")
	} else {
		d, s = loadGP("dst"), loadGP("src")
	}
	n := loadGP("n")
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	for h := 0; h < 2; h++ {
		sm := Mem{}
		if sStep != 0 {
			sm = Mem{Base: s, Disp: h * sStep / 2}
		}
		body(Mem{Base: d, Disp: h * dStep / 2}, sm)
	}
	ADDQ(U32(dStep), d)
	if sStep != 0 {
		ADDQ(U32(sStep), s)
	}
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// avx2DotLike is dotLike's AVX2 twin: Σ a[i]·b[i] over 16·n elements in 16
// float32 lanes, then sum16.
func avx2DotLike(name, sig string, size int, load func(Mem) VecVirtual) {
	TEXT(name, NOSPLIT, sig)
	Doc(name + " returns the dot product of 16·n elements of a and b, summed in 16 float32 lanes (two ymm), then as returnSum16.")
	a, b, n := loadGP("a"), loadGP("b"), loadGP("n")
	acc := newPair()
	acc.zero()
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	for h := 0; h < 2; h++ {
		x := load(Mem{Base: a, Disp: 8 * size * h})
		y := load(Mem{Base: b, Disp: 8 * size * h})
		VFMADD231PS(x, y, acc[h])
	}
	ADDQ(U32(16*size), a)
	ADDQ(U32(16*size), b)
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	x := sum16(acc)
	VZEROUPPER()
	Store(x, ReturnIndex(0))
	RET()
}

// avx2AxpyLike sets dst[i] += alpha·src[i] over 16·n elements (FMA).
func avx2AxpyLike(name, sig string, size int, load func(Mem) VecVirtual) {
	TEXT(name, NOSPLIT, sig)
	Doc(name + " sets dst[i] += alpha·src[i] for 16·n elements (one rounding: FMA).")
	d, s, n := loadGP("dst"), loadGP("src"), loadGP("n")
	al := YMM()
	VBROADCASTSS(paramMem("alpha"), al)
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	for h := 0; h < 2; h++ {
		x := load(Mem{Base: s, Disp: 8 * size * h})
		acc := YMM()
		VMOVUPS(Mem{Base: d, Disp: 32 * h}, acc)
		VFMADD231PS(x, al, acc)
		VMOVUPS(acc, Mem{Base: d, Disp: 32 * h})
	}
	ADDQ(U32(16*size), s)
	ADDQ(U32(64), d)
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// avx2Swiglu generates swigluAVX2 (swigluAVX512's steps).
func avx2Swiglu() {
	TEXT("swigluAVX2", NOSPLIT, "func(out, gate, up *float32, n int)")
	Doc("swigluAVX2 sets out[i] = gate[i]/(1+e^−gate[i])·up[i] for 16·n elements (e^x by exp8).")
	out, gate, up, n := loadGP("out"), loadGP("gate"), loadGP("up"), loadGP("n")
	Label("swiglu2_loop")
	TESTQ(n, n)
	JZ(LabelRef("swiglu2_done"))
	for h := 0; h < 2; h++ {
		g := YMM()
		VMOVUPS(Mem{Base: gate, Disp: 32 * h}, g)
		ng := YMM()
		VXORPS(vc(cSign), g, ng)
		e := exp8(ng)
		VADDPS(vc(cC0), e, e) // 1 + e^−g
		s := YMM()
		VDIVPS(e, g, s)
		VMULPS(Mem{Base: up, Disp: 32 * h}, s, s)
		VMOVUPS(s, Mem{Base: out, Disp: 32 * h})
	}
	ADDQ(U32(64), out)
	ADDQ(U32(64), gate)
	ADDQ(U32(64), up)
	DECQ(n)
	JMP(LabelRef("swiglu2_loop"))
	Label("swiglu2_done")
	VZEROUPPER()
	RET()
}

// avx2ExpSum generates expSumAVX2 (expSumAVX512's steps and sum order).
func avx2ExpSum() {
	TEXT("expSumAVX2", NOSPLIT, "func(x *float32, n int, m, scale float32) float32")
	Doc("expSumAVX2 sets x[i] = e^((x[i]−m)·scale) for 16·n elements (exp8) and returns their sum, added in 16 float32 lanes, then as returnSum16.")
	x, n := loadGP("x"), loadGP("n")
	m, sc := YMM(), YMM()
	VBROADCASTSS(paramMem("m"), m)
	VBROADCASTSS(paramMem("scale"), sc)
	acc := newPair()
	acc.zero()
	Label("expsum2_loop")
	TESTQ(n, n)
	JZ(LabelRef("expsum2_done"))
	for h := 0; h < 2; h++ {
		v := YMM()
		VMOVUPS(Mem{Base: x, Disp: 32 * h}, v)
		VSUBPS(m, v, v)
		VMULPS(sc, v, v)
		e := exp8(v)
		VMOVUPS(e, Mem{Base: x, Disp: 32 * h})
		VADDPS(e, acc[h], acc[h])
	}
	ADDQ(U32(64), x)
	DECQ(n)
	JMP(LabelRef("expsum2_loop"))
	Label("expsum2_done")
	s := sum16(acc)
	VZEROUPPER()
	Store(s, ReturnIndex(0))
	RET()
}

// avx2Dots4 generates dotsF16x4AVX2: dots16's arithmetic for 4 keys (each
// key's 16 lanes in two ymm, 8 accumulators), reduced by the first two
// levels of dots16's transposing tree within each 128-bit lane, then its
// third: (L0+L1)+(L2+L3).
func avx2Dots4() {
	TEXT("dotsF16x4AVX2", NOSPLIT, "func(out *float32, q *float32, k *uint16, ks int, nd int, scale float32)")
	Doc("dotsF16x4AVX2 sets out[j] = scale·Σ_{i<16·nd} q[i]·k_j[i] for the 4 f16 rows k_j at k+j*ks (bytes), j < 4, each key's lanes added as dotsF16x16AVX512 adds them.")
	out, q, k, ks, nd := loadGP("out"), loadGP("q"), loadGP("k"), loadGP("ks"), loadGP("nd")
	ks3 := GP64()
	LEAQ(Mem{Base: ks, Index: ks, Scale: 2}, ks3)
	keyMem := func(j, disp int) Mem {
		switch j {
		case 1:
			return Mem{Base: k, Index: ks, Scale: 1, Disp: disp}
		case 2:
			return Mem{Base: k, Index: ks, Scale: 2, Disp: disp}
		case 3:
			return Mem{Base: k, Index: ks3, Scale: 1, Disp: disp}
		}
		return Mem{Base: k, Disp: disp}
	}
	acc := make([]yPair, 4)
	for j := range acc {
		acc[j] = newPair()
		acc[j].zero()
	}
	Label("dots4_loop")
	TESTQ(nd, nd)
	JZ(LabelRef("dots4_done"))
	qv := newPair()
	VMOVUPS(Mem{Base: q}, qv[0])
	VMOVUPS(Mem{Base: q, Disp: 32}, qv[1])
	for j := 0; j < 4; j++ {
		for h := 0; h < 2; h++ {
			kv := YMM()
			VCVTPH2PS(keyMem(j, 16*h), kv)
			VFMADD231PS(qv[h], kv, acc[j][h])
		}
	}
	ADDQ(U32(64), q)
	ADDQ(U32(32), k)
	DECQ(nd)
	JMP(LabelRef("dots4_loop"))
	Label("dots4_done")
	// Levels 1 and 2 on each half: per 128-bit lane [A, B, C, D].
	var half [2]VecVirtual
	for h := 0; h < 2; h++ {
		c := make([]VecVirtual, 2)
		for i := 0; i < 2; i++ {
			lo, hi := YMM(), YMM()
			VUNPCKLPS(acc[2*i+1][h], acc[2*i][h], lo)
			VUNPCKHPS(acc[2*i+1][h], acc[2*i][h], hi)
			VADDPS(hi, lo, lo)
			c[i] = lo
		}
		lo, hi := YMM(), YMM()
		VUNPCKLPD(c[1], c[0], lo)
		VUNPCKHPD(c[1], c[0], hi)
		VADDPS(hi, lo, lo)
		half[h] = lo
	}
	// Level 3: L0+L1 (half 0), L2+L3 (half 1), then their sum.
	var s [2]VecVirtual
	for h := 0; h < 2; h++ {
		x := XMM()
		VEXTRACTF128(U8(1), half[h], x)
		VADDPS(half[h].AsX(), x, x)
		s[h] = x
	}
	VADDPS(s[1], s[0], s[0])
	sc := XMM()
	VBROADCASTSS(paramMem("scale"), sc)
	VMULPS(sc, s[0], s[0])
	VMOVUPS(s[0], Mem{Base: out})
	VZEROUPPER()
	RET()
}

// avx2WeightedSum generates weightedSumF16x<C>AVX2: weightedSum's FMA
// into out's value, key by key, on C 16-column blocks.
func avx2WeightedSum(C int) {
	name := fmt.Sprintf("weightedSumF16x%dAVX2", C)
	TEXT(name, NOSPLIT, "func(out *float32, p *float32, v *uint16, vs int, nk int)")
	Doc(fmt.Sprintf("%s adds Σ_{j<nk} p[j]·v_j[i] to out[i] for i < %d, v_j the f16 row at v+j*vs (bytes), key by key (FMA into out's value).", name, 16*C))
	out, p, v, vs, nk := loadGP("out"), loadGP("p"), loadGP("v"), loadGP("vs"), loadGP("nk")
	acc := make([]VecVirtual, 2*C)
	for c := range acc {
		acc[c] = YMM()
		VMOVUPS(Mem{Base: out, Disp: 32 * c}, acc[c])
	}
	Label(name + "_loop")
	TESTQ(nk, nk)
	JZ(LabelRef(name + "_done"))
	pb := YMM()
	VBROADCASTSS(Mem{Base: p}, pb)
	for c := range acc {
		kv := YMM()
		VCVTPH2PS(Mem{Base: v, Disp: 16 * c}, kv)
		VFMADD231PS(pb, kv, acc[c])
	}
	ADDQ(U8(4), p)
	ADDQ(vs, v)
	DECQ(nk)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	for c := range acc {
		VMOVUPS(acc[c], Mem{Base: out, Disp: 32 * c})
	}
	VZEROUPPER()
	RET()
}

// avx2DotF32F16 generates dotF32F16AVX2: one key's dot with its lanes
// added as dotsF16x4AVX2 (and the AVX-512 kernels) add them.
func avx2DotF32F16() {
	TEXT("dotF32F16AVX2", NOSPLIT, "func(a *float32, b *uint16, n int) float32")
	Doc("dotF32F16AVX2 returns Σ a[i]·b[i] over 16·n elements, float32 a and f16 b, summed in 16 float32 lanes added as dotsF16x4AVX2 adds them.")
	a, b, n := loadGP("a"), loadGP("b"), loadGP("n")
	acc := newPair()
	acc.zero()
	Label("dotf32f16x2_loop")
	TESTQ(n, n)
	JZ(LabelRef("dotf32f16x2_done"))
	for h := 0; h < 2; h++ {
		kv := YMM()
		VCVTPH2PS(Mem{Base: b, Disp: 16 * h}, kv)
		VFMADD231PS(Mem{Base: a, Disp: 32 * h}, kv, acc[h])
	}
	ADDQ(U32(64), a)
	ADDQ(U32(32), b)
	DECQ(n)
	JMP(LabelRef("dotf32f16x2_loop"))
	Label("dotf32f16x2_done")
	// Per 128-bit lane (x0+x2)+(x1+x3), then (L0+L1)+(L2+L3).
	var s [2]VecVirtual
	for h := 0; h < 2; h++ {
		t := YMM()
		VPERMILPS(U8(0x4e), acc[h], t)
		VADDPS(t, acc[h], acc[h])
		VPERMILPS(U8(0xb1), acc[h], t)
		VADDPS(t, acc[h], acc[h])
		x := XMM()
		VEXTRACTF128(U8(1), acc[h], x)
		VADDPS(acc[h].AsX(), x, x)
		s[h] = x
	}
	VADDPS(s[1], s[0], s[0])
	VZEROUPPER()
	Store(s[0], ReturnIndex(0))
	RET()
}

// avx2Softmax generates the passes of SoftmaxF16 (softmaxKernels' twins).
func avx2Softmax() {
	TEXT("maxAVX2", NOSPLIT, "func(x *float32, n int) float32")
	Doc("maxAVX2 returns the largest of 16·n floats (n ≥ 1), with maxAVX512's operand order (the same NaN handling).")
	{
		x, n := loadGP("x"), loadGP("n")
		m := newPair()
		VMOVUPS(Mem{Base: x}, m[0])
		VMOVUPS(Mem{Base: x, Disp: 32}, m[1])
		Label("max2_loop")
		ADDQ(U32(64), x)
		DECQ(n)
		JZ(LabelRef("max2_done"))
		VMAXPS(Mem{Base: x}, m[0], m[0])
		VMAXPS(Mem{Base: x, Disp: 32}, m[1], m[1])
		JMP(LabelRef("max2_loop"))
		Label("max2_done")
		y := YMM()
		VMAXPS(m[0], m[1], y)
		xv, t := XMM(), XMM()
		VEXTRACTF128(U8(1), y, xv)
		VMAXPS(y.AsX(), xv, xv)
		VPERMILPS(U8(0x4e), xv, t)
		VMAXPS(t, xv, xv)
		VPERMILPS(U8(0xb1), xv, t)
		VMAXPS(t, xv, xv)
		VZEROUPPER()
		Store(xv, ReturnIndex(0))
		RET()
	}

	TEXT("expSubAVX2", NOSPLIT, "func(x *float32, n int, m float32) float64")
	Doc("expSubAVX2 sets x[i] = e^(x[i]−m) (exp8) for 16·n floats and returns their sum, added in 16 float64 lanes (four ymm) as expSubAVX512 adds them.")
	{
		x, n := loadGP("x"), loadGP("n")
		m := YMM()
		VBROADCASTSS(paramMem("m"), m)
		// s[h][q]: the float64 lanes of element 8h+4q..8h+4q+3 (expSubAVX512's
		// s0 = s[0], s1 = s[1]).
		var s [2][2]VecVirtual
		for h := range s {
			for q := range s[h] {
				s[h][q] = YMM()
				VXORPD(s[h][q], s[h][q], s[h][q])
			}
		}
		Label("expsub2_loop")
		TESTQ(n, n)
		JZ(LabelRef("expsub2_done"))
		for h := 0; h < 2; h++ {
			v := YMM()
			VMOVUPS(Mem{Base: x, Disp: 32 * h}, v)
			VSUBPS(m, v, v)
			e := exp8(v)
			VMOVUPS(e, Mem{Base: x, Disp: 32 * h})
			lo, hi := YMM(), YMM()
			VCVTPS2PD(e.AsX(), lo)
			eh := XMM()
			VEXTRACTF128(U8(1), e, eh)
			VCVTPS2PD(eh, hi)
			VADDPD(lo, s[h][0], s[h][0])
			VADDPD(hi, s[h][1], s[h][1])
		}
		ADDQ(U32(64), x)
		DECQ(n)
		JMP(LabelRef("expsub2_loop"))
		Label("expsub2_done")
		// s0+s1 per lane, then the 256-bit halves, the 128-bit halves, the two.
		VADDPD(s[1][0], s[0][0], s[0][0])
		VADDPD(s[1][1], s[0][1], s[0][1])
		y := YMM()
		VADDPD(s[0][0], s[0][1], y)
		xv, t := XMM(), XMM()
		VEXTRACTF128(U8(1), y, xv)
		VADDPD(y.AsX(), xv, xv)
		VPERMILPD(U8(1), xv, t)
		VADDSD(t, xv, xv)
		VZEROUPPER()
		Store(xv, ReturnIndex(0))
		RET()
	}

	TEXT("scaleRoundF16AVX2", NOSPLIT, "func(x *float32, s float32, n int)")
	Doc("scaleRoundF16AVX2 multiplies 16·n floats at x by s and rounds the products to binary16 precision (nearest even).")
	{
		x, n := loadGP("x"), loadGP("n")
		sy := YMM()
		VBROADCASTSS(paramMem("s"), sy)
		Label("scale2_loop")
		TESTQ(n, n)
		JZ(LabelRef("scale2_done"))
		for h := 0; h < 2; h++ {
			v := YMM()
			VMULPS(Mem{Base: x, Disp: 32 * h}, sy, v)
			hx := XMM()
			VCVTPS2PH(U8(0), v, hx)
			VCVTPH2PS(hx, v)
			VMOVUPS(v, Mem{Base: x, Disp: 32 * h})
		}
		ADDQ(U32(64), x)
		DECQ(n)
		JMP(LabelRef("scale2_loop"))
		Label("scale2_done")
		VZEROUPPER()
		RET()
	}
}

// avx2ReadBW generates readBytesAVX2, readBytesAVX512's twin with ymm
// loads: the read bandwidth the decode benchmarks compare with on CPUs
// without AVX-512.
func avx2ReadBW() {
	TEXT("readBytesAVX2", NOSPLIT, "func(p *byte, n int) uint64")
	Doc("readBytesAVX2 reads n bytes (a multiple of 256) at p and returns a value that depends on all of them, for the benchmarks' memory read bandwidth (AVX2).")
	p := loadGP("p")
	n := loadGP("n")
	acc := make([]VecVirtual, 8)
	for i := range acc {
		acc[i] = YMM()
		VPXOR(acc[i], acc[i], acc[i])
	}
	Label("readbw2_loop")
	CMPQ(n, U32(256))
	JB(LabelRef("readbw2_done"))
	for i := range acc {
		if i%2 == 0 {
			PREFETCHT0(Mem{Base: p, Disp: 2048 + 32*i})
		}
		VPXOR(Mem{Base: p, Disp: 32 * i}, acc[i], acc[i])
	}
	ADDQ(U32(256), p)
	SUBQ(U32(256), n)
	JMP(LabelRef("readbw2_loop"))
	Label("readbw2_done")
	for s := 1; s < 8; s *= 2 {
		for i := 0; i+s < 8; i += 2 * s {
			VPXOR(acc[i+s], acc[i], acc[i])
		}
	}
	x := XMM()
	VEXTRACTI128(U8(1), acc[0], x)
	VPXOR(acc[0].AsX(), x, x)
	r, r2 := GP64(), GP64()
	VMOVQ(x, r)
	VPEXTRQ(U8(1), x, r2)
	XORQ(r2, r)
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}
