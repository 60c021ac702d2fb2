package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The interleaved kernels (see the kernel package's interleave.go for the
// layout) compute a 16-row × T-token tile from a group of 16 weight rows
// interleaved at load time, against the packed kernels' activation tiles,
// in the packed kernels' order. Per block they load the group's bytes once
// (Q4_0: four vectors, split into low and high nibbles; Q8_0: eight
// vectors used as they are) and the 16 row scales (float16), then per
// token: a broadcast of −k·Σq, eight VPDPBUSD with the activation dword
// broadcast from memory, a conversion, d_w·d_a and one FMA.

// interKind is a weight type with an interleaved layout.
type interKind struct {
	name       string
	blockBytes int // group bytes per block
	scales     int // offset of the 16 float16 scales in a block
	nibbles    int // offset of the four nibble vectors (nibble kinds)
}

var interKinds = []interKind{{"Q4_0", 288, 256, 0}, {"Q8_0", 544, 512, 0}, {"IQ4_NL", 288, 256, 0}, {"Q5_0", 352, 320, 64}}

func genInterleaved() {
	for _, k := range interKinds {
		for T := 1; T <= packedMaxT; T++ {
			interTile(k, T)
		}
		if k.name != "Q8_0" {
			interUnpack(k)
		}
	}
}

// interWeights returns the eight unsigned weight vectors of the block at p
// (vector v: elements 4v..4v+3 of every row) of a nibble kind: low and high
// nibbles (through IQ4_NL's table), and for Q5_0 the fifth bits from the
// rows' qh words at the block's start, spread to bit 4 of their bytes by a
// multiplication (bit i of a nibble of qh lands at bit 8i + 4).
func interWeights(k interKind, p GPVirtual, c *interConsts) []VecVirtual {
	wv := make([]VecVirtual, 8)
	for j := 0; j < 4; j++ {
		wv[j], wv[j+4] = interNibbles(Mem{Base: p, Disp: k.nibbles + 64*j}, c.c0f, c.tbl)
	}
	if k.name != "Q5_0" {
		return wv
	}
	qh := ZMM()
	VMOVDQU32(Mem{Base: p}, qh)
	for v := 0; v < 8; v++ {
		shift := 4 * v // vector v < 4: bits 4v..; v ≥ 4: bits 16 + 4(v−4) = 4v
		h := ZMM()
		if shift == 0 {
			VPANDD(c.cf, qh, h)
		} else {
			VPSRLD(U8(uint8(shift)), qh, h)
			VPANDD(c.cf, h, h)
		}
		VPMULLD(c.spread, h, h)
		VPTERNLOGD(U8(0xf8), c.c10, h, wv[v]) // wv |= h & 0x10
	}
	return wv
}

// interConsts are the constants of a nibble kind's unpacking.
type interConsts struct {
	c0f, tbl        VecVirtual // low-nibble mask; IQ4_NL's values + 128 in every 128-bit lane
	cf, spread, c10 VecVirtual // Q5_0: 0xf per dword, the bit-spreading multiplier, 0x10 per byte
}

// interNibbleConsts returns the constants of a nibble kind's unpacking (nil
// for Q8_0).
func interNibbleConsts(k interKind) *interConsts {
	if k.name == "Q8_0" {
		return nil
	}
	dword := func(v uint32) VecVirtual {
		z := ZMM()
		g := GP32()
		MOVL(U32(v), g)
		VPBROADCASTD(g, z)
		return z
	}
	c := &interConsts{c0f: dword(0x0f0f0f0f)}
	switch k.name {
	case "IQ4_NL":
		c.tbl = ZMM()
		VBROADCASTI32X4(iq4Table128, c.tbl)
	case "Q5_0":
		c.cf, c.spread, c.c10 = dword(0xf), dword(1<<4|1<<11|1<<18|1<<25), dword(0x10101010)
	}
	return c
}

// interNibbles loads 64 bytes of nibbles at m and returns the low and the
// high nibbles as unsigned bytes (through the IQ4_NL table if tbl is set).
func interNibbles(m Mem, c0f, tbl VecVirtual) (lo, hi VecVirtual) {
	z := ZMM()
	VMOVDQU32(m, z)
	lo, hi = ZMM(), ZMM()
	VPANDD(c0f, z, lo)
	VPSRLW(U8(4), z, hi)
	VPANDD(c0f, hi, hi)
	if tbl != nil {
		VPSHUFB(lo, tbl, lo)
		VPSHUFB(hi, tbl, hi)
	}
	return lo, hi
}

// interTile generates tileI<kind>_16xT.
func interTile(k interKind, T int) {
	name := fmt.Sprintf("tileI%s_16x%d", k.name, T)
	TEXT(name, NOSPLIT, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of an interleaved %s group at p against %d tokens of interleaved activations, nb blocks (AVX-512 VNNI).", name, T, k.name, T),
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
	c := interNibbleConsts(k)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	if T >= 4 {
		// Long tiles are compute-bound: fetch the block after next while
		// this one is multiplied, so that the next loads do not wait.
		for off := 0; off < k.blockBytes; off += 64 {
			PREFETCHT0(Mem{Base: p, Disp: 2*k.blockBytes + off})
		}
	}
	var wv []VecVirtual
	if c != nil {
		wv = interWeights(k, p, c)
	} else {
		wv = make([]VecVirtual, 8)
		for v := range wv {
			wv[v] = ZMM()
			VMOVDQU32(Mem{Base: p, Disp: 64 * v}, wv[v])
		}
	}
	dw := ZMM()
	VCVTPH2PS(Mem{Base: p, Disp: k.scales}, dw)
	for t := 0; t < T; t++ {
		s := ZMM()
		VPBROADCASTD(Mem{Base: a, Disp: 40*t + 32}, s)
		if T <= 2 {
			// Two chains of four, so that one token's block is not a
			// chain of eight dependent VPDPBUSD (the sum is exact either
			// way).
			s2 := ZMM()
			VPXORD(s2, s2, s2)
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
	}
	ADDQ(U32(uint32(k.blockBytes)), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// interUnpack generates unpackI<kind> for a nibble kind: nb blocks of an
// interleaved group into the packed group layout (packed.go: eight vectors
// of unsigned bytes, then the 16 scales as float32), for the packed tiles
// to serve long batches with one unpacking per block instead of one per 16
// tokens.
func interUnpack(k interKind) {
	name := "unpackI" + k.name
	TEXT(name, NOSPLIT, "func(p *byte, nb int, dst *byte)")
	Doc(name + " writes nb blocks of the interleaved " + k.name + " group at p into the packed group layout at dst (576 bytes per block, AVX-512).")
	p := loadGP("p")
	nb := loadGP("nb")
	dst := loadGP("dst")
	c := interNibbleConsts(k)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for v, u := range interWeights(k, p, c) {
		VMOVDQU32(u, Mem{Base: dst, Disp: 64 * v})
	}
	f := ZMM()
	VCVTPH2PS(Mem{Base: p, Disp: k.scales}, f)
	VMOVUPS(f, Mem{Base: dst, Disp: 512})
	ADDQ(U32(uint32(k.blockBytes)), p)
	ADDQ(U32(576), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
