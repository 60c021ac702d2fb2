package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The transposed (prefill) kernels compute an 8-row × T-token tile with one
// float lane per weight row: each 32-element block of the 8 rows is decoded
// to signed bytes and transposed (8×8 dwords) so that vector j holds bytes
// 4j..4j+3 of every row; VPDPBUSD against the broadcast dword j of a token's
// activations (flipped to unsigned, a+128) then accumulates all 8 rows at
// once, and Σ w·a = Σ w·(a+128) − 128·Σ w. Per token and block that is 8
// integer dot instructions and one scale FMA for 8 outputs, instead of the
// per-output reduction of the row kernels.

// transKinds are the weight types with a signed-byte decoding.
type transKind struct {
	name   string
	wBytes int
	load   func(m Mem, c *transConsts) VecVirtual // 32 signed bytes of the block at m
}

type transConsts struct {
	c0f, c08, c10, tbl VecVirtual
}

var transKinds = []transKind{
	{"Q8_0", 34, func(m Mem, c *transConsts) VecVirtual {
		y := YMM()
		VMOVDQU8(m.Offset(2), y)
		return y
	}},
	{"Q4_0", 18, func(m Mem, c *transConsts) VecVirtual {
		y := nibblesAt(m.Offset(2), c.c0f)
		VPSUBB(c.c08, y, y)
		return y
	}},
	{"IQ4_NL", 18, func(m Mem, c *transConsts) VecVirtual {
		y := nibblesAt(m.Offset(2), c.c0f)
		VPSHUFB(y, c.tbl, y)
		return y
	}},
	{"Q5_0", 22, func(m Mem, c *transConsts) VecVirtual {
		y := nibblesAt(m.Offset(6), c.c0f)
		VPORD(highBitsAt(m.Offset(2), c.c10), y, y)
		VPSUBB(c.c10, y, y)
		return y
	}},
}

// transT are the token counts generated.
const transMaxT = 8

func genTransTiles() {
	for _, k := range transKinds {
		for T := 1; T <= transMaxT; T++ {
			transTile(k, T)
		}
	}
}

