package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The codebook (i-quant) kernels: one weight row against T Q8_K rows
// (292-byte blocks: d float32 at 0, qs [256]int8 at 4, bsums [16]int16 at
// 260). Their codebook is an argument (grid), not assembly data, so that
// package tensor stays its only definition.

var iq1sHi, iq1sLo, iq1mHi, iq2sHi, iq3sHi Mem

var iq1mPerm, iq1mShift, iq1mSel, iqW1, iqW7 Mem

var iqDw1, iqDw7, iqDwM7, iqB0, iqB1, iqB2, iqB3, iqTop Mem

// iqSig is the signature of the codebook kernels: tileFunc plus the grid.
const iqSig = "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, grid *uint64)"

// iqSig32 is iqSig for the codebooks of 4-byte entries (IQ3).
const iqSig32 = "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, grid *uint32)"

func genIQ() {
	for _, c := range []struct {
		m *Mem
		n string
		v int32
	}{{&iqDw1, "iqdw1", 1}, {&iqDw7, "iqdw7", 7}, {&iqDwM7, "iqdwm7", -7},
		{&iqB0, "iqb0", 0x7f}, {&iqB1, "iqb1", 0x7f00}, {&iqB2, "iqb2", 0x7f0000}, {&iqB3, "iqb3", 0x7f000000},
		{&iqTop, "iqtop", -0x7f7f7f80}} {
		*c.m = GLOBL(c.n, RODATA|NOPTR)
		for j := 0; j < 8; j++ {
			DATA(4*j, U32(uint32(c.v)))
		}
	}
	// PDEP masks of IQ1_S's indices: bits 8..10 and 0..7 of each word.
	iq1sHi = GLOBL("iq1shi", RODATA|NOPTR)
	DATA(0, U64(0x0700070007000700))
	iq1sLo = GLOBL("iq1slo", RODATA|NOPTR)
	DATA(0, U64(0x00ff00ff00ff00ff))
	// IQ1_M: index bits 8..10 and the delta sign (bit 11); IQ2_S: bits 8..9;
	iq1mHi = GLOBL("iq1mhi", RODATA|NOPTR)
	DATA(0, U64(0x0f000f000f000f00))
	iq2sHi = GLOBL("iq2shi", RODATA|NOPTR)
	DATA(0, U64(0x0300030003000300))
	// IQ3_S: bit 8.
	iq3sHi = GLOBL("iq3shi", RODATA|NOPTR)
	DATA(0, U64(0x0100010001000100))
	// IQ1_M scales: word i of the block's 16 takes scale word i/4 shifted
	// right by 3·(i%4); sub-block j's selection is words 2j (×8), 2j+1 (×8).
	iq1mPerm = GLOBL("iq1mperm", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(2*i, U16(uint16(i/4)))
	}
	iq1mShift = GLOBL("iq1mshift", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(2*i, U16(uint16(3*(i%4))))
	}
	iq1mSel = GLOBL("iq1msel", RODATA|NOPTR)
	for j := 0; j < 8; j++ {
		for i := 0; i < 16; i++ {
			DATA(32*j+2*i, U16(uint16(2*j+i/8)))
		}
	}
	for _, c := range []struct {
		m *Mem
		n string
		v uint16
	}{{&iqW1, "iqw1", 1}, {&iqW7, "iqw7", 7}} {
		*c.m = GLOBL(c.n, RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(2*i, U16(c.v))
		}
	}
	for T := 1; T <= 4; T++ {
		iq2xxs(T)
	}
	for T := 1; T <= 4; T++ {
		iq1s(T)
	}
	for T := 1; T <= 4; T++ {
		iq1m(T)
	}
	for T := 1; T <= 4; T++ {
		iq2xs(T)
	}
	for T := 1; T <= 4; T++ {
		iq2s(T)
	}
	for T := 1; T <= 4; T++ {
		iq3(false, T)
		iq3(true, T)
	}
}

