package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The packed K-quant prefill kernels (Q4_K, Q5_K, Q6_K; the layouts are in
// the kernel package's packedk_generic.go) follow the packed kernels'
// scheme with 256-element blocks: 16 weight rows per group, one lane per
// row, the weight values as unsigned bytes (vector v holds dword v of every
// row) and token-interleaved Q8_K activations. Per block, token and
// sub-block (32 elements; Q6_K: two groups of 16) eight VPDPBUSD with the
// activation dword broadcast from memory give each row's exact sum, a
// VPMULLD by the row's scale and a VPADDD add it into the block's isum (a
// Q6_K group's sum starts from the activations' −32·bsum, its values'
// offset); then the min term (Q4_K, Q5_K) through VPDPWSSD of the packed
// int16 pairs with the activations' pair sums, and the block's float step: acc = fma(float32(isum), d_w·d_a, acc), acc =
// fma(−float32(msum), dmin_w·d_a, acc). The decode kernels (kquant.go)
// take the same steps, so results do not depend on which path ran.

// packedKMaxT is the most tokens a packed K tile takes: eight float
// accumulators and eight isums stay in registers next to the eight weight
// vectors of a sub-block.
const packedKMaxT = 8

// packedKKind is a K-quant type the packed kernels read.
type packedKKind struct {
	name       string
	wBytes     int // bytes per 256-element block
	blockBytes int // packed group bytes per block
	six        bool
	// load returns the 32 unsigned values of sub-block j (elements
	// 32j..32j+31) of the block at m.
	load func(m Mem, j int, c *packKConsts) VecVirtual
}

type packKConsts struct{ c0f, c10, c30 VecVirtual }

// nibbleLoad returns the low (hi = false) or high nibbles of the 32 bytes at
// m.
func nibbleLoad(m Mem, hi bool, c0f VecVirtual) VecVirtual {
	y := YMM()
	if !hi {
		VPANDD(m, c0f, y)
		return y
	}
	VMOVDQU8(m, y)
	VPSRLW(U8(4), y, y)
	VPANDD(c0f, y, y)
	return y
}

// orBitsAt ors into y the bits of the 32 bytes at m that a word shift by
// shift (left if positive) moves under mask.
func orBitsAt(y VecVirtual, m Mem, shift int, mask VecVirtual) {
	h := YMM()
	VMOVDQU8(m, h)
	switch {
	case shift > 0:
		VPSLLW(U8(shift), h, h)
	case shift < 0:
		VPSRLW(U8(-shift), h, h)
	}
	VPTERNLOGD(U8(0xf8), mask, h, y) // y |= h & mask
}

var packedKKinds = []packedKKind{
	{"Q4_K", 144, 4992, false, func(m Mem, j int, c *packKConsts) VecVirtual {
		return nibbleLoad(m.Offset(16+32*(j/2)), j%2 == 1, c.c0f)
	}},
	{"Q5_K", 176, 4992, false, func(m Mem, j int, c *packKConsts) VecVirtual {
		y := nibbleLoad(m.Offset(48+32*(j/2)), j%2 == 1, c.c0f)
		orBitsAt(y, m.Offset(16), 4-j, c.c10) // fifth bit: bit j of qh[l]
		return y
	}},
	{"Q6_K", 210, 5184, true, func(m Mem, j int, c *packKConsts) VecVirtual {
		h, i := j/4, j%4
		y := nibbleLoad(m.Offset(64*h+32*(i&1)), i >= 2, c.c0f)
		orBitsAt(y, m.Offset(128+32*h), 4-2*i, c.c30) // top bits: bits 2i, 2i+1 of qh[l]
		return y
	}},
}

// VPSHUFB controls: per dword of each 128-bit lane, bytes 0,1 (kPair0) or
// 2,3 (kPair1) into the low bytes of its two words, zero-extended.
var kPair0, kPair1 Mem

func genPackedKConsts() {
	for _, c := range []struct {
		m    *Mem
		name string
		b    int // first source byte in the dword
	}{{&kPair0, "kpair0", 0}, {&kPair1, "kpair1", 2}} {
		*c.m = GLOBL(c.name, RODATA|NOPTR)
		for i := 0; i < 64; i++ {
			p, k := (i%16)/4, i%4
			v := uint8(0x80)
			if k%2 == 0 {
				v = uint8(4*p + c.b + k/2)
			}
			DATA(i, U8(v))
		}
	}
}

func genPackedK() {
	genPackedKConsts()
	for _, k := range packedKKinds {
		packKRows(k)
	}
	for T := 1; T <= packedKMaxT; T++ {
		packedKTile(false, T)
		packedKTile(true, T)
	}
	q8KSums()
	vnniPeak()
	readBW()
}

// transposeStore transposes z (z[i]: row i in the low 256 bits, row i+8 in
// the high, eight dwords each) into eight vectors, vector j lane r = dword j
// of row r, and stores vector j at disp+64j(dst), flipped by xor (if not
// nil) on the way.
func transposeStore(z []VecVirtual, idxLo, idxHi, xor VecVirtual, dst GPVirtual, disp int) {
	tt := make([]VecVirtual, 8)
	for i := 0; i < 4; i++ {
		lo, hi := ZMM(), ZMM()
		VPUNPCKLDQ(z[2*i+1], z[2*i], lo)
		VPUNPCKHDQ(z[2*i+1], z[2*i], hi)
		tt[2*i], tt[2*i+1] = lo, hi
	}
	uu := make([]VecVirtual, 8)
	for g := 0; g < 2; g++ {
		t0, t1, t2, t3 := tt[4*g], tt[4*g+1], tt[4*g+2], tt[4*g+3]
		u0, u1, u2, u3 := ZMM(), ZMM(), ZMM(), ZMM()
		VPUNPCKLQDQ(t2, t0, u0)
		VPUNPCKHQDQ(t2, t0, u1)
		VPUNPCKLQDQ(t3, t1, u2)
		VPUNPCKHQDQ(t3, t1, u3)
		uu[4*g], uu[4*g+1], uu[4*g+2], uu[4*g+3] = u0, u1, u2, u3
	}
	for d := 0; d < 4; d++ {
		lo, hi := ZMM(), ZMM()
		VMOVDQA64(uu[d], lo)
		VPERMT2Q(uu[4+d], idxLo, lo)
		VMOVDQA64(uu[d], hi)
		VPERMT2Q(uu[4+d], idxHi, hi)
		for i, v := range []VecVirtual{lo, hi} {
			j := d + 4*i
			if xor != nil {
				VPXORD(xor, v, v)
			}
			VMOVDQU32(v, Mem{Base: dst, Disp: disp + 64*j})
		}
	}
}

// gatherRows returns the dword at off of each of the 16 rows' current
// block (row r at w + gidx[r]).
func gatherRows(w GPVirtual, gidx VecVirtual, off int) VecVirtual {
	km := K()
	KXNORW(km, km, km)
	g := ZMM()
	VPXORD(g, g, g)
	VPGATHERDD(Mem{Base: w, Index: gidx, Scale: 1, Disp: off}, km, g)
	return g
}

// bcastDword returns v in every dword of a zmm.
func bcastDword(v uint32) VecVirtual {
	g := GP32()
	MOVL(U32(v), g)
	z := ZMM()
	VPBROADCASTD(g, z)
	return z
}

// storeHalves converts the 16 f16 in the low (high = false) or high words
// of g's dwords to float32 and stores them at m.
func storeHalves(g VecVirtual, high bool, m Mem) {
	src := g
	if high {
		src = ZMM()
		VPSRLD(U8(16), g, src)
	}
	h := YMM()
	VPMOVDW(src, h)
	f := ZMM()
	VCVTPH2PS(h, f)
	VMOVUPS(f, m)
}

// packKRows generates packX16<kind>: 16 K-quant rows, nb blocks, into the
// packed K group layout.
func packKRows(k packedKKind) {
	name := "packX16" + k.name
	TEXT(name, NOSPLIT, "func(w *byte, ws int, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s packs nb blocks of the 16 %s rows at w (stride ws bytes) into the packed K group layout at dst (%d bytes per block, AVX-512).", name, k.name, k.blockBytes))
	w := loadGP("w")
	ws := loadGP("ws")
	nb := loadGP("nb")
	dst := loadGP("dst")
	rows := sixteenRows(w, ws)
	c := &packKConsts{c0f: bcastByte(0x0f)}
	if k.name == "Q5_K" {
		c.c10 = bcastByte(0x10)
	}
	if k.six {
		c.c30 = bcastByte(0x30)
	}
	pf, idxLo, idxHi, gidx := packSetup(w, ws)
	packLoopHead(name, nb, pf, k.wBytes)
	for j := 0; j < 8; j++ {
		z := make([]VecVirtual, 8)
		for i := 0; i < 8; i++ {
			lo := k.load(rows.mem(i), j, c)
			z[i] = ZMM()
			VINSERTI64X4(U8(1), k.load(rows.mem(i+8), j, c), lo.AsZ(), z[i])
		}
		transposeStore(z, idxLo, idxHi, nil, dst, 512*j)
	}
	if k.six {
		packScalesQ6_K(w, gidx, dst)
	} else {
		packScalesQ4_K(w, gidx, dst)
	}
	rows.advance(uint32(k.wBytes))
	ADDQ(U32(uint32(k.blockBytes)), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// packScalesQ4_K writes the scales, mins, d and dmin of the 16 rows'
// current Q4_K/Q5_K blocks (same header) into the packed block at dst:
// ggml's get_scale_min_k4 on 16 rows at once.
func packScalesQ4_K(w GPVirtual, gidx VecVirtual, dst GPVirtual) {
	u0 := gatherRows(w, gidx, 4)  // scale bytes 0..3
	u1 := gatherRows(w, gidx, 8)  // 4..7
	u2 := gatherRows(w, gidx, 12) // 8..11
	c := map[uint32]VecVirtual{}
	for _, v := range []uint32{0x3f3f3f3f, 0x0f0f0f0f, 0x30303030, 0xff} {
		c[v] = bcastDword(v)
	}
	and := func(m uint32, x, dst VecVirtual) { VPANDD(c[m], x, dst) }
	unpackScalesMinsK(u0, u1, u2, and, Mem{Base: dst, Disp: 4096}, Mem{Base: dst, Disp: 4608})
	dd := gatherRows(w, gidx, 0) // d | dmin<<16
	storeHalves(dd, false, Mem{Base: dst, Disp: 4864})
	storeHalves(dd, true, Mem{Base: dst, Disp: 4928})
}

// unpackScalesMinsK is ggml's get_scale_min_k4 for 16 rows at once: from
// the dword vectors u0, u1, u2 of the rows' scale bytes 0..3, 4..7 and
// 8..11 it writes the eight sub-block scales (int32 per row) at sc + 64j
// and the four min pairs (m_2i, m_2i+1 as int16 per row) at mn + 64i.
// and(m, x, dst) sets dst = x & m for the byte patterns 0x3f3f3f3f,
// 0x0f0f0f0f, 0x30303030 and 0xff, from registers or memory as the caller
// keeps its constants.
func unpackScalesMinsK(u0, u1, u2 VecVirtual, and func(m uint32, x, dst VecVirtual), sc, mn Mem) {
	scLo, mnLo, scHi, mnHi := ZMM(), ZMM(), ZMM(), ZMM()
	and(0x3f3f3f3f, u0, scLo) // sc0..3 = q[0..3] & 63
	and(0x3f3f3f3f, u1, mnLo) // m0..3 = q[4..7] & 63
	// sc4..7 = q[8..11] & 15 | (q[0..3] >> 6) << 4
	t := ZMM()
	VPSRLD(U8(2), u0, t)
	and(0x30303030, t, t)
	and(0x0f0f0f0f, u2, scHi)
	VPORD(t, scHi, scHi)
	// m4..7 = q[8..11] >> 4 | (q[4..7] >> 6) << 4
	VPSRLD(U8(2), u1, t)
	and(0x30303030, t, t)
	VPSRLD(U8(4), u2, mnHi)
	and(0x0f0f0f0f, mnHi, mnHi)
	VPORD(t, mnHi, mnHi)
	for j := 0; j < 8; j++ {
		src := scLo
		if j >= 4 {
			src = scHi
		}
		s := ZMM()
		switch b := j % 4; b {
		case 0:
			and(0xff, src, s)
		case 3:
			VPSRLD(U8(24), src, s)
		default:
			VPSRLD(U8(8*b), src, s)
			and(0xff, s, s)
		}
		VMOVDQU32(s, sc.Offset(64*j))
	}
	for i, src := range []VecVirtual{mnLo, mnLo, mnHi, mnHi} {
		ctl := kPair0
		if i%2 == 1 {
			ctl = kPair1
		}
		s := ZMM()
		VPSHUFB(ctl, src, s)
		VMOVDQU32(s, mn.Offset(64*i))
	}
}

// packScalesQ6_K writes the group scales (int32) and d of the 16 rows'
// current Q6_K blocks into the packed block at dst.
func packScalesQ6_K(w GPVirtual, gidx VecVirtual, dst GPVirtual) {
	for k := 0; k < 4; k++ {
		g := gatherRows(w, gidx, 192+4*k) // int8 scales 4k..4k+3
		for m := 0; m < 4; m++ {
			s := ZMM()
			if m < 3 {
				VPSLLD(U8(24-8*m), g, s)
				VPSRAD(U8(24), s, s)
			} else {
				VPSRAD(U8(24), g, s)
			}
			VMOVDQU32(s, Mem{Base: dst, Disp: 4096 + 64*(4*k+m)})
		}
	}
	dd := gatherRows(w, gidx, 206) // d in the high word
	storeHalves(dd, true, Mem{Base: dst, Disp: 5120})
}

// vpdpwssdBcast is VPDPWSSD with the first source an int16 pair (dword) in
// memory broadcast to every lane.
func vpdpwssdBcast(m Mem, u, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPWSSD",
		Suffixes: []string{"BCST"},
		Operands: []Op{m, u, acc},
		Inputs:   []Op{m, u, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI", "AVX512F"},
	})
}

// packedKTile generates tilePK45_16xT (Q4_K, Q5_K) or tilePK6_16xT (Q6_K).
func packedKTile(six bool, T int) {
	kind, bb := "45", 4992
	if six {
		kind, bb = "6", 5184
	}
	name := fmt.Sprintf("tilePK%s_16x%d", kind, T)
	TEXT(name, NOSPLIT, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of a packed K group (%d bytes per block) against %d tokens of interleaved K activations, nb blocks, in the K-quant order (AVX-512 VNNI).", name, T, bb, T),
		"Block b of the group is at p+"+fmt.Sprint(bb)+"b, token t's block b at a+b*as+384t.")
	p := loadGP("p")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highZ[t]
		VPXORD(acc[t], acc[t], acc[t])
	}
	// Zeroing a virtual register by xoring it with itself makes avo think
	// it is read, and so live since the function's start: zero registers
	// are copies of this one.
	zero := ZMM()
	VPXORD(zero, zero, zero)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	act := func(t, off int) Mem { return Mem{Base: a, Disp: actK*t + off} }
	// avo allocates virtual vectors among Z0..Z15 only: the accumulators
	// and isums take Z16..Z31 by hand.
	isum := make([]Register, T)
	for t := range isum {
		isum[t] = highZ[packedKMaxT+t]
	}
	for j := 0; j < 8; j++ {
		wv := make([]VecVirtual, 8)
		for k := range wv {
			wv[k] = ZMM()
			VMOVDQU32(Mem{Base: p, Disp: 512*j + 64*k}, wv[k])
		}
		if six {
			// Groups 2j (dwords 0..3) and 2j+1 (4..7), one chain each,
			// from −32·bsum.
			for t := 0; t < T; t++ {
				sa, sb := ZMM(), ZMM()
				VPBROADCASTD(act(t, 320+4*(2*j)), sa)
				VPBROADCASTD(act(t, 320+4*(2*j+1)), sb)
				for k := 0; k < 4; k++ {
					vpdpbusdBcast(act(t, 4+32*j+4*k), wv[k], sa)
					vpdpbusdBcast(act(t, 4+32*j+16+4*k), wv[4+k], sb)
				}
				VPMULLD(Mem{Base: p, Disp: 4096 + 64*(2*j)}, sa, sa)
				VPMULLD(Mem{Base: p, Disp: 4096 + 64*(2*j+1)}, sb, sb)
				if j == 0 {
					VPADDD(sb, sa, isum[t])
				} else {
					VPADDD(sa, isum[t], isum[t])
					VPADDD(sb, isum[t], isum[t])
				}
			}
			continue
		}
		// Two tokens' chains interleaved.
		for t0 := 0; t0 < T; t0 += 2 {
			n := min(2, T-t0)
			s := make([]VecVirtual, n)
			for i := range s {
				s[i] = ZMM()
				VPXORD(zero, zero, s[i])
			}
			for k := 0; k < 8; k++ {
				for i := range s {
					vpdpbusdBcast(act(t0+i, 4+32*j+4*k), wv[k], s[i])
				}
			}
			for i := range s {
				if j == 0 {
					VPMULLD(Mem{Base: p, Disp: 4096 + 64*j}, s[i], isum[t0+i])
				} else {
					VPMULLD(Mem{Base: p, Disp: 4096 + 64*j}, s[i], s[i])
					VPADDD(s[i], isum[t0+i], isum[t0+i])
				}
			}
		}
	}
	dOff := 4864
	if six {
		dOff = 5120
	}
	dw := ZMM()
	VMOVUPS(Mem{Base: p, Disp: dOff}, dw)
	var dm VecVirtual
	if !six {
		dm = ZMM()
		VMOVUPS(Mem{Base: p, Disp: 4928}, dm)
	}
	for t := 0; t < T; t++ {
		var msum VecVirtual
		if !six {
			// Σ_j m_j·(bsum_2j + bsum_2j+1)
			msum = ZMM()
			VPXORD(zero, zero, msum)
			for i := 0; i < 4; i++ {
				mp := ZMM()
				VMOVDQU32(Mem{Base: p, Disp: 4608 + 64*i}, mp)
				vpdpwssdBcast(act(t, 292+4*i), mp, msum)
			}
		}
		VCVTDQ2PS(isum[t], isum[t])
		dd := ZMM()
		VMULPS_BCST(act(t, 0), dw, dd)
		VFMADD231PS(dd, isum[t], acc[t])
		if !six {
			VCVTDQ2PS(msum, msum)
			ddm := ZMM()
			VMULPS_BCST(act(t, 0), dm, ddm)
			VFNMADD231PS(ddm, msum, acc[t])
		}
	}
	ADDQ(U32(uint32(bb)), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// actK is the interleaved K activation bytes per token and block.
const actK = 384

// vnniPeak generates vnniPeak(n): n rounds of 16 independent VPDPBUSD on
// zmm registers, the int8 compute ceiling the prefill benchmarks compare
// with (16·64 multiply-adds per round).
func vnniPeak() {
	TEXT("vnniPeak", NOSPLIT, "func(n int)")
	Doc("vnniPeak runs n rounds of 16 independent zmm VPDPBUSD (1024 int8 multiply-adds per round), for the benchmarks' peak (AVX-512 VNNI).")
	n := loadGP("n")
	u, s := ZMM(), ZMM()
	VPTERNLOGD(U8(0xff), u, u, u)
	VPXORD(s, s, s)
	acc := make([]Register, 16)
	for i := range acc {
		acc[i] = highZ[i]
		VPXORD(acc[i], acc[i], acc[i])
	}
	Label("vnnipeak_loop")
	TESTQ(n, n)
	JZ(LabelRef("vnnipeak_done"))
	for i := range acc {
		vpdpbusd(s, u, acc[i])
	}
	DECQ(n)
	JMP(LabelRef("vnnipeak_loop"))
	Label("vnnipeak_done")
	VZEROUPPER()
	RET()
}

// q8KSums generates q8KBsumsAVX512 (bsums of nb Q8_K blocks, 292 bytes
// apart) and q8KxSumsAVX512 (every sum of one interleaved K activation
// block): the quants are made unsigned (q+128), VPSADBW adds each 8,
// VPMADDWD each pair of those, and 2048 comes off each group of 16.
func q8KSums() {
	for _, full := range []bool{false, true} {
		name, sig := "q8KBsumsAVX512", "func(blk *byte, nb int)"
		doc := "q8KBsumsAVX512 writes the group-of-16 sums (int16 at 260) of nb Q8_K blocks 292 bytes apart at blk from their quants (AVX-512)."
		if full {
			name, sig = "q8KxSumsAVX512", "func(blk *byte)"
			doc = "q8KxSumsAVX512 writes the bsums (int16 at 260), pair sums (int16 at 292), zero padding (308..320) and −32·bsum (int32 at 320) of the interleaved K activation block at blk from its quants (AVX-512)."
		}
		TEXT(name, NOSPLIT, sig)
		Doc(doc)
		p := loadGP("blk")
		var nb GPVirtual
		if !full {
			nb = loadGP("nb")
		}
		c80 := bcastDword(0x80808080)
		onesW := bcastDword(0x00010001)
		c2048 := bcastDword(2048)
		zero := ZMM()
		VPXORD(zero, zero, zero)
		if !full {
			Label(name + "_loop")
			TESTQ(nb, nb)
			JZ(LabelRef(name + "_done"))
		}
		// h: the 32 sums of 8 quants (+1024 each) as words, in order.
		h := ZMM()
		for i := 0; i < 4; i++ {
			q := ZMM()
			VPXORD(Mem{Base: p, Disp: 4 + 64*i}, c80, q)
			VPSADBW(zero, q, q)
			w := XMM()
			VPMOVQW(q, w)
			if i == 0 {
				VMOVDQA64(w.AsZ(), h) // upper lanes set below
			} else {
				VINSERTI32X4(U8(i), w, h, h)
			}
		}
		bs := ZMM()
		VPMADDWD(onesW, h, bs)
		VPSUBD(c2048, bs, bs) // bsum[g] as int32, g < 16
		b16 := YMM()
		VPMOVDW(bs, b16)
		VMOVDQU16(b16, Mem{Base: p, Disp: 260})
		if full {
			ps := YMM()
			VPMADDWD(onesW.AsY(), b16, ps)
			px := XMM()
			VPMOVDW(ps, px)
			VMOVDQU16(px, Mem{Base: p, Disp: 292})
			MOVQ(U32(0), Mem{Base: p, Disp: 308})
			MOVL(U32(0), Mem{Base: p, Disp: 316})
			VPSLLD(U8(5), bs, bs)
			VPSUBD(bs, zero, bs)
			VMOVDQU32(bs, Mem{Base: p, Disp: 320})
		} else {
			ADDQ(U32(292), p)
			DECQ(nb)
			JMP(LabelRef(name + "_loop"))
			Label(name + "_done")
		}
		VZEROUPPER()
		RET()
	}
}

// readBW generates readBytesAVX512(p, n): loads n bytes (a multiple of
// 256) at p with four zmm loads per step into four independent xor
// accumulators, each line prefetched 2 KiB ahead, the STREAM-style read
// the decode benchmarks compare with.
func readBW() {
	TEXT("readBytesAVX512", NOSPLIT, "func(p *byte, n int) uint64")
	Doc("readBytesAVX512 reads n bytes (a multiple of 256) at p and returns a value that depends on all of them, for the benchmarks' memory read bandwidth (AVX-512).")
	p := loadGP("p")
	n := loadGP("n")
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = ZMM()
		VPXORQ(acc[i], acc[i], acc[i])
	}
	Label("readbw_loop")
	CMPQ(n, U32(256))
	JB(LabelRef("readbw_done"))
	for i := range acc {
		PREFETCHT0(Mem{Base: p, Disp: 2048 + 64*i})
		VPXORQ(Mem{Base: p, Disp: 64 * i}, acc[i], acc[i])
	}
	ADDQ(U32(256), p)
	SUBQ(U32(256), n)
	JMP(LabelRef("readbw_loop"))
	Label("readbw_done")
	VPXORQ(acc[1], acc[0], acc[0])
	VPXORQ(acc[3], acc[2], acc[2])
	VPXORQ(acc[2], acc[0], acc[0])
	y := YMM()
	VEXTRACTI64X4(U8(1), acc[0], y)
	VPXORQ(acc[0].AsY(), y, y)
	x := XMM()
	VEXTRACTI64X2(U8(1), y, x)
	VPXORQ(y.AsX(), x, x)
	r := GP64()
	VMOVQ(x, r)
	Store(r, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
