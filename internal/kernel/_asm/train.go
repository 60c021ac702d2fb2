package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The kernels of training (-train, into train_amd64.s): the GEMM
// micro-kernels and the vector kernels of the softmax and SwiGLU backward.

func genTrain() {
	genGemm()
	genTrainVec()
}

// genTrainVec generates expSumAVX512 and sigmoidAVX512 (kernel/expsum.go).
func genTrainVec() {
	TEXT("expSumAVX512", NOSPLIT, "func(x *float32, n int, m, scale float32) float32")
	Doc("expSumAVX512 sets x[i] = e^((x[i]−m)·scale) for 16·n elements (exp16) and returns their sum, added in 16 float32 lanes, then lane tree.")
	{
		x, n := loadGP("x"), loadGP("n")
		mx, sx := XMM(), XMM()
		Load(Param("m"), mx)
		Load(Param("scale"), sx)
		mz, sz := ZMM(), ZMM()
		VBROADCASTSS(mx, mz)
		VBROADCASTSS(sx, sz)
		c := newExpConsts()
		acc := ZMM()
		VPXORD(acc, acc, acc)
		Label("expsum_loop")
		TESTQ(n, n)
		JZ(LabelRef("expsum_done"))
		v := ZMM()
		VMOVUPS(Mem{Base: x}, v)
		VSUBPS(mz, v, v)
		VMULPS(sz, v, v)
		e := exp16(v, c)
		VMOVUPS(e, Mem{Base: x})
		VADDPS(e, acc, acc)
		ADDQ(U32(64), x)
		DECQ(n)
		JMP(LabelRef("expsum_loop"))
		Label("expsum_done")
		returnSum16(acc)
	}

	TEXT("sigmoidAVX512", NOSPLIT, "func(dst, src *float32, n int)")
	Doc("sigmoidAVX512 sets dst[i] = 1/(1+e^−src[i]) for 16·n elements (exp16).")
	{
		d, s, n := loadGP("dst"), loadGP("src"), loadGP("n")
		c := newExpConsts()
		sign := bcastF32(float32(math.Copysign(0, -1)))
		Label("sigmoid_loop")
		TESTQ(n, n)
		JZ(LabelRef("sigmoid_done"))
		x := ZMM()
		VMOVUPS(Mem{Base: s}, x)
		VPXORD(sign, x, x) // −x (VXORPS on zmm would need AVX512DQ)
		e := exp16(x, c)
		VADDPS(c.c[0], e, e) // 1 + e^−x
		y := ZMM()
		VDIVPS(e, c.c[0], y)
		VMOVUPS(y, Mem{Base: d})
		ADDQ(U32(64), d)
		ADDQ(U32(64), s)
		DECQ(n)
		JMP(LabelRef("sigmoid_loop"))
		Label("sigmoid_done")
		VZEROUPPER()
		RET()
	}
}

// The GEMM micro-kernels (kernel/gemm.go): a tile of R rows × 2 vectors of
// C, c[r][j] (j contiguous), accumulated as
//
//	c[r][j] = fma(a(r, k), b(k, j), c[r][j])   for k = 0, 1, …, K−1 in order
//
// from c[r][j] (load) or 0, where a(r, k) is the float32 at a + r·ars +
// k·aks and b(k, ·) the vectors at b + k·bks (byte strides). Per k: two
// loads of b, R broadcasts of a, 2R FMAs into 2R accumulators; each output
// is one chain of fused multiply-adds in k order, whatever the tile's
// position, so the result of an element depends only on its row of a, its
// column of b and its start value.

type gemmShape struct {
	name  string
	rows  int // R
	lanes int // floats per vector
	vec   func() VecVirtual
	acc   []Register // 2R accumulators
}

func genGemm() {
	zs := []Register{Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	ys := []Register{Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
	gemmKernel(gemmShape{name: "gemmF32AVX512_12x32", rows: 12, lanes: 16, vec: ZMM, acc: zs})
	gemmKernel(gemmShape{name: "gemmF32AVX2_6x16", rows: 6, lanes: 8, vec: YMM, acc: ys})
}

func gemmKernel(s gemmShape) {
	R, vb := s.rows, 4*s.lanes
	TEXT(s.name, NOSPLIT, "func(a *float32, ars, aks int, b *float32, bks int, k int, c *float32, ldc int, load int)")
	Doc(fmt.Sprintf("%s computes the %d×%d tile c[r][j] = (load ? c[r][j] : 0) + Σ_{i<k} a(r,i)·b(i,j), one FMA per i in order.", s.name, R, 2*s.lanes),
		"a(r,i) is the float32 at a+r*ars+i*aks, row i of b is at b+i*bks, row r of c at c+r*ldc (byte strides).")
	acc := func(r, h int) Register { return s.acc[2*r+h] }

	// start values
	c := loadGP("c")
	ldc := loadGP("ldc")
	load := loadGP("load")
	for r := range R {
		for h := range 2 {
			if s.lanes == 16 {
				VPXORD(acc(r, h), acc(r, h), acc(r, h)) // AVX-512F (VXORPS on zmm needs DQ)
			} else {
				VXORPS(acc(r, h), acc(r, h), acc(r, h))
			}
		}
	}
	TESTQ(load, load)
	JZ(LabelRef(s.name + "_zero"))
	cp := GP64()
	MOVQ(c, cp)
	for r := range R {
		for h := range 2 {
			VMOVUPS(Mem{Base: cp, Disp: h * vb}, acc(r, h))
		}
		if r+1 < R {
			ADDQ(ldc, cp)
		}
	}
	Label(s.name + "_zero")

	// a's rows: bases for rows 0–3, 4–7, 8–11 and the row strides ×1, ×2, ×3
	a := loadGP("a")
	ars := loadGP("ars")
	aks := loadGP("aks")
	ars3 := GP64()
	LEAQ(Mem{Base: ars, Index: ars, Scale: 2}, ars3)
	var bases []GPVirtual
	for r0 := 0; r0 < R; r0 += 4 {
		if r0 == 0 {
			bases = append(bases, a)
			continue
		}
		p := GP64()
		LEAQ(Mem{Base: bases[len(bases)-1], Index: ars, Scale: 4}, p)
		bases = append(bases, p)
	}
	row := func(r int) Mem {
		base := bases[r/4]
		switch r % 4 {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: ars, Scale: 1}
		case 2:
			return Mem{Base: base, Index: ars, Scale: 2}
		default:
			return Mem{Base: base, Index: ars3, Scale: 1}
		}
	}
	b := loadGP("b")
	bks := loadGP("bks")
	n := loadGP("k")

	Label(s.name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(s.name + "_done"))
	b0, b1 := s.vec(), s.vec()
	VMOVUPS(Mem{Base: b}, b0)
	VMOVUPS(Mem{Base: b, Disp: vb}, b1)
	for r := range R {
		x := s.vec()
		VBROADCASTSS(row(r), x)
		VFMADD231PS(b0, x, acc(r, 0))
		VFMADD231PS(b1, x, acc(r, 1))
	}
	for _, p := range bases {
		ADDQ(aks, p)
	}
	ADDQ(bks, b)
	DECQ(n)
	JMP(LabelRef(s.name + "_loop"))

	Label(s.name + "_done")
	for r := range R {
		for h := range 2 {
			VMOVUPS(acc(r, h), Mem{Base: c, Disp: h * vb})
		}
		if r+1 < R {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}