// gridQuad loads the four 8-byte codebook entries grid[idx(l)], l = 0..3,
// into the quadwords of a ymm. Scalar loads and inserts: one VPGATHERDQ of
// eight entries per two sub-blocks made IQ2_XXS slower (5.1 -> 4.1 GB/s,
// 1 thread, on the AMD EPYC (AVX-512) this was measured on).
func gridQuad(grid GPVirtual, idx func(l int) GPVirtual) VecVirtual {
	g, x := YMM(), XMM()
	VMOVQ(Mem{Base: grid, Index: idx(0), Scale: 8}, g.AsX())
	VPINSRQ(U8(1), Mem{Base: grid, Index: idx(1), Scale: 8}, g.AsX(), g.AsX())
	VMOVQ(Mem{Base: grid, Index: idx(2), Scale: 8}, x)
	VPINSRQ(U8(1), Mem{Base: grid, Index: idx(3), Scale: 8}, x, x)
	VINSERTI32X4(U8(1), x, g, g)
	return g
}

// auxSignsScales stores, for eight sub-blocks whose u32 aux words (four
// 7-bit sign indices, the 4-bit scale s at bits 28..31; IQ2_XXS, IQ3_XXS)
// are the dwords of aux, the 32 sign bytes (7 bits and their parity bit)
// at signMem and 2s+1 in both words of each dword at scMem.
func auxSignsScales(aux VecVirtual, signMem, scMem Mem) {
	// Byte l of v_j = bits 7l..7l+6 of aux_j, then bit 7 = their parity.
	v, x, p := YMM(), YMM(), YMM()
	VPANDD(iqB0, aux, v)
	for l, m := range []Mem{iqB1, iqB2, iqB3} {
		VPSLLD(U8(l+1), aux, x)
		VPTERNLOGD(U8(0xf8), m, x, v) // v |= x & m
	}
	addParity(v)
	VMOVDQU32(v, signMem)
	// (2s+1) in both words of each dword, for VPDPWSSD.
	VPSRLD(U8(28), aux, x)
	VPADDD(x, x, x)
	VPADDD(iqDw1, x, x)
	VPSLLD(U8(16), x, p)
	VPORD(p, x, x)
	VMOVDQU32(x, scMem)
}

// addParity sets bit 7 of every byte of v (7-bit sign indices, bit 7
// clear) so that each byte has an even number of set bits: ggml's
// ksigns_iq2xs. The xor folds shift dwords, but bits 0..3, 0..1 and 0 of
// each byte that they leave the parity in only ever get bits of that byte.
func addParity(v VecVirtual) {
	p, x := YMM(), YMM()
	VPSRLD(U8(4), v, p)
	VPXORD(v, p, p)
	VPSRLD(U8(2), p, x)
	VPXORD(x, p, p)
	VPSRLD(U8(1), p, x)
	VPXORD(x, p, p)
	VPSLLD(U8(7), p, p)
	VPTERNLOGD(U8(0xf8), iqTop, p, v) // v |= p & 0x80808080
}

// scalePairs returns, for the two 4-bit scales s0 (low nibble of the byte
// at m) and s1 (high nibble), a ymm whose low 16 bytes hold 2·s0+1 and high
// 16 bytes 2·s1+1 in every int16.
func scalePairs(m Mem) VecVirtual {
	b, l := GP32(), GP32()
	MOVBLZX(m, b)
	MOVL(b, l)
	ANDL(U32(15), l)
	LEAL(Mem{Base: l, Index: l, Scale: 1, Disp: 1}, l)
	SHRL(U8(4), b)
	LEAL(Mem{Base: b, Index: b, Scale: 1, Disp: 1}, b)
	s, x := YMM(), XMM()
	VPBROADCASTW(l, s)
	VPBROADCASTW(b, x)
	VINSERTI32X4(U8(1), x, s, s)
	return s
}

