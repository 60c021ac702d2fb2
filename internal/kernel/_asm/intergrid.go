package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The intergrid set (intergrid_amd64.s): row-major decode tiles of the
// codebook i-quants whose codebook fits in registers, IQ2_XXS and IQ3_XXS,
// in the packed path's order (iqOrdered: per 256-block the exact int32
// sum, then one scalar fused multiply-add), the same steps as the packiq
// set's tileOrd tiles they replace (TestCodeTilesSameBits).
//
// The packiq tiles fetch every codebook entry with a scalar load and an
// insert (IQ2_XXS: 32 loads and 24 shuffles per block, about 54 cycles on
// the Zen 4 this was measured on). Here the codebook is held as codes: the
// 256 entries of IQ2_XXS (8 magnitudes from 3 levels) and IQ3_XXS (4 from
// 8) become 16-bit words of 2- or 3-bit level numbers, 512 bytes, in
// registers: looked up with VPERMI2W (32 indices, 64 entries per
// instruction, index bits 6 and 7 picking among four lookups by masked
// moves) or, 64 indices at a time, in the codes' low and high byte planes
// with VPERMI2B (128 entries per instruction) and VPUNPCKL/HBW. Per 64
// values VPMULTISHIFTQB spreads the level numbers to bytes and VPERMB maps
// them to magnitudes + 64, the signs (ggml's ksigns by VPERMI2B) negate by
// a masked VPSUBB, and VPMADDUBSW and VPDPWSSD by the scales 2s+1 add the
// block sum. The codes table is the kernel package's gridCodeTable (built
// from package tensor's codebook), passed as tab.
//
// Measured per block, in cache, one thread (IQ2_XXS / IQ3_XXS): 54 / 67
// cycles before, 33 / 38 now. What bounds them: a 512-bit VPERMB,
// VPERMI2B/W or VPMULTISHIFTQB issues at most once per cycle, VPMADDUBSW,
// VPDPWSSD and VPMULTISHIFTQB share one 512-bit multiply pipe (12 per
// IQ2_XXS block at one token), and the two classes contend (a
// VPERMB + VPDPBUSD pair takes 1.4 cycles). Tried and dropped: tables as
// memory operands (a 512-bit load costs 1.5 cycles, 1.9 across a line: 43
// cycles per block), software pipelining across blocks (no gain),
// entries fetched by scalar loads into a stack buffer (71 cycles: the
// 8-byte stores do not forward to the vector loads), and, for the other
// codebook types, entries by VPBROADCASTQ + VPBLENDD instead of inserts
// (no gain from DRAM).

// gridKind is one codebook type of the set.
type gridKind struct {
	name   string
	wBytes int
	c      float32 // the type's constant: d·c scales the block sum
	three  bool    // 3-bit level numbers, 4-value entries (IQ3_XXS)
}

var gridKinds = []gridKind{{"IQ2_XXS", 66, 0.125, false}, {"IQ3_XXS", 98, 0.25, true}}

// Constants: VPERMB controls that gather the index bytes into the words
// of the lookup (igIdx2, igIdx3: see gridTile), VPMULTISHIFTQB controls
// (igMs2, igMs3: per 64-value chunk z; igMsSign: the four 7-bit sign
// indices of each aux dword to bytes).
var igIdx2, igIdx3, igMs2, igMs3, igMsSign Mem

// The tables' layout (the kernel package's gridCodeTable): codes [256]u16
// at 0, vals [64]u8 (entry x = 64 + level x mod 2^b) at 512, signs [128]u8
// (ggml's ksigns_iq2xs) at 576.
const igVals, igSigns = 512, 576

