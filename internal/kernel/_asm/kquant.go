package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// vpdpwssd emits VPDPWSSD (AVX512_VNNI), unknown to avo v0.5.0: acc +=
// Σ over each pair of int16 of s·u, per int32 lane. Go operand order:
// second source (register or memory), first source, accumulator.
func vpdpwssd(s, u, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPWSSD",
		Operands: []Op{s, u, acc},
		Inputs:   []Op{s, u, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI", "AVX512VL"},
	})
}

// Word-permutation indices for VPERMW: wordIdx16[j] selects word j into all
// sixteen words; wordIdxPair[m] selects word 2m into the low eight words
// and word 2m+1 into the high eight.
var wordIdx16, wordIdxPair Mem

// The K-quant kernels take one weight row against one Q8_K activation row
// (292-byte blocks: d f32 at 0, qs [256]int8 at 4, bsums [16]int16 at 260)
// and write out[0] = Σ over nb 256-blocks. The integer part of each block
// is exact (VPMADDUBSW pairs fit int16; VPDPWSSD applies the sub-block
// scales in int32), then one float FMA per block, as ggml.
func genKQuants() {
	wordIdx16 = GLOBL("wordidx16", RODATA|NOPTR)
	for j := 0; j < 8; j++ {
		for i := 0; i < 16; i++ {
			DATA(32*j+2*i, U16(uint16(j)))
		}
	}
	wordIdxPair = GLOBL("wordidxpair", RODATA|NOPTR)
	for m := 0; m < 8; m++ {
		for i := 0; i < 16; i++ {
			v := 2 * m
			if i >= 8 {
				v++
			}
			DATA(32*m+2*i, U16(uint16(v)))
		}
	}
	for T := 1; T <= 4; T++ {
		kq45("Q4_K", false, T)
		kq45("Q5_K", true, T)
		kq6(T)
	}
}

// loadIdx loads the eight VPERMW index vectors of tbl into registers.
func loadIdx(tbl Mem) []VecVirtual {
	idx := make([]VecVirtual, 8)
	for j := range idx {
		idx[j] = YMM()
		VMOVDQU16(tbl.Offset(32*j), idx[j])
	}
	return idx
}