// pdepIdx returns, in the words of one register, the four grid indices
// of a sub-block: the bits of hi (loaded) spread by PDEP over the mask at
// hiMask (the index bits above 7 of each word), ORed with the four qs
// bytes at qs spread to bits 0..7 of each word.
func pdepIdx(hi GPVirtual, hiMask, qs Mem) GPVirtual {
	qb := GP64()
	PDEPQ(hiMask, hi, hi)
	MOVL(qs, qb.As32())
	PDEPQ(iq1sLo, qb, qb)
	ORQ(qb, hi)
	return hi
}

// wordIdx returns gridQuad's idx for indices in the words of ix, which it
// consumes.
func wordIdx(ix GPVirtual) func(l int) GPVirtual {
	return func(l int) GPVirtual {
		if l == 3 {
			return ix
		}
		i := GP64()
		MOVWQZX(ix.As16(), i)
		SHRQ(U8(16), ix)
		return i
	}
}

// iqOrdered switches the codebook kernels (and IQ4_XS's) to the packed
// path's order: per block the exact int32 sum is reduced to one lane and
// acc = fma(float32(isum), d·d_a, acc) (d with the type's constant), as
// the packiq set's decode tiles do. The main set keeps the 8-lane
// accumulators and one horizontal sum at the end.
var iqOrdered bool

// iqName returns the name of the 1×T kernel of IQ type typ: tileIQ…_1xT,
// or tileOrdIQ…_1xT in the ordered form.
func iqName(typ string, T int) string {
	if iqOrdered {
		return fmt.Sprintf("tileOrd%s_1x%d", typ, T)
	}
	return fmt.Sprintf("tile%s_1x%d", typ, T)
}

// iqSignedMAC adds, for every token t, the products of the sub-block's
// grid bytes g (unsigned) with its 32 activations at ap[t]+disp, negated
// where the k mask is set, pairwise (VPMADDUBSW) and times the int16 scale
// pairs s (VPDPWSSD), to isum[t].
func iqSignedMAC(ap []GPVirtual, disp int, k Register, zero, g, s VecVirtual, isum []VecVirtual) {
	for t := range ap {
		q := YMM()
		VMOVDQU8(Mem{Base: ap[t], Disp: disp}, q)
		VPSUBB(q, zero, k, q)
		VPMADDUBSW(q, g, q)
		vpdpwssd(s, q, isum[t])
	}
}

// iqBlockScale adds every token's block sum times d/8 (d the block's f16
// scale at wp) times the Q8_K scale to its accumulator.
func iqBlockScale(wp GPVirtual, eighth VecVirtual, ap []GPVirtual, isum []VecVirtual, acc []Register) {
	d := halfBcast(Mem{Base: wp})
	VMULPS(eighth.AsY(), d, d)
	for t := range ap {
		iqScaleAdd(d, Mem{Base: ap[t]}, isum[t], acc[t])
	}
}

// iqScaleAdd adds one block's float part to acc: the int32 block sums
// isum times d (the weight scale with the type's constant) times the Q8_K
// block's float32 scale at a.
func iqScaleAdd(d VecVirtual, a Mem, isum, acc Register) {
	if iqOrdered {
		// The block's exact sum in lane 0, then acc = fma(float32(isum),
		// d·d_a, acc) there: the packed path's order.
		e := reduce1(isum.(VecVirtual))
		dy := XMM()
		VMULSS(a, d.AsX(), dy)
		VFMADD231SS(dy, e, acc.(Vec).AsX())
		return
	}
	dy := YMM()
	VBROADCASTSS(a, dy)
	VMULPS(d, dy, dy)
	VCVTDQ2PS(isum, isum)
	VFMADD231PS(dy, isum, acc)
}

// iqLoopEnd advances the weight pointer by one block of wBytes and every
// activation pointer by one Q8_K block, closes the block loop and emits the
// epilogue.
func iqLoopEnd(fn string, wp GPVirtual, wBytes int, ap []GPVirtual, nb GPVirtual, acc []Register) {
	ADDQ(U32(wBytes), wp)
	for _, p := range ap {
		ADDQ(U32(292), p)
	}
	DECQ(nb)
	JMP(LabelRef(fn + "_loop"))
	iqEpilogue(fn, acc)
}

