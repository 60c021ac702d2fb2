package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 codebook kernels of IQ1_S, IQ1_M, IQ3_XXS and IQ3_S (the
// "avx2iq13" set, for CPUs without AVX-512 VNNI): one weight row against
// T ≤ 4 Q8_K rows (292-byte blocks: d float32 at 0, qs [256]int8 at 4,
// bsums [16]int16 at 260), adding in the i-quant order of the kernel
// package's packiq_generic.go (dotIQOrdered), so that they give the bits of
// the AVX-512 tiles (tileOrd…, _asm/iq.go). VEX encodings only (AVX2, FMA,
// F16C), ymm0–15.
//
// Per 256-element block a kernel computes, as vectors, what the block needs
// per sub-block of 32: the codebook indices as words (moved to general
// registers four at a time by VMOVQ/VPEXTRQ; IQ3_XXS's are the stored
// bytes), the scales 2s+1 (IQ1: words of a register, spread per sub-block
// by VPSHUFB; IQ3: int16 pairs on the stack) and, for IQ3_XXS, the 32
// sign bytes (7 stored bits and their parity). Per sub-block it then loads
// the four (IQ1, 8-byte entries) or eight (IQ3, 4-byte entries) codebook
// entries into a ymm by broadcasts from memory blended together (AVX2's
// gathers are slow on AMD and, since the 2023 microcode, on Intel),
// expands the 32 sign bits to ±1 bytes (VPSHUFB, VPAND, VPCMPEQB) and, per
// token, multiplies the unsigned codebook bytes with the activations (IQ3:
// with the weights' signs moved onto them by VPSIGNB, |v| ≤ 62 so a pair
// sum stays below 2¹⁵; the Q8_K quantizer writes quants in [−127, 127],
// and a −128 would stay −128, as under the AVX-512 tiles' masked VPSUBB)
// by VPMADDUBSW, then the int16 pair sums with the
// broadcast scale pair by VPMADDWD into int32 lanes. IQ1's codebook bytes
// are g+1 (IQ1_S) or 8(g+1)+1+δ (IQ1_M), non-negative; the offset times Σq
// comes from the Q8_K bsums by one VPMADDWD per token. The lanes add to the
// block's exact integer isum, and acc = fma(float32(isum), (d·c)·d_a, acc)
// per token, blocks in order, as the reference.

// i13Const is the constants' RODATA.
var i13Const Mem

// Offsets in i13Const.
const (
	i13Bits    = 0   // bytes 1, 2, 4, …, 128, four times: a sign bit per byte
	i13SignSh  = 32  // VPSHUFB control: byte i ← byte i/8 of the lane
	i13One     = 64  // 0x01 bytes
	i13S1Ctl   = 96  // 2 controls: IQ1_S word k ← qh word k/4 (+4 for the second)
	i13S1Mul   = 160 // words 512, 64, 8, 1: qh's field k%4 to bits 9..11
	i13W0e00   = 192 // words 0x0e00
	i13W000e   = 224 // words 0x000e
	i13W0001   = 256 // words 1
	i13W0007   = 288 // words 7
	i13Nib     = 320 // 0x0f bytes
	i13MLCtl   = 352 // IQ1_M: word m of each lane ← scale word m/2
	i13MLMul   = 384 // IQ1_M: scale 2m (lane 0) or 2m+1 (lane 1) to bits 13..15
	i13MNCtl   = 416 // IQ1_M: word i ← scale word i/4
	i13MNMul   = 448 // IQ1_M: field 3(i%4) to bits 13..15
	i13WM9     = 480 // words −9
	i13MRep    = 512 // 8 controls: every word ← word j of the lane
	i13Par     = 768 // VPSHUFB table: 0x80 where a nibble has odd parity
	i13B7f     = 800 // dwords 0x7f, 0x7f00, 0x7f0000, 0x7f000000 (4 × 32)
	i13S3Ctl   = 928 // IQ3_S: word m of lane h ← byte h
	i13S3Mul   = 960 // IQ3_S: words 2^(8−m), m = word%8
	i13W0100   = 992
	i13D0001   = 1024 // dwords 1
	i13S3Sh    = 1056 // dwords 28, 24, …, 0
	i13Eighth  = 1088 // float32 1/8
	i13Quarter = 1092 // float32 1/4
	i13Size    = 1096
)

func genAVX2IQ13() {
	var c [i13Size]byte
	put16 := func(off, i int, v uint16) { c[off+2*i], c[off+2*i+1] = byte(v), byte(v>>8) }
	put32 := func(off, i int, v uint32) {
		for b := 0; b < 4; b++ {
			c[off+4*i+b] = byte(v >> (8 * b))
		}
	}
	const z = 0x80 // VPSHUFB: a zero byte
	for i := 0; i < 32; i++ {
		c[i13Bits+i] = 1 << (i % 8)
		c[i13SignSh+i] = byte(i / 8)
		c[i13One+i] = 1
		c[i13Nib+i] = 0x0f
		w, b := i/2, i%2 // word in the ymm, byte in the word
		for h := 0; h < 2; h++ {
			c[i13S1Ctl+32*h+i] = byte(2*(4*h+w/4) + b)
		}
		m := w % 8 // word in the lane
		c[i13MLCtl+i] = byte(2*(m/2) + b)
		c[i13MNCtl+i] = byte(2*(w/4) + b)
		for j := 0; j < 8; j++ {
			c[i13MRep+32*j+i] = byte(2*j + b)
		}
		c[i13S3Ctl+i] = []byte{byte(i / 16), z}[b]
	}
	for w := 0; w < 16; w++ {
		put16(i13S1Mul, w, []uint16{512, 64, 8, 1}[w%4])
		put16(i13W0e00, w, 0x0e00)
		put16(i13W000e, w, 0x000e)
		put16(i13W0001, w, 1)
		put16(i13W0007, w, 7)
		put16(i13WM9, w, uint16(0x10000-9))
		put16(i13W0100, w, 0x0100)
		m := w % 8
		if w < 8 {
			put16(i13MLMul, w, 1<<(13-6*(m%2)))
		} else {
			put16(i13MLMul, w, 1<<(10-6*(m%2)))
		}
		put16(i13MNMul, w, 1<<(13-3*(w%4)))
		put16(i13S3Mul, w, 1<<(8-m))
	}
	for n := 0; n < 32; n++ {
		p := 0
		for b := n & 15; b != 0; b >>= 1 {
			p ^= b & 1
		}
		c[i13Par+n] = byte(0x80 * p)
	}
	for l := 0; l < 4; l++ {
		for i := 0; i < 8; i++ {
			put32(i13B7f+32*l, i, 0x7f<<(8*l))
		}
	}
	for i := 0; i < 8; i++ {
		put32(i13D0001, i, 1)
		put32(i13S3Sh, i, uint32(28-4*i))
	}
	put32(i13Eighth, 0, 0x3e000000)
	put32(i13Quarter, 0, 0x3e800000)
	i13Const = GLOBL("i13const", RODATA|NOPTR)
	for i, v := range c {
		DATA(i, U8(v))
	}
	for T := 1; T <= 4; T++ {
		i13IQ1(false, T)
	}
	for T := 1; T <= 4; T++ {
		i13IQ1(true, T)
	}
	for T := 1; T <= 4; T++ {
		i13IQ3(false, T)
	}
	for T := 1; T <= 4; T++ {
		i13IQ3(true, T)
	}
}

// i13C returns the constant at offset off of i13Const.
func i13C(off int) Mem { return i13Const.Offset(off) }

// i13Frame is what every kernel of the set keeps: its arguments, the
// token pointers and the float32 accumulators (lane 0 of acc[t]).
type i13Frame struct {
	name      string
	wp, nb    GPVirtual
	grid      GPVirtual
	ap        []GPVirtual
	acc       []VecPhysical
	wBytes    int
	prefetchN int
}

// i13Begin emits a kernel's prologue (then pre, if set) and the head of its
// block loop.
func i13Begin(typ string, T, wBytes int, sig, gridDoc string, pre func()) *i13Frame {
	f := &i13Frame{name: fmt.Sprintf("tile%sAVX2_1x%d", typ, T), wBytes: wBytes}
	TEXT(f.name, NOSPLIT, sig)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an %s row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = %s, in the i-quant order (AVX2, FMA, F16C).", f.name, typ, T, gridDoc))
	f.wp = loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	f.nb = loadGP("nb")
	f.grid = loadGP("grid")
	f.ap = ptrs(a, as, T)
	for t := 0; t < T; t++ {
		x := i13AccX[t]
		VXORPS(x, x, x)
		f.acc = append(f.acc, x)
	}
	if pre != nil {
		pre()
	}
	Label(f.name + "_loop")
	TESTQ(f.nb, f.nb)
	JZ(LabelRef(f.name + "_done"))
	for off := 0; off < wBytes; off += 64 {
		PREFETCHT0(Mem{Base: f.wp, Disp: prefetchDist + off})
	}
	return f
}

// end adds every token's block sum isum[t] (int32 lanes) times d (the
// block's d·c, lane 0) times the Q8_K scale to its accumulator, closes the
// block loop and stores the sums.
func (f *i13Frame) end(d VecVirtual, isum []VecPhysical) {
	for t, p := range f.ap {
		e := i13Reduce(isum[t])
		dy := XMM()
		VMULSS(Mem{Base: p}, d, dy)
		VFMADD231SS(dy, e, f.acc[t])
	}
	ADDQ(U32(uint32(f.wBytes)), f.wp)
	for _, p := range f.ap {
		ADDQ(U32(292), p)
	}
	DECQ(f.nb)
	JMP(LabelRef(f.name + "_loop"))

	Label(f.name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := range f.acc {
		VMOVSS(f.acc[t], Mem{Base: out})
		if t+1 < len(f.acc) {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// i13AccX and i13SumY are the registers of the float32 accumulators and of
// the blocks' int32 sums, per token: fixed, as avo's allocator otherwise
// reached past ymm15 at 4 tokens.
var (
	i13AccX = []VecPhysical{X15, X14, X13, X12}
	i13SumY = []VecPhysical{Y11, Y10, Y9, Y8}
)

// i13MAC adds, per token t, the int16 pair sums x (VPMADDUBSW's, consumed)
// times the scale pairs s to isum[t] (j == 0: sets it).
func i13MAC(j int, s, x VecVirtual, isum VecPhysical) {
	if j == 0 {
		VPMADDWD(s, x, isum)
		return
	}
	VPMADDWD(s, x, x)
	VPADDD(x, isum, isum)
}

// i13Reduce returns the sum of the eight int32 lanes of x as a float32 in
// lane 0 (exact in int32; rounded once by the conversion).
func i13Reduce(x VecPhysical) VecVirtual {
	e, g := XMM(), XMM()
	VEXTRACTI128(U8(1), x, e)
	VPADDD(x.AsX(), e, e)
	VPSHUFD(U8(0x4e), e, g)
	VPADDD(g, e, e)
	VPSHUFD(U8(0xb1), e, g)
	VPADDD(g, e, e)
	VCVTDQ2PS(e, e)
	return e
}

// i13Half returns the f16 at m as a float32 in lane 0, times the float32
// constant at c unless c is the zero Mem.
func i13Half(m Mem, c *Mem) VecVirtual {
	g := GP32()
	MOVWLZX(m, g)
	return i13HalfGP(g, c)
}

// i13HalfGP is i13Half for an f16 in the low 16 bits of g.
func i13HalfGP(g Register, c *Mem) VecVirtual {
	x := XMM()
	VMOVD(g, x)
	VCVTPH2PS(x, x)
	if c != nil {
		VMULSS(*c, x, x)
	}
	return x
}

// i13Gather64 returns a ymm holding the four 8-byte codebook entries
// grid[i_l], l = 0..3, for the word indices i_l in ix (consumed).
func i13Gather64(grid, ix GPVirtual) VecVirtual {
	g := YMM()
	idx := wordIdx(ix)
	for l := 0; l < 4; l++ {
		e := Mem{Base: grid, Index: idx(l), Scale: 8}
		if l == 0 {
			// A broadcast, not a VMOVQ to the xmm half: avo would take g
			// as live before a partial write, and run out of registers.
			VPBROADCASTQ(e, g)
			continue
		}
		b := YMM()
		VPBROADCASTQ(e, b)
		VPBLENDD(U8(3<<(2*l)), b, g, g)
	}
	return g
}

// i13Lanes hands out the quadwords of y (a ymm, or an xmm for q < 2) in
// general registers, in order.
type i13Lanes struct {
	y, hx VecVirtual // hx: y's high 128 bits, once extracted
}

// q returns quadword q of y.
func (l *i13Lanes) q(q int) GPVirtual {
	r := GP64()
	src := l.y.AsX()
	if q >= 2 {
		if l.hx == nil {
			l.hx = XMM()
			VEXTRACTI128(U8(1), l.y, l.hx)
		}
		src = l.hx
	}
	if q%2 == 0 {
		VMOVQ(src, r)
	} else {
		VPEXTRQ(U8(1), src, r)
	}
	return r
}

// i13Gather32 returns a ymm holding the eight 4-byte codebook entries
// grid[idx(l)], l = 0..7.
func i13Gather32(grid GPVirtual, idx func(l int) GPVirtual) VecVirtual {
	g := YMM()
	for l := 0; l < 8; l++ {
		e := Mem{Base: grid, Index: idx(l), Scale: 4}
		if l == 0 {
			VPBROADCASTD(e, g)
			continue
		}
		b := YMM()
		VPBROADCASTD(e, b)
		VPBLENDD(U8(1<<l), b, g, g)
	}
	return g
}

// i13Signs returns the 32 sign bits of the dword at m as bytes: −1 where a
// bit is set (byte i: bit i%8 of byte i/8), else +1, for VPSIGNB.
// The constants come from sc (i13SignConsts) where set, else from memory.
func i13Signs(m Mem, sc *i13SignConsts) VecVirtual {
	s := YMM()
	VPBROADCASTD(m, s)
	if sc != nil {
		VPSHUFB(sc.sh, s, s)
		VPAND(sc.bits, s, s)
		VPCMPEQB(sc.bits, s, s)
		VPOR(sc.one, s, s)
		return s
	}
	VPSHUFB(i13C(i13SignSh), s, s)
	VPAND(i13C(i13Bits), s, s)
	VPCMPEQB(i13C(i13Bits), s, s)
	VPOR(i13C(i13One), s, s)
	return s
}

// i13SignConsts holds i13Signs' constants in registers.
type i13SignConsts struct{ sh, bits, one VecVirtual }

// i13LoadSignConsts loads i13Signs' constants into registers, outside the
// block loop: as memory operands they were a sixth of the IQ3 kernels'
// loads, and in registers one token ran 12–17% faster (1536², hot).
func i13LoadSignConsts() *i13SignConsts {
	c := &i13SignConsts{YMM(), YMM(), YMM()}
	VMOVDQU(i13C(i13SignSh), c.sh)
	VMOVDQU(i13C(i13Bits), c.bits)
	VMOVDQU(i13C(i13One), c.one)
	return c
}

// i13Pairs stores the dwords of x (values < 2¹⁵) at m with each value in
// both words: the int16 scale pairs VPMADDWD takes.
func i13Pairs(x VecVirtual, m Mem) {
	y := YMM()
	VPSLLD(U8(16), x, y)
	VPOR(y, x, x)
	VMOVDQU(x, m)
}

// i13IQ1 generates tileIQ1_SAVX2_1xT or, m, tileIQ1_MAVX2_1xT.
//
// IQ1_S (50-byte blocks: d f16 at 0, qs [32] at 2, u16 qh [8] at 34: index
// bits 8..10 of group l at bits 3l, scale s at 12..14, delta sign at 15);
// grid = GridIQ1_S plus 1 per byte (u = g+1 in {0, 1, 2}). With P_j = Σ u·q
// and B_j = Σ q over sub-block j (two bsums), the block's isum is
// Σ_j (2s_j+1)·(8·P_j − (7 + 2·b_j)·B_j), b_j the delta sign bit.
//
// IQ1_M (56-byte blocks: qs [32] at 0, qh [16] at 32: nibble k%2 of byte
// k/2 holds index bits 8..10 and the delta sign of group k, four u16
// scale words at 48 with 3-bit scales and d's nibbles); grid = the
// 4096-entry gridIQ1MU (index plus the delta sign as bit 11: u = 8(g+1) +
// 1 + δ). Per group of 16 with scale ls: ls·(Σ u·q − 9·Σ q).
func i13IQ1(m bool, T int) {
	typ, wBytes, gridDoc := "IQ1_S", 50, "tensor.GridIQ1_S plus 1 per byte"
	if m {
		typ, wBytes, gridDoc = "IQ1_M", 56, "the 4096-entry table gridIQ1MU"
	}
	f := i13Begin(typ, T, wBytes, iqSig, gridDoc, nil)
	wp := f.wp
	// ls: per sub-block j, word j of each lane holds the scale of its
	// first 16 values (lane 0) and of its last 16 (lane 1); a VPSHUFB
	// spreads them over the lanes (IQ1_S: the same scale twice). Broadcast
	// from a stack buffer instead measured 5% slower (IQ1_S, one token).
	ls := YMM()
	if !m {
		VBROADCASTI128(Mem{Base: wp, Disp: 34}, ls)
		VPSRLW(U8(11), ls, ls)
		VPAND(i13C(i13W000e), ls, ls)
		VPOR(i13C(i13W0001), ls, ls)
	} else {
		VPBROADCASTQ(Mem{Base: wp, Disp: 48}, ls)
		VPSHUFB(i13C(i13MLCtl), ls, ls)
		VPMULLW(i13C(i13MLMul), ls, ls)
		VPSRLW(U8(13), ls, ls)
		VPADDW(ls, ls, ls)
		VPOR(i13C(i13W0001), ls, ls)
	}
	// The codebook indices, four words per sub-block, are computed for
	// four sub-blocks (IQ1_S: a ymm) or two (IQ1_M: an xmm) at a time and
	// moved to a general register per sub-block: a round trip through the
	// stack (vector store, word loads) measured 25% slower.
	var lanes *i13Lanes
	var nib VecVirtual
	idxQ := func(j int) GPVirtual {
		if !m {
			if j%4 == 0 {
				h := j / 4
				qh, x, q := YMM(), YMM(), YMM()
				VBROADCASTI128(Mem{Base: wp, Disp: 34}, qh)
				VPSHUFB(i13C(i13S1Ctl+32*h), qh, x)
				VPMULLW(i13C(i13S1Mul), x, x)
				VPAND(i13C(i13W0e00), x, x)
				VPSRLW(U8(1), x, x)
				VPMOVZXBW(Mem{Base: wp, Disp: 2 + 16*h}, q)
				VPOR(q, x, x)
				lanes = &i13Lanes{y: x}
			}
			return lanes.q(j % 4)
		}
		if j%4 == 0 {
			// Sub-blocks j..j+3: the 16 nibbles of qh bytes 32+j/2.., low
			// nibble first.
			qh, hi := XMM(), XMM()
			VMOVQ(Mem{Base: wp, Disp: 32 + 2*j}, qh)
			VPSRLW(U8(4), qh, hi)
			VPAND(i13C(i13Nib), hi, hi)
			VPAND(i13C(i13Nib), qh, qh)
			nib = XMM()
			VPUNPCKLBW(hi, qh, nib)
		}
		if j%2 == 0 {
			q, x := XMM(), XMM()
			VMOVDQU(Mem{Base: wp, Disp: 16 * (j / 4)}, q)
			if j%4 == 0 {
				VPUNPCKLBW(nib, q, x)
			} else {
				VPUNPCKHBW(nib, q, x)
			}
			lanes = &i13Lanes{y: x}
		}
		return lanes.q(j % 2)
	}
	isum := i13SumY[:T]
	for j := 0; j < 8; j++ {
		g := i13Gather64(f.grid, idxQ(j))
		s := YMM()
		VPSHUFB(i13C(i13MRep+32*j), ls, s)
		for t, p := range f.ap {
			x := YMM()
			VPMADDUBSW(Mem{Base: p, Disp: 4 + 32*j}, g, x)
			i13MAC(j, s, x, isum[t])
		}
	}
	// The offsets: IQ1_S −(2s+1)(7+2b) per bsum pair of a sub-block, IQ1_M
	// −9·ls per bsum.
	bf := YMM()
	var d VecVirtual
	if !m {
		b := YMM()
		VPMOVZXWD(Mem{Base: wp, Disp: 34}, bf)
		VPSLLD(U8(16), bf, b)
		VPOR(b, bf, bf)
		VPSRLW(U8(11), bf, b)
		VPAND(i13C(i13W000e), b, b)
		VPOR(i13C(i13W0001), b, b) // 2s+1
		VPSRLW(U8(15), bf, bf)
		VPADDW(bf, bf, bf)
		VPADDW(i13C(i13W0007), bf, bf) // 7+2b
		VPMULLW(b, bf, bf)
		for t, p := range f.ap {
			x := YMM()
			VPSLLD(U8(3), isum[t], isum[t])
			VPMADDWD(Mem{Base: p, Disp: 260}, bf, x)
			VPSUBD(x, isum[t], isum[t])
		}
		eighth := i13C(i13Eighth)
		d = i13Half(Mem{Base: wp}, &eighth)
	} else {
		VPBROADCASTQ(Mem{Base: wp, Disp: 48}, bf)
		VPSHUFB(i13C(i13MNCtl), bf, bf)
		VPMULLW(i13C(i13MNMul), bf, bf)
		VPSRLW(U8(13), bf, bf)
		VPADDW(bf, bf, bf)
		VPOR(i13C(i13W0001), bf, bf)
		VPMULLW(i13C(i13WM9), bf, bf)
		for t, p := range f.ap {
			x := YMM()
			VPMADDWD(Mem{Base: p, Disp: 260}, bf, x)
			VPADDD(x, isum[t], isum[t])
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
		eighth := i13C(i13Eighth)
		d = i13HalfGP(dh.As32(), &eighth)
	}
	f.end(d, isum)
}

// i13IQ3 generates tileIQ3_XXSAVX2_1xT (98-byte blocks: d f16 at 0, qs
// [64] at 2 (an 8-bit index per 4 values), per sub-block a u32 at 66 of
// four 7-bit sign indices and the scale s at bits 28..31; d·1/4) or, s3,
// tileIQ3_SAVX2_1xT (110-byte blocks: d f16 at 0, qs [64] at 2 (low 8
// index bits), qh [8] at 66 (bit m of qh[j]: index bit 8 of quad m of
// sub-block j), signs [32] at 74 (a byte per group), scales [4] at 106 (a
// nibble per sub-block)).
func i13IQ3(s3 bool, T int) {
	typ, wBytes := "IQ3_XXS", 98
	if s3 {
		typ, wBytes = "IQ3_S", 110
	}
	var signC *i13SignConsts
	f := i13Begin(typ, T, wBytes, iqSig32, "tensor.Grid"+typ, func() { signC = i13LoadSignConsts() })
	wp := f.wp
	scMem := AllocLocal(32) // the eight scales 2s+1 as int16 pairs
	var signMem Mem
	if s3 {
		sc := YMM()
		VPBROADCASTD(Mem{Base: wp, Disp: 106}, sc)
		VPSLLVD(i13C(i13S3Sh), sc, sc) // nibble j to bits 28..31
		VPSRLD(U8(28), sc, sc)
		VPADDD(sc, sc, sc)
		VPOR(i13C(i13D0001), sc, sc)
		i13Pairs(sc, scMem)
	} else {
		signMem = AllocLocal(32) // the 32 sign bytes
		aux, v := YMM(), YMM()
		VMOVDQU(Mem{Base: wp, Disp: 66}, aux)
		VPAND(i13C(i13B7f), aux, v)
		for l := 1; l < 4; l++ {
			x := YMM()
			VPSLLD(U8(l), aux, x)
			VPAND(i13C(i13B7f+32*l), x, x)
			VPOR(x, v, v)
		}
		// Bit 7 of each byte: the parity of its 7 bits.
		lo, hi := YMM(), YMM()
		VPAND(i13C(i13Nib), v, lo)
		VPSRLW(U8(4), v, hi)
		VPAND(i13C(i13Nib), hi, hi)
		par := YMM()
		VMOVDQU(i13C(i13Par), par)
		VPSHUFB(lo, par, lo)
		VPSHUFB(hi, par, hi)
		VPXOR(hi, lo, lo)
		VPOR(lo, v, v)
		VMOVDQU(v, signMem)
		VPSRLD(U8(28), aux, aux)
		VPADDD(aux, aux, aux)
		VPOR(i13C(i13D0001), aux, aux)
		i13Pairs(aux, scMem)
	}
	isum := i13SumY[:T]
	var lanes *i13Lanes
	for j := 0; j < 8; j++ {
		var g VecVirtual
		if s3 {
			// The 16 indices of sub-blocks j, j+1 as words of a ymm, moved
			// to general registers four at a time.
			if j%2 == 0 {
				y := j / 2
				x, q := YMM(), YMM()
				VPBROADCASTW(Mem{Base: wp, Disp: 66 + 2*y}, x)
				VPSHUFB(i13C(i13S3Ctl), x, x)
				VPMULLW(i13C(i13S3Mul), x, x)
				VPAND(i13C(i13W0100), x, x)
				VPMOVZXBW(Mem{Base: wp, Disp: 2 + 16*y}, q)
				VPOR(q, x, x)
				lanes = &i13Lanes{y: x}
			}
			lo := wordIdx(lanes.q(2 * (j % 2)))
			var hi func(int) GPVirtual
			g = i13Gather32(f.grid, func(l int) GPVirtual {
				if l < 4 {
					return lo(l)
				}
				if hi == nil {
					hi = wordIdx(lanes.q(2*(j%2) + 1))
				}
				return hi(l - 4)
			})
		} else {
			g = i13Gather32(f.grid, func(l int) GPVirtual {
				i := GP64()
				MOVBQZX(Mem{Base: wp, Disp: 2 + 8*j + l}, i)
				return i
			})
		}
		var sg VecVirtual
		if s3 {
			sg = i13Signs(Mem{Base: wp, Disp: 74 + 4*j}, signC)
		} else {
			sg = i13Signs(signMem.Offset(4*j), signC)
		}
		s := YMM()
		VPBROADCASTD(scMem.Offset(4*j), s)
		for t, p := range f.ap {
			x := YMM()
			VMOVDQU(Mem{Base: p, Disp: 4 + 32*j}, x)
			VPSIGNB(sg, x, x)
			VPMADDUBSW(x, g, x)
			i13MAC(j, s, x, isum[t])
		}
	}
	var d VecVirtual
	if s3 {
		d = i13Half(Mem{Base: wp}, nil)
	} else {
		quarter := i13C(i13Quarter)
		d = i13Half(Mem{Base: wp}, &quarter)
	}
	f.end(d, isum)
}
