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
//
// The decode tiles (kq23Lanes) replace kquant23.go's for these two types
// (whose float steps were eight-lane sums, not the K-quant order): those
// are still generated into matmul_amd64.s but no longer used, and can go
// when it is next regenerated.

// Constants of packValuesQ3_K, 64 bytes each.
var (
	k23Sub4 Mem    // 4 in every byte
	k23Off  Mem    // 124 in every byte
	k23Low  Mem    // 0x00ff in every word
	k23Rep  [4]Mem // VPSHUFB controls: byte m of each dword into bytes 0 and 2, zero-extended
	// The decode kernels' constants: k23Spread, VPERMW indices that put
	// the scales of groups k, k+4, k+8, k+12 in 128-bit lane k (twice);
	// k23Pick[q], VPSHUFB controls that copy word q of each lane into all
	// eight; k23HBit[i], Q3_K's hmask bits 2i (bytes 0..31) and 2i+1
	// (32..63); k23Shift, dwords 0, 2, 4, 6.
	k23Pick, k23HBit    [4]Mem
	k23Spread, k23Shift Mem
	// Q2_K's: k23PickB[q], VPSHUFB controls that zero-extend byte 4q+k of
	// 128-bit lane k into all eight words; k23Nib, 0x0f in every byte.
	k23PickB [4]Mem
	k23Nib   Mem
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
	k23Spread = GLOBL("k23spread", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		DATA(2*i, U16(uint16(4*(i%4)+i/8)))
	}
	for q := 0; q < 4; q++ {
		k23Pick[q] = GLOBL(fmt.Sprintf("k23pick%d", q), RODATA|NOPTR)
		for i := 0; i < 64; i++ {
			DATA(i, U8(uint8(2*q+i%2)))
		}
		k23HBit[q] = GLOBL(fmt.Sprintf("k23hbit%d", q), RODATA|NOPTR)
		for i := 0; i < 64; i++ {
			DATA(i, U8(uint8(1)<<(2*q+i/32)))
		}
	}
	for q := 0; q < 4; q++ {
		k23PickB[q] = GLOBL(fmt.Sprintf("k23pickb%d", q), RODATA|NOPTR)
		for i := 0; i < 64; i++ {
			b := uint8(0x80)
			if i%2 == 0 {
				b = uint8(4*q + i/16)
			}
			DATA(i, U8(b))
		}
	}
	k23Nib = GLOBL("k23nib", RODATA|NOPTR)
	for i := 0; i < 64; i++ {
		DATA(i, U8(0x0f))
	}
	k23Shift = GLOBL("k23shift", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(4*i, U32(uint32(2*i)))
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
	packK23Rows(false)
	packK23Rows(true)
	for T := 1; T <= packedKMaxT; T++ {
		packedK23Tile(false, T)
		packedK23Tile(true, T)
	}
	for _, three := range []bool{false, true} {
		for T := 1; T <= 4; T++ {
			kq23Lanes(three, 1, T)
		}
		kq23Lanes(three, 4, 1)
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

// packK23Rows generates packX16Q2_K or packX16Q3_K: 16 rows, nb blocks,
// into the packed K group layout with the group scales (and Q3_K's offset)
// folded into the values.
//
// The 2-bit planes are transposed still packed: dword i of a half's 32
// qs bytes holds elements 4i..4i+3 of each of its four planes, so the
// transposed dword vector i of half h gives vectors 32h+8p+i (plane p) by
// a shift and a mask. The transposed halves (and Q3_K's transposed hmask)
// wait in the block's own value area, in slots that are read before they
// are written.
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
	pf, idxLo, idxHi, gidx := packSetup(w, ws)
	packLoopHead(name, nb, pf, k.wBytes)
	// transpose stores the 16 rows' 32 bytes at off, dword i at slot+i.
	transpose := func(off, slot int) {
		z := make([]VecVirtual, 8)
		for i := 0; i < 8; i++ {
			lo := YMM()
			VMOVDQU8(rows.mem(i).Offset(off), lo)
			z[i] = ZMM()
			VINSERTI64X4(U8(1), rows.mem(i+8).Offset(off), lo.AsZ(), z[i])
		}
		transposeStore(z, idxLo, idxHi, nil, dst, 64*slot)
	}
	transpose(k.qsOff, 0)
	transpose(k.qsOff+32, 32)
	if three {
		transpose(0, 56) // hmask
	}
	slot := func(v int) Mem { return Mem{Base: dst, Disp: 64 * v} }
	c03 := bcastDword(0x03030303)
	src := k23Src{
		dword:  func(off int) VecVirtual { return gatherRows(w, gidx, off) },
		planes: slot,
	}
	if three {
		src.d = func() {
			dd := gatherRows(w, gidx, 106) // d in the high word
			storeHalves(dd, true, Mem{Base: dst, Disp: 4096})
		}
		packValuesQ3_K(src, dst, slot, c03)
	} else {
		src.d = func() {
			dd := gatherRows(w, gidx, 80) // d | dmin<<16
			storeHalves(dd, false, Mem{Base: dst, Disp: 4608})
			storeHalves(dd, true, Mem{Base: dst, Disp: 4672})
		}
		packValuesQ2_K(src, dst, slot, c03)
	}
	rows.advance(uint32(k.wBytes))
	ADDQ(U32(uint32(k.blockBytes)), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// packValuesQ2_K writes the packed values sc·u of the 16 rows' current
// Q2_K blocks from their transposed planes (slots 0..7 and 32..39), and
// their mins, d and dmin. Each byte's product sc·u ≤ 45 stays in its
// byte, so one VPMULLD by the row's scale (a dword lane) scales four
// values.
func packValuesQ2_K(src k23Src, dst GPVirtual, slot func(int) Mem, c03 VecVirtual) {
	c0f, cf := bcastDword(0x0f0f0f0f), bcastDword(0x0f)
	g := make([]VecVirtual, 4) // scale|min<<4 bytes of groups 4q..4q+3
	for q := range g {
		g[q] = src.dword(4 * q)
	}
	for h := 0; h < 2; h++ {
		for i := 0; i < 8; i++ {
			x := ZMM()
			VMOVDQU32(src.planes(32*h+i), x)
			for p := 0; p < 4; p++ {
				v := 32*h + 8*p + i
				gr := v / 4
				u := ZMM()
				if p == 0 {
					VPANDD(c03, x, u)
				} else {
					VPSRLD(U8(2*p), x, u)
					VPANDD(c03, u, u)
				}
				s := ZMM()
				if m := gr % 4; m == 0 {
					VPANDD(cf, g[gr/4], s)
				} else {
					VPSRLD(U8(8*m), g[gr/4], s)
					VPANDD(cf, s, s)
				}
				VPMULLD(s, u, u)
				VMOVDQU32(u, slot(v))
			}
		}
	}
	for q := range g {
		mn := ZMM()
		VPSRLD(U8(4), g[q], mn)
		VPANDD(c0f, mn, mn)
		for i, ctl := range []Mem{kPair0, kPair1} {
			p := ZMM()
			VPSHUFB(ctl, mn, p)
			VMOVDQU32(p, Mem{Base: dst, Disp: 4096 + 64*(2*q+i)})
		}
	}
	src.d()
}

// k23Src is where packValuesQ2_K and packValuesQ3_K read the 16 rows'
// current blocks: row-major rows (the pack kernels) or an interleaved
// group (the unpack kernels of interk23.go).
type k23Src struct {
	// dword returns the dword at off of every row's block (lane r: row r).
	dword func(off int) VecVirtual
	// planes returns the transposed plane vector of half h and dword i
	// (v = 32h+i), or (Q3_K, v = 56+i) the transposed hmask dword i.
	planes func(v int) Mem
	// d writes the rows' d (Q2_K: and dmin) as float32 into the packed
	// block.
	d func()
}

// packValuesQ3_K writes the packed values sc·(u−4) + 124 of the 16 rows'
// current Q3_K blocks from their transposed planes (slots 0..7, 32..39)
// and hmask (slots 56..63), and d. The arithmetic is modulo 256 per byte
// (the result is in [0, 252]): VPMULLW of u−4 by a word holding sc−32
// gives the even bytes' products in the low bytes, and of (u−4)>>8 the odd
// bytes'.
func packValuesQ3_K(src k23Src, dst GPVirtual, slot func(int) Mem, c03 VecVirtual) {
	a0 := src.dword(96)  // scale bytes 0..3
	a1 := src.dword(100) // 4..7
	tm := src.dword(104) // 8..11: the high bits
	c0f := bcastDword(0x0f0f0f0f)
	// sc[i] byte m = scale 4i+m (ggml's kmask unpacking), less 32.
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
		VPSUBB(bcastDword(0x20202020), s, s)
		sc[i] = s
	}
	for h := 0; h < 2; h++ {
		for i := 0; i < 8; i++ {
			x, hm := ZMM(), ZMM()
			VMOVDQU32(src.planes(32*h+i), x)
			VMOVDQU32(src.planes(56+i), hm)
			for p := 0; p < 4; p++ {
				v := 32*h + 8*p + i
				gr := v / 4
				j := 4*h + p
				// u = bits 2p, 2p+1 of the qs byte | bit j of the hmask
				// byte as bit 2
				t, hb := ZMM(), ZMM()
				if p == 0 {
					VPANDD(c03, x, t)
				} else {
					VPSRLD(U8(2*p), x, t)
					VPANDD(c03, t, t)
				}
				switch sh := 2 - j; {
				case sh > 0:
					VPSLLW(U8(sh), hm, hb)
				case sh < 0:
					VPSRLW(U8(-sh), hm, hb)
				default:
					VMOVDQA64(hm, hb)
				}
				VPTERNLOGD(U8(0xf8), bcastDword(0x04040404), hb, t) // t |= hb & 4
				sw := ZMM()                                         // sc−32 in the low byte of both words
				VPSHUFB(k23Rep[gr%4], sc[gr/4], sw)
				lo, hi := ZMM(), ZMM()
				VPSUBB(k23Sub4, t, t)
				VPMULLW(sw, t, lo)
				VPSRLW(U8(8), t, hi)
				VPMULLW(sw, hi, hi)
				VPSLLW(U8(8), hi, hi)
				VPTERNLOGD(U8(0xf8), k23Low, lo, hi) // hi |= lo & 0x00ff
				VPADDB(k23Off, hi, hi)
				VMOVDQU32(hi, slot(v))
			}
		}
	}
	src.d()
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

// foldZ returns the sums of z's two 256-bit halves (eight int32 lanes).
func foldZ(z Register) VecVirtual {
	e := YMM()
	VEXTRACTI64X4(U8(1), z, e)
	VPADDD(z.(Vec).AsY(), e, e)
	return e
}

// kq23Ints sets isum[t] (16 int32 lanes) to the exact Σ_g sc_g·Σ u·q of the
// block of the row at wp with the Q8_K block at ap[t], and returns the
// block's scales (16 int16; Q3_K: − 32) and, for Q2_K, mins.
func kq23Ints(k k23, wp GPVirtual, ap []GPVirtual, isum []Register, spread Register, c03, c0f, c04 VecVirtual) (scales, mins VecVirtual) {
	three := k.name == "Q3_K"
	// sv[q] lane k: the scale of group 4q+k in every word.
	sv := make([]VecVirtual, 4)
	if !three {
		// Q2_K: the 16 scale|min<<4 bytes in every 128-bit lane; the
		// mins as 16 int16.
		raw, hi := ZMM(), XMM()
		VBROADCASTI32X4(Mem{Base: wp}, raw)
		VPSRLW(U8(4), raw.AsX(), hi)
		VPANDD(c0f.AsX(), hi, hi)
		mins = YMM()
		VPMOVZXBW(hi, mins)
		VPANDD(k23Nib, raw, raw)
		for q := range sv {
			sv[q] = ZMM()
			VPSHUFB(k23PickB[q], raw, sv[q])
		}
	} else {
		// Q3_K: the 16 group scales − 32 as int16, spread by a VPERMW.
		scales = YMM()
		// ggml's unpacking of the 12 bytes: low nibbles of bytes 0..7,
		// then their high nibbles; the top two bits of scale j are bits
		// 2(j/4), 2(j/4)+1 of byte 8 + j%4.
		lo, hi, tm := XMM(), XMM(), XMM()
		VMOVQ(Mem{Base: wp, Disp: 96}, lo)
		VPSRLW(U8(4), lo, hi)
		VPUNPCKLQDQ(hi, lo, lo)
		VPANDD(c0f.AsX(), lo, lo)
		VPBROADCASTD(Mem{Base: wp, Disp: 104}, tm)
		VPSRLVD(k23Shift, tm, tm)
		VPANDD(c03.AsX(), tm, tm)
		VPSLLD(U8(4), tm, tm)
		VPORD(tm, lo, lo)
		VPMOVZXBW(lo, scales)
		VPSUBW(bcastDword(0x00200020).AsY(), scales, scales)
		spreadSc := ZMM()
		VPERMW(scales.AsZ(), spread, spreadSc)
		for q := range sv {
			sv[q] = ZMM()
			VPSHUFB(k23Pick[q], spreadSc, sv[q])
		}
	}
	for t := range isum {
		VPXORD(isum[t], isum[t], isum[t])
	}
	var hm VecVirtual
	if three {
		hm = ZMM()
		VBROADCASTI64X4(Mem{Base: wp}, hm)
	}
	for h := 0; h < 2; h++ {
		q, q2 := YMM(), YMM()
		VMOVDQU8(Mem{Base: wp, Disp: k.qsOff + 32*h}, q)
		VPSRLW(U8(2), q, q2)
		z := ZMM()
		VINSERTI64X4(U8(1), q2, q.AsZ(), z) // planes 0, 1 of this half
		w01, w23 := ZMM(), ZMM()
		VPSRLW(U8(4), z, w23) // planes 2, 3
		VPANDD(c03, z, w01)
		VPANDD(c03, w23, w23)
		for pp, v := range []VecVirtual{w01, w23} {
			if three {
				m := K()
				VPTESTMB(k23HBit[2*h+pp], hm, m)
				VPADDB(c04, v, m, v)
			}
			for t := range isum {
				pr := ZMM()
				VPMADDUBSW(Mem{Base: ap[t], Disp: 4 + 128*h + 64*pp}, v, pr)
				vpdpwssd(sv[2*h+pp], pr, isum[t])
			}
		}
	}
	return scales, mins
}

// addTree1 is the first level of a transposing add tree: the lanes of x
// and y (eight int32 each) summed pairwise, x's in the even lanes and y's
// in the odd ones.
func addTree1(x, y VecVirtual) VecVirtual {
	a, b := YMM(), YMM()
	VPUNPCKLDQ(y, x, a) // [x0 y0 x1 y1 | x4 y4 x5 y5]
	VPUNPCKHDQ(y, x, b) // [x2 y2 x3 y3 | x6 y6 x7 y7]
	VPADDD(b, a, a)
	return a
}

// addTree2 is the second level: from two first-level vectors s (of x, y)
// and u (of x', y'), each 128-bit half holds partial sums of x, y, x', y'
// in that order.
func addTree2(s, u VecVirtual) VecVirtual {
	c, d := YMM(), YMM()
	VPUNPCKLQDQ(u, s, c)
	VPUNPCKHQDQ(u, s, d)
	VPADDD(d, c, c)
	return c
}

// rowsPrefetchDist is how far ahead the 4-row decode tiles prefetch: with
// weights streamed from DRAM (BenchmarkMatMulStream, Zen 4) 16 KiB read
// faster than the row kernels' 32 KiB on one thread and on two (13.7 vs
// 13.5 and 22–23 vs 20–21 GB/s; 64 KiB was slower still).
const rowsPrefetchDist = 16384

// kq23Lanes generates tileOrdQ2_K_RxT or tileOrdQ3_K_RxT: R weight rows
// against T Q8_K activation rows (292-byte blocks; R = 4 with T = 1 for
// decode, else R = 1 and T ≤ 4) in the K-quant order, the packed kernels'.
//
// Per block, each of the R·T (row, token) items has its exact integer sums
// (kq23Ints: Q3_K's isum less 4·Σ_g sc_g·bsum_g; Q2_K's isum and msum =
// Σ_g m_g·bsum_g); one transposing add tree reduces them all to a vector
// with item i's isum in lane i (Q3_K) or 2i, and its msum in lane 2i+1
// (Q2_K). The float steps then run as lanes of that vector: acc =
// fma(float32(isum), d_w·d_a, acc) and acc = fma(−float32(msum),
// dmin_w·d_a, acc) per item, the K-quant order's, with the items' chains
// side by side instead of one after the other.
func kq23Lanes(three bool, R, T int) {
	k := k23Of(three)
	fn := fmt.Sprintf("tileOrd%s_%dx%d", k.name, R, T)
	TEXT(fn, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s sets out[t*os+r] to the dot of %s row r (at w+r*ws) with Q8_K row t (at a+t*as) for r < %d, t < %d, nb blocks, in the K-quant order (AVX-512 VNNI).", fn, k.name, R, T))
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	wps := ptrs(w, ws, R)
	ap := ptrs(a, as, T)
	var pf GPVirtual
	if R > 1 {
		// The rows lie next to each other (ws = their bytes): one prefetch
		// pointer walks their R·ws bytes as one stream, which DRAM serves
		// better than R row streams, rowsPrefetchDist ahead.
		pf = GP64()
		LEAQ(Mem{Base: w, Disp: rowsPrefetchDist}, pf)
	}
	items := R * T
	wide := !three && items > 2 // eight lanes (a ymm), else four
	acc := highY[0]
	VPXORD(acc, acc, acc)
	isum := make([]Register, T)
	for t := range isum {
		isum[t] = highZ[4+t]
	}
	spread := highZ[8] // Q3_K's scale spreading indices
	if three {
		VMOVDQU16(k23Spread, spread)
	}
	zero := YMM() // zero vectors are copies of this one (see packedKTile)
	VPXORD(zero, zero, zero)
	c03 := bcastDword(0x03030303)
	c0f := bcastByte(0x0f)
	var c04 VecVirtual
	if three {
		c04 = bcastDword(0x04040404)
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	if R > 1 {
		for off := 0; off < R*k.wBytes; off += 64 {
			PREFETCHT0(Mem{Base: pf, Disp: off})
		}
		ADDQ(U32(uint32(R*k.wBytes)), pf)
	} else {
		for off := 0; off < k.wBytes; off += 64 {
			PREFETCHT0(Mem{Base: wps[0], Disp: prefetchDist + off})
		}
	}
	// l1: the add tree's first level, one vector per pair of lanes.
	var l1 []VecVirtual
	var pend VecVirtual // Q3_K: an item's sums waiting for a partner
	for _, wp := range wps {
		scales, mins := kq23Ints(k, wp, ap, isum, spread, c03, c0f, c04)
		for t := range isum {
			e := foldZ(isum[t])
			corr := YMM()
			if !three {
				VPMADDWD(Mem{Base: ap[t], Disp: 260}, mins, corr) // msum lanes
				l1 = append(l1, addTree1(e, corr))
				continue
			}
			// −4·Σ_g sc_g·bsum_g
			VPMADDWD(Mem{Base: ap[t], Disp: 260}, scales, corr)
			VPSLLD(U8(2), corr, corr)
			VPSUBD(corr, e, e)
			if pend == nil {
				pend = e
				continue
			}
			l1 = append(l1, addTree1(pend, e))
			pend = nil
		}
	}
	if pend != nil {
		l1 = append(l1, addTree1(pend, zero))
	}
	tot := sumLanesL1(l1, zero)
	dd := kq23Scales(three, wps, ap, wide)
	accW := acc
	if !wide {
		accW = acc.(Vec).AsX()
	}
	f := tot
	VCVTDQ2PS(tot, f)
	VFMADD231PS(dd, f, accW)
	if !three {
		VPSRLQ(U8(32), f, f)
		VPSRLQ(U8(32), dd, dd)
		VFNMADD231PS(dd, f, accW)
	}
	for _, wp := range wps {
		ADDQ(U32(uint32(k.wBytes)), wp)
	}
	for _, p := range ap {
		ADDQ(U32(292), p)
	}
	DECQ(nb)
	JMP(LabelRef(fn + "_loop"))

	Label(fn + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	var hi VecVirtual
	if wide {
		hi = XMM()
		VEXTRACTF32X4(U8(1), acc, hi)
	}
	for t := 0; t < T; t++ {
		for r := 0; r < R; r++ {
			lane := r*T + t
			if !three {
				lane *= 2
			}
			src := acc.(Vec).AsX()
			if lane >= 4 {
				src, lane = hi, lane-4
			}
			VEXTRACTPS(U8(lane), src, Mem{Base: out, Disp: 4 * r})
		}
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// kq23Scales returns the float multipliers of kq23Lanes's lanes: d_w·d_a
// in the isum lanes and (Q2_K) dmin_w·d_a in the msum lanes, for the
// items of rows wps and tokens ap (a ymm if wide, else an xmm).
func kq23Scales(three bool, wps, ap []GPVirtual, wide bool) VecVirtual {
	// dw: per item the weight row's d (Q3_K) or d, dmin (Q2_K).
	dw := XMM()
	switch {
	case len(wps) == 1 && three:
		VPBROADCASTW(Mem{Base: wps[0], Disp: 108}, dw)
	case len(wps) == 1:
		VPBROADCASTD(Mem{Base: wps[0], Disp: 80}, dw)
	case three:
		VPXORD(dw, dw, dw)
		for r, wp := range wps {
			VPINSRW(U8(r), Mem{Base: wp, Disp: 108}, dw, dw)
		}
	default:
		VMOVD(Mem{Base: wps[0], Disp: 80}, dw)
		for r := 1; r < len(wps); r++ {
			VPINSRD(U8(r), Mem{Base: wps[r], Disp: 80}, dw, dw)
		}
	}
	// dy: per item the token's d (Q2_K: twice), blended from broadcasts
	// (loads) rather than inserted (shuffles).
	dy := XMM()
	if wide {
		dy = YMM()
	}
	VBROADCASTSS(Mem{Base: ap[0]}, dy)
	per := 1 // lanes per token
	if !three {
		per = 2
	}
	for t := 1; t < len(ap); t++ {
		bt := XMM()
		if wide {
			bt = YMM()
		}
		VBROADCASTSS(Mem{Base: ap[t]}, bt)
		VBLENDPS(U8((1<<per-1)<<(per*t)), bt, dy, dy)
	}
	if wide {
		d := YMM()
		VCVTPH2PS(dw, d)
		VMULPS(dy, d, d)
		return d
	}
	VCVTPH2PS(dw, dw)
	VMULPS(dy, dw, dw)
	return dw
}

// sumLanesL1 finishes the add tree from its first level l1 (addTree1 of
// lanes 2i, 2i+1 in l1[i]): lane i of the result is the sum of the eight
// int32 lanes of the tree's i-th input. One or two l1 vectors give an
// xmm, three or four a ymm (missing inputs are zero).
func sumLanesL1(l1 []VecVirtual, zero VecVirtual) VecVirtual {
	fold := func(y VecVirtual) VecVirtual {
		x := XMM()
		VEXTRACTI128(U8(1), y, x)
		VPADDD(y.AsX(), x, x)
		return x
	}
	switch len(l1) {
	case 1:
		s, t := l1[0], YMM()
		VPSHUFD(U8(0x4e), s, t)
		VPADDD(t, s, t)
		return fold(t)
	case 2:
		return fold(addTree2(l1[0], l1[1]))
	}
	for len(l1) < 4 {
		l1 = append(l1, zero)
	}
	x, y := addTree2(l1[0], l1[1]), addTree2(l1[2], l1[3])
	lo, hi := YMM(), YMM()
	VPERM2I128(U8(0x20), y, x, lo)
	VPERM2I128(U8(0x31), y, x, hi)
	VPADDD(hi, lo, lo)
	return lo
}