// iqEpilogue stores the T horizontal sums of acc at out, stride os floats
// (ordered form: lane 0 of each).
func iqEpilogue(fn string, acc []Register) {
	Label(fn + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := range acc {
		if iqOrdered {
			VMOVSS(acc[t].(Vec).AsX(), Mem{Base: out})
		} else {
			hsumStore(acc[t], Mem{Base: out})
		}
		if t+1 < len(acc) {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// iq2xxs generates the IQ2_XXS kernel (66-byte blocks: d f16 at 0, then
// per sub-block of 32 a u32 of four grid indices and a u32 of four 7-bit
// sign indices and the scale s in bits 28..31). The block's 32 sign bytes
// (7 stored bits plus an even-parity eighth, ggml's ksigns_iq2xs) and eight
// scales 2s+1 are computed as vectors first. The grid bytes (8, 25, 43) are
// unsigned: VPMADDUBSW takes them against the activations with the signs
// applied (a masked VPSUBB from zero, the sign byte as k mask), VPDPWSSD
// multiplies the int16 pairs by 2s+1 into the int32 sums (exact), and the
// block's sum is scaled by d·d_a/8.
func iq2xxs(T int) {
	fn := iqName("IQ2_XXS", T)
	TEXT(fn, NOSPLIT, iqSig)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an IQ2_XXS row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = tensor.GridIQ2_XXS (AVX-512 VNNI).", fn, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	grid := loadGP("grid")
	ap := ptrs(a, as, T)
	signMem := AllocLocal(32) // the block's 32 sign bytes
	scMem := AllocLocal(32)   // the block's eight scales, as int16 pairs
	zero := YMM()
	VPXORD(zero, zero, zero)
	eighth := bcastF32(0.125)
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	for off := 0; off < 66; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
	}
	// The eight sub-blocks' sign masks and scales, as vectors: aux_j is
	// the high dword of quadword j at 2.
	aux := YMM()
	{
		z := ZMM()
		VMOVDQU64(Mem{Base: wp, Disp: 2}, z)
		VPSRLQ(U8(32), z, z)
		VPMOVQD(z, aux)
	}
	auxSignsScales(aux, signMem, scMem)

	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(zero, zero, isum[t])
	}
	for j := 0; j < 8; j++ {
		g := gridQuad(grid, func(l int) GPVirtual {
			i := GP64()
			MOVBQZX(Mem{Base: wp, Disp: 2 + 8*j + l}, i)
			return i
		})
		k := K1
		KMOVD(signMem.Offset(4*j), k)
		s := YMM()
		VPBROADCASTD(scMem.Offset(4*j), s)
		iqSignedMAC(ap, 4+32*j, k, zero, g, s, isum)
	}
	iqBlockScale(wp, eighth, ap, isum, acc)
	iqLoopEnd(fn, wp, 66, ap, nb, acc)
}

// iq1s generates the IQ1_S kernel (50-byte blocks: d f16 at 0, qs [32] at
// 2 (low 8 bits of the group indices), u16 qh [8] at 34 (index bits 8..10
// of group l at bits 3l, scale s at 12..14, delta sign at 15)). grid is
// GridIQ1_S with 1 added to every byte (values 0, 1, 2, unsigned for
// VPMADDUBSW, whose int16 pairs VPDPWSSD multiplies by 2s_j+1); with P_j =
// Σ (g+1)·q and B_j = Σ q over sub-block j (two Q8_K
// bsums) the block's sum is d·d_a/8 · Σ_j (2s_j+1)·(8·P_j + (±1 − 8)·B_j),
// the exact integer 8·sumi + sumi1 of ggml's dot. A sub-block's four
// indices are built by two PDEPs (BMI2) into one register (4.5 -> 4.8
// GB/s against shifts per group); computing the block's 32 as a vector
// (VPERMW, VPSRLVW) into a stack buffer and loading them back measured
// slower (3.3 GB/s, 1 thread).
func iq1s(T int) {
	fn := iqName("IQ1_S", T)
	TEXT(fn, NOSPLIT, iqSig)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an IQ1_S row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = tensor.GridIQ1_S plus 1 per byte (AVX-512 VNNI).", fn, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	grid := loadGP("grid")
	ap := ptrs(a, as, T)
	scMem := AllocLocal(32) // the block's eight scales, as int16 pairs
	eighth := bcastF32(0.125)
	zero := YMM()
	VPXORD(zero, zero, zero)
	ones := YMM()
	g1 := GP32()
	MOVL(U32(0x00010001), g1)
	VPBROADCASTD(g1, ones)
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	PREFETCHT0(Mem{Base: wp, Disp: prefetchDist})
	// Per sub-block lanes: lf_j = (2s_j+1)·(±1 − 8).
	qhv, lf, f := YMM(), YMM(), YMM()
	VPMOVZXWD(Mem{Base: wp, Disp: 34}, qhv)
	VPSRLD(U8(12), qhv, lf)
	VPANDD(iqDw7, lf, lf)
	VPADDD(lf, lf, lf)
	VPADDD(iqDw1, lf, lf)
	{
		w2 := YMM()
		VPSLLD(U8(16), lf, w2)
		VPORD(lf, w2, w2)
		VMOVDQU32(w2, scMem)
	}
	VPSRLD(U8(15), qhv, f)
	VPADDD(f, f, f)
	m7 := YMM()
	VMOVDQU32(iqDwM7, m7)
	VPSUBD(f, m7, f)
	VPMULLD(f, lf, lf)

	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(zero, zero, isum[t])
	}
	for j := 0; j < 8; j++ {
		// The four 11-bit indices in the words of ix: PDEP spreads qh's
		// 3-bit fields to bits 8..10 and the qs bytes to bits 0..7 of
		// each word.
		ix := GP64()
		MOVWQZX(Mem{Base: wp, Disp: 34 + 2*j}, ix)
		g := gridQuad(grid, wordIdx(pdepIdx(ix, iq1sHi, Mem{Base: wp, Disp: 2 + 4*j})))
		s := YMM()
		VPBROADCASTD(scMem.Offset(4*j), s)
		for t := 0; t < T; t++ {
			p := YMM()
			VPMADDUBSW(Mem{Base: ap[t], Disp: 4 + 32*j}, g, p)
			vpdpwssd(s, p, isum[t])
		}
	}
	d := halfBcast(Mem{Base: wp})
	VMULPS(eighth.AsY(), d, d)
	for t := 0; t < T; t++ {
		bs := YMM()
		VPMADDWD(Mem{Base: ap[t], Disp: 260}, ones, bs)
		VPMULLD(lf, bs, bs)
		VPSLLD(U8(3), isum[t], isum[t])
		VPADDD(bs, isum[t], isum[t])
		iqScaleAdd(d, Mem{Base: ap[t]}, isum[t], acc[t])
	}
	iqLoopEnd(fn, wp, 50, ap, nb, acc)
}

// iq1m generates the IQ1_M kernel (56-byte blocks: qs [32] at 0 (low 8
// bits of the group indices), qh [16] at 32 (u16 per sub-block: nibble l =
// index bits 8..10 of group l and its delta sign at bit 3), four u16 scale
// words at 48 (3-bit scales of sub-block j at bits 6(j%2) (groups 0-1) and
// 6(j%2)+3 (groups 2-3) of word j/2; the f16 d in the words' top
// nibbles)). grid has 4096 entries, indexed by the 11-bit index plus the
// delta sign as bit 11: u = 8·(g+1) + 1 + δ per byte (δ = ±1, bit clear =
// +1), values in [0, 18], unsigned for VPMADDUBSW. Per group of 8 with
// scale ls: 8·(ls·Σ g·q) + ls·δ·Σ q = ls·(Σ u·q − 9·Σ q); the Σ q come from
// the Q8_K bsums (16 elements share a scale), so the block's sum is the
// exact integer 8·sumi1 + sumi2 of ggml's dot, times d·d_a/8. The 16
// scales are one vector per block (VPERMW, VPSRLVW; scalar extraction per
// sub-block ran at 2.9 GB/s instead of 5.3), each sub-block's pair picked
// from it by a VPERMW.
func iq1m(T int) {
	fn := iqName("IQ1_M", T)
	TEXT(fn, NOSPLIT, iqSig)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an IQ1_M row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = the 4096-entry table gridIQ1MU (AVX-512 VNNI).", fn, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	grid := loadGP("grid")
	ap := ptrs(a, as, T)
	permS := YMM()
	VMOVDQU16(iq1mPerm, permS)
	eighth := bcastF32(0.125)
	zero := YMM()
	VPXORD(zero, zero, zero)
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	PREFETCHT0(Mem{Base: wp, Disp: prefetchDist})
	PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + 55})
	// ls: the block's 16 scales 2s+1 as int16, word i = 3-bit field
	// 3·(i%4) of scale word i/4 (sub-block i/2, groups 2·(i%2)..).
	ls := YMM()
	{
		y := YMM()
		VPBROADCASTQ(Mem{Base: wp, Disp: 48}, y)
		VPERMW(y, permS, ls)
		VPSRLVW(iq1mShift, ls, ls)
		VPANDD(iqW7, ls, ls)
		VPSLLW(U8(1), ls, ls)
		VPORD(iqW1, ls, ls)
	}
	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(zero, zero, isum[t])
	}
	for j := 0; j < 8; j++ {
		hq := GP64()
		MOVWQZX(Mem{Base: wp, Disp: 32 + 2*j}, hq)
		g := gridQuad(grid, wordIdx(pdepIdx(hq, iq1mHi, Mem{Base: wp, Disp: 4 * j})))
		// ls0 (groups 0-1) in the low 16 bytes, ls1 (groups 2-3) high.
		s := YMM()
		VMOVDQU16(iq1mSel.Offset(32*j), s)
		VPERMW(ls, s, s)
		for t := 0; t < T; t++ {
			p := YMM()
			VPMADDUBSW(Mem{Base: ap[t], Disp: 4 + 32*j}, g, p)
			vpdpwssd(s, p, isum[t])
		}
	}
	// d: the top nibbles of the four scale words.
	sc, dh, tmp := GP64(), GP64(), GP64()
	MOVQ(Mem{Base: wp, Disp: 48}, sc)
	MOVQ(sc, dh)
	SHRQ(U8(12), dh)
	ANDL(U32(0xf), dh.As32())
	for k, sh := range []int{24, 36, 48} {
		MOVQ(sc, tmp)
		SHRQ(U8(sh), tmp)
		ANDL(U32(0xf0<<(4*k)), tmp.As32())
		ORL(tmp.As32(), dh.As32())
	}
	d := YMM()
	VPBROADCASTW(dh.As32(), d)
	VCVTPH2PS(d.AsX(), d)
	VMULPS(eighth.AsY(), d, d)
	for t := 0; t < T; t++ {
		// − 9·Σ_i ls_i·bsum_i
		bs, b8 := YMM(), YMM()
		VPMADDWD(Mem{Base: ap[t], Disp: 260}, ls, bs)
		VPSLLD(U8(3), bs, b8)
		VPADDD(b8, bs, bs)
		VPSUBD(bs, isum[t], isum[t])
		iqScaleAdd(d, Mem{Base: ap[t]}, isum[t], acc[t])
	}
	iqLoopEnd(fn, wp, 56, ap, nb, acc)
}

