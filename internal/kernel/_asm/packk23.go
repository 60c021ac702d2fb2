package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The packk23 set (-set packk23, into packk23_amd64.s): Q2_K and Q3_K on
// the packed K-quant prefill path, and their decode kernels in the K-quant
// order that path follows (the kernel package's packedk_generic.go has the
// layouts and the order).
//
// Both types' group scales fold into the packed values: Q2_K's sc·u (4-bit
// scale, 2-bit value) is at most 45, and Q3_K's sc·(u−4) (6-bit scale − 32,
// 3-bit value) lies in [−124, 128], so sc·(u−4) + 124 is an unsigned byte.
// A block is then one exact VPDPBUSD chain per row and token: 64 of them,
// started from the activations' −k·Σq (k = 124 for Q3_K, 0 for Q2_K), with
// no scale multiplies; Q2_K adds its mins through eight VPDPWSSD of the
// packed int16 pairs with the activations' bsums. The float steps are the
// K-quant order's: acc = fma(float32(isum), d_w·d_a, acc), then (Q2_K) acc
// = fma(−float32(msum), dmin_w·d_a, acc).

// Constants of scaleQ3_K, 64 bytes each.
var (
	k23Sub4 Mem    // 4 in every byte
	k23Off  Mem    // 124 in every byte
	k23Low  Mem    // 0x00ff in every word
	k23Rep  [4]Mem // VPSHUFB controls: byte m of each dword into bytes 0 and 2, zero-extended
)

func genPackK23Consts() {
	for _, c := range []struct {
		m    *Mem
		name string
		b    func(i int) uint8
	}{
		{&k23Sub4, "k23sub4", func(int) uint8 { return 4 }},
		{&k23Off, "k23off", func(int) uint8 { return 124 }},
		{&k23Low, "k23low", func(i int) uint8 { return uint8(0xff * (1 - i%2)) }},
		{&k23Rep[0], "k23rep0", func(i int) uint8 { return repByte(i, 0) }},
		{&k23Rep[1], "k23rep1", func(i int) uint8 { return repByte(i, 1) }},
		{&k23Rep[2], "k23rep2", func(i int) uint8 { return repByte(i, 2) }},
		{&k23Rep[3], "k23rep3", func(i int) uint8 { return repByte(i, 3) }},
	} {
		*c.m = GLOBL(c.name, RODATA|NOPTR)
		for i := 0; i < 64; i++ {
			DATA(i, U8(c.b(i)))
		}
	}
}

// repByte is byte i of the VPSHUFB control that copies byte m of each
// dword into its bytes 0 and 2 and zeroes bytes 1 and 3.
func repByte(i, m int) uint8 {
	if i%2 == 1 {
		return 0x80
	}
	return uint8(4*((i%16)/4) + m)
}

func genPackK23() {
	genPackK23Consts()
	genPackedConsts()
	genPackedKConsts()
	genKQuantConsts()
	packK23Rows(false)
	packK23Rows(true)
	for T := 1; T <= packedKMaxT; T++ {
		packedK23Tile(false, T)
		packedK23Tile(true, T)
	}
	for T := 1; T <= 4; T++ {
		kq23Tile(fmt.Sprintf("tileOrdQ2_K_1x%d", T), "Q2_K", false, true, T)
		kq23Tile(fmt.Sprintf("tileOrdQ3_K_1x%d", T), "Q3_K", true, true, T)
	}
}

// k23 describes Q2_K (three = false) or Q3_K.
type k23 struct {
	name       string
	wBytes     int // bytes per 256-element block
	blockBytes int // packed group bytes per block
	qsOff      int // the 2-bit planes
}

func k23Of(three bool) k23 {
	if three {
		return k23{"Q3_K", 110, 4160, 32}
	}
	return k23{"Q2_K", 84, 4736, 16}
}

// planeLoad returns the 32 values u of elements 32j..32j+31 of the block
// at m: bits 2p, 2p+1 of qs[32h+l] (j = 4h+p) and, for Q3_K, bit j of
// hmask[l] as bit 2.
func planeLoad(k k23, m Mem, j int, c03, c04 VecVirtual) VecVirtual {
	h, p := j/4, j%4
	y := YMM()
	q := m.Offset(k.qsOff + 32*h)
	if p == 0 {
		VPANDD(q, c03, y)
	} else {
		VMOVDQU8(q, y)
		VPSRLW(U8(2*p), y, y)
		VPANDD(c03, y, y)
	}
	if k.name == "Q3_K" {
		orBitsAt(y, m, 2-j, c04)
	}
	return y
}

