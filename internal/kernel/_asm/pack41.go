package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The "pack41" set: the Q4_1 and Q5_1 kernels of the packed prefill path
// and their row-group kernels for decode (kernel package:
// packed41_generic.go has the layouts and the order). These types have a
// minimum per block (value = d·u + m, u unsigned, so k = 0) and pair with
// Q8_1 activations (d, s = d·Σq); per block and (row, token) the kernels
// add
//
//	acc = fma(float32(Σ u·q), d_w·d_a, acc)
//	acc = fma(m_w, s_a, acc)
//
// with the integer sums built as in packed.go and group.go.

// kind41 is Q4_1 or Q5_1.
type kind41 struct {
	name   string
	wBytes int
	// load returns the block at m (d and m first) as 32 unsigned bytes.
	load func(m Mem, c *packConsts) VecVirtual
}

var kinds41 = []kind41{
	{"Q4_1", 20, func(m Mem, c *packConsts) VecVirtual {
		return nibblesAt(m.Offset(4), c.c0f)
	}},
	{"Q5_1", 24, func(m Mem, c *packConsts) VecVirtual {
		y := nibblesAt(m.Offset(8), c.c0f)
		VPORD(highBitsAt(m.Offset(4), c.c10), y, y)
		return y
	}},
}

// consts41 materializes the constants of k's loads.
func consts41(k kind41) *packConsts {
	c := &packConsts{c0f: bcastByte(0x0f)}
	if k.name == "Q5_1" {
		c.c10 = bcastByte(0x10)
	}
	return c
}

const (
	packBlockBytes41 = 640 // packed group bytes per block
	act41Bytes       = 40  // interleaved Q8_1 activation bytes per token and block
	q8_1Bytes        = 36  // Q8_1 block: d f16, s f16, qs [32]int8
)

func genPack41() {
	genConsts()
	genPackedConsts()
	for T := 1; T <= packedMaxT; T++ {
		packedTile41(T)
	}
	for _, k := range kinds41 {
		packRows41(k)
	}
	quantQ8_1(true)
	quantQ8_1(false)
	for _, k := range kinds41 {
		for T := 1; T <= groupMaxT; T++ {
			groupTile41(k, T)
		}
	}
}

