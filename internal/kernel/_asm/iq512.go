package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The iq512 set (iq512_amd64.s): AVX-512 VNNI decode tiles of IQ2_XS and
// IQ2_S: one weight row against T ≤ 4 Q8_K rows (292-byte blocks: d
// float32 at 0, qs [256]int8 at 4), in the i-quant order (packiq_generic.go:
// per block the exact int32 sum isum, then acc = fma(float32(isum),
// (d/8)·d_a, acc)), the bits of dotIQOrdered and of the packiq set's
// tileOrd tiles they replace.
//
// The loop is software pipelined over three blocks: while block b's
// products run, block b+1's codebook entries are loaded and its scales
// (and IQ2_XS's sign bytes: 7 stored bits and their parity) computed,
// and block b+2's 32 codebook indices computed as the words of one zmm.
// The indices reach general registers a quadword at a time (VMOVQ,
// VPEXTRQ). Per 64 elements (a zmm: two sub-blocks) the 8 entries are a
// broadcast and merge-masked broadcasts into two ymm joined by an insert
// (no gathers), a VPERMW picks the scale pairs, the sign bits become a k
// mask, and per token a masked VPSUBB negates the activations (the Q8_K
// quantizer writes [−127, 127], so no negation wraps), VPMADDUBSW
// multiplies them with the unsigned codebook bytes into int16 pair sums
// and VPDPWSSD by the scales adds them into 16 int32 lanes: 64 products
// per instruction pair instead of 32.
//
// Measured hot in cache on the shared Zen 4 (3.65 GHz; BenchmarkIQ512Tiles,
// CPU time, noisy), one token: IQ2_XS 14.4 ns per block (the tileOrd tiles
// 17.6, the AVX2 ones 15.2), IQ2_S 14.9 (17.5, 15.6); four tokens 23 (25–27).
// About 53 cycles per block for some 130 instructions: neither the
// codebook loads (dropping them saved about 12 cycles), the VPERMW scale
// picks (no change when dropped) nor the multiply pipe (8 zmm multiplies
// per token) bound it alone. Tried and dropped: the indices stored to the
// stack and loaded back as words (the loads wait for the 64-byte stores
// that do not forward: 2.5 cycles per block slower in a two-stage
// pipeline, 15 in this three-stage one), the same kernel for IQ1_S, IQ1_M
// and IQ3_S (IQ1_S 15.3 / IQ1_M 16.5 / IQ3_S 23.1 ns against tileOrd's
// 14.0 / 14.3 / 21.9: not wired, not kept).

// i5Const is the constants' RODATA.
var i5Const Mem

// Offsets in i5Const.
const (
	i5ScCtl = 0   // 4 × 64: VPERMW controls: word w of chunk z ← scale word 4z + w/8
	i5SHi   = 256 // IQ2_S: word k ← qh byte k/4, shift 2(k%4)
	i5SSh   = 320
	i5Sc2   = 384 // scales: word g ← byte g/2 (32 bytes), shift 4(g%2)
	i5Sc2Sh = 416
	i5Size  = 448
)

// i5C returns the constant at offset off of i5Const.
func i5C(off int) Mem { return i5Const.Offset(off) }

// i5Dwords holds word constants twice (a dword, for embedded
// broadcasts), i5Eighth the float32 1/8.
var (
	i5Dwords = map[uint16]Mem{}
	i5Eighth Mem
)

