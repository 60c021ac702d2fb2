package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// AVX2 + FMA + F16C kernels for CPUs without AVX-512: VEX encodings only,
// so every function keeps at most 16 vector registers live (avo then
// allocates Y0..Y15; the generator checks nothing, the assembler would
// reject a higher register in a VEX instruction).

var avx2Shapes = [][2]int{{1, 1}, {2, 1}, {4, 1}, {1, 2}, {2, 2}}

func genAVX2() {
	for _, sh := range avx2Shapes {
		avx2FloatTile("F32", sh[0], sh[1])
		avx2FloatTile("F16", sh[0], sh[1])
	}
}

// avx2FloatTile: F32 or F16 rows against float32 activations, 8 per step.
func avx2FloatTile(kind string, R, T int) {
	name := fmt.Sprintf("tile%sAVX2_%dx%d", kind, R, T)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s computes the %d×%d tile out[t*os+r] = Σ over 8·nb elements for %s weights and float32 activations (AVX2, FMA, F16C).", name, R, T, kind))
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	wp := ptrs(w, ws, R)
	ap := ptrs(a, as, T)
	acc := make([][]VecVirtual, R)
	for r := range acc {
		acc[r] = make([]VecVirtual, T)
		for t := range acc[r] {
			acc[r][t] = YMM()
			VXORPS(acc[r][t], acc[r][t], acc[r][t])
		}
	}
	step := 32
	if kind == "F16" {
		step = 16
	}
	iw, ia := GP64(), GP64()
	XORQ(iw, iw)
	XORQ(ia, ia)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for r := 0; r < R; r++ {
		m := Mem{Base: wp[r], Index: iw, Scale: 1}
		// Into L2, floatPrefetchDist ahead, every step of every row (as
		// floatTile): on Zen 4 with AVX-512 masked off this took decode
		// (BenchmarkMatMulStream, one thread, best call) from 16 to 29
		// GB/s for F16 and from 18 to 27 for F32, over PREFETCHT0
		// prefetchDist ahead.
		PREFETCHT1(m.Offset(floatPrefetchDist))
		wv := YMM()
		if kind == "F32" {
			VMOVUPS(m, wv)
		} else {
			VCVTPH2PS(m, wv)
		}
		for t := 0; t < T; t++ {
			VFMADD231PS(Mem{Base: ap[t], Index: ia, Scale: 1}, wv, acc[r][t])
		}
	}
	ADDQ(U32(step), iw)
	ADDQ(U32(32), ia)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		for r := 0; r < R; r++ {
			avx2HsumStore(acc[r][t], Mem{Base: out, Disp: 4 * r})
		}
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// avx2HsumStore adds the eight lanes of acc and stores the sum at m (VEX).
func avx2HsumStore(acc VecVirtual, m Mem) {
	x, y := XMM(), XMM()
	VEXTRACTF128(U8(1), acc, x)
	VADDPS(acc.AsX(), x, x)
	VPERMILPS(U8(0x4e), x, y)
	VADDPS(y, x, x)
	VPERMILPS(U8(0xb1), x, y)
	VADDPS(y, x, x)
	VMOVSS(x, m)
}