func transTile(k transKind, T int) {
	name := fmt.Sprintf("tileT%s_8x%d", k.name, T)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s computes the 8×%d tile out[t*os+r] of %s rows against Q8_0 activation rows, one float lane per row (AVX-512 VNNI).", name, T, k.name),
		"Weight row r starts at w+r*ws, activation row t at a+t*as (bytes).")
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	// Eight rows and up to eight tokens are addressed from three bases
	// each (x, x+3s, x+6s for tokens; w, w+3ws, w+5ws for rows) plus the
	// stride with scale 1 or 2, so the general registers suffice.
	w3, w5 := GP64(), GP64()
	LEAQ(Mem{Base: w, Index: ws, Scale: 2}, w3)
	ADDQ(ws, w3)
	LEAQ(Mem{Base: w3, Index: ws, Scale: 2}, w5)
	rowMem := func(r int) Mem {
		switch r {
		case 0:
			return Mem{Base: w}
		case 1:
			return Mem{Base: w, Index: ws, Scale: 1}
		case 2:
			return Mem{Base: w, Index: ws, Scale: 2}
		case 3:
			return Mem{Base: w3}
		case 4:
			return Mem{Base: w3, Index: ws, Scale: 1}
		case 5:
			return Mem{Base: w5}
		case 6:
			return Mem{Base: w5, Index: ws, Scale: 1}
		}
		return Mem{Base: w5, Index: ws, Scale: 2}
	}
	var a3, a6 GPVirtual
	if T > 3 {
		a3 = GP64()
		LEAQ(Mem{Base: a, Index: as, Scale: 2}, a3)
		ADDQ(as, a3)
	}
	if T > 6 {
		a6 = GP64()
		LEAQ(Mem{Base: a3, Index: as, Scale: 2}, a6)
		ADDQ(as, a6)
	}
	tokMem := func(t int) Mem {
		switch t {
		case 0:
			return Mem{Base: a}
		case 1:
			return Mem{Base: a, Index: as, Scale: 1}
		case 2:
			return Mem{Base: a, Index: as, Scale: 2}
		case 3:
			return Mem{Base: a3}
		case 4:
			return Mem{Base: a3, Index: as, Scale: 1}
		case 5:
			return Mem{Base: a3, Index: as, Scale: 2}
		case 6:
			return Mem{Base: a6}
		}
		return Mem{Base: a6, Index: as, Scale: 1}
	}

	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}
	c := &transConsts{}
	c80 := bcastByte(0x80)
	if k.name != "Q8_0" {
		c.c0f = bcastByte(0x0f)
	}
	if k.name == "Q4_0" {
		c.c08 = bcastByte(0x08)
	}
	if k.name == "Q5_0" {
		c.c10 = bcastByte(0x10)
	}
	if k.name == "IQ4_NL" {
		c.tbl = YMM()
		VMOVDQU8(iq4Table, c.tbl)
	}
	zero := YMM()
	VPXORD(zero, zero, zero)

	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))

	rows := make([]VecVirtual, 8)
	dx := XMM()
	for r := 0; r < 8; r++ {
		m := rowMem(r)
		PREFETCHT0(m.Offset(prefetchDist))
		rows[r] = k.load(m, c)
		if r == 0 {
			g := GP32()
			MOVWLZX(m, g)
			VMOVD(g, dx)
		} else {
			VPINSRW(U8(r), m, dx, dx)
		}
	}
	dw := YMM()
	VCVTPH2PS(dx, dw)

	// Transpose the 8×8 dwords: wt[j] lane r = dword j of row r.
	tt := make([]VecVirtual, 8)
	for i := 0; i < 4; i++ {
		lo, hi := YMM(), YMM()
		VPUNPCKLDQ(rows[2*i+1], rows[2*i], lo)
		VPUNPCKHDQ(rows[2*i+1], rows[2*i], hi)
		tt[2*i], tt[2*i+1] = lo, hi
	}
	uu := make([]VecVirtual, 8)
	for g := 0; g < 2; g++ {
		t0, t1, t2, t3 := tt[4*g], tt[4*g+1], tt[4*g+2], tt[4*g+3]
		u0, u1, u2, u3 := YMM(), YMM(), YMM(), YMM()
		VPUNPCKLQDQ(t2, t0, u0)
		VPUNPCKHQDQ(t2, t0, u1)
		VPUNPCKLQDQ(t3, t1, u2)
		VPUNPCKHQDQ(t3, t1, u3)
		uu[4*g], uu[4*g+1], uu[4*g+2], uu[4*g+3] = u0, u1, u2, u3
	}
	wt := make([]VecVirtual, 8)
	for d := 0; d < 4; d++ {
		lo, hi := YMM(), YMM()
		VSHUFI64X2(U8(0x00), uu[4+d], uu[d], lo)
		VSHUFI64X2(U8(0x03), uu[4+d], uu[d], hi)
		wt[d], wt[d+4] = lo, hi
	}
	// −128·Σw per row.
	corr := YMM()
	VPXORD(corr, corr, corr)
	for j := 0; j < 8; j++ {
		vpdpbusd(wt[j], c80, corr)
	}
	negc := YMM()
	VPSUBD(corr, zero, negc)

	for t := 0; t < T; t++ {
		am := tokMem(t)
		s := YMM()
		VMOVDQA32(negc, s)
		for j := 0; j < 8; j++ {
			b := YMM()
			VPBROADCASTD(am.Offset(2+4*j), b)
			VPXORD(c80, b, b)
			vpdpbusd(wt[j], b, s)
		}
		da := halfBcast(am)
		sc := YMM()
		VMULPS(da, dw, sc)
		VCVTDQ2PS(s, s)
		VFMADD231PS(sc, s, acc[t])
	}
	for _, p := range []GPVirtual{w, w3, w5} {
		ADDQ(U32(k.wBytes), p)
	}
	ADDQ(U32(34), a)
	if T > 3 {
		ADDQ(U32(34), a3)
	}
	if T > 6 {
		ADDQ(U32(34), a6)
	}
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		VMOVUPS(acc[t], Mem{Base: out})
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}