func genInterGridConsts() {
	// IQ2_XXS: word 4i+z of the lookup = index of group 8z+i, which is
	// byte 8(G/4) + G%4 of the block's 64 bytes at 2 (G = 8z+i).
	igIdx2 = GLOBL("igidx2", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		for z := 0; z < 4; z++ {
			G := 8*z + i
			DATA(2*(4*i+z), U16(uint16(8*(G/4)+G%4)*0x0101))
		}
	}
	// IQ3_XXS: byte 16L+b of the indices (one byte-plane lookup of all 64)
	// is code word w = 8L + b%8 of VPUNPCKLBW (h = 0, b < 8) or VPUNPCKHBW
	// (h = 1); word 4i+2m+e of lookup h = group 16z+2i+e, z = 2h+m: byte
	// 16z+2i+e of qs at 2.
	igIdx3 = GLOBL("igidx3", RODATA|NOPTR)
	for p := 0; p < 64; p++ {
		L, b := p/16, p%16
		h, w := b/8, 8*L+b%8
		i, m, e := w/4, (w%4)/2, w%2
		DATA(p, U8(uint8(16*(2*h+m)+2*i+e)))
	}
	// Chunk z: byte j of each qword = bits 16z + 2j (IQ2_XXS: word z of
	// qword i is group 8z+i's code), or 16(2(z%2) + j/4) + 3(j%4) (IQ3_XXS:
	// words 2(z%2), +1 of qword i are groups 16z+2i, +1).
	igMs2 = GLOBL("igms2", RODATA|NOPTR)
	for z := 0; z < 4; z++ {
		for j := 0; j < 8; j++ {
			DATA(8*z+j, U8(uint8(16*z+2*j)))
		}
	}
	igMs3 = GLOBL("igms3", RODATA|NOPTR)
	for z := 0; z < 4; z++ {
		for j := 0; j < 8; j++ {
			DATA(8*z+j, U8(uint8(16*(2*(z%2)+j/4)+3*(j%4))))
		}
	}
	// Sign indices: qword m = aux_2m | aux_2m+1 << 32; byte 4e+l = bits
	// 32e + 7l.
	igMsSign = GLOBL("igmssign", RODATA|NOPTR)
	for e := 0; e < 2; e++ {
		for l := 0; l < 4; l++ {
			DATA(4*e+l, U8(uint8(32*e+7*l)))
		}
	}
	for _, c := range []struct {
		m *Mem
		n string
		v int32
	}{{&iqB0, "iqb0", 0x7f}, {&iqB1, "iqb1", 0x7f00}, {&iqB2, "iqb2", 0x7f0000},
		{&iqB3, "iqb3", 0x7f000000}, {&iqTop, "iqtop", -0x7f7f7f80}} {
		*c.m = GLOBL(c.n, RODATA|NOPTR)
		for j := 0; j < 8; j++ {
			DATA(4*j, U32(uint32(c.v)))
		}
	}
	for _, k := range gridKinds {
		m := GLOBL(fmt.Sprintf("igc%s", k.name), RODATA|NOPTR)
		for j := 0; j < 8; j++ {
			DATA(4*j, F32(k.c))
		}
		igConsts[k.c] = m
	}
	genPairConsts()
	iqDw1x16 = GLOBL("igdw1x16", RODATA|NOPTR)
	for j := 0; j < 16; j++ {
		DATA(4*j, U32(0x00010001))
	}
	iqDw1x = GLOBL("igdw1x", RODATA|NOPTR)
	for j := 0; j < 8; j++ {
		DATA(4*j, U32(0x00010001))
	}

}

func genInterGrid() {
	iqOrdered = true
	genInterGridConsts()
	gridPairTile()
	for _, k := range gridKinds {
		for T := 1; T <= 4; T++ {
			if T > 1 || k.three {
				gridTile(k, T)
			}
		}
	}
}

// gridLookup returns the codes of the 32 indices (< 256) in the words of
// w (each in both bytes of its word): tab holds the codes of entries
// 32i..32i+31 in register i.
func gridLookup(w VecVirtual, tab []VecVirtual) VecVirtual {
	r := make([]VecVirtual, 4)
	for i := range r {
		r[i] = ZMM()
		VMOVDQA64(w, r[i])
		VPERMI2W(tab[2*i+1], tab[2*i], r[i])
	}
	// Index bits 6 and 7 as byte masks (the index is in both bytes of its
	// word): VPMOVB2M of the bytes and of the bytes doubled.
	k6, k7, x := K(), K(), ZMM()
	VPMOVB2M(w, k7)
	VPADDB(w, w, x)
	VPMOVB2M(x, k6)
	VMOVDQU8(r[1], k6, r[0])
	VMOVDQU8(r[3], k6, r[2])
	VMOVDQU8(r[2], k7, r[0])
	return r[0]
}

