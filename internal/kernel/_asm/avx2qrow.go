package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Row-major Q8_0 and Q4_0 tiles of the "avx2q" set, in the reference order
// (the exact int32 Σ w·q per block, then acc = fma(float32(Σ), d_w·d_a,
// acc), blocks in order), so that a row-major matrix gives the bits of its
// interleaved copy and of the reference on an AVX2 CPU. Per block each of
// the R×T ≤ 4 (row, token) pairs gets its 8 int32 lanes (|w| × sign-moved
// q, VPMADDUBSW and VPMADDWD), a VPHADDD tree adds the lanes of all pairs
// into one xmm (lane i: pair i, exact), and one conversion, one multiply
// by the pairs' d_w·d_a and one FMA finish the block for all of them.

var a2RowShapes = [][2]int{{1, 1}, {2, 1}, {4, 1}, {1, 2}, {2, 2}}

func genAVX2QRows() {
	for _, sh := range a2RowShapes {
		a2RowTile("Q8_0", 34, sh[0], sh[1])
		a2RowTile("Q4_0", 18, sh[0], sh[1])
	}
}

// a2RowTile generates tile<kind>Ord_RxT (AVX2).
func a2RowTile(kind string, wBytes, R, T int) {
	name := fmt.Sprintf("tile%sOrdAVX2_%dx%d", kind, R, T)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s computes the %d×%d tile out[t*os+r] of %s rows against Q8_0 activation rows in the reference order (AVX2, FMA, F16C).", name, R, T, kind))
	w, ws, a, as, nb := loadGP("w"), loadGP("ws"), loadGP("a"), loadGP("as"), loadGP("nb")
	wp := ptrs(w, ws, R)
	ap := ptrs(a, as, T)
	acc := XMM()
	VXORPS(acc, acc, acc)
	iw, ia := GP64(), GP64()
	XORQ(iw, iw)
	XORQ(ia, ia)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	// pair i is (row i%R, token i/R).
	lanes := make([]VecVirtual, R*T)
	for r := 0; r < R; r++ {
		m := Mem{Base: wp[r], Index: iw, Scale: 1}
		PREFETCHT0(m.Offset(prefetchDist))
		wv := YMM()
		if kind == "Q8_0" {
			VMOVDQU(m.Offset(2), wv)
		} else {
			x, hi := XMM(), XMM()
			VMOVDQU(m.Offset(2), x)
			VPSRLW(U8(4), x, hi)
			VINSERTI128(U8(1), hi, x.AsY(), wv)
			VPAND(a2c(a2C0f), wv, wv)
			VPSUBB(a2c(a2C08), wv, wv)
		}
		u := YMM()
		VPABSB(wv, u)
		for t := 0; t < T; t++ {
			s := YMM()
			VMOVDQU(Mem{Base: ap[t], Index: ia, Scale: 1, Disp: 2}, s)
			VPSIGNB(wv, s, s)
			VPMADDUBSW(s, u, s)
			VPMADDWD(a2c(a2Ones), s, s)
			lanes[t*R+r] = s
		}
	}
	if len(lanes) < 4 {
		z := YMM()
		VPXOR(z, z, z)
		for len(lanes) < 4 {
			lanes = append(lanes, z) // lanes past R·T are never stored
		}
	}
	VPHADDD(lanes[1], lanes[0], lanes[0])
	VPHADDD(lanes[3], lanes[2], lanes[2])
	VPHADDD(lanes[2], lanes[0], lanes[0])
	hi := XMM()
	VEXTRACTI128(U8(1), lanes[0], hi)
	VPADDD(lanes[0].AsX(), hi, hi)
	VCVTDQ2PS(hi, hi)
	// d_w and d_a of each pair as float16 words, then float32.
	dw, da := XMM(), XMM()
	g := GP32()
	for i := 0; i < R*T; i++ {
		mw := Mem{Base: wp[i%R], Index: iw, Scale: 1}
		ma := Mem{Base: ap[i/R], Index: ia, Scale: 1}
		if i == 0 {
			MOVWLZX(mw, g)
			VMOVD(g, dw)
			MOVWLZX(ma, g)
			VMOVD(g, da)
			continue
		}
		VPINSRW(U8(uint8(i)), mw, dw, dw)
		VPINSRW(U8(uint8(i)), ma, da, da)
	}
	VCVTPH2PS(dw, dw)
	VCVTPH2PS(da, da)
	VMULPS(da, dw, dw)
	VFMADD231PS(dw, hi, acc)
	ADDQ(U32(uint32(wBytes)), iw)
	ADDQ(U32(34), ia)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	out, os := loadGP("out"), loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		for r := 0; r < R; r++ {
			i := t*R + r
			if i == 0 {
				VMOVSS(acc, Mem{Base: out, Disp: 4 * r})
			} else {
				VEXTRACTPS(U8(uint8(i)), acc, Mem{Base: out, Disp: 4 * r})
			}
		}
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}
