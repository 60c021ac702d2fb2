package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The packed prefill kernels (see the kernel package's matmul_packed.go for
// the layouts) compute a 16-row × T-token tile with one float32 lane per
// weight row, from 16 weight rows packed once per MatMul call and
// activations quantized into token-interleaved Q8 blocks:
//
//   - packed weight group, per 32-element block (576 bytes): eight 64-byte
//     vectors, vector j lane r holding elements 4j..4j+3 of row r as
//     unsigned bytes u = w + k (k per weight type), then the 16 row scales
//     as float32;
//   - activation block (40 bytes): the 32 Q8_0 quants (signed), the int32
//     −k·Σq, and the scale d as float32; the 16 tokens of a tile lie next to
//     each other (640 bytes per block).
//
// Per block and token that is one broadcast of −k·Σq, eight VPDPBUSD with
// the activation dword broadcast from memory, one conversion, one multiply
// of the row scales by d and one FMA, for 16 rows at once: Σ w·a = Σ u·a −
// k·Σ a, exact in int32.

// packedKind is a weight type the packed kernels read.
type packedKind struct {
	name   string
	wBytes int
	k      int // u = w + k
	// load returns the block at m decoded to 32 unsigned bytes u (Q8_0
	// returns the signed bytes: pack flips them after the transpose).
	load func(m Mem, c *packConsts) VecVirtual
}

type packConsts struct {
	c0f, c10, tbl VecVirtual
}

var packedKinds = []packedKind{
	{"Q8_0", 34, 128, func(m Mem, c *packConsts) VecVirtual {
		y := YMM()
		VMOVDQU8(m.Offset(2), y)
		return y
	}},
	{"Q4_0", 18, 8, func(m Mem, c *packConsts) VecVirtual {
		return nibblesAt(m.Offset(2), c.c0f)
	}},
	{"Q5_0", 22, 16, func(m Mem, c *packConsts) VecVirtual {
		y := nibblesAt(m.Offset(6), c.c0f)
		VPORD(highBitsAt(m.Offset(2), c.c10), y, y)
		return y
	}},
	{"IQ4_NL", 18, 128, func(m Mem, c *packConsts) VecVirtual {
		y := nibblesAt(m.Offset(2), c.c0f)
		VPSHUFB(y, c.tbl, y)
		return y
	}},
}

// packedMaxT is the largest token count per tile.
const packedMaxT = 16

// Constants of the packed kernels.
var (
	iq4Table128 Mem // kvalues_iq4nl + 128 as unsigned bytes, twice
	permLo      Mem // qwords 0,1,8,9,4,5,12,13: 128-bit lanes A0 B0 A2 B2
	permHi      Mem // qwords 2,3,10,11,6,7,14,15: A1 B1 A3 B3
	iota16      Mem // dwords 0..15
)

func genPackedConsts() {
	iq4Table128 = GLOBL("iq4nltable128", RODATA|NOPTR)
	vals := []int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
	for i := 0; i < 32; i++ {
		DATA(i, U8(uint8(int(vals[i%16])+128)))
	}
	permLo = GLOBL("packpermlo", RODATA|NOPTR)
	for i, v := range []uint64{0, 1, 8, 9, 4, 5, 12, 13} {
		DATA(8*i, U64(v))
	}
	permHi = GLOBL("packpermhi", RODATA|NOPTR)
	for i, v := range []uint64{2, 3, 10, 11, 6, 7, 14, 15} {
		DATA(8*i, U64(v))
	}
	iota16 = GLOBL("iota16", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(i)))
	}
}

func genPacked() {
	genPackedConsts()
	for T := 1; T <= packedMaxT; T++ {
		packedTile(T)
	}
	for _, k := range packedKinds {
		packRows(k)
	}
	quantQ8_0x()
}

// vpdpbusdBcast is vpdpbusd with the signed operand a dword in memory
// broadcast to every lane (EVEX embedded broadcast).
func vpdpbusdBcast(m Mem, u, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Suffixes: []string{"BCST"},
		Operands: []Op{m, u, acc},
		Inputs:   []Op{m, u, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI", "AVX512F"},
	})
}

