package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 packed K kernels (the "avx2pk" set: long batches of Q2_K..Q6_K
// and of the codebook i-quants on CPUs without AVX-512 VNNI) read the
// packed K group layouts of the kernel package's packedk_generic.go (Q3_K:
// the Q6_K layout with its 3-bit values and scales − 32, see
// avx2pk_amd64.go) and add in the K-quant order, so that they give the bits
// of the VNNI packed tiles and of the AVX2 interleaved ones. VEX encodings
// only (AVX2, FMA, F16C), 16 ymm registers.
//
// A 64-byte packed vector holds one dword of 16 rows (low 32 bytes: rows
// 0..7). Per block, the tile takes the two row halves in turn; per half,
// a loop of eight steps of eight vectors each: a vector is loaded once and
// multiplied by VPMADDUBSW with the broadcast activation dword of every
// token of the tile (unsigned values × signed quants, int16 pair sums),
// chunk vectors' products are added in int16 (each type's chunk keeps
// every sum below 2¹⁵: Q4_K eight vectors, 16·15·128 < 32768; Q5_K four;
// Q6_K and the i-quants with k = 32 two; k = 64 one; Q3_K four), and
// VPMADDWD by the group's scale in both halves of each dword (Q2_K: by
// ones, its values carry the scales) gives the exact int32 the VNNI
// kernels form. The Q6_K layout's offsets −k·Σ_g sc_g·bsum_g are one
// VPMADDWD chain of neighbouring scale pairs with the activations' bsum
// pairs, shifted by log2 k; the mins of Q2_K, Q4_K and Q5_K one of their
// min pairs with the bsum (pair-sum) pairs. The float steps follow, per row
// half and token, on float32 accumulators in the stack frame.

// a2pMaxT is the most tokens an AVX2 packed K tile takes: 2T+3 ymm at
// once (T int16 sums, T int32 sums, a vector, a product, a scale).
const a2pMaxT = 6

// a2pConst is the set's RODATA.
var a2pConst Mem

// Offsets in a2pConst.
const (
	a2pDup    = 0   // VPSHUFB: the low word of each dword into both words
	a2p0f     = 32  // 0x0f bytes
	a2p3f     = 64  // 0x3f bytes
	a2p30     = 96  // 0x30 bytes
	a2p10     = 128 // 0x10 bytes
	a2p03     = 160 // 0x03 bytes
	a2p04     = 192 // 0x04 bytes
	a2p20     = 224 // 0x20 bytes
	a2pOnes   = 256 // words 1
	a2pEven   = 288 // words 0x00ff
	a2pRowBit = 320 // dwords 1<<r for r < 16 (two ymm)
	a2pZx     = 384 // 4 controls: byte j of each dword into its low byte, zero-extended
	a2pTop    = 512 // 4 controls: byte j of each dword into its top byte
	a2pMn     = 640 // 2 controls: bytes 2i, 2i+1 of each dword into words 0, 1
	a2pBc     = 704 // 4 controls: byte j of each dword into its four bytes
	a2pSize   = 832
)

// a2pKind describes one packed layout as the tiles read it.
type a2pKind struct {
	name       string
	blockBytes int
	vpg        int // value vectors per group (one scale)
	chunk      int // vectors whose int16 products are added before VPMADDWD
	scale      int // offset of the int32 scales sc[g][r] (−1: none, VPMADDWD by ones)
	shift      int // isum −= (Σ_g sc_g·bsum_g) << shift (0: no offsets)
	mins       int // offset of the int16 min pairs (0: no mins)
	minPairs   int // min pairs per row
	minAct     int // activation offset of the int16 pairs they multiply
	d, dmin    int // offsets of the float32 d and dmin (dmin 0: none)
}

var a2pKinds = []a2pKind{
	{name: "Q4_K", blockBytes: 4992, vpg: 8, chunk: 8, scale: 4096, mins: 4608, minPairs: 4, minAct: 292, d: 4864, dmin: 4928},
	{name: "Q5_K", blockBytes: 4992, vpg: 8, chunk: 4, scale: 4096, mins: 4608, minPairs: 4, minAct: 292, d: 4864, dmin: 4928},
	// The Q6_K layout: Q6_K and the i-quants with k = 32 (u ≤ 63).
	{name: "K6", blockBytes: 5184, vpg: 4, chunk: 2, scale: 4096, shift: 5, d: 5120},
	// Q3_K's values 0..7 in the Q6_K layout, k = 4.
	{name: "K3", blockBytes: 5184, vpg: 4, chunk: 4, scale: 4096, shift: 2, d: 5120},
	// The i-quants with k = 64 (u ≤ 126).
	{name: "KI", blockBytes: 5184, vpg: 4, chunk: 1, scale: 4096, shift: 6, d: 5120},
	{name: "Q2_K", blockBytes: 4736, vpg: 4, chunk: 2, scale: -1, mins: 4096, minPairs: 8, minAct: 260, d: 4608, dmin: 4672},
}

func genAVX2PK() {
	var c [a2pSize]byte
	const z = 0x80 // VPSHUFB: a zero byte
	for i := 0; i < 32; i++ {
		d, b := byte(i%16/4), i%4 // dword in the 128-bit lane, byte in the dword
		c[a2pDup+i] = 4*d + byte(b%2)
		c[a2p0f+i], c[a2p3f+i], c[a2p30+i], c[a2p10+i] = 0x0f, 0x3f, 0x30, 0x10
		c[a2p03+i], c[a2p04+i], c[a2p20+i] = 0x03, 0x04, 0x20
		c[a2pOnes+i] = []byte{1, 0}[i%2]
		c[a2pEven+i] = []byte{0xff, 0}[i%2]
		for j := byte(0); j < 4; j++ {
			c[a2pZx+32*int(j)+i] = []byte{4*d + j, z, z, z}[b]
			c[a2pTop+32*int(j)+i] = []byte{z, z, z, 4*d + j}[b]
			c[a2pBc+32*int(j)+i] = 4*d + j
		}
		for j := byte(0); j < 2; j++ {
			c[a2pMn+32*int(j)+i] = []byte{4*d + 2*j, z, 4*d + 2*j + 1, z}[b]
		}
	}
	for r := 0; r < 16; r++ {
		c[a2pRowBit+4*r+r/8] = 1 << (r % 8)
	}
	a2pConst = GLOBL("a2pkconst", RODATA|NOPTR)
	for i, v := range c {
		DATA(i, U8(v))
	}
	for _, k := range a2pKinds {
		for T := 1; T <= a2pMaxT; T++ {
			a2pTile(k, T)
		}
	}
	a2pUnpack45("Q4_K")
	a2pUnpack45("Q5_K")
	a2pUnpack6()
	a2pUnpack3()
	a2pUnpack2()
}

// a2pC returns the constant at offset off of a2pConst.
func a2pC(off int) Mem { return a2pConst.Offset(off) }

// a2pTile generates tileA2P<kind>_16xT.
func a2pTile(k a2pKind, T int) {
	name := fmt.Sprintf("tileA2P%s_16x%d", k.name, T)
	TEXT(name, 0, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of a packed %s group at p (%d bytes per block) against %d tokens of interleaved K activations, nb blocks, in the K-quant order (AVX2, FMA, F16C).", name, T, k.name, k.blockBytes, T),
		"Token t's block b is at a+b*as+384t.")
	pairBytes := 0
	if k.shift > 0 {
		pairBytes = 8 * 32
	}
	frame := AllocLocal(pairBytes + 2*T*32)
	pair := func(i int) Mem { return frame.Offset(32 * i) }
	acc := func(h, t int) Mem { return frame.Offset(pairBytes + 32*(h*T+t)) }
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
	pw, pa, ps, cnt := GP64(), GP64(), GP64(), GP64()
	act := func(base GPVirtual, t, off int) Mem { return Mem{Base: base, Disp: actK*t + off} }
	ug := 8 / k.vpg // groups per loop step of eight vectors

	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for h := 0; h < 2; h++ {
		hb := 32 * h
		isum := make([]VecVirtual, T)
		for t := range isum {
			isum[t] = YMM()
			VPXOR(isum[t], isum[t], isum[t])
		}
		LEAQ(Mem{Base: p, Disp: hb}, pw)
		MOVQ(a, pa)
		if k.scale >= 0 {
			LEAQ(Mem{Base: p, Disp: k.scale + hb}, ps)
		}
		MOVQ(U32(8), cnt)
		step := fmt.Sprintf("%s_h%d", name, h)
		Label(step)
		for gi := 0; gi < ug; gi++ {
			var scl Op = a2pC(a2pOnes)
			if k.scale >= 0 {
				s := YMM()
				VMOVDQU(Mem{Base: ps, Disp: 64 * gi}, s)
				VPSHUFB(a2pC(a2pDup), s, s)
				scl = s
			}
			for c0 := 0; c0 < k.vpg; c0 += k.chunk {
				s16 := make([]VecVirtual, T)
				for v := c0; v < c0+k.chunk; v++ {
					vi := gi*k.vpg + v // the vector in this step
					w := YMM()
					VMOVDQU(Mem{Base: pw, Disp: 64 * vi}, w)
					for t := 0; t < T; t++ {
						b := YMM()
						VPBROADCASTD(act(pa, t, 4+4*vi), b)
						if v == c0 {
							s16[t] = YMM()
							VPMADDUBSW(b, w, s16[t])
						} else {
							VPMADDUBSW(b, w, b)
							VPADDW(b, s16[t], s16[t])
						}
					}
				}
				for t := 0; t < T; t++ {
					VPMADDWD(scl, s16[t], s16[t])
					VPADDD(s16[t], isum[t], isum[t])
				}
			}
		}
		ADDQ(U32(64*8), pw)
		ADDQ(U32(4*8), pa)
		if k.scale >= 0 {
			ADDQ(U32(64*ug), ps)
		}
		DECQ(cnt)
		JNZ(LabelRef(step))

		if k.shift > 0 {
			// isum −= (Σ_i sc_2i·bsum_2i + sc_2i+1·bsum_2i+1) << shift
			// (bsums at 260): the scale pairs (sc_2i, sc_2i+1) as int16.
			for i := 0; i < 8; i++ {
				x := YMM()
				VMOVDQU(Mem{Base: p, Disp: k.scale + 64*(2*i+1) + hb}, x)
				VPSLLD(U8(16), x, x)
				VPBLENDW(U8(0x55), Mem{Base: p, Disp: k.scale + 64*(2*i) + hb}, x, x)
				VMOVDQU(x, pair(i))
			}
			for t := 0; t < T; t++ {
				off := YMM()
				for i := 0; i < 8; i++ {
					b := YMM()
					VPBROADCASTD(act(a, t, 260+4*i), b)
					VPMADDWD(pair(i), b, b)
					if i == 0 {
						off = b
					} else {
						VPADDD(b, off, off)
					}
				}
				VPSLLD(U8(k.shift), off, off)
				VPSUBD(off, isum[t], isum[t])
			}
		}
		// The block's float steps.
		dw := YMM()
		VMOVUPS(Mem{Base: p, Disp: k.d + hb}, dw)
		var dmin VecVirtual
		if k.dmin > 0 {
			dmin = YMM()
			VMOVUPS(Mem{Base: p, Disp: k.dmin + hb}, dmin)
		}
		for t := 0; t < T; t++ {
			f, da, dd, ac := YMM(), YMM(), YMM(), YMM()
			VCVTDQ2PS(isum[t], f)
			VBROADCASTSS(act(a, t, 0), da)
			VMULPS(da, dw, dd)
			VMOVUPS(acc(h, t), ac)
			VFMADD231PS(dd, f, ac)
			if k.mins > 0 {
				ms := YMM()
				for i := 0; i < k.minPairs; i++ {
					b := YMM()
					VPBROADCASTD(act(a, t, k.minAct+4*i), b)
					VPMADDWD(Mem{Base: p, Disp: k.mins + 64*i + hb}, b, b)
					if i == 0 {
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
	ADDQ(U32(uint32(k.blockBytes)), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	a2pStore(T, acc)
}

// a2pStore writes the accumulators acc(h, t) to out[t*os + 8h..], rows
// whose bit is set in mask only.
func a2pStore(T int, acc func(h, t int) Mem) {
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
		VPAND(a2pC(a2pRowBit+32*h), mk[h], mk[h])
		VPCMPEQD(a2pC(a2pRowBit+32*h), mk[h], mk[h])
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

// a2pUnpackBegin starts an unpack kernel: its loop over nb blocks.
func a2pUnpackBegin(name, typ string, bytes int) (p, nb, dst GPVirtual) {
	TEXT(name, NOSPLIT, "func(p *byte, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s writes nb blocks of the interleaved %s group at p into the packed layout of the AVX2 packed tiles at dst (%d bytes per block, AVX2, F16C).", name, typ, bytes))
	p, nb, dst = loadGP("p"), loadGP("nb"), loadGP("dst")
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	return p, nb, dst
}

// a2pUnpackEnd closes the loop of a2pUnpackBegin: dst advances by bytes.
func a2pUnpackEnd(name string, nb, dst GPVirtual, bytes int) {
	ADDQ(U32(uint32(bytes)), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// a2pStoreTo stores x at dst+off.
func a2pStoreTo(x VecVirtual, dst GPVirtual, off int) { VMOVDQU(x, Mem{Base: dst, Disp: off}) }

// a2pUnpack45 generates unpackA2PQ4_K or unpackA2PQ5_K: interleavek.go's
// layout into packedk_generic.go's.
func a2pUnpack45(kind string) {
	name := "unpackA2P" + kind
	ib, qs := 2304, 256
	if kind == "Q5_K" {
		ib, qs = 2816, 768
	}
	p, nb, dst := a2pUnpackBegin(name, kind, 4992)
	for h := 0; h < 2; h++ {
		hb := 32 * h
		u0, u1, u2 := YMM(), YMM(), YMM()
		VMOVDQU(Mem{Base: p, Disp: hb}, u0)
		VMOVDQU(Mem{Base: p, Disp: 64 + hb}, u1)
		VMOVDQU(Mem{Base: p, Disp: 128 + hb}, u2)
		// Scales 0..3: u0 & 63; 4..7: (u2 & 15) | (u0 >> 6) << 4.
		// Mins 0..3: u1 & 63; 4..7: (u2 >> 4) | (u1 >> 6) << 4.
		slo, shi, mlo, mhi, x := YMM(), YMM(), YMM(), YMM(), YMM()
		VPAND(a2pC(a2p3f), u0, slo)
		VPAND(a2pC(a2p3f), u1, mlo)
		VPSRLD(U8(2), u0, x)
		VPAND(a2pC(a2p30), x, x)
		VPAND(a2pC(a2p0f), u2, shi)
		VPOR(x, shi, shi)
		VPSRLD(U8(2), u1, x)
		VPAND(a2pC(a2p30), x, x)
		VPSRLD(U8(4), u2, mhi)
		VPAND(a2pC(a2p0f), mhi, mhi)
		VPOR(x, mhi, mhi)
		for j := 0; j < 8; j++ {
			src := slo
			if j >= 4 {
				src = shi
			}
			y := YMM()
			VPSHUFB(a2pC(a2pZx+32*(j%4)), src, y)
			a2pStoreTo(y, dst, 4096+64*j+hb)
		}
		for i := 0; i < 4; i++ {
			src := mlo
			if i >= 2 {
				src = mhi
			}
			y := YMM()
			VPSHUFB(a2pC(a2pMn+32*(i%2)), src, y)
			a2pStoreTo(y, dst, 4608+64*i+hb)
		}
		dd, dm := YMM(), YMM()
		VCVTPH2PS(Mem{Base: p, Disp: 192 + 16*h}, dd)
		VCVTPH2PS(Mem{Base: p, Disp: 224 + 16*h}, dm)
		VMOVUPS(dd, Mem{Base: dst, Disp: 4864 + hb})
		VMOVUPS(dm, Mem{Base: dst, Disp: 4928 + hb})
		for j := 0; j < 8; j++ {
			for k := 0; k < 8; k++ {
				w := YMM()
				VMOVDQU(Mem{Base: p, Disp: qs + 64*(8*(j/2)+k) + hb}, w)
				if j%2 == 1 {
					VPSRLW(U8(4), w, w)
				}
				VPAND(a2pC(a2p0f), w, w)
				if kind == "Q5_K" {
					// the fifth bit: bit j of the qh byte
					x := YMM()
					VMOVDQU(Mem{Base: p, Disp: 256 + 64*k + hb}, x)
					switch s := 4 - j; {
					case s > 0:
						VPSLLW(U8(s), x, x)
					case s < 0:
						VPSRLW(U8(-s), x, x)
					}
					VPAND(a2pC(a2p10), x, x)
					VPOR(x, w, w)
				}
				a2pStoreTo(w, dst, 64*(8*j+k)+hb)
			}
		}
	}
	ADDQ(U32(uint32(ib)), p)
	a2pUnpackEnd(name, nb, dst, 4992)
}

// a2pPairWalk sets up the walk over blocks stored in pairs (Q6_K, Q3_K):
// block 2i at i·(step0+dat0), its d at +dat0; block 2i+1 step0 further,
// its d 32 bytes before it. It returns the d operand and the step.
func a2pPairWalk(p GPVirtual, step0, dat0 int) (Mem, func()) {
	dstep, doff := GP64(), GP64()
	MOVQ(U32(uint32(step0)), dstep)
	MOVQ(U32(uint32(dat0)), doff)
	return Mem{Base: p, Index: doff, Scale: 1}, func() {
		ADDQ(dstep, p)
		XORQ(U32(uint32(step0^dat0)), dstep)
		XORQ(I32(int32(dat0^-32)), doff)
	}
}

// a2pUnpack6 generates unpackA2PQ6_K: interleavek.go's Q6_K layout into
// packedk_generic.go's.
func a2pUnpack6() {
	name := "unpackA2PQ6_K"
	TEXT(name, NOSPLIT, "func(p *byte, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s writes nb blocks of the interleaved Q6_K group at p into the packed layout of the AVX2 packed tiles at dst (5184 bytes per block, AVX2, F16C).", name))
	p, nb, dst := loadGP("p"), loadGP("nb"), loadGP("dst")
	dm, next := a2pPairWalk(p, 3392, 3328)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for hh := 0; hh < 2; hh++ {
		hb := 32 * hh
		for k := 0; k < 4; k++ {
			u := YMM()
			VMOVDQU(Mem{Base: p, Disp: 64*k + hb}, u)
			for i := 0; i < 4; i++ {
				y := YMM()
				VPSHUFB(a2pC(a2pTop+32*i), u, y)
				VPSRAD(U8(24), y, y)
				a2pStoreTo(y, dst, 4096+64*(4*k+i)+hb)
			}
		}
		d := YMM()
		VCVTPH2PS(dm.Offset(16*hh), d)
		VMOVUPS(d, Mem{Base: dst, Disp: 5120 + hb})
		for h := 0; h < 2; h++ {
			for half := 0; half < 2; half++ {
				for cs := 0; cs < 2; cs++ {
					jl, jh := 4*h+cs, 4*h+cs+2
					for w := 0; w < 4; w++ {
						ql, qh, x, wl, wh := YMM(), YMM(), YMM(), YMM(), YMM()
						VMOVDQU(Mem{Base: p, Disp: interK6Vec(h, -1, 4*half+w) + hb}, qh)
						VMOVDQU(Mem{Base: p, Disp: interK6Vec(h, cs, 4*half+w) + hb}, ql)
						// low nibbles | bits 2cs, 2cs+1 of qh at 4, 5
						VPAND(a2pC(a2p0f), ql, wl)
						VPSLLW(U8(4-2*cs), qh, x)
						VPAND(a2pC(a2p30), x, x)
						VPOR(x, wl, wl)
						// high nibbles | bits 2cs+4, 2cs+5 of qh at 4, 5
						VPSRLW(U8(4), ql, wh)
						VPAND(a2pC(a2p0f), wh, wh)
						if cs == 1 {
							VPSRLW(U8(2), qh, qh)
						}
						VPAND(a2pC(a2p30), qh, qh)
						VPOR(qh, wh, wh)
						a2pStoreTo(wl, dst, 64*(8*jl+4*half+w)+hb)
						a2pStoreTo(wh, dst, 64*(8*jh+4*half+w)+hb)
					}
				}
			}
		}
	}
	next()
	a2pUnpackEnd(name, nb, dst, 5184)
}

// a2pUnpack3 generates unpackA2PQ3_K: interleavek23.go's Q3_K layout into
// the Q6_K packed layout with Q3_K's values 0..7 and its scales − 32 as
// int32 (d as float32 at 5120).
func a2pUnpack3() {
	name := "unpackA2PQ3_K"
	TEXT(name, NOSPLIT, "func(p *byte, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s writes nb blocks of the interleaved Q3_K group at p into the Q6_K packed layout of the AVX2 packed tiles at dst (values 0..7, scales − 32; 5184 bytes per block, AVX2, F16C).", name))
	p, nb, dst := loadGP("p"), loadGP("nb"), loadGP("dst")
	dm, next := a2pPairWalk(p, 1792, 1728)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for hh := 0; hh < 2; hh++ {
		hb := 32 * hh
		// Scales 4m..4m+3 as signed bytes, each byte sign-extended to the
		// int32 of its group.
		q3kScaleVecs(p, hb, a2pC(a2p0f), a2pC(a2p30), a2pC(a2p20), func(lo VecVirtual, m int) {
			for i := 0; i < 4; i++ {
				y := YMM()
				VPSHUFB(a2pC(a2pTop+32*i), lo, y)
				VPSRAD(U8(24), y, y)
				a2pStoreTo(y, dst, 4096+64*(4*m+i)+hb)
			}
		})
		d := YMM()
		VCVTPH2PS(dm.Offset(16*hh), d)
		VMOVUPS(d, Mem{Base: dst, Disp: 5120 + hb})
		for h := 0; h < 2; h++ {
			for pl := 0; pl < 4; pl++ {
				for q := 0; q < 2; q++ {
					for k := 0; k < 4; k++ {
						wd := 4*q + k // dword of the qs and hmask vectors
						w, x := YMM(), YMM()
						VMOVDQU(Mem{Base: p, Disp: interK3Vec(h, wd) + hb}, w)
						if pl > 0 {
							VPSRLW(U8(2*pl), w, w)
						}
						VPAND(a2pC(a2p03), w, w)
						// bit 4h+pl of hmask at 2
						VMOVDQU(Mem{Base: p, Disp: interK3Vec(-1, wd) + hb}, x)
						switch s := 4*h + pl - 2; {
						case s > 0:
							VPSRLW(U8(s), x, x)
						case s < 0:
							VPSLLW(U8(-s), x, x)
						}
						VPAND(a2pC(a2p04), x, x)
						VPOR(x, w, w)
						a2pStoreTo(w, dst, 64*(32*h+8*pl+4*q+k)+hb)
					}
				}
			}
		}
	}
	next()
	a2pUnpackEnd(name, nb, dst, 5184)
}

// a2pUnpack2 generates unpackA2PQ2_K: interleavek23.go's Q2_K layout into
// packedk_generic.go's (the values times their group's scale).
func a2pUnpack2() {
	name := "unpackA2PQ2_K"
	p, nb, dst := a2pUnpackBegin(name, "Q2_K", 4736)
	for hh := 0; hh < 2; hh++ {
		hb := 32 * hh
		for k := 0; k < 4; k++ {
			u := YMM()
			VMOVDQU(Mem{Base: p, Disp: 64*k + hb}, u)
			for i := 0; i < 2; i++ {
				y := YMM()
				VPSHUFB(a2pC(a2pMn+32*i), u, y)
				VPSRLW(U8(4), y, y)
				a2pStoreTo(y, dst, 4096+64*(2*k+i)+hb)
			}
		}
		dd, dm := YMM(), YMM()
		VCVTPH2PS(Mem{Base: p, Disp: 1280 + 16*hh}, dd)
		VCVTPH2PS(Mem{Base: p, Disp: 1312 + 16*hh}, dm)
		VMOVUPS(dd, Mem{Base: dst, Disp: 4608 + hb})
		VMOVUPS(dm, Mem{Base: dst, Disp: 4672 + hb})
		for h := 0; h < 2; h++ {
			for pl := 0; pl < 4; pl++ {
				for q := 0; q < 2; q++ {
					g := 8*h + 2*pl + q
					// group g's scale in every byte of each row's dword
					sc := YMM()
					VMOVDQU(Mem{Base: p, Disp: 64*(g/4) + hb}, sc)
					VPSHUFB(a2pC(a2pBc+32*(g%4)), sc, sc)
					VPAND(a2pC(a2p0f), sc, sc)
					for k := 0; k < 4; k++ {
						w, odd := YMM(), YMM()
						VMOVDQU(Mem{Base: p, Disp: 256 + 64*(8*h+4*q+k) + hb}, w)
						if pl > 0 {
							VPSRLW(U8(2*pl), w, w)
						}
						VPAND(a2pC(a2p03), w, w)
						// sc·u per byte (at most 45): even and odd bytes
						// by VPMADDUBSW with the other byte of the pair zero
						VPSRLW(U8(8), w, odd)
						VPAND(a2pC(a2pEven), w, w)
						VPMADDUBSW(sc, w, w)
						VPMADDUBSW(sc, odd, odd)
						VPSLLW(U8(8), odd, odd)
						VPOR(odd, w, w)
						a2pStoreTo(w, dst, 64*(32*h+8*pl+4*q+k)+hb)
					}
				}
			}
		}
	}
	ADDQ(U32(1344), p)
	a2pUnpackEnd(name, nb, dst, 4736)
}
