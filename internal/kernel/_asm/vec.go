package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Vector kernels on 16-element steps (AVX-512); the Go callers handle
// lengths that are not a multiple of 16.
func genVec() {
	dotLike("dotF32AVX512", "func(a, b *float32, n int) float32", 4, func(p GPVirtual, m Mem) VecVirtual {
		z := ZMM()
		VMOVUPS(m, z)
		return z
	})
	dotLike("dotF16AVX512", "func(a, b *uint16, n int) float32", 2, func(p GPVirtual, m Mem) VecVirtual {
		z := ZMM()
		VCVTPH2PS(m, z)
		return z
	})
	axpyLike("axpyF32AVX512", "func(dst *float32, alpha float32, src *float32, n int)", 4, func(m Mem) VecVirtual {
		z := ZMM()
		VMOVUPS(m, z)
		return z
	})
	axpyLike("axpyF16AVX512", "func(dst *float32, alpha float32, src *uint16, n int)", 2, func(m Mem) VecVirtual {
		z := ZMM()
		VCVTPH2PS(m, z)
		return z
	})

	TEXT("toF16AVX512", NOSPLIT, "func(dst *uint16, src *float32, n int)")
	Doc("toF16AVX512 rounds 16·n floats to binary16 (nearest even).")
	{
		d, s, n := loadGP("dst"), loadGP("src"), loadGP("n")
		Label("tof16_loop")
		TESTQ(n, n)
		JZ(LabelRef("tof16_done"))
		z := ZMM()
		VMOVUPS(Mem{Base: s}, z)
		VCVTPS2PH(U8(0), z, Mem{Base: d})
		ADDQ(U32(64), s)
		ADDQ(U32(32), d)
		DECQ(n)
		JMP(LabelRef("tof16_loop"))
		Label("tof16_done")
		VZEROUPPER()
		RET()
	}
	TEXT("fromF16AVX512", NOSPLIT, "func(dst *float32, src *uint16, n int)")
	Doc("fromF16AVX512 converts 16·n binary16 values to float32.")
	{
		d, s, n := loadGP("dst"), loadGP("src"), loadGP("n")
		Label("fromf16_loop")
		TESTQ(n, n)
		JZ(LabelRef("fromf16_done"))
		z := ZMM()
		VCVTPH2PS(Mem{Base: s}, z)
		VMOVUPS(z, Mem{Base: d})
		ADDQ(U32(32), s)
		ADDQ(U32(64), d)
		DECQ(n)
		JMP(LabelRef("fromf16_loop"))
		Label("fromf16_done")
		VZEROUPPER()
		RET()
	}
}

// dotLike returns Σ a[i]·b[i] over 16·n elements, in float32 lanes.
func dotLike(name, sig string, size int, load func(GPVirtual, Mem) VecVirtual) {
	TEXT(name, NOSPLIT, sig)
	Doc(name + " returns the dot product of 16·n elements of a and b, summed in float32 lanes.")
	a, b, n := loadGP("a"), loadGP("b"), loadGP("n")
	acc := ZMM()
	VPXORD(acc, acc, acc)
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	x := load(a, Mem{Base: a})
	y := load(b, Mem{Base: b})
	VFMADD231PS(x, y, acc)
	ADDQ(U32(16*size), a)
	ADDQ(U32(16*size), b)
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	returnSum16(acc)
}

// axpyLike sets dst[i] += alpha·src[i] over 16·n elements.
func axpyLike(name, sig string, size int, load func(Mem) VecVirtual) {
	TEXT(name, NOSPLIT, sig)
	Doc(name + " sets dst[i] += alpha·src[i] for 16·n elements (one rounding: FMA).")
	d, s, n := loadGP("dst"), loadGP("src"), loadGP("n")
	al := XMM()
	Load(Param("alpha"), al)
	alz := ZMM()
	VBROADCASTSS(al, alz)
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	x := load(Mem{Base: s})
	acc := ZMM()
	VMOVUPS(Mem{Base: d}, acc)
	VFMADD231PS(x, alz, acc)
	VMOVUPS(acc, Mem{Base: d})
	ADDQ(U32(16*size), s)
	ADDQ(U32(64), d)
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// returnSum16 ends a kernel that returns the sum of acc's 16 float32
// lanes (halves added pairwise down to one lane).
func returnSum16(acc VecVirtual) {
	yv := YMM()
	VEXTRACTF64X4(U8(1), acc, yv)
	VADDPS(acc.AsY(), yv, yv)
	xv, t := XMM(), XMM()
	VEXTRACTF32X4(U8(1), yv, xv)
	VADDPS(yv.AsX(), xv, xv)
	VPERMILPS(U8(0x4e), xv, t)
	VADDPS(t, xv, xv)
	VPERMILPS(U8(0xb1), xv, t)
	VADDPS(t, xv, xv)
	VZEROUPPER()
	Store(xv, ReturnIndex(0))
	RET()
}