// iq2xs generates the IQ2_XS kernel (74-byte blocks: d f16 at 0, u16 qs
// [32] at 2 (9-bit grid index, 7-bit sign index per group of 8), scales
// [8] at 66 (low nibble: groups 0-1 of the sub-block, high: groups 2-3)).
// As iq2xxs: the block's sign bytes as a vector (VPMOVWB of qs>>9, plus the
// parity bit), grid bytes unsigned for VPMADDUBSW against the signed
// activations, VPDPWSSD by the two scales 2s+1 of each sub-block; d·d_a/8.
func iq2xs(T int) {
	fn := iqName("IQ2_XS", T)
	TEXT(fn, NOSPLIT, iqSig)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an IQ2_XS row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = tensor.GridIQ2_XS (AVX-512 VNNI).", fn, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	grid := loadGP("grid")
	ap := ptrs(a, as, T)
	signMem := AllocLocal(32) // the block's 32 sign bytes
	zero := YMM()
	VPXORD(zero, zero, zero)
	eighth := bcastF32(0.125)
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	for off := 0; off < 74; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
	}
	{
		z, v := ZMM(), YMM()
		VMOVDQU64(Mem{Base: wp, Disp: 2}, z)
		VPSRLW(U8(9), z, z)
		VPMOVWB(z, v)
		addParity(v)
		VMOVDQU32(v, signMem)
	}
	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(zero, zero, isum[t])
	}
	for j := 0; j < 8; j++ {
		g := gridQuad(grid, func(l int) GPVirtual {
			i := GP64()
			MOVWQZX(Mem{Base: wp, Disp: 2 + 8*j + 2*l}, i)
			ANDL(U32(511), i.As32())
			return i
		})
		k := K1
		KMOVD(signMem.Offset(4*j), k)
		s := scalePairs(Mem{Base: wp, Disp: 66 + j})
		iqSignedMAC(ap, 4+32*j, k, zero, g, s, isum)
	}
	iqBlockScale(wp, eighth, ap, isum, acc)
	iqLoopEnd(fn, wp, 74, ap, nb, acc)
}

