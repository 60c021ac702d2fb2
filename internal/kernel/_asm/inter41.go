package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The "inter41" set: the interleaved kernels of Q4_1, Q5_1 and IQ4_XS (the
// layouts are in the kernel package's interleave41.go). Each computes a
// 16-row × T-token tile from a group of 16 weight rows interleaved at load
// time, against the activation tiles of its type's packed path, in that
// path's order:
//
//   - Q4_1, Q5_1 (packed41_generic.go): the values are laid out as Q4_0's
//     and Q5_0's (interleave.go's interWeights unpacks them); per block
//     and token eight VPDPBUSD from zero, then acc = fma(float32(Σ u·q),
//     d_w·d_a, acc) and acc = fma(m_w, s_a, acc).
//   - IQ4_XS (packiq_generic.go, the i-quant order): the block's eight
//     6-bit sub-block scales are unpacked into a stack buffer, then per
//     sub-block four vectors of nibbles give eight vectors of IQ4_NL
//     values + 128 (VPSHUFB through the table), and per token two chains
//     of four VPDPBUSD start from the activations' −128·bsum of their
//     group of 16, are added, multiplied by the sub-block's scale and
//     added into the block's isum; the block ends with
//     acc = fma(float32(isum), d_w·d_a, acc).
//
// The weight bytes are read in the order they lie.

// kind41I is Q4_1 or Q5_1's interleaved layout.
type kind41I struct {
	name       string
	blockBytes int // group bytes per block
	values     interKind
	d, m       int // offsets of the 16 float16 d and m
}

// kinds41I: the values of Q4_1 and Q5_1 lie as Q4_0's and Q5_0's
// (interWeights reads them by those names).
var kinds41I = []kind41I{
	{"Q4_1", 320, interKind{name: "Q4_0", nibbles: 0}, 256, 288},
	{"Q5_1", 384, interKind{name: "Q5_0", nibbles: 64}, 320, 352},
}

// iq4xsBlockBytes is an interleaved IQ4_XS group's bytes per block; the
// offsets below are the fields' in a block.
const (
	iq4xsBlockBytes = 2176
	iq4xsSL         = 0   // scales_l, a dword per row
	iq4xsSH         = 64  // scales_h, a word per row
	iq4xsD          = 96  // d, float16
	iq4xsQS         = 128 // the quants, 32 dword vectors
)

// inter41C holds the set's constants: IQ4_NL's values + 128 (16 bytes,
// broadcast to every 128-bit lane), then the dwords 0x0f0f0f0f, 0x3f, 32
// (broadcast from memory).
var inter41C Mem

func genInter41() {
	inter41C = GLOBL("inter41c", RODATA|NOPTR)
	vals := []int{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
	for i, v := range vals {
		DATA(i, U8(uint8(v+128)))
	}
	for i, v := range []uint32{0x0f0f0f0f, 0x3f, 32} {
		DATA(16+4*i, U32(v))
	}
	for _, k := range kinds41I {
		for T := 1; T <= packedMaxT; T++ {
			inter41Tile(k, T)
		}
		inter41Unpack(k)
	}
	for T := 1; T <= packedKMaxT; T++ {
		interIQ4XSTile(T)
	}
	interIQ4XSUnpack()
}

// inter41Tile generates tileI<kind>_16xT for Q4_1 or Q5_1.
func inter41Tile(k kind41I, T int) {
	name := fmt.Sprintf("tileI%s_16x%d", k.name, T)
	TEXT(name, NOSPLIT, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of an interleaved %s group at p against %d tokens of interleaved Q8_1 activations, nb blocks (AVX-512 VNNI).", name, T, k.name, T),
		fmt.Sprintf("Block b of the group is at p+%db, token t's block b at a+b*as+40t.", k.blockBytes))
	p := loadGP("p")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highZ[t]
		VPXORD(acc[t], acc[t], acc[t])
	}
	c := interNibbleConsts(k.values)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	if T >= 4 {
		// As interleave.go's: long tiles are compute-bound, so fetch the
		// block after next.
		for off := 0; off < k.blockBytes; off += 64 {
			PREFETCHT0(Mem{Base: p, Disp: 2*k.blockBytes + off})
		}
	}
	wv := interWeights(k.values, p, c)
	dw, mw := ZMM(), ZMM()
	VCVTPH2PS(Mem{Base: p, Disp: k.d}, dw)
	VCVTPH2PS(Mem{Base: p, Disp: k.m}, mw)
	for t := 0; t < T; t++ {
		// Sums start from zero, dw xor dw: a fresh register xored with
		// itself would look live across the loop to avo's allocator.
		s := ZMM()
		VPXORD(dw, dw, s)
		if T <= 2 {
			// Two chains of four (the sum is exact either way).
			s2 := ZMM()
			VPXORD(dw, dw, s2)
			for j := 0; j < 4; j++ {
				vpdpbusdBcast(Mem{Base: a, Disp: 40*t + 4*j}, wv[j], s)
				vpdpbusdBcast(Mem{Base: a, Disp: 40*t + 4*(j+4)}, wv[j+4], s2)
			}
			VPADDD(s2, s, s)
		} else {
			for j := 0; j < 8; j++ {
				vpdpbusdBcast(Mem{Base: a, Disp: 40*t + 4*j}, wv[j], s)
			}
		}
		VCVTDQ2PS(s, s)
		sc := ZMM()
		VMULPS_BCST(Mem{Base: a, Disp: 40*t + 36}, dw, sc)
		VFMADD231PS(sc, s, acc[t])
		VFMADD231PS_BCST(Mem{Base: a, Disp: 40*t + 32}, mw, acc[t])
	}
	ADDQ(U32(uint32(k.blockBytes)), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// inter41Unpack generates unpackI<kind>: nb blocks of an interleaved Q4_1
// or Q5_1 group into the packed group layout (pack41.go: eight vectors of
// unsigned values, then d and m as float32), for the packed tiles to
// serve long batches.
func inter41Unpack(k kind41I) {
	name := "unpackI" + k.name
	TEXT(name, NOSPLIT, "func(p *byte, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s writes nb blocks of the interleaved %s group at p into the packed group layout at dst (%d bytes per block, AVX-512).", name, k.name, packBlockBytes41))
	p := loadGP("p")
	nb := loadGP("nb")
	dst := loadGP("dst")
	c := interNibbleConsts(k.values)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for v, u := range interWeights(k.values, p, c) {
		VMOVDQU32(u, Mem{Base: dst, Disp: 64 * v})
	}
	for i, off := range []int{k.d, k.m} {
		f := ZMM()
		VCVTPH2PS(Mem{Base: p, Disp: off}, f)
		VMOVUPS(f, Mem{Base: dst, Disp: 512 + 64*i})
	}
	ADDQ(U32(uint32(k.blockBytes)), p)
	ADDQ(U32(packBlockBytes41), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// iq4xsScales writes the eight sub-block scales ls_j − 32 of the 16 rows'
// interleaved IQ4_XS block at p as int32 vectors to buf+64j (j < 8):
// ls_j = nibble j of scales_l | bits 2j, 2j+1 of scales_h << 4.
func iq4xsScales(p GPVirtual, buf func(j int) Mem) {
	sl, sh := ZMM(), ZMM()
	VMOVDQU32(Mem{Base: p, Disp: iq4xsSL}, sl)
	VPMOVZXWD(Mem{Base: p, Disp: iq4xsSH}, sh)
	c0f, c3f, c32 := inter41C.Offset(16), inter41C.Offset(20), inter41C.Offset(24)
	for j := 0; j < 8; j++ {
		lo, hi := sl, ZMM()
		if j > 0 {
			lo = ZMM()
			VPSRLD(U8(4*j), sl, lo)
		}
		// bits 2j, 2j+1 of scales_h to bits 4, 5
		if s := 4 - 2*j; s > 0 {
			VPSLLD(U8(s), sh, hi)
		} else if s < 0 {
			VPSRLD(U8(-s), sh, hi)
		} else {
			VMOVDQA32(sh, hi)
		}
		VPTERNLOGD_BCST(U8(0xd8), c0f, lo, hi) // hi = the low nibble of lo, hi's bits above it
		VPANDD_BCST(c3f, hi, hi)
		VPSUBD_BCST(c32, hi, hi)
		VMOVDQU32(hi, buf(j))
	}
}

// iq4xsValues returns the eight vectors of values + 128 of sub-block j of
// the interleaved IQ4_XS block at p: lo[w] holds elements 32j+4w..+3 of
// every row, hi[w] elements 32j+16+4w..+3.
func iq4xsValues(p GPVirtual, j int, c0f, tbl VecVirtual) (lo, hi []VecVirtual) {
	lo, hi = make([]VecVirtual, 4), make([]VecVirtual, 4)
	for w := 0; w < 4; w++ {
		lo[w], hi[w] = interNibbles(Mem{Base: p, Disp: iq4xsQS + 64*(4*j+w)}, c0f, tbl)
	}
	return lo, hi
}

// iq4xsConsts returns the low-nibble mask and the value table (IQ4_NL's
// values + 128 in every 128-bit lane).
func iq4xsConsts() (c0f, tbl VecVirtual) {
	c0f, tbl = ZMM(), ZMM()
	VPBROADCASTD(inter41C.Offset(16), c0f)
	VBROADCASTI32X4(inter41C, tbl)
	return c0f, tbl
}

// interIQ4XSTile generates tileIIQ4_XS_16xT.
func interIQ4XSTile(T int) {
	name := fmt.Sprintf("tileIIQ4_XS_16x%d", T)
	// The scale buffer makes the frame too large for NOSPLIT.
	TEXT(name, 0, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of an interleaved IQ4_XS group at p against %d tokens of interleaved K activations with the i-quant offsets, nb blocks, in the i-quant order (AVX-512 VNNI).", name, T, T),
		fmt.Sprintf("Block b of the group is at p+%db, token t's block b at a+b*as+384t.", iq4xsBlockBytes))
	buf := AllocLocal(512)
	p := loadGP("p")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	acc := make([]Register, T)
	isum := make([]Register, T)
	for t := range acc {
		acc[t] = highZ[t]
		isum[t] = highZ[packedKMaxT+t]
		VPXORD(acc[t], acc[t], acc[t])
	}
	c0f, tbl := iq4xsConsts()
	act := func(t, off int) Mem { return Mem{Base: a, Disp: actK*t + off} }
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	iq4xsScales(p, func(j int) Mem { return buf.Offset(64 * j) })
	for j := 0; j < 8; j++ {
		lo, hi := iq4xsValues(p, j, c0f, tbl)
		for t := 0; t < T; t++ {
			// Group 2j's chain (the low nibbles) and group 2j+1's (the
			// high), each from −128·bsum of its 16 quants.
			s, s2 := ZMM(), ZMM()
			VPBROADCASTD(act(t, 320+8*j), s)
			VPBROADCASTD(act(t, 324+8*j), s2)
			for w := 0; w < 4; w++ {
				vpdpbusdBcast(act(t, 4+32*j+4*w), lo[w], s)
				vpdpbusdBcast(act(t, 4+32*j+16+4*w), hi[w], s2)
			}
			VPADDD(s2, s, s)
			if j == 0 {
				VPMULLD(buf, s, isum[t])
			} else {
				VPMULLD(buf.Offset(64*j), s, s)
				VPADDD(s, isum[t], isum[t])
			}
		}
	}
	dw := ZMM()
	VCVTPH2PS(Mem{Base: p, Disp: iq4xsD}, dw)
	for t := 0; t < T; t++ {
		VCVTDQ2PS(isum[t], isum[t])
		dd := ZMM()
		VMULPS_BCST(act(t, 0), dw, dd)
		VFMADD231PS(dd, isum[t], acc[t])
	}
	ADDQ(U32(iq4xsBlockBytes), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// interIQ4XSUnpack generates unpackIIQ4_XS: nb blocks of an interleaved
// IQ4_XS group into the packed Q6_K group layout the packed i-quant path
// uses (packedk.go: 64 vectors of values + 128, 16 int32 group scales,
// d as float32), for the packed tiles to serve long batches.
func interIQ4XSUnpack() {
	name := "unpackIIQ4_XS"
	TEXT(name, NOSPLIT, "func(p *byte, nb int, dst *byte)")
	Doc(name + " writes nb blocks of the interleaved IQ4_XS group at p into the packed Q6_K group layout at dst (5184 bytes per block, AVX-512).")
	p := loadGP("p")
	nb := loadGP("nb")
	dst := loadGP("dst")
	c0f, tbl := iq4xsConsts()
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	// Each sub-block's scale goes to both of its groups of 16.
	iq4xsScales(p, func(j int) Mem { return Mem{Base: dst, Disp: packKQuants + 128*j} })
	for j := 0; j < 8; j++ {
		sc := ZMM()
		VMOVDQU32(Mem{Base: dst, Disp: packKQuants + 128*j}, sc)
		VMOVDQU32(sc, Mem{Base: dst, Disp: packKQuants + 128*j + 64})
	}
	for j := 0; j < 8; j++ {
		lo, hi := iq4xsValues(p, j, c0f, tbl)
		for w := 0; w < 4; w++ {
			VMOVDQU32(lo[w], Mem{Base: dst, Disp: 64 * (8*j + w)})
			VMOVDQU32(hi[w], Mem{Base: dst, Disp: 64 * (8*j + 4 + w)})
		}
	}
	f := ZMM()
	VCVTPH2PS(Mem{Base: p, Disp: iq4xsD}, f)
	VMOVUPS(f, Mem{Base: dst, Disp: 5120})
	ADDQ(U32(iq4xsBlockBytes), p)
	ADDQ(U32(5184), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
