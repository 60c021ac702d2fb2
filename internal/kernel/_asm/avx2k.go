package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 interleaved K-quant kernels (the "avx2k" set: Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K and IQ4_XS on CPUs without AVX-512 VNNI) read the interleaved K layouts of the
// kernel package's interleavek.go and add in the K-quant order
// (packedk_generic.go), so that they give the VNNI interleaved tiles'
// bits. VEX encodings only (AVX2, FMA, F16C), 16 ymm registers.
//
// A 64-byte interleaved vector holds one dword of 16 rows: its low 32
// bytes are rows 0..7, its high 32 bytes rows 8..15. Per block, the kernel
// takes the two row halves in turn, each against every token of the tile:
// it unpacks the half's scales into a stack buffer as int16 pairs (a
// dword holds the scale twice, or two neighbouring scales), unpacks a
// sub-block's eight value vectors (Q6_K: two groups' four each) into
// registers, and per token multiplies them with the broadcast activation
// dwords by VPMADDUBSW (unsigned values × signed quants, int16 pair sums),
// adds a few of those in int16 (no sum can reach 2¹⁵: Q4_K eight, 8·2·15·128
// < 32768; Q5_K four; Q6_K two; Q2_K, Q3_K a group's four), and VPMADDWD
// by the scale pair gives the scaled int32 sub-block or group sum,
// exactly the integer the VNNI kernels form. Q6_K's −32·Σ sc_g·bsum_g
// (Q3_K's −4·Σ, its scales signed) is one VPMADDWD chain of scale pairs
// with the activation's bsum pairs, shifted; so the activations are the
// plain Q8_K blocks for every type (Q3_K needs no chain starts).
// IQ4_XS's values are signed (the IQ4_NL table by VPSHUFB): |v| times the
// quants with v's sign (VPSIGNB), and as two such int16 pair sums can
// overflow, every dword's goes by VPMADDWD into the sum.
// The block then ends with the VNNI kernels' float steps, per row half
// and token, on float32 accumulators kept in the stack frame. The
// single-token tiles of Q2_K (avx2dec.go), Q5_K, Q3_K and IQ4_XS
// (avx2deck.go) are their own.

// a2kMaxT is the most tokens an AVX2 K tile takes; a2kGroupT the tokens
// whose int32 sums stay in registers while a sub-block's values do.
const (
	a2kMaxT   = 8
	a2kGroupT = 4
)

// a2kConst is the constants' RODATA: ymm byte masks and VPSHUFB controls.
var a2kConst Mem

// Offsets in a2kConst.
const (
	a2k0f     = 0   // 0x0f bytes
	a2k3f     = 32  // 0x3f bytes
	a2k30     = 64  // 0x30 bytes
	a2k10     = 96  // 0x10 bytes
	a2kScSh   = 128 // 4 controls: byte j of each dword into words 0, 1 (zero-extended)
	a2kMnSh   = 256 // 2 controls: bytes 2i, 2i+1 of each dword into words 0, 1
	a2k6ScSh  = 320 // 4 controls: byte j of each dword into the high bytes of words 0, 1
	a2k6PrSh  = 448 // 2 controls: bytes 2i, 2i+1 into the high bytes of words 0, 1
	a2kRowBit = 512 // dwords 1<<r for r < 16 (two ymm)
	a2k03     = 576 // 0x03 bytes
	a2k04     = 608 // 0x04 bytes
	a2k20     = 640 // 0x20 bytes
	a2kNL     = 672 // the IQ4_NL values, in both 128-bit lanes
	a2kLow4   = 704 // dwords 0xf
	a2kLow30  = 736 // dwords 0x30
	a2kW20    = 768 // words 0x20
	a2k0c     = 800 // 0x0c bytes
	a2kD20    = 832 // dwords 0x20
)