// iq2s generates the IQ2_S kernel (82-byte blocks: d f16 at 0, qs [32] at
// 2 (low 8 bits of the group indices), signs [32] at 34 (a sign byte per
// group, the k mask as stored), qh [8] at 66 (index bits 8..9 of group l
// at bits 2l), scales [8] at 74 (as IQ2_XS)); otherwise as iq2xs.
func iq2s(T int) {
	fn := iqName("IQ2_S", T)
	TEXT(fn, NOSPLIT, iqSig)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an IQ2_S row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = tensor.GridIQ2_S (AVX-512 VNNI).", fn, T))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	grid := loadGP("grid")
	ap := ptrs(a, as, T)
	zero := YMM()
	VPXORD(zero, zero, zero)
	eighth := bcastF32(0.125)
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highY[t]
		VPXORD(acc[t], acc[t], acc[t])
	}

	Label(fn + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(fn + "_done"))
	for off := 0; off < 82; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
	}
	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(zero, zero, isum[t])
	}
	for j := 0; j < 8; j++ {
		hq := GP64()
		MOVBQZX(Mem{Base: wp, Disp: 66 + j}, hq)
		g := gridQuad(grid, wordIdx(pdepIdx(hq, iq2sHi, Mem{Base: wp, Disp: 2 + 4*j})))
		k := K1
		KMOVD(Mem{Base: wp, Disp: 34 + 4*j}, k)
		s := scalePairs(Mem{Base: wp, Disp: 74 + j})
		iqSignedMAC(ap, 4+32*j, k, zero, g, s, isum)
	}
	iqBlockScale(wp, eighth, ap, isum, acc)
	iqLoopEnd(fn, wp, 82, ap, nb, acc)
}

