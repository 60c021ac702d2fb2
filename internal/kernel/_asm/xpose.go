package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The group transpose (-set xpose, into xpose_amd64.s): the copy of 16
// row-major rows into an interleaved group (interleave.go and its
// siblings), for every interleaved type, as a program of operations that
// the kernel package builds from each layout's fields (xpose_amd64.go).
// AVX2 only (VEX, ymm0–15), so that both kernel sets use it.
//
// An operation either transposes four dwords of 16 rows: the 16 bytes at
// from of each row become four 64-byte vectors, dword i of row r at
// to[i]+4r (rows 0..7 in the low 32 bytes), XOR x; or splits a dword into
// its words: the low word of the dword at from of row r to to[0]+2r, the
// high word to to[1]+2r (two float16 fields side by side, or one). Per
// half of 8 rows, four 16-byte loads into low lanes and four into high
// lanes (rows r and r+4) and an in-lane 4×4 dword transpose of eight
// VPUNPCK* give the four vectors' halves.

// xposeWords is the word-gathering VPSHUFB control (genXpose).
var xposeWords Mem

// xposeOpBytes is the size of one operation: from, word, to[0..3], int32 each.
const xposeOpBytes = 24

func genXpose() {
	// VPSHUFB control: per 128-bit lane, the low words of the four
	// dwords, then their high words.
	xposeWords = GLOBL("xposewords", RODATA|NOPTR)
	for l := 0; l < 2; l++ {
		for i, b := range []byte{0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15} {
			DATA(16*l+i, U8(b))
		}
	}
	TEXT("xposeAVX2", NOSPLIT, "func(dst *byte, src *byte, ws int, steps int, sstep int, dstep int, ops *int32, nops int, x uint32, pf uintptr, pfOp int)")
	Doc("xposeAVX2 runs the nops operations at ops (24 bytes each: from, word, to[4] as int32) on steps steps of 16 rows (row r at src+r·ws), the source advancing sstep and the destination dstep bytes per step (AVX2); per operation it prefetches the next pfOp bytes from pf on (which need not be mapped).",
		"A word operation reads the dword at from of row r and writes its low word at dst+to[0]+2r, its high word at dst+to[1]+2r (to[i] ≥ 0); any other reads the 16 bytes at from of each row and writes dword i of row r, XOR x, at dst+to[i]+4r, for the i with to[i] ≥ 0.")
	dst, src, ws, ws3 := RDI, RSI, R8, R9
	steps, op, n := RCX, R10, R11
	s, t, o, pf, pn := RAX, RBX, RDX, R13, R14
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("ws"), ws)
	Load(Param("steps"), steps)
	Load(Param("pf"), pf)
	LEAQ(Mem{Base: ws, Index: ws, Scale: 2}, ws3)
	x := Y15
	Load(Param("x"), s.As32())
	VMOVD(s.As32(), x.AsX())
	VPBROADCASTD(x.AsX(), x)
	TESTQ(steps, steps)
	JZ(LabelRef("done"))

	Label("step")
	Label("ops")
	Load(Param("ops"), op)
	Load(Param("nops"), n)
	TESTQ(n, n)
	JZ(LabelRef("stepEnd"))

	Label("op")
	// Prefetch pfOp bytes at pf, then advance pf: the Go side points it
	// at the next group, which the hardware prefetchers, following sixteen
	// rows at once, fetch too late; into L2 (PREFETCHT0, into L1, gained
	// half as much).
	MOVQ(U32(0), pn)
	Label("pf")
	CMPQ(pn, paramMem("pfOp"))
	JAE(LabelRef("pfEnd"))
	PREFETCHT2(Mem{Base: pf, Index: pn, Scale: 1})
	ADDQ(U8(64), pn)
	JMP(LabelRef("pf"))
	Label("pfEnd")
	ADDQ(pn, pf)

	MOVLQSX(Mem{Base: op}, s)
	ADDQ(src, s)                               // row 0's field
	LEAQ(Mem{Base: s, Index: ws, Scale: 4}, t) // row 4's
	CMPL(Mem{Base: op, Disp: 4}, U8(0))
	JNE(LabelRef("word"))
	// rows(a, lo, hi): a[k] = row lo+k's 16 bytes | row hi+k's (k < 4),
	// rows from s and t.
	rows := func(a []VecPhysical) {
		for k, m := range []Mem{{Base: s}, {Base: s, Index: ws, Scale: 1}, {Base: s, Index: ws, Scale: 2}, {Base: s, Index: ws3, Scale: 1}} {
			VMOVDQU(m, a[k].AsX())
		}
		for k, m := range []Mem{{Base: t}, {Base: t, Index: ws, Scale: 1}, {Base: t, Index: ws, Scale: 2}, {Base: t, Index: ws3, Scale: 1}} {
			VINSERTI128(U8(1), m, a[k], a[k])
		}
	}
	// xpose transposes the dwords of a (in-lane 4×4, with the temporaries
	// t0, t1) and returns the four vectors: dword i of the 8 rows.
	xpose := func(a []VecPhysical, t0, t1 VecPhysical) [4]VecPhysical {
		VPUNPCKLDQ(a[1], a[0], t0) // r0d0 r1d0 r0d1 r1d1
		VPUNPCKHDQ(a[1], a[0], t1) // r0d2 r1d2 r0d3 r1d3
		VPUNPCKLDQ(a[3], a[2], a[0])
		VPUNPCKHDQ(a[3], a[2], a[1])
		VPUNPCKLQDQ(a[0], t0, a[2]) // r0d0 r1d0 r2d0 r3d0
		VPUNPCKHQDQ(a[0], t0, a[3])
		VPUNPCKLQDQ(a[1], t1, t0)
		VPUNPCKHQDQ(a[1], t1, a[0])
		d := [4]VecPhysical{a[2], a[3], t0, a[0]}
		for _, v := range d {
			VPXOR(x, v, v)
		}
		return d
	}
	lo := []VecPhysical{Y0, Y1, Y2, Y3}
	hi := []VecPhysical{Y6, Y7, Y8, Y9}
	rows(lo)
	LEAQ(Mem{Base: s, Index: ws, Scale: 8}, s)
	LEAQ(Mem{Base: t, Index: ws, Scale: 8}, t)
	rows(hi)
	dl := xpose(lo, Y4, Y5)
	dh := xpose(hi, Y10, Y11)
	for i := 0; i < 4; i++ {
		skip := "skip" + string(rune('0'+i))
		MOVLQSX(Mem{Base: op, Disp: 8 + 4*i}, o)
		TESTQ(o, o)
		JS(LabelRef(skip))
		VMOVDQU(dl[i], Mem{Base: dst, Index: o, Scale: 1})
		VMOVDQU(dh[i], Mem{Base: dst, Index: o, Scale: 1, Disp: 32})
		Label(skip)
	}

	Label("next")
	ADDQ(U8(xposeOpBytes), op)
	DECQ(n)
	JNZ(LabelRef("op"))

	Label("stepEnd")
	ADDQ(paramMem("sstep"), src)
	ADDQ(paramMem("dstep"), dst)
	DECQ(steps)
	JNZ(LabelRef("step"))

	Label("done")
	VZEROUPPER()
	RET()

	// Words: the dword at from of rows 0..7 (s, t) in one vector, of rows
	// 8..15 in another; per 128-bit lane, VPSHUFB gathers the low words in
	// the low qword and the high words in the high one, and an unpack and
	// a VPERMQ put each kind's 16 words in row order.
	Label("word")
	half := func(v VecPhysical, tmp VecPhysical) {
		for k, base := range []Register{s, t} {
			xv := v.AsX()
			if k == 1 {
				xv = tmp.AsX()
			}
			VMOVD(Mem{Base: base}, xv)
			for j, m := range []Mem{{Base: base, Index: ws, Scale: 1}, {Base: base, Index: ws, Scale: 2}, {Base: base, Index: ws3, Scale: 1}} {
				VPINSRD(U8(j+1), m, xv, xv)
			}
		}
		VINSERTI128(U8(1), tmp.AsX(), v, v)
		VPSHUFB(xposeWords, v, v)
	}
	half(Y0, Y1)
	LEAQ(Mem{Base: s, Index: ws, Scale: 8}, s)
	LEAQ(Mem{Base: t, Index: ws, Scale: 8}, t)
	half(Y2, Y3)
	VPUNPCKLQDQ(Y2, Y0, Y1) // low words: rows 0..3, 8..11 | 4..7, 12..15
	VPUNPCKHQDQ(Y2, Y0, Y3)
	for i, v := range []VecPhysical{Y1, Y3} {
		skip := "wskip" + string(rune('0'+i))
		VPERMQ(U8(0xd8), v, v)
		MOVLQSX(Mem{Base: op, Disp: 8 + 4*i}, o)
		TESTQ(o, o)
		JS(LabelRef(skip))
		VMOVDQU(v, Mem{Base: dst, Index: o, Scale: 1})
		Label(skip)
	}
	JMP(LabelRef("next"))
}