// packedTile41 generates tileP41_16xT.
func packedTile41(T int) {
	name := fmt.Sprintf("tileP41_16x%d", T)
	TEXT(name, NOSPLIT, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of a packed Q4_1/Q5_1 group against %d tokens of interleaved Q8_1 activations, nb blocks (AVX-512 VNNI).", name, T, T),
		"Block b of the group is at p+640b, token t's block b at a+b*as+40t.")
	p := loadGP("p")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highZ[t]
		VPXORD(acc[t], acc[t], acc[t])
	}
	// Sums start from a copy of zero: a VPXORD of a fresh register would
	// read it, which keeps every token's sum register live across the loop
	// in avo's allocator.
	zero := ZMM()
	VPXORD(zero, zero, zero)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	wv := make([]VecVirtual, 8)
	for j := range wv {
		wv[j] = ZMM()
		VMOVDQU32(Mem{Base: p, Disp: 64 * j}, wv[j])
	}
	dw, mw := ZMM(), ZMM()
	VMOVUPS(Mem{Base: p, Disp: 512}, dw)
	VMOVUPS(Mem{Base: p, Disp: 576}, mw)
	for t := 0; t < T; t++ {
		s := ZMM()
		VMOVDQA32(zero, s)
		for j := 0; j < 8; j++ {
			vpdpbusdBcast(Mem{Base: a, Disp: act41Bytes*t + 4*j}, wv[j], s)
		}
		VCVTDQ2PS(s, s)
		sc := ZMM()
		VMULPS_BCST(Mem{Base: a, Disp: act41Bytes*t + 36}, dw, sc)
		VFMADD231PS(sc, s, acc[t])
		VFMADD231PS_BCST(Mem{Base: a, Disp: act41Bytes*t + 32}, mw, acc[t])
	}
	ADDQ(U32(packBlockBytes41), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// packRows41 generates packX16<kind>: 16 Q4_1/Q5_1 rows, nb blocks, into
// the packed group layout (u, then d and m as float32).
func packRows41(k kind41) {
	name := "packX16" + k.name
	TEXT(name, NOSPLIT, "func(w *byte, ws int, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s packs nb blocks of the 16 %s rows at w (stride ws bytes) into the packed group layout at dst (640 bytes per block, AVX-512).", name, k.name))
	w := loadGP("w")
	ws := loadGP("ws")
	nb := loadGP("nb")
	dst := loadGP("dst")
	rows := sixteenRows(w, ws)
	c := consts41(k)
	pf, idxLo, idxHi, gidx := packSetup(w, ws)
	packLoopHead(name, nb, pf, k.wBytes)
	// z[i]: row i in the low 256 bits, row i+8 in the high.
	z := make([]VecVirtual, 8)
	for i := 0; i < 8; i++ {
		lo := k.load(rows.mem(i), c)
		z[i] = ZMM()
		VINSERTI64X4(U8(1), k.load(rows.mem(i+8), c), lo.AsZ(), z[i])
	}
	transposeStore(z, idxLo, idxHi, nil, dst, 0)
	// The dword at each row's block start holds its f16 d and m.
	g := gatherRows(w, gidx, 0)
	storeHalves(g, false, Mem{Base: dst, Disp: 512})
	storeHalves(g, true, Mem{Base: dst, Disp: 576})

	rows.advance(uint32(k.wBytes))
	ADDQ(U32(packBlockBytes41), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// quantQ8_1 generates llama.cpp's x86 quantize_row_q8_1 on 32-float
// blocks: the quants and d as quantQ8_0's, and s = f16(d·Σq) from the
// unrounded d = amax/127, as ggml does. Interleaved (quantQ8_1xAVX512, the
// packed kernels' activations), a block is qs, then s and d as float32,
// blocks stride bytes apart; else (quantQ8_1AVX512, a Q8_1 row) d and s as
// f16, then qs, blocks 36 bytes apart.
func quantQ8_1(interleaved bool) {
	name, sig, lbl := "quantQ8_1AVX512", "func(x *float32, out *byte, nb int)", "q81"
	doc := "quantQ8_1AVX512 writes nb Q8_1 blocks (36 bytes) to out from 32·nb floats at x (AVX-512)."
	qOff, sOff, dOff := 4, 2, 0
	if interleaved {
		name, sig, lbl = "quantQ8_1xAVX512", "func(x *float32, out *byte, nb int, stride int, _ int)", "q81x"
		doc = "quantQ8_1xAVX512 writes nb interleaved Q8_1 activation blocks (40 bytes, stride bytes apart) from 32·nb floats at x (AVX-512)."
		qOff, sOff, dOff = 0, 32, 36
	}
	TEXT(name, NOSPLIT, sig)
	Doc(doc)
	x := loadGP("x")
	out := loadGP("out")
	nb := loadGP("nb")
	var stride GPVirtual
	if interleaved {
		stride = loadGP("stride")
	}
	c := newQ8Consts()

	Label(lbl + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(lbl + "_done"))
	bl := q8_0Scale(x, c)
	if interleaved {
		d := XMM()
		VCVTPH2PS(bl.h, d)
		VMOVSS(d, Mem{Base: out, Disp: dOff})
	} else {
		hg := GP32()
		VMOVD(bl.h, hg)
		MOVW(hg.As16(), Mem{Base: out, Disp: dOff})
	}
	dr := XMM()
	VDIVSS(c.c127, bl.amax, dr) // amax/127, unrounded
	q8_0Quants(bl, c, Mem{Base: out, Disp: qOff})
	v0, v1 := bl.v0, bl.v1
	// Σq over the 32 quants.
	VPADDD(v1, v0, v0)
	sy := YMM()
	VEXTRACTI64X4(U8(1), v0, sy)
	VPADDD(v0.AsY(), sy, sy)
	sx, st := XMM(), XMM()
	VEXTRACTI32X4(U8(1), sy, sx)
	VPADDD(sy.AsX(), sx, sx)
	VPSHUFD(U8(0x4e), sx, st)
	VPADDD(st, sx, sx)
	VPSHUFD(U8(0xb1), sx, st)
	VPADDD(st, sx, sx)
	VCVTDQ2PS(sx, sx)
	VMULSS(dr, sx, sx)
	sh := XMM()
	VCVTPS2PH(U8(0), sx, sh)
	if interleaved {
		VCVTPH2PS(sh, sx)
		VMOVSS(sx, Mem{Base: out, Disp: sOff})
	} else {
		sg := GP32()
		VMOVD(sh, sg)
		MOVW(sg.As16(), Mem{Base: out, Disp: sOff})
	}

	ADDQ(U32(128), x)
	if interleaved {
		ADDQ(stride, out)
	} else {
		ADDQ(U32(q8_1Bytes), out)
	}
	DECQ(nb)
	JMP(LabelRef(lbl + "_loop"))
	Label(lbl + "_done")
	VZEROUPPER()
	RET()
}

// groupTile41 generates tileG<kind>_16xT: the row-group kernel of Q4_1 or
// Q5_1 (group.go's, with Q8_1 activation rows and the minimum term).
func groupTile41(k kind41, T int) {
	name := fmt.Sprintf("tileG%s_16x%d", k.name, T)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of 16 %s weight rows at w (stride ws bytes) against %d Q8_1 activation rows at a (stride as bytes), nb blocks, in the packed kernels' order (AVX-512 VNNI).", name, T, k.name, T))
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	rows := sixteenRows(w, ws)
	var as3 GPVirtual
	if T > 3 {
		as3 = GP64()
		LEAQ(Mem{Base: as, Index: as, Scale: 2}, as3)
	}
	tokMem := func(t int) Mem {
		switch t {
		case 1:
			return Mem{Base: a, Index: as, Scale: 1}
		case 2:
			return Mem{Base: a, Index: as, Scale: 2}
		case 3:
			return Mem{Base: a, Index: as3, Scale: 1}
		}
		return Mem{Base: a}
	}

	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highZ[t]
		VPXORD(acc[t], acc[t], acc[t])
	}
	c := consts41(k)
	zero := ZMM()
	VPXORD(zero, zero, zero)
	gidx := ZMM()
	VPBROADCASTD(ws.As32(), gidx)
	VPMULLD(iota16, gidx, gidx)
	pf := GP64()
	MOVQ(ws, pf)
	SHLQ(U8(4), pf)
	ADDQ(w, pf)

	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for off := 0; off < 16*k.wBytes; off += 64 {
		PREFETCHT0(Mem{Base: pf, Disp: off})
	}
	ADDQ(U32(16*k.wBytes), pf)
	u := make([]VecVirtual, 8)
	for i, pr := range groupPairs {
		u[i] = ZMM()
		lo := k.load(rows.mem(pr[0]), c)
		VINSERTI64X4(U8(1), k.load(rows.mem(pr[1]), c), lo.AsZ(), u[i])
	}
	// Row scales and minima: the dword at each row's block start holds
	// its f16 d (low word) and m (high word).
	g := gatherRows(w, gidx, 0)
	h := YMM()
	VPMOVDW(g, h)
	dw := ZMM()
	VCVTPH2PS(h, dw)
	VPSRLD(U8(16), g, g)
	VPMOVDW(g, h)
	mw := ZMM()
	VCVTPH2PS(h, mw)

	for t := 0; t < T; t++ {
		q := ZMM()
		VBROADCASTI64X4(tokMem(t).Offset(4), q)
		s := groupSums(q, u, zero)
		VCVTDQ2PS(s, s)
		da := YMM()
		VPBROADCASTW(tokMem(t), da)
		daz := ZMM()
		VCVTPH2PS(da, daz)
		sc := ZMM()
		VMULPS(daz, dw, sc)
		VFMADD231PS(sc, s, acc[t])
		sa := YMM()
		VPBROADCASTW(tokMem(t).Offset(2), sa)
		saz := ZMM()
		VCVTPH2PS(sa, saz)
		VFMADD231PS(saz, mw, acc[t])
	}
	rows.advance(uint32(k.wBytes))
	ADDQ(U32(q8_1Bytes), a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}
