package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The row-group kernels compute a 16-row × T-token tile (T ≤ 4) straight
// from the weight rows, for decode and small batches of the packed types
// (Q8_0, Q4_0, Q5_0, IQ4_NL), adding in the packed kernels' order: per
// (row, token) and block the exact int32 Σ w·q, then acc = fma(float32(Σ),
// d_w·d_a, acc) in one float32 lane per row, blocks in order. So a token's
// results are the same bits whichever path (these, the packed kernels, the
// reference) computed them.
//
// Per block, rows r and r' share a zmm (r in the low 256 bits): their 32
// weights as unsigned bytes u = w + k. Per token, VPDPBUSD of each pair
// with the activation block (broadcast to both halves), started from −k·Σq,
// leaves per row eight dword partial sums; a transposing add tree (unpack
// dwords, unpack qwords, shuffle 128-bit lanes) turns the eight pair
// vectors into one vector of the 16 row sums, in row order.

// groupMaxT is the largest token count of a row-group kernel.
const groupMaxT = 4

func genGroupTiles() {
	for _, k := range packedKinds {
		for T := 1; T <= groupMaxT; T++ {
			groupTile(k, T)
		}
	}
}

// groupPairs are the rows sharing each zmm (low half, high half), chosen
// so that the add tree ends with the row sums in order.
var groupPairs = [8][2]int{{0, 4}, {1, 5}, {2, 6}, {3, 7}, {8, 12}, {9, 13}, {10, 14}, {11, 15}}

func groupTile(k packedKind, T int) {
	name := fmt.Sprintf("tileG%s_16x%d", k.name, T)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of 16 %s weight rows at w (stride ws bytes) against %d Q8_0 activation rows at a (stride as bytes), nb blocks, in the packed kernels' order (AVX-512 VNNI).", name, T, k.name, T))
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	rows := sixteenRows(w, ws)
	rowMem := rows.mem
	// Tokens 0..3 from a with index 0, as, 2as, 3as.
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
	c := &packConsts{}
	if k.name != "Q8_0" {
		c.c0f = bcastByte(0x0f)
	}
	if k.name == "Q5_0" {
		c.c10 = bcastByte(0x10)
	}
	if k.name == "IQ4_NL" {
		c.tbl = YMM()
		VMOVDQU8(iq4Table128, c.tbl)
	}
	cK := ZMM()
	{
		g := GP32()
		MOVL(U32(uint32(k.k)*0x01010101), g)
		VPBROADCASTD(g, cK)
	}
	zero := ZMM()
	VPXORD(zero, zero, zero)
	// Gather indices r·ws for the scales.
	gidx := ZMM()
	VPBROADCASTD(ws.As32(), gidx)
	VPMULLD(iota16, gidx, gidx)
	// pf walks the next 16 rows (16·ws bytes on), 16 blocks' worth of bytes
	// per block, so that they arrive while these are computed.
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
		if k.name == "Q8_0" {
			lo := k.load(rowMem(pr[0]), c)
			VINSERTI64X4(U8(1), rowMem(pr[1]).Offset(2), lo.AsZ(), u[i])
			VPXORD(cK, u[i], u[i]) // k = 128: flip the sign bit
		} else {
			lo := k.load(rowMem(pr[0]), c)
			VINSERTI64X4(U8(1), k.load(rowMem(pr[1]), c), lo.AsZ(), u[i])
		}
	}
	// Row scales: the dword at each row's block start holds its f16 d.
	km := K()
	KXNORW(km, km, km)
	g := ZMM()
	VPXORD(g, g, g)
	VPGATHERDD(Mem{Base: w, Index: gidx, Scale: 1}, km, g)
	h := YMM()
	VPMOVDW(g, h)
	dw := ZMM()
	VCVTPH2PS(h, dw)

	for t := 0; t < T; t++ {
		q := ZMM()
		VBROADCASTI64X4(tokMem(t).Offset(2), q)
		negc := ZMM()
		VPXORD(negc, negc, negc)
		vpdpbusd(q, cK, negc)
		VPSUBD(negc, zero, negc)
		s := groupSums(q, u, negc)
		VCVTDQ2PS(s, s)
		da := YMM()
		VPBROADCASTW(tokMem(t), da)
		daz := ZMM()
		VCVTPH2PS(da, daz)
		sc := ZMM()
		VMULPS(daz, dw, sc)
		VFMADD231PS(sc, s, acc[t])
	}
	rows.advance(uint32(k.wBytes))
	ADDQ(U32(34), a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// groupSums returns the 16 rows' int32 init + Σ u·q in row order, for the
// activation block q (broadcast to both halves) and the pair vectors u of
// groupPairs: per pair vector a VPDPBUSD started from init, then the
// transposing add tree (level 1: pairs of pair vectors → per 128-bit lane
// [X0+X2, Y0+Y2, X1+X3, Y1+Y3]; level 2: per lane the sums of four rows;
// level 3: each row's two 128-bit lanes added, rows 0..15 in order).
func groupSums(q VecVirtual, u []VecVirtual, init VecVirtual) VecVirtual {
	l1 := make([]VecVirtual, 4)
	for i := 0; i < 4; i++ {
		s0, s1 := ZMM(), ZMM()
		VMOVDQA32(init, s0)
		vpdpbusd(q, u[2*i], s0)
		VMOVDQA32(init, s1)
		vpdpbusd(q, u[2*i+1], s1)
		lo, hi := ZMM(), ZMM()
		VPUNPCKLDQ(s1, s0, lo)
		VPUNPCKHDQ(s1, s0, hi)
		VPADDD(hi, lo, lo)
		l1[i] = lo
	}
	l2 := make([]VecVirtual, 2)
	for i := 0; i < 2; i++ {
		lo, hi := ZMM(), ZMM()
		VPUNPCKLQDQ(l1[2*i+1], l1[2*i], lo)
		VPUNPCKHQDQ(l1[2*i+1], l1[2*i], hi)
		VPADDD(hi, lo, lo)
		l2[i] = lo
	}
	s, s2 := ZMM(), ZMM()
	VSHUFI32X4(U8(0x88), l2[1], l2[0], s)
	VSHUFI32X4(U8(0xdd), l2[1], l2[0], s2)
	VPADDD(s2, s, s)
	return s
}