func genAVX2K() {
	// The assembler wants DATA in address order: build the bytes first.
	var c [864]byte
	for i, v := range []int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113} {
		c[a2kNL+i], c[a2kNL+16+i] = byte(v), byte(v)
	}
	for i := 0; i < 8; i++ {
		c[a2kLow4+4*i], c[a2kLow30+4*i], c[a2kD20+4*i] = 0xf, 0x30, 0x20
	}
	for i := 0; i < 16; i++ {
		c[a2kW20+2*i] = 0x20
	}
	for i := 0; i < 32; i++ {
		c[a2k0f+i], c[a2k3f+i], c[a2k30+i], c[a2k10+i] = 0x0f, 0x3f, 0x30, 0x10
		c[a2k03+i], c[a2k04+i], c[a2k20+i], c[a2k0c+i] = 0x03, 0x04, 0x20, 0x0c
	}
	const z = 0x80 // VPSHUFB: a zero byte
	for i := 0; i < 32; i++ {
		d, b := byte(i%16/4), i%4 // dword in the 128-bit lane, byte in the dword
		for j := byte(0); j < 4; j++ {
			c[a2kScSh+32*int(j)+i] = []byte{4*d + j, z, 4*d + j, z}[b]
			c[a2k6ScSh+32*int(j)+i] = []byte{z, 4*d + j, z, 4*d + j}[b]
		}
		for j := byte(0); j < 2; j++ {
			c[a2kMnSh+32*int(j)+i] = []byte{4*d + 2*j, z, 4*d + 2*j + 1, z}[b]
			c[a2k6PrSh+32*int(j)+i] = []byte{z, 4*d + 2*j, z, 4*d + 2*j + 1}[b]
		}
	}
	for r := 0; r < 16; r++ {
		c[a2kRowBit+4*r+r/8] = 1 << (r % 8)
	}
	a2kConst = GLOBL("a2kconst", RODATA|NOPTR)
	for i, v := range c {
		DATA(i, U8(v))
	}
	for _, kind := range []string{"Q4_K", "Q5_K", "Q6_K", "Q2_K", "Q3_K", "IQ4_XS"} {
		for T := 1; T <= a2kMaxT; T++ {
			if g := a2dTiles1[kind]; T == 1 && g != nil {
				g(fmt.Sprintf("tileA2%s_16x1", kind))
				continue
			}
			a2kTile(kind, T)
		}
	}
}

// a2kC returns the constant at offset off of a2kConst.
func a2kC(off int) Mem { return a2kConst.Offset(off) }