// kq45 generates the Q4_K (144-byte blocks) or Q5_K (176-byte) kernel for
// one weight row and T tokens: out[t*os] for t < T. The weights of each
// block are decoded once for all T tokens.
func kq45(name string, five bool, T int) {
	fn := fmt.Sprintf("tile%s_1x%d", name, T)
	TEXT(fn, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of a %s row with Q8_K row t (at a+t*as) for t < %d, nb blocks (AVX-512 VNNI).", fn, name, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	ap := ptrs(a, as, T)
	bytes, qsOff := 144, 16
	if five {
		bytes, qsOff = 176, 48
	}
	idx := loadIdx(wordIdx16)
	c0f := bcastByte(0x0f)
	var c01, c10 VecVirtual
	if five {
		c01 = bcastByte(0x01)
		c10 = bcastByte(0x10)
	}
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	for off := 0; off < bytes; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
	}
	// Unpack the 6-bit scales and mins (ggml's kmask shuffle) into 8 int16
	// each.
	u0, u1, u2 := GP32(), GP32(), GP32()
	MOVL(Mem{Base: wp, Disp: 4}, u0)
	MOVL(Mem{Base: wp, Disp: 8}, u1)
	MOVL(Mem{Base: wp, Disp: 12}, u2)
	scLo, scHi, mnLo, mnHi, t32 := GP32(), GP32(), GP32(), GP32(), GP32()
	MOVL(u0, scLo)
	ANDL(U32(0x3f3f3f3f), scLo)
	MOVL(u1, mnLo)
	ANDL(U32(0x3f3f3f3f), mnLo)
	MOVL(u2, scHi)
	ANDL(U32(0x0f0f0f0f), scHi)
	MOVL(u0, t32)
	SHRL(U8(6), t32)
	ANDL(U32(0x03030303), t32)
	SHLL(U8(4), t32)
	ORL(t32, scHi)
	MOVL(u2, mnHi)
	SHRL(U8(4), mnHi)
	ANDL(U32(0x0f0f0f0f), mnHi)
	MOVL(u1, t32)
	SHRL(U8(6), t32)
	ANDL(U32(0x03030303), t32)
	SHLL(U8(4), t32)
	ORL(t32, mnHi)
	sc64, mn64 := GP64(), GP64()
	MOVL(scHi, sc64.As32())
	SHLQ(U8(32), sc64)
	ORQ(scLo.As64(), sc64)
	MOVL(mnHi, mn64.As32())
	SHLQ(U8(32), mn64)
	ORQ(mnLo.As64(), mn64)
	xs, xm := XMM(), XMM()
	VMOVQ(sc64, xs)
	VMOVQ(mn64, xm)
	scales := YMM()
	VPMOVZXBW(xs, scales.AsX())
	// mins: dword j = m_j in both words, for VPMADDWD with the bsum pairs.
	mins := YMM()
	VPMOVZXBD(xm, mins)
	mt := YMM()
	VPSLLD(U8(16), mins, mt)
	VPORD(mt, mins, mins)

	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(isum[t], isum[t], isum[t])
	}
	var qh VecVirtual
	if five {
		qh = YMM()
		VMOVDQU8(Mem{Base: wp, Disp: 16}, qh)
	}
	for k := 0; k < 4; k++ {
		q := YMM()
		VMOVDQU8(Mem{Base: wp, Disp: qsOff + 32*k}, q)
		lo, hi := YMM(), YMM()
		VPANDD(c0f, q, lo)
		VPSRLW(U8(4), q, hi)
		VPANDD(c0f, hi, hi)
		for h, v := range []VecVirtual{lo, hi} {
			j := 2*k + h
			if five {
				// Fifth bit: bit j of qh[l]; qh is shifted right once per
				// sub-block so the bit is always bit 0.
				m := K()
				VPTESTMB(c01, qh, m)
				VPADDB(c10, v, m, v)
				if j < 7 {
					VPSRLW(U8(1), qh, qh)
				}
			}
			s := YMM()
			VPERMW(scales, idx[j], s)
			for t := 0; t < T; t++ {
				p := YMM()
				VPMADDUBSW(Mem{Base: ap[t], Disp: 4 + 32*j}, v, p)
				vpdpwssd(s, p, isum[t])
			}
		}
	}
	d := halfBcast(Mem{Base: wp})
	dm := halfBcast(Mem{Base: wp, Disp: 2})
	for t := 0; t < T; t++ {
		// Σ_j min_j·(bsum_2j + bsum_2j+1), one product per dword.
		msum := YMM()
		VPMADDWD(Mem{Base: ap[t], Disp: 260}, mins, msum)
		// The block's exact isum and msum (lanes 0 and 2), then the
		// K-quant order's float step in lane 0: acc += d·dy·isum, acc −=
		// dmin·dy·msum.
		e := reduce2(isum[t], msum)
		dy, dd, ddm := XMM(), XMM(), XMM()
		VMOVSS(Mem{Base: ap[t]}, dy)
		VMULSS(dy, d.AsX(), dd)
		VMULSS(dy, dm.AsX(), ddm)
		VFMADD231SS(dd, e, acc[t].(Vec).AsX())
		fm := XMM()
		VPERMILPS(U8(2), e, fm)
		VFNMADD231SS(ddm, fm, acc[t].(Vec).AsX())
	}

	ADDQ(U32(bytes), wp)
	for t := 0; t < T; t++ {
		ADDQ(U32(292), ap[t])
	}
	DECQ(nb)
	JMP(LabelRef(fn + "_loop"))

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