func genIQ512() {
	var c [i5Size]byte
	put16 := func(off, i int, v int) { c[off+2*i], c[off+2*i+1] = byte(v), byte(v>>8) }
	for w := 0; w < 32; w++ {
		for z := 0; z < 4; z++ {
			put16(i5ScCtl+64*z, w, 4*z+w/8)
		}
		put16(i5SHi, w, w/4)
		put16(i5SSh, w, 2*(w%4))
	}
	for g := 0; g < 16; g++ {
		put16(i5Sc2, g, g/2)
		put16(i5Sc2Sh, g, 4*(g%2))
	}
	i5Const = GLOBL("i5const", RODATA|NOPTR)
	for i := 0; i < len(c); i += 4 {
		DATA(i, U32(uint32(c[i])|uint32(c[i+1])<<8|uint32(c[i+2])<<16|uint32(c[i+3])<<24))
	}
	for _, v := range []uint16{0x300, 15, 1, 511, 0x8080} {
		m := GLOBL(fmt.Sprintf("i5d%04x", v), RODATA|NOPTR)
		DATA(0, U32(uint32(v)|uint32(v)<<16))
		i5Dwords[v] = m
	}
	i5Eighth = GLOBL("i5eighth", RODATA|NOPTR)
	DATA(0, U32(0x3e000000))
	for _, k := range i5Kinds {
		for T := 1; T <= 4; T++ {
			i5Tile(k, T)
		}
	}
}

// i5Kind is one type of the set.
type i5Kind struct {
	name    string
	wBytes  int
	gridDoc string
}

var i5Kinds = []i5Kind{
	{"IQ2_XS", 74, "tensor.GridIQ2_XS"},
	{"IQ2_S", 82, "tensor.GridIQ2_S"},
}

// i5Spread returns, in the words of a zmm (a ymm if y), the fields src
// word ctl(k) >> sh(k), src a vector of words, ctl and sh the word
// constants at ctlOff and shOff.
func i5Spread(src VecVirtual, ctlOff, shOff int, y bool) VecVirtual {
	x := ZMM()
	if y {
		x = YMM()
	}
	VMOVDQU16(i5C(ctlOff), x)
	if y {
		VPERMW(src.AsY(), x, x)
	} else {
		VPERMW(src.AsZ(), x, x)
	}
	VPSRLVW(i5C(shOff), x, x)
	return x
}

// i5Idx sets the words of ix to the 32 codebook indices of the block at
// wp+off.
func i5Idx(k i5Kind, wp GPVirtual, off int, ix VecVirtual) {
	m := func(d int) Mem { return Mem{Base: wp, Disp: off + d} }
	// hiIdx ORs the high index bits (spread, shifted left 8, masked) into
	// the zero-extended qs bytes at qsOff and stores the 32 words at dst.
	hiIdx := func(src VecVirtual, ctlOff, shOff int, mask uint16, qsOff int, q VecVirtual) {
		h := i5Spread(src, ctlOff, shOff, false)
		VPSLLW(U8(8), h, h)
		VPMOVZXBW(m(qsOff), q)
		VPTERNLOGD_BCST(U8(0xf8), i5Words32(mask), h, q) // q |= h & mask
	}
	switch k.name {
	case "IQ2_XS":
		VMOVDQU64(m(2), ix)
		VPANDD_BCST(i5Words32(511), ix, ix)
	case "IQ2_S":
		qh := XMM()
		VPMOVZXBW(m(66), qh)
		hiIdx(qh, i5SHi, i5SSh, 0x300, 2, ix)
	}
}

// i5Shared computes the rest of what the sub-blocks of the block at
// wp+off share: its 16 scales 2s+1 as the words of sc (the factor of each
// group of 16's pair sums) and IQ2_XS's 32 sign bytes (7 stored bits and
// their parity) as the bytes of sign (a ymm).
func i5Shared(k i5Kind, wp GPVirtual, off int, sign, sc VecVirtual) {
	m := func(d int) Mem { return Mem{Base: wp, Disp: off + d} }
	// scales sets sc to 2·(spread & mask) + 1.
	scales := func(src VecVirtual, ctlOff, shOff int, mask uint16) {
		x := i5Spread(src, ctlOff, shOff, true)
		VPANDD_BCST(i5Words32(mask), x, x)
		VPADDW(x, x, x)
		VPORD_BCST(i5Words32(1), x, sc)
	}
	switch k.name {
	case "IQ2_XS":
		z := ZMM()
		VPSRLW(U8(9), m(2), z)
		VPMOVWB(z, sign)
		i5Parity(sign)
		sb := XMM()
		VPMOVZXBW(m(66), sb)
		scales(sb, i5Sc2, i5Sc2Sh, 15)
	case "IQ2_S":
		sb := XMM()
		VPMOVZXBW(m(74), sb)
		scales(sb, i5Sc2, i5Sc2Sh, 15)
	}
}

