package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// kq23 generates the Q2_K (84-byte blocks: scales [16] at 0, qs [64] at 16,
// d at 80, dmin at 82) or Q3_K (110-byte blocks: hmask [32] at 0, qs [64]
// at 32, scales [12] at 96, d at 108) kernel for one weight row and T
// tokens. Both store 2-bit planes: in each half of 128 values, plane p
// (p = 0..3) holds bits 2p..2p+1 of qs[32·half + l], l = 0..31, and each
// 32-value plane spans two 16-value scale groups.
//
// Q2_K: value = d·(sc&15)·q − dmin·(sc>>4); Q3_K: value = d·(sc−32)·(q −
// 4·!hbit) with q+4·hbit in [0,8) handled as unsigned and the −4 folded into
// a bsum correction, like Q6_K's −32.
func kq23(name string, three bool, T int) {
	fn := fmt.Sprintf("tile%s_1x%d", name, T)
	TEXT(fn, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of a %s row with Q8_K row t (at a+t*as) for t < %d, nb blocks (AVX-512 VNNI).", fn, name, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	ap := ptrs(a, as, T)
	bytes, qsOff, dOff := 84, 16, 80
	if three {
		bytes, qsOff, dOff = 110, 32, 108
	}
	idx := loadIdx(wordIdxPair)
	c03 := bcastByte(0x03)
	var c0f, c01, c04, c32w VecVirtual
	if three {
		c01 = bcastByte(0x01)
		c04 = bcastByte(0x04)
		c32w = YMM()
		g := GP32()
		MOVL(U32(0x00200020), g)
		VPBROADCASTD(g, c32w)
	} else {
		c0f = bcastByte(0x0f)
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
	// scales: 16 int16 sub-block scales; mins (Q2_K): 16 int16 mins.
	scales := YMM()
	var mins VecVirtual
	if three {
		// ggml's kmask unpacking of the 12 bytes into 16 6-bit values.
		a0, a1, tm := GP32(), GP32(), GP32()
		MOVL(Mem{Base: wp, Disp: 96}, a0)
		MOVL(Mem{Base: wp, Disp: 100}, a1)
		MOVL(Mem{Base: wp, Disp: 104}, tm)
		// s[i] = (src>>lo & 0x0f0f0f0f) | (tmp>>hi & 0x03030303)<<4
		shifts := []struct {
			src    GPVirtual
			lo, hi int
		}{{a0, 0, 0}, {a1, 0, 2}, {a0, 4, 4}, {a1, 4, 6}}
		s := make([]GPVirtual, 4)
		for i, sh := range shifts {
			s[i] = GP64()
			x, y := GP32(), GP32()
			MOVL(sh.src, x)
			if sh.lo > 0 {
				SHRL(U8(sh.lo), x)
			}
			ANDL(U32(0x0f0f0f0f), x)
			MOVL(tm, y)
			if sh.hi > 0 {
				SHRL(U8(sh.hi), y)
			}
			ANDL(U32(0x03030303), y)
			SHLL(U8(4), y)
			ORL(y, x)
			MOVL(x, s[i].As32())
		}
		SHLQ(U8(32), s[1])
		ORQ(s[0], s[1])
		SHLQ(U8(32), s[3])
		ORQ(s[2], s[3])
		xs := XMM()
		VMOVQ(s[1], xs)
		VPINSRQ(U8(1), s[3], xs, xs)
		VPMOVZXBW(xs, scales)
		VPSUBW(c32w, scales, scales)
	} else {
		raw := XMM()
		VMOVDQU8(Mem{Base: wp}, raw)
		lo, hi := XMM(), XMM()
		VPANDD(c0f.AsX(), raw, lo)
		VPSRLW(U8(4), raw, hi)
		VPANDD(c0f.AsX(), hi, hi)
		VPMOVZXBW(lo, scales)
		mins = YMM()
		VPMOVZXBW(hi, mins)
	}

	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(isum[t], isum[t], isum[t])
	}
	var hm VecVirtual
	if three {
		hm = YMM()
		VMOVDQU8(Mem{Base: wp}, hm)
	}
	for half := 0; half < 2; half++ {
		q := YMM()
		VMOVDQU8(Mem{Base: wp, Disp: qsOff + 32*half}, q)
		for p := 0; p < 4; p++ {
			v := YMM()
			if p == 0 {
				VPANDD(c03, q, v)
			} else {
				VPSRLW(U8(2*p), q, v)
				VPANDD(c03, v, v)
			}
			if three {
				// Bit 4·half+p of hmask[l] adds 4 (the value is then q−4
				// with the −4 folded into the bsum correction).
				m := K()
				VPTESTMB(c01, hm, m)
				VPADDB(c04, v, m, v)
				if 4*half+p < 7 {
					VPSRLW(U8(1), hm, hm)
				}
			}
			s := YMM()
			VPERMW(scales, idx[4*half+p], s)
			for t := 0; t < T; t++ {
				pr := YMM()
				VPMADDUBSW(Mem{Base: ap[t], Disp: 4 + 128*half + 32*p}, v, pr)
				vpdpwssd(s, pr, isum[t])
			}
		}
	}
	d := halfBcast(Mem{Base: wp, Disp: dOff})
	var dm VecVirtual
	if !three {
		dm = halfBcast(Mem{Base: wp, Disp: 82})
	}
	for t := 0; t < T; t++ {
		dy := YMM()
		VBROADCASTSS(Mem{Base: ap[t]}, dy)
		corr := YMM()
		if three {
			// −4·Σ_g (sc_g−32)·bsum_g
			VPMADDWD(Mem{Base: ap[t], Disp: 260}, scales, corr)
			VPSLLD(U8(2), corr, corr)
			VPSUBD(corr, isum[t], isum[t])
		} else {
			VPMADDWD(Mem{Base: ap[t], Disp: 260}, mins, corr)
		}
		dd := YMM()
		VMULPS(dy, d, dd)
		VCVTDQ2PS(isum[t], isum[t])
		VFMADD231PS(dd, isum[t], acc[t])
		if !three {
			ddm := YMM()
			VMULPS(dy, dm, ddm)
			VCVTDQ2PS(corr, corr)
			VFNMADD231PS(ddm, corr, acc[t])
		}
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
		hsumStore(acc[t], Mem{Base: out})
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}