// packedTile generates tileP_16xT.
func packedTile(T int) {
	name := fmt.Sprintf("tileP_16x%d", T)
	TEXT(name, NOSPLIT, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of a packed weight group against %d tokens of interleaved activations, nb blocks (AVX-512 VNNI).", name, T, T),
		"Block b of the group is at p+576b, token t's block b at a+b*as+40t.")
	p := loadGP("p")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highZ[t]
		VPXORD(acc[t], acc[t], acc[t])
	}
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	wv := make([]VecVirtual, 8)
	for j := range wv {
		wv[j] = ZMM()
		VMOVDQU32(Mem{Base: p, Disp: 64 * j}, wv[j])
	}
	dw := ZMM()
	VMOVUPS(Mem{Base: p, Disp: 512}, dw)
	for t := 0; t < T; t++ {
		s := ZMM()
		VPBROADCASTD(Mem{Base: a, Disp: 40*t + 32}, s)
		for j := 0; j < 8; j++ {
			vpdpbusdBcast(Mem{Base: a, Disp: 40*t + 4*j}, wv[j], s)
		}
		VCVTDQ2PS(s, s)
		sc := ZMM()
		VMULPS_BCST(Mem{Base: a, Disp: 40*t + 36}, dw, sc)
		VFMADD231PS(sc, s, acc[t])
	}
	ADDQ(U32(576), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// packRows generates packX16<kind>: 16 weight rows, nb blocks, into the
// packed group layout.
func packRows(k packedKind) {
	name := "packX16" + k.name
	TEXT(name, NOSPLIT, "func(w *byte, ws int, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s packs nb blocks of the 16 %s rows at w (stride ws bytes) into the packed group layout at dst (576 bytes per block, AVX-512).", name, k.name))
	w := loadGP("w")
	ws := loadGP("ws")
	nb := loadGP("nb")
	dst := loadGP("dst")
	rows := sixteenRows(w, ws)
	rowMem := rows.mem
	c := &packConsts{}
	if k.name != "Q8_0" {
		c.c0f = bcastByte(0x0f)
	}
	if k.name == "Q5_0" {
		c.c10 = bcastByte(0x10)
	}
	if k.name == "IQ4_NL" {
		c.tbl = YMM()
		VMOVDQU8(iq4Table128, c.tbl)
	}
	var c80 VecVirtual
	if k.name == "Q8_0" {
		c80 = ZMM()
		g := GP32()
		MOVL(U32(0x80808080), g)
		VPBROADCASTD(g, c80)
	}
	pf, idxLo, idxHi, gidx := packSetup(w, ws)
	packLoopHead(name, nb, pf, k.wBytes)
	// z[i]: row i in the low 256 bits, row i+8 in the high.
	z := make([]VecVirtual, 8)
	for i := 0; i < 8; i++ {
		lo := k.load(rowMem(i), c)
		z[i] = ZMM()
		if k.name == "Q8_0" {
			VINSERTI64X4(U8(1), rowMem(i+8).Offset(2), lo.AsZ(), z[i])
		} else {
			VINSERTI64X4(U8(1), k.load(rowMem(i+8), c), lo.AsZ(), z[i])
		}
	}
	// Transpose each half's 8×8 dwords: vector j lane r = dword j of row r.
	transposeStore(z, idxLo, idxHi, c80, dst, 0)
	// Scales: the dword at each row's block start holds its f16 d.
	km := K()
	KXNORW(km, km, km)
	g := ZMM()
	VPXORD(g, g, g)
	VPGATHERDD(Mem{Base: w, Index: gidx, Scale: 1}, km, g)
	h := YMM()
	VPMOVDW(g, h)
	f := ZMM()
	VCVTPH2PS(h, f)
	VMOVUPS(f, Mem{Base: dst, Disp: 512})

	rows.advance(uint32(k.wBytes))
	ADDQ(U32(576), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// quantQ8_0x is quantQ8_0 writing the activation blocks of the packed
// kernels: qs, then −k·Σqs (int32), then d as float32, blocks stride bytes
// apart.
func quantQ8_0x() {
	TEXT("quantQ8_0xAVX512", NOSPLIT, "func(x *float32, out *byte, nb int, stride int, negk int)")
	Doc("quantQ8_0xAVX512 writes nb interleaved Q8 activation blocks (40 bytes, stride bytes apart) from 32·nb floats at x (AVX-512).")
	x := loadGP("x")
	out := loadGP("out")
	nb := loadGP("nb")
	stride := loadGP("stride")
	negk := loadGP("negk")
	c := newQ8Consts()

	Label("q80x_loop")
	TESTQ(nb, nb)
	JZ(LabelRef("q80x_done"))
	bl := q8_0Scale(x, c)
	d := XMM()
	VCVTPH2PS(bl.h, d)
	VMOVSS(d, Mem{Base: out, Disp: 36})
	q8_0Quants(bl, c, Mem{Base: out})
	v0, v1 := bl.v0, bl.v1
	// Σq over the 32 quants.
	VPADDD(v1, v0, v0)
	sy := YMM()
	VEXTRACTI64X4(U8(1), v0, sy)
	VPADDD(v0.AsY(), sy, sy)
	sx, st := XMM(), XMM()
	VEXTRACTI32X4(U8(1), sy, sx)
	VPADDD(sy.AsX(), sx, sx)
	VPSHUFD(U8(0x4e), sx, st)
	VPADDD(st, sx, sx)
	VPSHUFD(U8(0xb1), sx, st)
	VPADDD(st, sx, sx)
	sg := GP32()
	VMOVD(sx, sg)
	IMULL(negk.As32(), sg)
	MOVL(sg, Mem{Base: out, Disp: 32})

	ADDQ(U32(128), x)
	ADDQ(stride, out)
	DECQ(nb)
	JMP(LabelRef("q80x_loop"))
	Label("q80x_done")
	VZEROUPPER()
	RET()
}

// rows16 addresses 16 rows stride bytes apart: rows 4i..4i+3 from the
// base register p[i] with index 0, stride, 2·stride and 3·stride (four
// registers besides stride).
type rows16 struct {
	p          []GPVirtual
	stride, s3 GPVirtual
}

// sixteenRows sets up rows16 for the rows at w.
func sixteenRows(w, stride GPVirtual) *rows16 {
	r := &rows16{stride: stride, s3: GP64()}
	LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, r.s3)
	r.p = []GPVirtual{w, GP64(), GP64(), GP64()}
	for i := 1; i < 4; i++ {
		LEAQ(Mem{Base: r.p[i-1], Index: stride, Scale: 4}, r.p[i])
	}
	return r
}

// mem returns the memory operand of row i.
func (r *rows16) mem(i int) Mem {
	b := r.p[i/4]
	switch i % 4 {
	case 1:
		return Mem{Base: b, Index: r.stride, Scale: 1}
	case 2:
		return Mem{Base: b, Index: r.stride, Scale: 2}
	case 3:
		return Mem{Base: b, Index: r.s3, Scale: 1}
	}
	return Mem{Base: b}
}

// advance moves every row on by n bytes.
func (r *rows16) advance(n uint32) {
	for _, b := range r.p {
		ADDQ(U32(n), b)
	}
}

// storeTileRows ends a tile kernel: it writes acc[t] (16 float32 lanes, one
// per weight row, masked by the "mask" argument) to out + t·os floats for
// each token t, and returns.
func storeTileRows(acc []Register) {
	out := loadGP("out")
	os := loadGP("os")
	mask := loadGP("mask")
	km := K()
	KMOVW(mask.As32(), km)
	SHLQ(U8(2), os)
	for t := range acc {
		VMOVUPS(acc[t], km, Mem{Base: out})
		if t+1 < len(acc) {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// packSetup starts a pack kernel over 16 weight rows ws bytes apart from
// w. It returns pf, which walks the next group's rows (16·ws bytes on) so
// that they arrive while this group is computed; the two interleave
// permutations; and the gather indices r·ws for the rows' scales.
func packSetup(w, ws GPVirtual) (pf GPVirtual, idxLo, idxHi, gidx VecVirtual) {
	pf = GP64()
	MOVQ(ws, pf)
	SHLQ(U8(4), pf)
	ADDQ(w, pf)
	idxLo, idxHi = ZMM(), ZMM()
	VMOVDQU64(permLo, idxLo)
	VMOVDQU64(permHi, idxHi)
	gidx = ZMM()
	VPBROADCASTD(ws.As32(), gidx)
	VPMULLD(iota16, gidx, gidx)
	return pf, idxLo, idxHi, gidx
}

// packLoopHead opens a pack kernel's loop over blocks: it leaves for
// name_done when nb is 0, and prefetches the next group's 16 blocks of
// blockBytes each at pf, advancing pf past them.
func packLoopHead(name string, nb, pf GPVirtual, blockBytes int) {
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for off := 0; off < 16*blockBytes; off += 64 {
		PREFETCHT0(Mem{Base: pf, Disp: off})
	}
	ADDQ(U32(16*blockBytes), pf)
}