// i5Words32 returns the memory operand of the dword constant holding
// the word v twice, for the embedded broadcast forms.
func i5Words32(v uint16) Mem {
	m, ok := i5Dwords[v]
	if !ok {
		panic(fmt.Sprintf("iq512: no dword constant %#x", v))
	}
	return m
}

// i5Entries sets g[z], z = 0..3, to the codebook entries of chunk z (64
// values) for the index words in ix (i5Idx's): 8 entries of 8 bytes per
// zmm, each a load or a broadcast merged under K1..K3 into a ymm and the
// halves joined by an insert. The indices move
// to general registers a quadword at a time (VMOVQ, VPEXTRQ): stored to
// the stack and loaded back as words they were slower, the loads waiting
// for the vector stores.
func i5Entries(grid GPVirtual, ix VecVirtual, g []VecVirtual) {
	// quad returns a general register holding index words 4q..4q+3.
	var lane VecVirtual
	quad := func(q int) GPVirtual {
		if q%2 == 0 {
			lane = ix.AsX().(VecVirtual)
			if q > 0 {
				lane = XMM()
				VEXTRACTI32X4(U8(q/2), ix, lane)
			}
		}
		r := GP64()
		if q%2 == 0 {
			VMOVQ(lane, r)
		} else {
			VPEXTRQ(U8(1), lane, r)
		}
		return r
	}
	for z := range g {
		var half [2]VecVirtual
		for h := range half {
			y := YMM()
			idx := wordIdx(quad(2*z + h))
			for l := 0; l < 4; l++ {
				e := Mem{Base: grid, Index: idx(l), Scale: 8}
				if l == 0 {
					VPBROADCASTQ(e, y)
					continue
				}
				VPBROADCASTQ(e, []Register{K1, K2, K3}[l-1], y)
			}
			half[h] = y
		}
		VINSERTI64X4(U8(1), half[1], half[0].AsZ(), g[z])
	}
}