// gridOct loads the eight 4-byte codebook entries grid[idx(l)], l = 0..7,
// into the dwords of a ymm.
func gridOct(grid GPVirtual, idx func(l int) GPVirtual) VecVirtual {
	g, x := YMM(), XMM()
	for h, v := range []Op{g.AsX(), x} {
		VMOVD(Mem{Base: grid, Index: idx(4 * h), Scale: 4}, v)
		for l := 1; l < 4; l++ {
			VPINSRD(U8(l), Mem{Base: grid, Index: idx(4*h + l), Scale: 4}, v, v)
		}
	}
	VINSERTI32X4(U8(1), x, g, g)
	return g
}

// iq3 generates the IQ3_XXS kernel (98-byte blocks: d f16 at 0, qs [64] at
// 2 (an 8-bit index per 4 elements), u32 aux per sub-block at 66 as
// IQ2_XXS's; result ×1/4) or, s3, the IQ3_S kernel (110-byte blocks: d f16
// at 0, qs [64] at 2 (low 8 index bits), qh [8] at 66 (bit m of qh[j] is
// index bit 8 of quad m of sub-block j), signs [32] at 74 (a sign byte per
// group), scales [4] at 106 (a nibble per sub-block)). The grid values are
// unsigned; VPMADDUBSW against the signed activations, VPDPWSSD by 2s+1.
func iq3(s3 bool, T int) {
	name, bytes := "IQ3_XXS", 98
	if s3 {
		name, bytes = "IQ3_S", 110
	}
	fn := iqName(name, T)
	TEXT(fn, NOSPLIT, iqSig32)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an %s row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = tensor.Grid%s (AVX-512 VNNI).", fn, name, T, name))
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	grid := loadGP("grid")
	ap := ptrs(a, as, T)
	signMem := AllocLocal(32)
	scMem := AllocLocal(32)
	zero := YMM()
	VPXORD(zero, zero, zero)
	var fd VecVirtual
	if !s3 {
		fd = bcastF32(0.25)
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
	if !s3 {
		aux := YMM()
		VMOVDQU32(Mem{Base: wp, Disp: 66}, aux)
		auxSignsScales(aux, signMem, scMem)
	}
	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
		VPXORD(zero, zero, isum[t])
	}
	for j := 0; j < 8; j++ {
		idx := func(l int) GPVirtual {
			i := GP64()
			MOVBQZX(Mem{Base: wp, Disp: 2 + 8*j + l}, i)
			return i
		}
		if s3 {
			// Index bit 8 of quad l is bit l of qh[j]: two PDEPs of four.
			lo, hi := GP64(), GP64()
			MOVBQZX(Mem{Base: wp, Disp: 66 + j}, lo)
			MOVQ(lo, hi)
			SHRQ(U8(4), hi)
			ia := wordIdx(pdepIdx(lo, iq3sHi, Mem{Base: wp, Disp: 2 + 8*j}))
			ib := wordIdx(pdepIdx(hi, iq3sHi, Mem{Base: wp, Disp: 6 + 8*j}))
			idx = func(l int) GPVirtual {
				if l < 4 {
					return ia(l)
				}
				return ib(l - 4)
			}
		}
		g := gridOct(grid, idx)
		k := K1
		s := YMM()
		if s3 {
			KMOVD(Mem{Base: wp, Disp: 74 + 4*j}, k)
			sw := GP32()
			MOVBLZX(Mem{Base: wp, Disp: 106 + j/2}, sw)
			if j%2 == 1 {
				SHRL(U8(4), sw)
			}
			ANDL(U32(15), sw)
			LEAL(Mem{Base: sw, Index: sw, Scale: 1, Disp: 1}, sw)
			VPBROADCASTW(sw, s)
		} else {
			KMOVD(signMem.Offset(4*j), k)
			VPBROADCASTD(scMem.Offset(4*j), s)
		}
		iqSignedMAC(ap, 4+32*j, k, zero, g, s, isum)
	}
	d := halfBcast(Mem{Base: wp})
	if !s3 {
		VMULPS(fd.AsY(), d, d)
	}
	for t := 0; t < T; t++ {
		iqScaleAdd(d, Mem{Base: ap[t]}, isum[t], acc[t])
	}
	ADDQ(U32(bytes), wp)
	for t := 0; t < T; t++ {
		ADDQ(U32(292), ap[t])
	}
	DECQ(nb)
	JMP(LabelRef(fn + "_loop"))
	iqEpilogue(fn, acc)
}
