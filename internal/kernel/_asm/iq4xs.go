package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

var iq4TableU, shiftL, shiftH, dw15, dw3, dw32 Mem

func genIQ4XSConsts() {
	// kvalues_iq4nl + 128: unsigned, so VPDPBUSD can take them; the +128 is
	// removed with the Q8_K bsums.
	iq4TableU = GLOBL("iq4nltableu", RODATA|NOPTR)
	vals := []int{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
	for i := 0; i < 32; i++ {
		DATA(i, U8(uint8(vals[i%16]+128)))
	}
	shiftL = GLOBL("iq4xsshiftl", RODATA|NOPTR)
	for j := 0; j < 8; j++ {
		DATA(4*j, U32(uint32(4*j)))
	}
	shiftH = GLOBL("iq4xsshifth", RODATA|NOPTR)
	for j := 0; j < 8; j++ {
		DATA(4*j, U32(uint32(2*j)))
	}
	for _, c := range []struct {
		m *Mem
		n string
		v uint32
	}{{&dw15, "dw15", 15}, {&dw3, "dw3", 3}, {&dw32, "dw32", 32}} {
		*c.m = GLOBL(c.n, RODATA|NOPTR)
		for j := 0; j < 8; j++ {
			DATA(4*j, U32(c.v))
		}
	}
}

// iq4xs generates the IQ4_XS kernel (136-byte blocks: d f16 at 0, scales_h
// uint16 at 2, scales_l [4] at 4, qs [128] at 8) for one row and T tokens.
// Sub-block j (32 values) has scale ls_j − 32 with ls_j = nibble j of
// scales_l | (bits 2j..2j+1 of scales_h)<<4, and values from the IQ4_NL
// table, taken +128 as unsigned bytes: Σ (v+128)·a − 128·Σ a.
func iq4xs(T int) {
	fn := iqName("IQ4_XS", T)
	TEXT(fn, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an IQ4_XS row with Q8_K row t (at a+t*as) for t < %d, nb blocks (AVX-512 VNNI).", fn, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	ap := ptrs(a, as, T)
	scMem := AllocLocal(32) // the block's eight int32 scales
	c0f := bcastByte(0x0f)
	tbl := YMM()
	VMOVDQU8(iq4TableU, tbl)
	ones := YMM()
	g := GP32()
	MOVL(U32(0x00010001), g)
	VPBROADCASTD(g, ones)
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	for off := 0; off < 136; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
	}
	// sc[j] = ((SL >> 4j) & 15 | ((SH >> 2j) & 3) << 4) − 32, as int32 lanes.
	sl, sh := YMM(), YMM()
	VPBROADCASTD(Mem{Base: wp, Disp: 4}, sl)
	VPSRLVD(shiftL, sl, sl)
	VPANDD(dw15, sl, sl)
	hw := GP32()
	MOVWLZX(Mem{Base: wp, Disp: 2}, hw)
	VPBROADCASTD(hw, sh)
	VPSRLVD(shiftH, sh, sh)
	VPANDD(dw3, sh, sh)
	VPSLLD(U8(4), sh, sh)
	sc := YMM()
	VPORD(sh, sl, sc)
	VPSUBD(dw32, sc, sc)
	VMOVDQU32(sc, scMem)

	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(isum[t], isum[t], isum[t])
	}
	for j := 0; j < 8; j++ {
		v := nibblesAt(Mem{Base: wp, Disp: 8 + 16*j}, c0f)
		VPSHUFB(v, tbl, v)
		s := YMM()
		VPBROADCASTD(scMem.Offset(4*j), s)
		for t := 0; t < T; t++ {
			p := YMM()
			VPXORD(p, p, p)
			vpdpbusd(Mem{Base: ap[t], Disp: 4 + 32*j}, v, p)
			VPMULLD(s, p, p)
			VPADDD(p, isum[t], isum[t])
		}
	}
	d := halfBcast(Mem{Base: wp})
	for t := 0; t < T; t++ {
		// −128·Σ_j sc_j·(bsum_2j + bsum_2j+1)
		corr := YMM()
		VPMADDWD(Mem{Base: ap[t], Disp: 260}, ones, corr)
		VPMULLD(sc, corr, corr)
		VPSLLD(U8(7), corr, corr)
		VPSUBD(corr, isum[t], isum[t])
		iqScaleAdd(d, Mem{Base: ap[t]}, isum[t], acc[t])
	}

	ADDQ(U32(136), wp)
	for t := 0; t < T; t++ {
		ADDQ(U32(292), ap[t])
	}
	DECQ(nb)
	JMP(LabelRef(fn + "_loop"))

	iqEpilogue(fn, acc)
}