// packK23Rows generates packX16Q2_K or packX16Q3_K: 16 rows, nb blocks,
// into the packed K group layout with the group scales (and Q3_K's offset)
// folded into the values.
func packK23Rows(three bool) {
	k := k23Of(three)
	name := "packX16" + k.name
	TEXT(name, NOSPLIT, "func(w *byte, ws int, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s packs nb blocks of the 16 %s rows at w (stride ws bytes) into the packed K group layout at dst (%d bytes per block, AVX-512).", name, k.name, k.blockBytes))
	w := loadGP("w")
	ws := loadGP("ws")
	nb := loadGP("nb")
	dst := loadGP("dst")
	rows := sixteenRows(w, ws)
	c03 := bcastByte(0x03)
	var c04 VecVirtual
	if three {
		c04 = bcastByte(0x04)
	}
	pf, idxLo, idxHi, gidx := packSetup(w, ws)
	packLoopHead(name, nb, pf, k.wBytes)
	// The values u, transposed as Q4_K's.
	for j := 0; j < 8; j++ {
		z := make([]VecVirtual, 8)
		for i := 0; i < 8; i++ {
			lo := planeLoad(k, rows.mem(i), j, c03, c04)
			z[i] = ZMM()
			VINSERTI64X4(U8(1), planeLoad(k, rows.mem(i+8), j, c03, c04), lo.AsZ(), z[i])
		}
		transposeStore(z, idxLo, idxHi, nil, dst, 512*j)
	}
	// Then each group's four vectors times its scales, in place.
	if three {
		scaleQ3_K(w, gidx, dst)
	} else {
		scaleQ2_K(w, gidx, dst)
	}
	rows.advance(uint32(k.wBytes))
	ADDQ(U32(uint32(k.blockBytes)), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// scaleQ2_K multiplies the packed values of the 16 rows' current Q2_K
// blocks (at dst) by their group scales, and writes the mins, d and dmin.
// Each byte's product sc·u ≤ 45 stays in its byte, so one VPMULLD by the
// row's scale (a dword lane) scales four values.
func scaleQ2_K(w GPVirtual, gidx VecVirtual, dst GPVirtual) {
	c0f, cf := bcastDword(0x0f0f0f0f), bcastDword(0x0f)
	for q := 0; q < 4; q++ {
		g := gatherRows(w, gidx, 4*q) // scale|min<<4 bytes of groups 4q..4q+3
		for m := 0; m < 4; m++ {
			s := ZMM()
			if m == 0 {
				VPANDD(cf, g, s)
			} else {
				VPSRLD(U8(8*m), g, s)
				VPANDD(cf, s, s)
			}
			for v := 0; v < 4; v++ {
				off := 64 * (4*(4*q+m) + v)
				x := ZMM()
				VPMULLD(Mem{Base: dst, Disp: off}, s, x)
				VMOVDQU32(x, Mem{Base: dst, Disp: off})
			}
		}
		mn := ZMM()
		VPSRLD(U8(4), g, mn)
		VPANDD(c0f, mn, mn)
		for i, ctl := range []Mem{kPair0, kPair1} {
			p := ZMM()
			VPSHUFB(ctl, mn, p)
			VMOVDQU32(p, Mem{Base: dst, Disp: 4096 + 64*(2*q+i)})
		}
	}
	dd := gatherRows(w, gidx, 80) // d | dmin<<16
	storeHalves(dd, false, Mem{Base: dst, Disp: 4608})
	storeHalves(dd, true, Mem{Base: dst, Disp: 4672})
}

// scaleQ3_K turns the packed values u of the 16 rows' current Q3_K blocks
// (at dst) into sc·(u−4) + 124 and writes d. The arithmetic is modulo 256
// per byte (the result is in [0, 252]): VPMULLW of u−4 by a word holding
// sc−32 gives the even bytes' products in the low bytes, and of (u−4)>>8
// the odd bytes'.
func scaleQ3_K(w GPVirtual, gidx VecVirtual, dst GPVirtual) {
	a0 := gatherRows(w, gidx, 96)  // scale bytes 0..3
	a1 := gatherRows(w, gidx, 100) // 4..7
	tm := gatherRows(w, gidx, 104) // 8..11: the high bits
	c0f, c03 := bcastDword(0x0f0f0f0f), bcastDword(0x03030303)
	c20 := bcastDword(0x20202020)
	// s[i] byte m = scale 4i+m (ggml's kmask unpacking), less 32.
	sc := make([]VecVirtual, 4)
	for i, sh := range []struct {
		src    VecVirtual
		lo, hi int
	}{{a0, 0, 0}, {a1, 0, 2}, {a0, 4, 4}, {a1, 4, 6}} {
		s, hb := ZMM(), ZMM()
		if sh.lo > 0 {
			VPSRLD(U8(sh.lo), sh.src, s)
			VPANDD(c0f, s, s)
		} else {
			VPANDD(c0f, sh.src, s)
		}
		if sh.hi > 0 {
			VPSRLD(U8(sh.hi), tm, hb)
			VPANDD(c03, hb, hb)
		} else {
			VPANDD(c03, tm, hb)
		}
		VPSLLD(U8(4), hb, hb)
		VPORD(hb, s, s)
		VPSUBB(c20, s, s)
		sc[i] = s
	}
	for g := 0; g < 16; g++ {
		sw := ZMM() // sc−32 in the low byte of both words
		VPSHUFB(k23Rep[g%4], sc[g/4], sw)
		for v := 0; v < 4; v++ {
			off := 64 * (4*g + v)
			t, lo, hi := ZMM(), ZMM(), ZMM()
			VMOVDQU32(Mem{Base: dst, Disp: off}, t)
			VPSUBB(k23Sub4, t, t)
			VPMULLW(sw, t, lo)
			VPSRLW(U8(8), t, hi)
			VPMULLW(sw, hi, hi)
			VPSLLW(U8(8), hi, hi)
			VPTERNLOGD(U8(0xf8), k23Low, lo, hi) // hi |= lo & 0x00ff
			VPADDB(k23Off, hi, hi)
			VMOVDQU32(hi, Mem{Base: dst, Disp: off})
		}
	}
	dd := gatherRows(w, gidx, 106) // d in the high word
	storeHalves(dd, true, Mem{Base: dst, Disp: 4096})
}

// packedK23Tile generates tilePK2_16xT (Q2_K) or tilePK3_16xT (Q3_K).
func packedK23Tile(three bool, T int) {
	k := k23Of(three)
	bb := k.blockBytes
	name := fmt.Sprintf("tilePK%s_16x%d", k.name[1:2], T)
	TEXT(name, NOSPLIT, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of a packed %s group (%d bytes per block) against %d tokens of interleaved K activations, nb blocks, in the K-quant order (AVX-512 VNNI).", name, T, k.name, bb, T),
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
	zero := ZMM() // zero registers are copies of this one (see packedKTile)
	VPXORD(zero, zero, zero)
	// Below four tokens each token's sum runs as two chains, so that
	// VPDPBUSD's latency is covered.
	chains := 1
	if T <= 4 {
		chains = 2
	}
	isum := make([][]Register, chains)
	for c := range isum {
		isum[c] = make([]Register, T)
		for t := range isum[c] {
			isum[c][t] = highZ[packedKMaxT+4*c+t]
		}
	}
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	act := func(t, off int) Mem { return Mem{Base: a, Disp: actK*t + off} }
	for t := 0; t < T; t++ {
		VPBROADCASTD(act(t, 308), isum[0][t]) // −k·Σq
		if chains == 2 {
			VPXORD(zero, zero, isum[1][t])
		}
	}
	for j := 0; j < 8; j++ {
		wv := make([]VecVirtual, 8)
		for v := range wv {
			wv[v] = ZMM()
			VMOVDQU32(Mem{Base: p, Disp: 512*j + 64*v}, wv[v])
		}
		for v := 0; v < 8; v++ {
			for t := 0; t < T; t++ {
				vpdpbusdBcast(act(t, 4+32*j+4*v), wv[v], isum[v%chains][t])
			}
		}
	}
	if chains == 2 {
		for t := 0; t < T; t++ {
			VPADDD(isum[1][t], isum[0][t], isum[0][t])
		}
	}
	dw := ZMM()
	var dm VecVirtual
	var mins []VecVirtual
	if three {
		VMOVUPS(Mem{Base: p, Disp: 4096}, dw)
	} else {
		VMOVUPS(Mem{Base: p, Disp: 4608}, dw)
		dm = ZMM()
		VMOVUPS(Mem{Base: p, Disp: 4672}, dm)
		mins = make([]VecVirtual, 8)
		for i := range mins {
			mins[i] = ZMM()
			VMOVDQU32(Mem{Base: p, Disp: 4096 + 64*i}, mins[i])
		}
	}
	for t := 0; t < T; t++ {
		var msum VecVirtual
		if !three {
			// Σ_g m_g·bsum_g, two groups per VPDPWSSD.
			msum = ZMM()
			VPXORD(zero, zero, msum)
			for i := 0; i < 8; i++ {
				vpdpwssdBcast(act(t, 260+4*i), mins[i], msum)
			}
		}
		VCVTDQ2PS(isum[0][t], isum[0][t])
		dd := ZMM()
		VMULPS_BCST(act(t, 0), dw, dd)
		VFMADD231PS(dd, isum[0][t], acc[t])
		if !three {
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