// kq6 generates the Q6_K kernel (210-byte blocks: ql [128], qh [64],
// scales [16]int8, d f16) for one weight row and T tokens.
func kq6(T int) {
	fn := fmt.Sprintf("tileQ6_K_1x%d", T)
	TEXT(fn, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of a Q6_K row with Q8_K row t (at a+t*as) for t < %d, nb blocks (AVX-512 VNNI).", fn, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	ap := ptrs(a, as, T)
	idx := loadIdx(wordIdxPair)
	c0f := bcastByte(0x0f)
	c30 := bcastByte(0x30)
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	for off := 0; off < 210; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
	}
	scales := YMM()
	VPMOVSXBW(Mem{Base: wp, Disp: 192}, scales)
	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(isum[t], isum[t], isum[t])
	}
	for h := 0; h < 2; h++ {
		ql0, ql1, qh := YMM(), YMM(), YMM()
		VMOVDQU8(Mem{Base: wp, Disp: 64 * h}, ql0)
		VMOVDQU8(Mem{Base: wp, Disp: 64*h + 32}, ql1)
		VMOVDQU8(Mem{Base: wp, Disp: 128 + 32*h}, qh)
		for i := 0; i < 4; i++ {
			lo := YMM()
			src := ql0
			if i&1 == 1 {
				src = ql1
			}
			if i < 2 {
				VPANDD(c0f, src, lo)
			} else {
				VPSRLW(U8(4), src, lo)
				VPANDD(c0f, lo, lo)
			}
			// Top two bits: bits 2i of qh moved to bits 4..5.
			hb := YMM()
			switch shift := 4 - 2*i; {
			case shift > 0:
				VPSLLW(U8(shift), qh, hb)
			case shift < 0:
				VPSRLW(U8(-shift), qh, hb)
			default:
				VMOVDQA32(qh, hb)
			}
			VPTERNLOGD(U8(0xf8), c30, hb, lo) // lo |= hb & 0x30
			s := YMM()
			VPERMW(scales, idx[4*h+i], s)
			for t := 0; t < T; t++ {
				p := YMM()
				VPMADDUBSW(Mem{Base: ap[t], Disp: 4 + 128*h + 32*i}, lo, p)
				vpdpwssd(s, p, isum[t])
			}
		}
	}
	d := halfBcast(Mem{Base: wp, Disp: 208})
	for t := 0; t < T; t++ {
		// The values are q−32 with q in [0,64): Σ sc·(q−32)·a = Σ sc·q·a −
		// 32·Σ_g sc_g·bsum_g.
		corr := YMM()
		VPMADDWD(Mem{Base: ap[t], Disp: 260}, scales, corr)
		VPSLLD(U8(5), corr, corr)
		VPSUBD(corr, isum[t], isum[t])
		// The block's exact sum in lane 0, then acc += d·dy·isum there.
		e := reduce1(isum[t])
		dy := XMM()
		VMOVSS(Mem{Base: ap[t]}, dy)
		VMULSS(dy, d.AsX(), dy)
		VFMADD231SS(dy, e, acc[t].(Vec).AsX())
	}

	ADDQ(U32(210), wp)
	for t := 0; t < T; t++ {
		ADDQ(U32(292), ap[t])
	}
	DECQ(nb)
	JMP(LabelRef(fn + "_loop"))

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

// reduce2 returns the sums of the eight int32 lanes of x and of y, as
// float32 in lanes 0 and 2 of an xmm (integer adds: exact in any order).
func reduce2(x, y VecVirtual) VecVirtual {
	lo, hi := YMM(), YMM()
	VPUNPCKLQDQ(y, x, lo) // [x0 x1 y0 y1 | x4 x5 y4 y5]
	VPUNPCKHQDQ(y, x, hi) // [x2 x3 y2 y3 | x6 x7 y6 y7]
	VPADDD(hi, lo, lo)
	e, f := XMM(), XMM()
	VEXTRACTI32X4(U8(1), lo, e)
	VPADDD(lo.AsX(), e, e) // [X0 X1 Y0 Y1]
	VPSHUFD(U8(0xb1), e, f)
	VPADDD(f, e, e) // [X X Y Y]
	VCVTDQ2PS(e, e)
	return e
}

// reduce1 returns the sum of the eight int32 lanes of x as float32 in
// lane 0 of an xmm.
func reduce1(x VecVirtual) VecVirtual {
	e, f := XMM(), XMM()
	VEXTRACTI32X4(U8(1), x, e)
	VPADDD(x.AsX(), e, e)
	VPSHUFD(U8(0x4e), e, f)
	VPADDD(f, e, e)
	VPSHUFD(U8(0xb1), e, f)
	VPADDD(f, e, e)
	VCVTDQ2PS(e, e)
	return e
}
