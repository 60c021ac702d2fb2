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
}

var interKinds = []interKind{{"Q4_0", 288, 256}, {"Q8_0", 544, 512}, {"IQ4_NL", 288, 256}}

func genInterleaved() {
	for _, k := range interKinds {
		for T := 1; T <= packedMaxT; T++ {
			interTile(k, T)
		}
	}
	interUnpack(interKinds[0])
	interUnpack(interKinds[2])
}

// interNibbleConsts returns the constants of a nibble kind's unpacking:
// the low-nibble mask, and for IQ4_NL the table of its values + 128 in
// every 128-bit lane (nil, nil for Q8_0).
func interNibbleConsts(k interKind) (c0f, tbl VecVirtual) {
	if k.name == "Q8_0" {
		return nil, nil
	}
	c0f = ZMM()
	g := GP32()
	MOVL(U32(0x0f0f0f0f), g)
	VPBROADCASTD(g, c0f)
	if k.name == "IQ4_NL" {
		tbl = ZMM()
		VBROADCASTI32X4(iq4Table128, tbl)
	}
	return c0f, tbl
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
	c0f, tbl := interNibbleConsts(k)
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
	wv := make([]VecVirtual, 8)
	if c0f != nil {
		for j := 0; j < 4; j++ {
			wv[j], wv[j+4] = interNibbles(Mem{Base: p, Disp: 64 * j}, c0f, tbl)
		}
	} else {
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
	c0f, tbl := interNibbleConsts(k)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for j := 0; j < 4; j++ {
		lo, hi := interNibbles(Mem{Base: p, Disp: 64 * j}, c0f, tbl)
		VMOVDQU32(lo, Mem{Base: dst, Disp: 64 * j})
		VMOVDQU32(hi, Mem{Base: dst, Disp: 64 * (j + 4)})
	}
	f := ZMM()
	VCVTPH2PS(Mem{Base: p, Disp: 256}, f)
	VMOVUPS(f, Mem{Base: dst, Disp: 512})
	ADDQ(U32(288), p)
	ADDQ(U32(576), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