// gridTile generates the 1×T decode tile of codebook type k. Per block:
// the codes of its 32 (IQ3_XXS: 64) indices by gridLookup (IQ3_XXS: by
// planeLookup), in an order where qword i of the codes holds those of
// value chunk z's lane i at word z (IQ3_XXS: words 2(z%2), +1 of codes
// z/2); the 32 sign bytes (7-bit indices plus their parity bit, ggml's
// ksigns) and the eight scales 2s+1, on the stack. Per chunk z of 64
// values: VPMULTISHIFTQB spreads the level numbers to bytes, VPERMB maps
// them to u = 64 + magnitude, a masked VPSUBB makes u = 64 − magnitude
// where the sign is set (u = v + 64 with v the signed value), and per
// token VPMADDUBSW against the activations and VPDPWSSD by the two
// sub-blocks' scales add to the block sum, which starts at −64·Σ_g
// sc_g·bsum_g (VPMADDWD of the Q8_K bsums): Σ sc·(u − 64)·q exactly. The
// first part of the next block is issued after this block's products
// (software pipelining: no measurable gain, but no loss either).
func gridTile(k gridKind, T int) {
	fn := fmt.Sprintf("tileCode%s_1x%d", k.name, T)
	TEXT(fn, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, tab *byte)")
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of a %s row with Q8_K row t (at a+t*as) for t < %d, nb blocks, tab = the kernel package's codes table of the type (AVX-512 VNNI, VBMI).", fn, k.name, T))
	wp := []GPVirtual{loadGP("w")}
	a := loadGP("a")
	nb := loadGP("nb")
	tp := loadGP("tab")
	var ap []GPVirtual
	if T > 1 {
		ap = ptrs(a, loadGP("as"), T)
	} else {
		ap = []GPVirtual{a}
	}
	tabMem := Mem{Base: tp}
	// The codes: word tables (IQ2_XXS, 32 indices a block), or the two
	// byte planes (IQ3_XXS, 64).
	tab := make([]VecVirtual, 8)
	for i := range tab {
		tab[i] = ZMM()
		off := 64 * i
		if k.three {
			off = igLo + 64*i // igHi = igLo + 256: hi planes follow
		}
		VMOVDQU64(tabMem.Offset(off), tab[i])
	}
	vals := ZMM()
	VMOVDQU64(tabMem.Offset(igVals), vals)
	// A VPMULTISHIFTQB control per chunk up to 2 tokens; beyond, registers
	// are short: one control, the codes shifted for each chunk.
	nCtl := 4
	if T > 1 {
		nCtl = 1
	}
	msCtl := make([]VecVirtual, nCtl)
	for z := range msCtl {
		msCtl[z] = ZMM()
		m := igMs2
		if k.three {
			m = igMs3
		}
		VPBROADCASTQ(m.Offset(8*z), msCtl[z])
	}
	idxCtl := ZMM()
	if k.three {
		VMOVDQU64(igIdx3, idxCtl)
	} else {
		VMOVDQU64(igIdx2, idxCtl)
	}
	// Up to 2 tokens the signs come from ksigns (VPERMI2B), beyond from
	// shifts and xors (registers are short).
	var ks, msSign VecVirtual
	if T <= 2 {
		ks, msSign = ZMM(), YMM()
		VMOVDQU64(tabMem.Offset(igSigns), ks)
		VPBROADCASTQ(igMsSign, msSign)
	}
	signMem := AllocLocal(32) // the block's 32 sign bytes
	scMem := AllocLocal(32)   // its eight scales, both words of a dword
	c128 := ZMM()
	{
		g := GP32()
		MOVL(U32(0x80808080), g)
		VPBROADCASTD(g, c128)
	}
	acc := make([]Register, T)
	for i := range acc {
		acc[i] = highY[i]
		VPXORD(acc[i], acc[i], acc[i])
	}
	act := func(t, z int) Op { return Mem{Base: ap[t], Disp: 4 + 64*z} }
	kHi := K()
	{
		g := GP32()
		MOVL(U32(0xff00), g)
		KMOVW(g, kHi)
	}

	scnMem := AllocLocal(32) // −64 times the scales
	nCodes := 1
	if k.three {
		nCodes = 2
	}
	codes := make([]VecVirtual, nCodes)
	for h := range codes {
		codes[h] = ZMM()
	}
	// front computes the codes (into codes), signs and scales (into the
	// stack) of the block at p.
	front := func(p GPVirtual) {
		aux := YMM()
		raw := ZMM()
		VMOVDQU64(Mem{Base: p, Disp: 2}, raw)
		wv := ZMM()
		VPERMB(raw, idxCtl, wv)
		if k.three {
			l, h := planeLookup(wv, tab[:4]), planeLookup(wv, tab[4:])
			VPUNPCKLBW(h, l, codes[0])
			VPUNPCKHBW(h, l, codes[1])
		} else {
			VMOVDQA64(gridLookup(wv, tab), codes[0])
		}
		if k.three {
			VMOVDQU32(Mem{Base: p, Disp: 66}, aux)
		} else {
			// aux_j is the high dword of quadword j.
			z := ZMM()
			VPSRLQ(U8(32), raw, z)
			VPMOVQD(z, aux)
		}
		// Signs and scales (2s+1 in both words of each dword), and 64
		// times the scales for the offset.
		x := YMM()
		if T <= 2 {
			// The 7-bit sign indices to bytes, then ksigns (7 bits).
			si := YMM()
			VPMULTISHIFTQB(aux, msSign, si)
			VPERMI2B(tabMem.Offset(igSigns+64), ks, si.AsZ())
			VMOVDQU8(si, signMem)
		} else {
			v := YMM()
			VPANDD(iqB0, aux, v)
			for l, m := range []Mem{iqB1, iqB2, iqB3} {
				VPSLLD(U8(l+1), aux, x)
				VPTERNLOGD(U8(0xf8), m, x, v) // v |= x & m
			}
			addParity(v)
			VMOVDQU32(v, signMem)
		}
		sc := YMM()
		VPSRLD(U8(28), aux, sc)
		VPADDD(sc, sc, sc)
		VPSLLD(U8(16), sc, x)
		VPORD(x, sc, sc)
		VPTERNLOGD(U8(0xfe), iqDw1x, sc, sc) // sc |= 0x00010001
		VMOVDQU32(sc, scMem)
		VPSLLW(U8(6), sc, sc)
		zero := YMM()
		VPXORD(zero, zero, zero)
		VPSUBW(sc, zero, sc)
		VMOVDQU32(sc, scnMem)
	}

	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	front(wp[0])
	Label(fn + "_loop")
	p := wp[0]
	for off := 0; off < k.wBytes; off += 64 {
		PREFETCHT0(Mem{Base: p, Disp: prefetchDist + off})
	}
	// Two accumulators per token up to 2 tokens (shorter chains); the
	// first starts at −64·Σ sc·bsum.
	nAcc := 2
	if T > 2 {
		nAcc = 1
	}
	isum := make([][]VecVirtual, T)
	for t := range isum {
		isum[t] = make([]VecVirtual, nAcc)
		for i := range isum[t] {
			isum[t][i] = ZMM()
		}
		scn := YMM()
		VMOVDQU32(scnMem, scn)
		VPMADDWD(Mem{Base: ap[t], Disp: 260}, scn, isum[t][0].AsY())
		for i := 1; i < nAcc; i++ {
			VPXORD(isum[t][i], isum[t][i], isum[t][i])
		}
	}
	d := YMM()
	VPBROADCASTW(Mem{Base: p}, d)
	VCVTPH2PS(d.AsX(), d)
	VMULPS(bcastF32c(k.c), d, d)
	for z := 0; z < 4; z++ {
		src, shift := codes[0], 16*z
		if k.three {
			src, shift = codes[z/2], 32*(z%2)
		}
		ctl := msCtl[0]
		if nCtl > 1 {
			ctl = msCtl[z]
		} else if shift > 0 {
			x := ZMM()
			VPSRLQ(U8(shift), src, x)
			src = x
		}
		f := ZMM()
		VPMULTISHIFTQB(src, ctl, f)
		u := ZMM()
		VPERMB(vals, f, u)
		km := K()
		KMOVQ(signMem.Offset(8*z), km)
		VPSUBB(u, c128, km, u) // 128 − u where the sign is set
		s := ZMM()
		VPBROADCASTD(scMem.Offset(8*z), s)
		VPBROADCASTD(scMem.Offset(8*z+4), kHi, s)
		for t := 0; t < T; t++ {
			pr := ZMM()
			VPMADDUBSW(act(t, z), u, pr)
			vpdpwssd(s, pr, isum[t][z%nAcc])
		}
	}
	// The next block's first part (this block again if it is the last:
	// the row ends here).
	{
		next := GP64()
		LEAQ(Mem{Base: p, Disp: k.wBytes}, next)
		CMPQ(nb, U8(1))
		CMOVQEQ(p, next)
		front(next)
	}
	for t := 0; t < T; t++ {
		x := isum[t][0]
		if nAcc > 1 {
			VPADDD(isum[t][1], x, x)
		}
		h := YMM()
		VEXTRACTI64X4(U8(1), x, h)
		VPADDD(x.AsY(), h, h)
		iqScaleAdd(d, Mem{Base: ap[t]}, h, acc[t])
	}
	ADDQ(U32(k.wBytes), p)
	for _, p := range ap {
		ADDQ(U32(292), p)
	}
	DECQ(nb)
	JNZ(LabelRef(fn + "_loop"))

	Label(fn + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		VMOVSS(acc[t].(Vec).AsX(), Mem{Base: out})
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// igConsts holds each type constant c in eight float32 lanes.
var igConsts = map[float32]Mem{}

// bcastF32c returns the memory of v in eight float32 lanes.
func bcastF32c(v float32) Mem { return igConsts[v] }

// iqDw1x is 0x00010001 in every dword.
var iqDw1x Mem

// Constants of gridPairTile: the VPERMI2B control that gathers the index
// bytes of two IQ2_XXS blocks (igPairIdx), the VPERMI2D control of their
// aux dwords (igPairAux).
var igPairIdx, igPairAux Mem

// The byte planes of the codes table (gridCodeTable.lo, .hi).
const igLo, igHi = 704, 960

func genPairConsts() {
	// Byte 16L+b of the indices: b < 8 from block A, else block B (+64),
	// for code word w = 8L + b%8 of VPUNPCKLBW (A) / VPUNPCKHBW (B), which
	// is group G = 8(w%4) + w/4 (word 4i+z = group 8z+i, as gridTile).
	igPairIdx = GLOBL("igpairidx", RODATA|NOPTR)
	for p := 0; p < 64; p++ {
		L, b := p/16, p%16
		w := 8*L + b%8
		G := 8*(w%4) + w/4
		src := 8*(G/4) + G%4
		if b >= 8 {
			src += 64
		}
		DATA(p, U8(uint8(src)))
	}
	igPairAux = GLOBL("igpairaux", RODATA|NOPTR)
	for j := 0; j < 16; j++ {
		DATA(4*j, U32(uint32(2*(j%8)+1+16*(j/8))))
	}
}

// gridPairTile generates tileCodeIQ2_XXS_1x1: gridTile's steps for one
// token, two blocks at a time (a last odd block alone). The 64 indices
// of the two blocks fill one vector: their codes come from byte-plane
// tables by VPERMI2B (lo and hi bytes, 128 entries each per instruction)
// and VPUNPCKL/HBW, the signs and scales of both from one vector of their
// aux words, and the two block sums are reduced together; the float steps
// stay one per block, in order.
func gridPairTile() {
	k := gridKinds[0]
	fn := "tileCodeIQ2_XXS_1x1"
	TEXT(fn, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, tab *byte)")
	Doc(fmt.Sprintf("%s sets out[0] to the dot of an IQ2_XXS row with the Q8_K row at a, nb blocks, tab = the kernel package's codes table of the type (AVX-512 VNNI, VBMI).", fn))
	wp := loadGP("w")
	a := loadGP("a")
	nb := loadGP("nb")
	tp := loadGP("tab")
	tabMem := Mem{Base: tp}
	lo, hi := make([]VecVirtual, 4), make([]VecVirtual, 4)
	for i := range lo {
		lo[i], hi[i] = ZMM(), ZMM()
		VMOVDQU64(tabMem.Offset(igLo+64*i), lo[i])
		VMOVDQU64(tabMem.Offset(igHi+64*i), hi[i])
	}
	vals := ZMM()
	VMOVDQU64(tabMem.Offset(igVals), vals)
	msCtl := make([]VecVirtual, 4)
	for z := range msCtl {
		msCtl[z] = ZMM()
		VPBROADCASTQ(igMs2.Offset(8*z), msCtl[z])
	}
	ks, msSign := ZMM(), ZMM()
	VMOVDQU64(tabMem.Offset(igSigns), ks)
	VPBROADCASTQ(igMsSign, msSign)
	pairIdx, pairAux := ZMM(), ZMM()
	VMOVDQU64(igPairIdx, pairIdx)
	VMOVDQU64(igPairAux, pairAux)
	signMem := AllocLocal(64) // the two blocks' 32 sign bytes each
	scMem := AllocLocal(64)   // their eight scales, both words of a dword
	scnMem := AllocLocal(64)  // −64 times those
	c128 := ZMM()
	{
		g := GP32()
		MOVL(U32(0x80808080), g)
		VPBROADCASTD(g, c128)
	}
	acc := highY[0]
	VPXORD(acc, acc, acc)
	kHi := K()
	{
		g := GP32()
		MOVL(U32(0xff00), g)
		KMOVW(g, kHi)
	}

	// body handles blocks A (at wp) and, if pair, B (at wp+66).
	body := func(pair bool) {
		for off := 0; off < 2*k.wBytes; off += 64 {
			PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
		}
		raw0, raw1 := ZMM(), ZMM()
		VMOVDQU64(Mem{Base: wp, Disp: 2}, raw0)
		if pair {
			VMOVDQU64(Mem{Base: wp, Disp: 2 + k.wBytes}, raw1)
		} else {
			VMOVDQA64(raw0, raw1)
		}
		idx := ZMM()
		VMOVDQA64(pairIdx, idx)
		VPERMI2B(raw1, raw0, idx)
		k7 := K()
		VPMOVB2M(idx, k7)
		plane := func(t []VecVirtual) VecVirtual {
			x, y := ZMM(), ZMM()
			VMOVDQA64(idx, x)
			VPERMI2B(t[1], t[0], x)
			VMOVDQA64(idx, y)
			VPERMI2B(t[3], t[2], y)
			VMOVDQU8(y, k7, x)
			return x
		}
		l, h := plane(lo), plane(hi)
		codes := []VecVirtual{ZMM(), ZMM()}
		VPUNPCKLBW(h, l, codes[0])
		if pair {
			VPUNPCKHBW(h, l, codes[1])
		}
		aux := ZMM()
		VMOVDQA64(pairAux, aux)
		VPERMI2D(raw1, raw0, aux)
		si := ZMM()
		VPMULTISHIFTQB(aux, msSign, si)
		VPERMI2B(tabMem.Offset(igSigns+64), ks, si)
		VMOVDQU8(si, signMem)
		sc, x := ZMM(), ZMM()
		VPSRLD(U8(28), aux, sc)
		VPADDD(sc, sc, sc)
		VPSLLD(U8(16), sc, x)
		VPORD(x, sc, sc)
		VPORD(iqDw1x16, sc, sc) // 2s+1 in both words
		VMOVDQU32(sc, scMem)
		VPSLLW(U8(6), sc, sc)
		zero := ZMM()
		VPXORD(zero, zero, zero)
		VPSUBW(sc, zero, sc)
		VMOVDQU32(sc, scnMem)

		nBlk := 1
		if pair {
			nBlk = 2
		}
		hs := make([]VecVirtual, nBlk)
		for blk := 0; blk < nBlk; blk++ {
			isum := []VecVirtual{ZMM(), ZMM()}
			scn := YMM()
			VMOVDQU32(scnMem.Offset(32*blk), scn)
			VPMADDWD(Mem{Base: a, Disp: 292*blk + 260}, scn, isum[0].AsY())
			VPXORD(isum[1], isum[1], isum[1])
			for z := 0; z < 4; z++ {
				f := ZMM()
				VPMULTISHIFTQB(codes[blk], msCtl[z], f)
				u := ZMM()
				VPERMB(vals, f, u)
				km := K()
				KMOVQ(signMem.Offset(32*blk+8*z), km)
				VPSUBB(u, c128, km, u) // 128 − u where the sign is set
				s := ZMM()
				VPBROADCASTD(scMem.Offset(32*blk+8*z), s)
				VPBROADCASTD(scMem.Offset(32*blk+8*z+4), kHi, s)
				pr := ZMM()
				VPMADDUBSW(Mem{Base: a, Disp: 292*blk + 4 + 64*z}, u, pr)
				vpdpwssd(s, pr, isum[z%2])
			}
			VPADDD(isum[1], isum[0], isum[0])
			hs[blk] = YMM()
			VEXTRACTI64X4(U8(1), isum[0], hs[blk])
			VPADDD(isum[0].AsY(), hs[blk], hs[blk])
		}
		// The block sums as float32 (lanes 0 and 2), then one fused
		// multiply-add per block, A first.
		var e VecVirtual
		if pair {
			e = reduce2(hs[0], hs[1])
		} else {
			e = reduce1(hs[0])
		}
		for blk := 0; blk < nBlk; blk++ {
			d := XMM()
			VPBROADCASTW(Mem{Base: wp, Disp: k.wBytes * blk}, d)
			VCVTPH2PS(d, d)
			VMULSS(bcastF32c(k.c), d, d)
			VMULSS(Mem{Base: a, Disp: 292 * blk}, d, d)
			eb := e
			if blk == 1 {
				eb = XMM()
				VMOVHLPS(e, e, eb)
			}
			VFMADD231SS(d, eb, acc.(Vec).AsX())
		}
	}

	Label(fn + "_pairs")
	CMPQ(nb, U8(2))
	JL(LabelRef(fn + "_one"))
	body(true)
	ADDQ(U32(2*k.wBytes), wp)
	ADDQ(U32(2*292), a)
	SUBQ(U8(2), nb)
	JMP(LabelRef(fn + "_pairs"))
	Label(fn + "_one")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	body(false)
	Label(fn + "_done")
	out := loadGP("out")
	VMOVSS(acc.(Vec).AsX(), Mem{Base: out})
	VZEROUPPER()
	RET()
}

// iqDw1x16 is 0x00010001 in 16 dwords.
var iqDw1x16 Mem

// planeLookup returns the bytes t[idx] of the 64 indices in the bytes of
// idx, t the 256-byte table in the four registers of t.
func planeLookup(idx VecVirtual, t []VecVirtual) VecVirtual {
	k7 := K()
	VPMOVB2M(idx, k7)
	x, y := ZMM(), ZMM()
	VMOVDQA64(idx, x)
	VPERMI2B(t[1], t[0], x)
	VMOVDQA64(idx, y)
	VPERMI2B(t[3], t[2], y)
	VMOVDQU8(y, k7, x)
	return x
}