// i5Tile generates tileI5<kind>_1xT. The block loop is software
// pipelined over three blocks: while the products of block b run, the
// codebook entries of block b+1 are loaded and the indices of block b+2
// computed, so that no step waits for the one before it.
func i5Tile(k i5Kind, T int) {
	name := fmt.Sprintf("tileI5%s_1x%d", k.name, T)
	TEXT(name, NOSPLIT, iqSig)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an %s row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = %s, in the i-quant order (AVX-512 VNNI).", name, k.name, T, k.gridDoc),
		"The Q8_K quants must lie in [−127, 127], as the quantizer writes them.")
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	grid := loadGP("grid")
	ap := ptrs(a, as, T)
	acc := make([]VecVirtual, T)
	for t := range acc {
		acc[t] = XMM()
		VPXORD(acc[t], acc[t], acc[t])
	}
	// Merge masks: qword (dword) l of a ymm (xmm).
	for l, kr := range []Register{K1, K2, K3} {
		g := GP32()
		MOVL(U32(2<<l), g)
		KMOVW(g.As32(), kr)
	}
	zero := ZMM()
	VPXORD(zero, zero, zero)
	ctl := make([]VecVirtual, 4)
	for z := range ctl {
		ctl[z] = ZMM()
		VMOVDQU16(i5C(i5ScCtl+64*z), ctl[z])
	}

	// Prologue: block 0's entries and shared values, block 1's indices.
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	ix := ZMM() // the indices of the block after the next
	sc, sign := YMM(), YMM()
	g := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
	i5Idx(k, wp, 0, ix)
	i5Entries(grid, ix, g)
	i5Shared(k, wp, 0, sign, sc)
	CMPQ(nb, U8(1))
	JE(LabelRef(name + "_loop"))
	i5Idx(k, wp, k.wBytes, ix)

	Label(name + "_loop")
	for off := 0; off < k.wBytes; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
	}
	// Block b's products.
	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = ZMM()
	}
	var signHi VecVirtual
	for z := 0; z < 4; z++ {
		s := ZMM()
		VPERMW(sc.AsZ(), ctl[z], s)
		switch k.name {
		case "IQ2_XS":
			r := GP64()
			if z%2 == 0 {
				VMOVQ(sign.AsX(), r)
				if z == 2 {
					x := XMM()
					VEXTRACTI32X4(U8(1), sign, x)
					VMOVQ(x, r)
					signHi = x
				}
			} else if z == 1 {
				VPEXTRQ(U8(1), sign.AsX(), r)
			} else {
				VPEXTRQ(U8(1), signHi, r)
			}
			KMOVQ(r, K4)
		case "IQ2_S":
			KMOVQ(Mem{Base: wp, Disp: 34 + 8*z}, K4)
		}
		for t := 0; t < T; t++ {
			q := ZMM()
			VMOVDQU8(Mem{Base: ap[t], Disp: 4 + 64*z}, q)
			VPSUBB(q, zero, K4, q)
			VPMADDUBSW(q, g[z], q)
			if z == 0 {
				VPMADDWD(s, q, isum[t])
			} else {
				vpdpwssd(s, q, isum[t])
			}
		}
	}
	// Block b+1's entries and shared values, block b+2's indices.
	gN := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
	scN, signN := YMM(), YMM()
	CMPQ(nb, U8(1))
	JE(LabelRef(name + "_tail"))
	i5Entries(grid, ix, gN)
	i5Shared(k, wp, k.wBytes, signN, scN)
	CMPQ(nb, U8(2))
	JE(LabelRef(name + "_tail"))
	i5Idx(k, wp, 2*k.wBytes, ix)
	Label(name + "_tail")

	// Block b's float step: d/8, then per token the exact sum.
	d, h := XMM(), GP32()
	MOVWLZX(Mem{Base: wp}, h)
	VMOVD(h, d)
	VCVTPH2PS(d, d)
	VMULSS(i5Eighth, d, d)
	for t := 0; t < T; t++ {
		y := YMM()
		VEXTRACTI64X4(U8(1), isum[t], y)
		VPADDD(isum[t].AsY(), y, y)
		e := reduce1(y)
		dy := XMM()
		VMULSS(Mem{Base: ap[t]}, d, dy)
		VFMADD231SS(dy, e, acc[t])
	}
	ADDQ(U32(uint32(k.wBytes)), wp)
	for _, p := range ap {
		ADDQ(U32(292), p)
	}
	for z := range g {
		VMOVDQA64(gN[z], g[z])
	}
	VMOVDQA64(scN, sc)
	if k.name == "IQ2_XS" {
		VMOVDQA64(signN, sign)
	}
	DECQ(nb)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		VMOVSS(acc[t], Mem{Base: out})
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// i5Parity sets bit 7 of every byte of v (7-bit sign indices) so that
// each byte has an even number of set bits (ggml's ksigns_iq2xs). The
// dword shifts leave in bits 0..3, 0..1 and 0 of each byte only bits of
// that byte.
func i5Parity(v VecVirtual) {
	p, x := YMM(), YMM()
	VPSRLD(U8(4), v, p)
	VPXORD(v, p, p)
	VPSRLD(U8(2), p, x)
	VPXORD(x, p, p)
	VPSRLD(U8(1), p, x)
	VPXORD(x, p, p)
	VPSLLD(U8(7), p, p)
	VPTERNLOGD_BCST(U8(0xf8), i5Words32(0x8080), p, v) // v |= p & 0x80808080
}