// a2kTile generates tileA2<kind>_16xT.
func a2kTile(kind string, T int) {
	six := kind == "Q6_K"
	k23 := kind == "Q2_K" || kind == "Q3_K"
	mins := kind != "Q6_K" && kind != "Q3_K" && kind != "IQ4_XS" // block minimums, msum
	pairs := kind == "Q6_K" || kind == "Q3_K"                    // blocks in pairs, d apart
	name := fmt.Sprintf("tileA2%s_16x%d", kind, T)
	TEXT(name, 0, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	blockBytes := map[string]int{"Q4_K": 2304, "Q5_K": 2816, "Q6_K": 6720, "Q2_K": 1344, "Q3_K": 3520, "IQ4_XS": 2176}[kind]
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of an interleaved %s group at p against %d tokens of interleaved K activations, nb blocks, in the K-quant order (AVX2, FMA, F16C).", name, T, kind, T),
		fmt.Sprintf("Block b of the group is at p+%db (Q6_K: in pairs), token t's block b at a+b*as+384t.", blockBytes))
	// Frame: the half's scales (Q4_K, Q5_K: 8 scale pairs, 4 min pairs;
	// Q6_K, Q3_K: 16 scale pairs, 8 neighbouring pairs; Q2_K: 16 scale
	// pairs, 8 min pairs), then acc[h][t].
	scBytes := 384
	if six || k23 {
		scBytes = 768
	}
	frame := AllocLocal(scBytes + 2*T*32)
	sc := func(i int) Mem { return frame.Offset(32 * i) }
	acc := func(h, t int) Mem { return frame.Offset(scBytes + 32*(h*T+t)) }
	p := loadGP("p")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	{
		z := YMM()
		VPXOR(z, z, z)
		for h := 0; h < 2; h++ {
			for t := 0; t < T; t++ {
				VMOVDQU(z, acc(h, t))
			}
		}
	}
	// Q6_K's blocks go in pairs: block 2i at 6720i, its d at +3328, block
	// 2i+1 at 6720i+3392 with its d at −32 (Q3_K: 3520i, +1728, +1792).
	var dstep, doff GPVirtual
	dm := Mem{Base: p, Disp: 192}
	switch kind {
	case "Q2_K":
		dm = Mem{Base: p, Disp: 1280}
	case "IQ4_XS":
		dm = Mem{Base: p, Disp: 96}
	}
	step0, dat0 := 3392, 3328
	if kind == "Q3_K" {
		step0, dat0 = 1792, 1728
	}
	if pairs {
		dstep, doff = GP64(), GP64()
		MOVQ(U32(uint32(step0)), dstep)
		MOVQ(U32(uint32(dat0)), doff)
		dm = Mem{Base: p, Index: doff, Scale: 1}
	}
	act := func(t, off int) Mem { return Mem{Base: a, Disp: actK*t + off} }

	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for h := 0; h < 2; h++ {
		hb := 32 * h // the row half's bytes in a 64-byte vector
		switch kind {
		case "Q6_K":
			a2kScales6(p, hb, sc)
		case "Q2_K":
			a2kScales2(p, hb, sc)
		case "Q3_K":
			a2kScales3(p, hb, sc)
		case "IQ4_XS":
			a2kScalesXS(p, h, sc)
		default:
			a2kScales45(p, hb, sc)
		}
		for t0 := 0; t0 < T; t0 += a2kGroupT {
			tn := min(a2kGroupT, T-t0)
			isum := make([]VecVirtual, tn)
			for i := range isum {
				isum[i] = YMM()
			}
			switch {
			case six:
				a2kSums6(p, hb, act, t0, isum, sc)
			case k23:
				a2kSums23(kind, p, hb, act, t0, isum, sc)
			case kind == "IQ4_XS":
				a2kSumsXS(p, hb, act, t0, isum, sc)
			default:
				a2kSums45(kind, p, hb, act, t0, isum, sc)
			}
			// The block's float steps for these tokens.
			dw := YMM()
			VCVTPH2PS(dm.Offset(16*h), dw)
			var dmin VecVirtual
			if mins {
				dmin = YMM()
				VCVTPH2PS(dm.Offset(32+16*h), dmin)
			}
			for i := range isum {
				t := t0 + i
				f, da, dd, ac := YMM(), YMM(), YMM(), YMM()
				VCVTDQ2PS(isum[i], f)
				VBROADCASTSS(act(t, 0), da)
				VMULPS(da, dw, dd)
				VMOVUPS(acc(h, t), ac)
				VFMADD231PS(dd, f, ac)
				if mins {
					// msum = Σ_i m_2i·ps_2i + m_2i+1·ps_2i+1 (Q4_K, Q5_K:
					// the pair sums at 292; Q2_K: the bsums at 260)
					ms := YMM()
					np, at, mo := 4, 292, 8
					if kind == "Q2_K" {
						np, at, mo = 8, 260, 16
					}
					for j := 0; j < np; j++ {
						b := YMM()
						VPBROADCASTD(act(t, at+4*j), b)
						VPMADDWD(sc(mo+j), b, b)
						if j == 0 {
							ms = b
						} else {
							VPADDD(b, ms, ms)
						}
					}
					VCVTDQ2PS(ms, ms)
					ddm := YMM()
					VMULPS(da, dmin, ddm)
					VFNMADD231PS(ddm, ms, ac)
				}
				VMOVUPS(ac, acc(h, t))
			}
		}
	}
	if pairs {
		ADDQ(dstep, p)
		XORQ(U32(uint32(step0^dat0)), dstep)
		XORQ(I32(int32(dat0^-32)), doff)
	} else {
		ADDQ(U32(uint32(blockBytes)), p)
	}
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	mask := loadGP("mask")
	SHLQ(U8(2), os)
	mk := [2]VecVirtual{YMM(), YMM()}
	{
		x := XMM()
		VMOVD(mask.As32(), x)
		VPBROADCASTD(x, mk[0])
		VPBROADCASTD(x, mk[1])
	}
	for h := 0; h < 2; h++ {
		VPAND(a2kC(a2kRowBit+32*h), mk[h], mk[h])
		VPCMPEQD(a2kC(a2kRowBit+32*h), mk[h], mk[h])
	}
	for t := 0; t < T; t++ {
		for h := 0; h < 2; h++ {
			v := YMM()
			VMOVUPS(acc(h, t), v)
			VMASKMOVPS(v, mk[h], Mem{Base: out, Disp: 32 * h})
		}
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// a2kScales45 unpacks the 6-bit scales and mins of the Q4_K or Q5_K block
// at p, row half at byte hb of each vector, into the frame: sc(j) (j < 8)
// the scale of sub-block j twice as int16, sc(8+i) (i < 4) the mins m_2i,
// m_2i+1 as int16.
func a2kScales45(p GPVirtual, hb int, sc func(int) Mem) {
	u0, u1, u2 := YMM(), YMM(), YMM()
	VMOVDQU(Mem{Base: p, Disp: hb}, u0)
	VMOVDQU(Mem{Base: p, Disp: 64 + hb}, u1)
	VMOVDQU(Mem{Base: p, Disp: 128 + hb}, u2)
	// Scales 0..3: u0 & 63; 4..7: (u2 & 15) | (u0 >> 6) << 4.
	// Mins 0..3: u1 & 63; 4..7: (u2 >> 4) | (u1 >> 6) << 4.
	slo, shi, mlo, mhi, x := YMM(), YMM(), YMM(), YMM(), YMM()
	VPAND(a2kC(a2k3f), u0, slo)
	VPAND(a2kC(a2k3f), u1, mlo)
	VPSRLD(U8(2), u0, x)
	VPAND(a2kC(a2k30), x, x)
	VPAND(a2kC(a2k0f), u2, shi)
	VPOR(x, shi, shi)
	VPSRLD(U8(2), u1, x)
	VPAND(a2kC(a2k30), x, x)
	VPSRLD(U8(4), u2, mhi)
	VPAND(a2kC(a2k0f), mhi, mhi)
	VPOR(x, mhi, mhi)
	for j := 0; j < 8; j++ {
		src := slo
		if j >= 4 {
			src = shi
		}
		y := YMM()
		VPSHUFB(a2kC(a2kScSh+32*(j%4)), src, y)
		VMOVDQU(y, sc(j))
	}
	for i := 0; i < 4; i++ {
		src := mlo
		if i >= 2 {
			src = mhi
		}
		y := YMM()
		VPSHUFB(a2kC(a2kMnSh+32*(i%2)), src, y)
		VMOVDQU(y, sc(8+i))
	}
}

// a2kScales6 unpacks the int8 group scales of the Q6_K block at p, row
// half at byte hb, into the frame: sc(g) (g < 16) group g's scale twice
// as int16, sc(16+i) (i < 8) the scales of groups 2i, 2i+1 as int16.
func a2kScales6(p GPVirtual, hb int, sc func(int) Mem) {
	for k := 0; k < 4; k++ {
		u := YMM()
		VMOVDQU(Mem{Base: p, Disp: 64*k + hb}, u)
		a2kScalesSigned(u, k, sc)
	}
}

// a2kScalesSigned writes the int8 scales of groups 4k..4k+3 (byte i of
// each dword of u: group 4k+i) into the frame as a2kScales6 does.
func a2kScalesSigned(u VecVirtual, k int, sc func(int) Mem) {
	for i := 0; i < 4; i++ {
		y := YMM()
		VPSHUFB(a2kC(a2k6ScSh+32*i), u, y)
		VPSRAW(U8(8), y, y)
		VMOVDQU(y, sc(4*k+i))
	}
	for i := 0; i < 2; i++ {
		y := YMM()
		VPSHUFB(a2kC(a2k6PrSh+32*i), u, y)
		VPSRAW(U8(8), y, y)
		VMOVDQU(y, sc(16+2*k+i))
	}
}

// a2kDot adds into isum the scaled sum of the values w against the
// broadcast activation dwords at acts: products summed in int16 by chunks
// of chunk dwords, each chunk's sum multiplied by the scale pair at s
// with VPMADDWD. If set, isum is assigned rather than added to.
func a2kDot(w []VecVirtual, acts []Mem, chunk int, s Mem, isum VecVirtual, set bool) bool {
	for c0 := 0; c0 < len(w); c0 += chunk {
		var sum VecVirtual
		for k := c0; k < c0+chunk; k++ {
			b := YMM()
			VPBROADCASTD(acts[k], b)
			VPMADDUBSW(b, w[k], b)
			if k == c0 {
				sum = b
			} else {
				VPADDW(b, sum, sum)
			}
		}
		if set {
			VPMADDWD(s, sum, isum)
			set = false
		} else {
			VPMADDWD(s, sum, sum)
			VPADDD(sum, isum, isum)
		}
	}
	return set
}

// a2kSums45 computes into isum[i] the int32 isum of the Q4_K or Q5_K block
// at p (row half hb) for tokens t0+i: sub-block by sub-block, its eight
// value vectors unpacked once for the tokens.
func a2kSums45(kind string, p GPVirtual, hb int, act func(t, off int) Mem, t0 int, isum []VecVirtual, sc func(int) Mem) {
	qs, chunk := 256, 8
	if kind == "Q5_K" {
		qs, chunk = 768, 4
	}
	for j := 0; j < 8; j++ {
		w := make([]VecVirtual, 8)
		for k := range w {
			w[k] = YMM()
			VMOVDQU(Mem{Base: p, Disp: qs + 64*(8*(j/2)+k) + hb}, w[k])
			if j%2 == 1 {
				VPSRLW(U8(4), w[k], w[k])
			}
			VPAND(a2kC(a2k0f), w[k], w[k])
			if kind == "Q5_K" {
				// the fifth bit: bit j of qh byte
				x := YMM()
				VMOVDQU(Mem{Base: p, Disp: 256 + 64*k + hb}, x)
				switch s := 4 - j; {
				case s > 0:
					VPSLLW(U8(s), x, x)
				case s < 0:
					VPSRLW(U8(-s), x, x)
				}
				VPAND(a2kC(a2k10), x, x)
				VPOR(x, w[k], w[k])
			}
		}
		for i := range isum {
			acts := make([]Mem, 8)
			for k := range acts {
				acts[k] = act(t0+i, 4+32*j+4*k)
			}
			a2kDot(w, acts, chunk, sc(j), isum[i], j == 0)
		}
	}
}

// a2kSums6 computes into isum[i] the int32 isum of the Q6_K block at p
// (row half hb) for tokens t0+i: per half h of the block, dword half and
// nibble set c, four ql and four qh vectors give the values of groups
// 2(4h+c)+half (low nibbles) and 2(4h+c+2)+half (high), in the layout's
// order; then −32·Σ_g sc_g·bsum_g.
func a2kSums6(p GPVirtual, hb int, act func(t, off int) Mem, t0 int, isum []VecVirtual, sc func(int) Mem) {
	first := true
	for h := 0; h < 2; h++ {
		for half := 0; half < 2; half++ {
			for cs := 0; cs < 2; cs++ {
				jl, jh := 4*h+cs, 4*h+cs+2
				gl, gh := 2*jl+half, 2*jh+half
				wl, wh := make([]VecVirtual, 4), make([]VecVirtual, 4)
				for w := 0; w < 4; w++ {
					ql, qh, x := YMM(), YMM(), YMM()
					VMOVDQU(Mem{Base: p, Disp: interK6Vec(h, -1, 4*half+w) + hb}, qh)
					VMOVDQU(Mem{Base: p, Disp: interK6Vec(h, cs, 4*half+w) + hb}, ql)
					// low nibbles | bits 2cs, 2cs+1 of qh at 4, 5
					wl[w] = YMM()
					VPAND(a2kC(a2k0f), ql, wl[w])
					VPSLLW(U8(4-2*cs), qh, x)
					VPAND(a2kC(a2k30), x, x)
					VPOR(x, wl[w], wl[w])
					// high nibbles | bits 2cs+4, 2cs+5 of qh at 4, 5
					wh[w] = YMM()
					VPSRLW(U8(4), ql, wh[w])
					VPAND(a2kC(a2k0f), wh[w], wh[w])
					if cs == 1 {
						VPSRLW(U8(2), qh, qh)
					}
					VPAND(a2kC(a2k30), qh, qh)
					VPOR(qh, wh[w], wh[w])
				}
				for i := range isum {
					t := t0 + i
					al, ah := make([]Mem, 4), make([]Mem, 4)
					for w := 0; w < 4; w++ {
						al[w] = act(t, 4+32*jl+16*half+4*w)
						ah[w] = act(t, 4+32*jh+16*half+4*w)
					}
					a2kDot(wl, al, 2, sc(gl), isum[i], first)
					a2kDot(wh, ah, 2, sc(gh), isum[i], false)
				}
				first = false
			}
		}
	}
	// isum −= 32·Σ_i (sc_2i·bsum_2i + sc_2i+1·bsum_2i+1) (bsums at 260)
	for i := range isum {
		off := YMM()
		for k := 0; k < 8; k++ {
			b := YMM()
			VPBROADCASTD(act(t0+i, 260+4*k), b)
			VPMADDWD(sc(16+k), b, b)
			if k == 0 {
				off = b
			} else {
				VPADDD(b, off, off)
			}
		}
		VPSLLD(U8(5), off, off)
		VPSUBD(off, isum[i], isum[i])
	}
}

// a2kScales2 unpacks the 4-bit scales and mins of the Q2_K block at p, row
// half at byte hb, into the frame: sc(g) (g < 16) group g's scale twice
// as int16, sc(16+i) (i < 8) the mins of groups 2i, 2i+1 as int16.
func a2kScales2(p GPVirtual, hb int, sc func(int) Mem) {
	for k := 0; k < 4; k++ {
		u := YMM()
		VMOVDQU(Mem{Base: p, Disp: 64*k + hb}, u)
		for i := 0; i < 4; i++ {
			y := YMM()
			VPSHUFB(a2kC(a2kScSh+32*i), u, y)
			VPAND(a2kC(a2k0f), y, y)
			VMOVDQU(y, sc(4*k+i))
		}
		for i := 0; i < 2; i++ {
			y := YMM()
			VPSHUFB(a2kC(a2kMnSh+32*i), u, y)
			VPSRLW(U8(4), y, y)
			VMOVDQU(y, sc(16+2*k+i))
		}
	}
}

// a2kScales3 unpacks the 6-bit scales of the Q3_K block at p, row half at
// byte hb, minus 32, into the frame as a2kScales6 does.
func a2kScales3(p GPVirtual, hb int, sc func(int) Mem) {
	q3kScaleVecs(p, hb, a2kC(a2k0f), a2kC(a2k30), a2kC(a2k20), func(lo VecVirtual, m int) {
		a2kScalesSigned(lo, m, sc)
	})
}

// q3kScaleVecs loads the scale bytes of the interleaved Q3_K block at p
// (row half at byte hb) and calls emit(lo, m) for m < 4 with lo holding,
// per dword lane (row) and byte i, scale 4m+i minus 32 as a signed byte:
// the low or high nibbles of the vector at 0 (m = 0, 2) or 64 (m = 1, 3)
// and bits 2m, 2m+1 of the vector at 128 as the top two bits. c0f, c30
// and c20 are the set's constants of bytes 0x0f, 0x30 and 0x20.
func q3kScaleVecs(p GPVirtual, hb int, c0f, c30, c20 Mem, emit func(lo VecVirtual, m int)) {
	u0, u1, u2 := YMM(), YMM(), YMM()
	VMOVDQU(Mem{Base: p, Disp: hb}, u0)
	VMOVDQU(Mem{Base: p, Disp: 64 + hb}, u1)
	VMOVDQU(Mem{Base: p, Disp: 128 + hb}, u2)
	for m := 0; m < 4; m++ {
		src := u0
		if m%2 == 1 {
			src = u1
		}
		lo, hi := YMM(), YMM()
		if m < 2 {
			VPAND(c0f, src, lo)
		} else {
			VPSRLW(U8(4), src, lo)
			VPAND(c0f, lo, lo)
		}
		switch s := 4 - 2*m; {
		case s > 0:
			VPSLLW(U8(s), u2, hi)
			VPAND(c30, hi, hi)
		case s < 0:
			VPSRLW(U8(-s), u2, hi)
			VPAND(c30, hi, hi)
		default:
			VPAND(c30, u2, hi)
		}
		VPOR(hi, lo, lo)
		VPSUBB(c20, lo, lo)
		emit(lo, m)
	}
}

// a2kSums23 computes into isum[i] the int32 isum of the Q2_K or Q3_K block
// at p (row half hb) for tokens t0+i: per half h of the block, plane p
// and dword half q, the four vectors of group 8h+2p+q (the plane's bits of
// the qs vectors, Q3_K with the third bit from hmask); Q3_K then
// −4·Σ_g sc_g·bsum_g.
func a2kSums23(kind string, p GPVirtual, hb int, act func(t, off int) Mem, t0 int, isum []VecVirtual, sc func(int) Mem) {
	three := kind == "Q3_K"
	first := true
	for h := 0; h < 2; h++ {
		for pl := 0; pl < 4; pl++ {
			for q := 0; q < 2; q++ {
				g := 8*h + 2*pl + q
				w := make([]VecVirtual, 4)
				for k := range w {
					wd := 4*q + k // dword of the qs and hmask vectors
					qs := 256 + 64*(8*h+wd)
					if three {
						qs = interK3Vec(h, wd)
					}
					w[k] = YMM()
					VMOVDQU(Mem{Base: p, Disp: qs + hb}, w[k])
					if pl > 0 {
						VPSRLW(U8(2*pl), w[k], w[k])
					}
					VPAND(a2kC(a2k03), w[k], w[k])
					if three {
						// bit 4h+pl of hmask at 2
						x := YMM()
						VMOVDQU(Mem{Base: p, Disp: interK3Vec(-1, wd) + hb}, x)
						switch s := 4*h + pl - 2; {
						case s > 0:
							VPSRLW(U8(s), x, x)
						case s < 0:
							VPSLLW(U8(-s), x, x)
						}
						VPAND(a2kC(a2k04), x, x)
						VPOR(x, w[k], w[k])
					}
				}
				for i := range isum {
					acts := make([]Mem, 4)
					for k := range acts {
						acts[k] = act(t0+i, 4+128*h+32*pl+16*q+4*k)
					}
					a2kDot(w, acts, 4, sc(g), isum[i], first)
				}
				first = false
			}
		}
	}
	if !three {
		return
	}
	// isum −= 4·Σ_i (sc_2i·bsum_2i + sc_2i+1·bsum_2i+1) (bsums at 260)
	for i := range isum {
		off := YMM()
		for k := 0; k < 8; k++ {
			b := YMM()
			VPBROADCASTD(act(t0+i, 260+4*k), b)
			VPMADDWD(sc(16+k), b, b)
			if k == 0 {
				off = b
			} else {
				VPADDD(b, off, off)
			}
		}
		VPSLLD(U8(2), off, off)
		VPSUBD(off, isum[i], isum[i])
	}
}

// a2kScalesXS unpacks the scales of the IQ4_XS block at p, rows 8h..8h+7,
// into the frame: sc(j) (j < 8) sub-block j's ls − 32 twice as int16 (ls
// = nibble j of scales_l | bits 2j, 2j+1 of scales_h at 4, 5).
func a2kScalesXS(p GPVirtual, h int, sc func(int) Mem) {
	sl, sh := YMM(), YMM()
	VMOVDQU(Mem{Base: p, Disp: 32 * h}, sl)
	VPMOVZXWD(Mem{Base: p, Disp: 64 + 16*h}, sh)
	for j := 0; j < 8; j++ {
		lo, hi := YMM(), YMM()
		if j > 0 {
			VPSRLD(U8(4*j), sl, lo)
			VPAND(a2kC(a2kLow4), lo, lo)
		} else {
			VPAND(a2kC(a2kLow4), sl, lo)
		}
		switch s := 2*j - 4; {
		case s > 0:
			VPSRLD(U8(s), sh, hi)
		case s < 0:
			VPSLLD(U8(-s), sh, hi)
		default:
			VMOVDQA(sh, hi)
		}
		VPAND(a2kC(a2kLow30), hi, hi)
		VPOR(hi, lo, lo)
		// ls − 32 in the low word, then in both
		VPSUBW(a2kC(a2kW20), lo, lo)
		VPSHUFLW(U8(0xa0), lo, lo)
		VPSHUFHW(U8(0xa0), lo, lo)
		VMOVDQU(lo, sc(j))
	}
}

// a2kSumsXS computes into isum[i] the int32 isum of the IQ4_XS block at p
// (row half hb) for tokens t0+i: per sub-block its eight vectors of
// signed IQ4_NL values (VPSHUFB of the nibbles), multiplied as |v| times
// the quants with v's sign (no int16 sum of two such pairs fits, so each
// goes by VPMADDWD with the scale pair into isum).
func a2kSumsXS(p GPVirtual, hb int, act func(t, off int) Mem, t0 int, isum []VecVirtual, sc func(int) Mem) {
	for j := 0; j < 8; j++ {
		v := make([]VecVirtual, 8)
		for k := 0; k < 4; k++ {
			raw := YMM()
			VMOVDQU(Mem{Base: p, Disp: 128 + 64*(4*j+k) + hb}, raw)
			v[k], v[4+k] = YMM(), YMM()
			VPAND(a2kC(a2k0f), raw, v[k])
			VPSRLW(U8(4), raw, v[4+k])
			VPAND(a2kC(a2k0f), v[4+k], v[4+k])
			tbl := a2kC(a2kNL)
			x := YMM()
			VMOVDQU(tbl, x)
			VPSHUFB(v[k], x, v[k])
			y := YMM()
			VMOVDQU(tbl, y)
			VPSHUFB(v[4+k], y, v[4+k])
		}
		for i := range isum {
			for k := 0; k < 8; k++ {
				b, u := YMM(), YMM()
				VPBROADCASTD(act(t0+i, 4+32*j+4*k), b)
				VPSIGNB(v[k], b, b)
				VPABSB(v[k], u)
				VPMADDUBSW(b, u, b)
				VPMADDWD(sc(j), b, b)
				if j == 0 && k == 0 {
					VMOVDQA(b, isum[i])
				} else {
					VPADDD(b, isum[i], isum[i])
				}
			}
		}
	}
}
