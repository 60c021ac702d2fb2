package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The packiq set (packiq_amd64.s): the i-quants' decode tiles in the
// packed path's order. IQ4_XS and the codebook types IQ1_S, IQ1_M,
// IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S reach the packed int8 prefill
// path through the Q6_K layout and tiles (the kernel package's
// packiq_generic.go): per 256-block the exact int32 sum over 16 groups of
// 16, then acc = fma(float32(isum), (d·c)·d_a, acc) with the type's
// constant c. Their decode tiles here take the same float steps
// (iqOrdered): the block's integer sum reduced to one lane, then one
// scalar fused multiply-add, so that a token's result is the same bits on
// either path. The set also holds the pack kernels that decode 16 rows'
// blocks into that layout.
func genPackIQ() {
	iqOrdered = true
	genConsts()
	genIQ()
	genIQ4XSConsts()
	for T := 1; T <= 2; T++ {
		iq4xs(T) // avo fails to allocate registers for T ≥ 3
	}
	genPackedConsts()
	packIQ4XSRows()
	genIQPackConsts()
	for _, k := range iqPacks {
		packIQRows(k)
	}
}

// packIQ4XSRows generates packX16IQ4_XS: 16 IQ4_XS rows, nb blocks, into
// the Q6_K packed layout (the kernel package's packGroupIQGeneric): values + 128
// through the IQ4_NL table, each sub-block's scale ls − 32 as the int32
// scale of its two groups of 16, and d.
func packIQ4XSRows() {
	const name, wBytes, blockBytes = "packX16IQ4_XS", 136, 5184
	TEXT(name, NOSPLIT, "func(w *byte, ws int, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s packs nb blocks of the 16 IQ4_XS rows at w (stride ws bytes) into the Q6_K packed group layout at dst (%d bytes per block, AVX-512).", name, blockBytes))
	w := loadGP("w")
	ws := loadGP("ws")
	nb := loadGP("nb")
	dst := loadGP("dst")
	rows := sixteenRows(w, ws)
	c0f := bcastByte(0x0f)
	tbl := YMM()
	VMOVDQU8(iq4Table128, tbl)
	pf, idxLo, idxHi, gidx := packSetup(w, ws)
	packLoopHead(name, nb, pf, wBytes)
	for j := 0; j < 8; j++ {
		load := func(m Mem) VecVirtual {
			y := nibblesAt(m.Offset(8+16*j), c0f)
			VPSHUFB(y, tbl, y)
			return y
		}
		z := make([]VecVirtual, 8)
		for i := 0; i < 8; i++ {
			lo := load(rows.mem(i))
			z[i] = ZMM()
			VINSERTI64X4(U8(1), load(rows.mem(i+8)), lo.AsZ(), z[i])
		}
		transposeStore(z, idxLo, idxHi, nil, dst, 512*j)
	}
	// sc_j = (scales_l nibble j | bits 2j, 2j+1 of scales_h << 4) − 32.
	hd := gatherRows(w, gidx, 0) // d | scales_h<<16
	sl := gatherRows(w, gidx, 4)
	c15, c3, c32 := bcastDword(15), bcastDword(3), bcastDword(32)
	for j := 0; j < 8; j++ {
		lo, hi := ZMM(), ZMM()
		VPSRLD(U8(4*j), sl, lo)
		VPANDD(c15, lo, lo)
		VPSRLD(U8(16+2*j), hd, hi)
		VPANDD(c3, hi, hi)
		VPSLLD(U8(4), hi, hi)
		VPORD(hi, lo, lo)
		VPSUBD(c32, lo, lo)
		VMOVDQU32(lo, Mem{Base: dst, Disp: 4096 + 64*(2*j)})
		VMOVDQU32(lo, Mem{Base: dst, Disp: 4096 + 64*(2*j+1)})
	}
	storeHalves(hd, false, Mem{Base: dst, Disp: 5120})
	rows.advance(wBytes)
	ADDQ(U32(blockBytes), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// Byte constants of the codebook pack kernels, as dwords to broadcast.
var iqpk64, iqpk32, iqpk25, iqpk23, iqpk2 Mem

func genIQPackConsts() {
	for _, c := range []struct {
		m *Mem
		n string
		v uint32
	}{{&iqpk64, "iqpk64", 64}, {&iqpk32, "iqpk32", 32}, {&iqpk25, "iqpk25", 25}, {&iqpk23, "iqpk23", 23}, {&iqpk2, "iqpk2", 2}} {
		*c.m = GLOBL(c.n, RODATA|NOPTR)
		DATA(0, U32(c.v*0x01010101))
	}
}

// bytesOf returns a ymm with the dword at m in every dword.
func bytesOf(m Mem) VecVirtual {
	y := YMM()
	VPBROADCASTD(m, y)
	return y
}

// iqPack is one codebook type's pack kernel: header writes the 16 rows'
// scales (int32 per group of 16) and d·c of the current blocks into the
// packed block and any per-row data load needs (the sign masks) into side;
// load returns the 32 values + k of sub-block j of row i at m as unsigned
// bytes.
type iqPack struct {
	name   string
	wBytes int
	k      int  // value offset: 64, or 32 (IQ1_S, IQ1_M, IQ3_S), as the kernel package's iqKinds
	grid32 bool // 4-byte codebook entries (IQ3)
	header func(c *iqPackCtx)
	load   func(c *iqPackCtx, m Mem, i, j int) VecVirtual
}

// iqPackCtx is what an iqPack's hooks work with.
type iqPackCtx struct {
	w, dst, grid GPVirtual
	gidx         VecVirtual
	zero         VecVirtual // zero, for gridEntries
	side         Mem        // [8][16] uint32: sign masks per sub-block and row
	kvec         Mem        // k in every byte (a dword to broadcast)
}

// dw returns a zmm with v in every dword, made where it is used: the
// header's constants would otherwise stay live through the row loop.
func (c *iqPackCtx) dw(v uint32) VecVirtual { return bcastDword(v) }

// storeScales stores 2x+1 (x: 16 row lanes) as the scales of groups g and
// g+1 (a 32-element sub-block) or, if g1 < 0, of group g alone.
func (c *iqPackCtx) storeScales(x VecVirtual, g, g1 int) {
	VPADDD(x, x, x)
	VPADDD(c.dw(1), x, x)
	VMOVDQU32(x, Mem{Base: c.dst, Disp: 4096 + 64*g})
	if g1 >= 0 {
		VMOVDQU32(x, Mem{Base: c.dst, Disp: 4096 + 64*g1})
	}
}

// field returns (x >> shift) & mask per dword.
func (c *iqPackCtx) field(x VecVirtual, shift int, mask uint32) VecVirtual {
	y := ZMM()
	VPSRLD(U8(shift), x, y)
	VPANDD(c.dw(mask), y, y)
	return y
}

// storeD stores the 16 f16 in the low (high = false) or high words of h's
// dwords, converted to float32 and times k, as the packed block's d.
func (c *iqPackCtx) storeD(h VecVirtual, high bool, k float32) {
	src := h
	if high {
		src = ZMM()
		VPSRLD(U8(16), h, src)
	}
	y := YMM()
	VPMOVDW(src, y)
	f := ZMM()
	VCVTPH2PS(y, f)
	if k != 1 {
		VMULPS(c.dw(math.Float32bits(k)), f, f)
	}
	VMOVUPS(f, Mem{Base: c.dst, Disp: 5120})
}

// storeSigns stores the sign masks of sub-block j (v: four 7-bit sign
// indices in the bytes of each row's dword) with their even-parity eighth
// bits (ggml's ksigns_iq2xs) into side.
func (c *iqPackCtx) storeSigns(v VecVirtual, j int) {
	p, x := ZMM(), ZMM()
	VPSRLD(U8(4), v, p)
	VPXORD(v, p, p)
	VPSRLD(U8(2), p, x)
	VPXORD(x, p, p)
	VPSRLD(U8(1), p, x)
	VPXORD(x, p, p)
	VPSLLD(U8(7), p, p)
	VPTERNLOGD(U8(0xf8), c.dw(0x80808080), p, v) // v |= p & 0x80808080
	VMOVDQU32(v, c.side.Offset(64*j))
}

// auxHeader is the header of IQ2_XXS and IQ3_XXS: per sub-block j a u32
// at off(j) holds four 7-bit sign indices and the scale s in bits 28..31;
// k is the type's constant c.
func auxHeader(c *iqPackCtx, off func(j int) int, k float32) {
	for j := 0; j < 8; j++ {
		aux := c.gather(off(j))
		c.storeScales(c.field(aux, 28, 15), 2*j, 2*j+1)
		v := ZMM()
		VPANDD(c.dw(0x7f), aux, v)
		for l := 1; l < 4; l++ {
			x := ZMM()
			VPSLLD(U8(l), aux, x)
			VPTERNLOGD(U8(0xf8), c.dw(0x7f<<(8*l)), x, v) // v |= x & mask
		}
		c.storeSigns(v, j)
	}
	c.storeD(c.gather(0), false, k)
}

// signed returns k + g, or k − g in the bytes whose bit is set in the sign
// mask of sub-block j of row i (side).
func (c *iqPackCtx) signed(g VecVirtual, i, j int) VecVirtual {
	km := K1
	KMOVD(c.side.Offset(64*j+4*i), km)
	kv := bytesOf(c.kvec)
	u := YMM()
	VPADDB(g, kv, u)
	VPSUBB(g, kv, km, u)
	return u
}

// gridEntries loads the four 8-byte codebook entries grid[idx(l)] (or,
// grid32, the eight 4-byte ones) into a ymm, as gridQuad and gridOct do,
// but starting from a copy of zero: the low-half writes leave avo thinking
// the upper half is read, which with 128 loads per block would keep them
// all live.
func (c *iqPackCtx) gridEntries(grid32 bool, idx func(l int) GPVirtual) VecVirtual {
	g, x := YMM(), XMM()
	VMOVDQA64(c.zero.AsY(), g)
	if grid32 {
		for h, v := range []Op{g.AsX(), x} {
			VMOVD(Mem{Base: c.grid, Index: idx(4 * h), Scale: 4}, v)
			for l := 1; l < 4; l++ {
				VPINSRD(U8(l), Mem{Base: c.grid, Index: idx(4*h + l), Scale: 4}, v, v)
			}
		}
	} else {
		VMOVQ(Mem{Base: c.grid, Index: idx(0), Scale: 8}, g.AsX())
		VPINSRQ(U8(1), Mem{Base: c.grid, Index: idx(1), Scale: 8}, g.AsX(), g.AsX())
		VMOVQ(Mem{Base: c.grid, Index: idx(2), Scale: 8}, x)
		VPINSRQ(U8(1), Mem{Base: c.grid, Index: idx(3), Scale: 8}, x, x)
	}
	VINSERTI32X4(U8(1), x, g, g)
	return g
}

// gather returns the dword at off of each of the 16 rows' current block,
// as gatherRows, with its mask and destination defined without reading
// them (avo would keep one of each live per call from the function's
// start).
func (c *iqPackCtx) gather(off int) VecVirtual {
	t := GP32()
	MOVL(U32(0xffff), t)
	km := K()
	KMOVW(t, km)
	g := ZMM()
	VMOVDQA64(c.zero, g)
	VPGATHERDD(Mem{Base: c.w, Index: c.gidx, Scale: 1, Disp: off}, km, g)
	return g
}

// signedAt is signed with the sub-block's 32 sign bits at m (IQ2_S,
// IQ3_S store them as they are).
func (c *iqPackCtx) signedAt(g VecVirtual, m Mem) VecVirtual {
	km := K1
	KMOVD(m, km)
	kv := bytesOf(c.kvec)
	u := YMM()
	VPADDB(g, kv, u)
	VPSUBB(g, kv, km, u)
	return u
}

// nibbleScales stores the scales 2s+1 of the groups g0+i (i < n) whose s
// are the 4-bit fields 4i of the dword at off of the 16 rows' blocks; pair
// repeats each for the next group (one scale per 32 elements).
func (c *iqPackCtx) nibbleScales(off, g0, n int, pair bool) {
	x := c.gather(off)
	for i := 0; i < n; i++ {
		if pair {
			c.storeScales(c.field(x, 4*i, 15), g0+2*i, g0+2*i+1)
		} else {
			c.storeScales(c.field(x, 4*i, 15), g0+i, -1)
		}
	}
}

// byteIdx returns gridQuad's idx for the index bytes at m.
func byteIdx(m Mem) func(l int) GPVirtual {
	return func(l int) GPVirtual {
		i := GP64()
		MOVBQZX(m.Offset(l), i)
		return i
	}
}

var iqPacks = []iqPack{
	{"IQ2_XXS", 66, 64, false,
		func(c *iqPackCtx) { auxHeader(c, func(j int) int { return 6 + 8*j }, 0.125) },
		func(c *iqPackCtx, m Mem, i, j int) VecVirtual {
			return c.signed(c.gridEntries(false, byteIdx(m.Offset(2+8*j))), i, j)
		}},
	{"IQ1_S", 50, 32, false,
		func(c *iqPackCtx) {
			for jj := 0; jj < 4; jj++ {
				qh := c.gather(34 + 4*jj) // qh of sub-blocks 2jj, 2jj+1
				c.storeScales(c.field(qh, 12, 7), 4*jj, 4*jj+1)
				c.storeScales(c.field(qh, 28, 7), 4*jj+2, 4*jj+3)
			}
			c.storeD(c.gather(0), false, 0.125)
		},
		func(c *iqPackCtx, m Mem, i, j int) VecVirtual {
			// 32 + 8·g + δ = 8·(g+1) + 25 − 2·[δ = −1]
			ix, neg := GP64(), GP32()
			MOVWQZX(m.Offset(34+2*j), ix)
			MOVL(ix.As32(), neg)
			SHRL(U8(15), neg)
			NEGL(neg)
			g := c.gridEntries(false, wordIdx(pdepIdx(ix, iq1sHi, m.Offset(2+4*j))))
			km := K1
			KMOVD(neg, km)
			VPSLLW(U8(3), g, g)
			VPADDB(bytesOf(iqpk25), g, g)
			VPSUBB(bytesOf(iqpk2), g, km, g)
			return g
		}},
	{"IQ1_M", 56, 32, false,
		func(c *iqPackCtx) {
			// Scale words w0..w3 at 48: sub-block ib's 3-bit scales at bits
			// 6(ib%2) and +3 of word ib/2; d in the words' top nibbles.
			a, b := c.gather(48), c.gather(52) // w0 | w1<<16, w2 | w3<<16
			for ib := 0; ib < 8; ib++ {
				src := a
				if ib >= 4 {
					src = b
				}
				sh := 16*((ib%4)/2) + 6*(ib%2)
				c.storeScales(c.field(src, sh, 7), 2*ib, -1)
				c.storeScales(c.field(src, sh+3, 7), 2*ib+1, -1)
			}
			dh := c.field(a, 12, 0xf)
			VPORD(c.field(a, 24, 0xf0), dh, dh)
			VPORD(c.field(b, 4, 0xf00), dh, dh)
			VPORD(c.field(b, 16, 0xf000), dh, dh)
			c.storeD(dh, false, 0.125)
		},
		func(c *iqPackCtx, m Mem, i, j int) VecVirtual {
			// gridIQ1MU's entry (index | delta bit << 11) is 8·(g+1) + 1 + δ.
			ix := GP64()
			MOVWQZX(m.Offset(32+2*j), ix)
			g := c.gridEntries(false, wordIdx(pdepIdx(ix, iq1mHi, m.Offset(4*j))))
			VPADDB(bytesOf(iqpk23), g, g)
			return g
		}},
	{"IQ3_XXS", 98, 64, true,
		func(c *iqPackCtx) { auxHeader(c, func(j int) int { return 66 + 4*j }, 0.25) },
		func(c *iqPackCtx, m Mem, i, j int) VecVirtual {
			return c.signed(c.gridEntries(true, byteIdx(m.Offset(2+8*j))), i, j)
		}},
	{"IQ2_XS", 74, 64, false,
		func(c *iqPackCtx) {
			for j := 0; j < 8; j++ {
				// Sign indices: bits 9..15 of the u16 of each group.
				a, b := c.gather(2+8*j), c.gather(6+8*j)
				v := c.field(a, 9, 0x7f)
				VPORD(c.field(a, 17, 0x7f00), v, v)
				VPORD(c.field(b, 1, 0x7f000000), v, v)
				x := ZMM()
				VPSLLD(U8(7), b, x)
				VPTERNLOGD(U8(0xf8), c.dw(0x7f0000), x, v) // v |= x & mask
				c.storeSigns(v, j)
			}
			c.nibbleScales(66, 0, 8, false)
			c.nibbleScales(70, 8, 8, false)
			c.storeD(c.gather(0), false, 0.125)
		},
		func(c *iqPackCtx, m Mem, i, j int) VecVirtual {
			g := c.gridEntries(false, func(l int) GPVirtual {
				ix := GP64()
				MOVWQZX(m.Offset(2+8*j+2*l), ix)
				ANDL(U32(511), ix.As32())
				return ix
			})
			return c.signed(g, i, j)
		}},
	{"IQ2_S", 82, 64, false,
		func(c *iqPackCtx) {
			c.nibbleScales(74, 0, 8, false)
			c.nibbleScales(78, 8, 8, false)
			c.storeD(c.gather(0), false, 0.125)
		},
		func(c *iqPackCtx, m Mem, i, j int) VecVirtual {
			hi := GP64()
			MOVBQZX(m.Offset(66+j), hi)
			g := c.gridEntries(false, wordIdx(pdepIdx(hi, iq2sHi, m.Offset(2+4*j))))
			return c.signedAt(g, m.Offset(34+4*j))
		}},
	{"IQ3_S", 110, 32, true,
		func(c *iqPackCtx) {
			c.nibbleScales(106, 0, 8, true)
			c.storeD(c.gather(0), false, 1)
		},
		func(c *iqPackCtx, m Mem, i, j int) VecVirtual {
			// Index bit 8 of quad l is bit l of qh[j]: two PDEPs of four.
			lo, hi := GP64(), GP64()
			MOVBQZX(m.Offset(66+j), lo)
			MOVQ(lo, hi)
			SHRQ(U8(4), hi)
			ia := wordIdx(pdepIdx(lo, iq3sHi, m.Offset(2+8*j)))
			ib := wordIdx(pdepIdx(hi, iq3sHi, m.Offset(6+8*j)))
			g := c.gridEntries(true, func(l int) GPVirtual {
				if l < 4 {
					return ia(l)
				}
				return ib(l - 4)
			})
			return c.signedAt(g, m.Offset(74+4*j))
		}},
}

// packIQRows generates packX16<name>: 16 rows of codebook type k, nb
// blocks, into the Q6_K packed layout (the kernel package's packGroupIQGeneric).
func packIQRows(k iqPack) {
	name := "packX16" + k.name
	gt := "*uint64"
	if k.grid32 {
		gt = "*uint32"
	}
	TEXT(name, NOSPLIT, "func(w *byte, ws int, nb int, dst *byte, grid "+gt+")")
	Doc(fmt.Sprintf("%s packs nb blocks of the 16 %s rows at w (stride ws bytes) into the Q6_K packed group layout at dst (5184 bytes per block), with the codebook grid (AVX-512 VNNI, BMI2).", name, k.name))
	c := &iqPackCtx{}
	c.w = loadGP("w")
	ws := loadGP("ws")
	nb := loadGP("nb")
	c.dst = loadGP("dst")
	c.grid = loadGP("grid")
	c.side = AllocLocal(512)
	c.zero = ZMM()
	VPXORD(c.zero, c.zero, c.zero)
	c.kvec = iqpk64
	if k.k == 32 {
		c.kvec = iqpk32
	}
	rows := sixteenRows(c.w, ws)
	// nb and the prefetch pointer (the next group's rows, as packSetup's)
	// live on the stack: general registers are short in the row loop.
	nbMem, pfMem := AllocLocal(8), AllocLocal(8)
	MOVQ(nb, nbMem)
	pf, idxLo, idxHi, _ := packSetup(c.w, ws)
	MOVQ(pf, pfMem)
	Label(name + "_loop")
	CMPQ(nbMem, U8(0))
	JE(LabelRef(name + "_done"))
	{
		pf := GP64()
		MOVQ(pfMem, pf)
		for off := 0; off < 16*k.wBytes; off += 64 {
			PREFETCHT0(Mem{Base: pf, Disp: off})
		}
		ADDQ(U32(uint32(16*k.wBytes)), pf)
		MOVQ(pf, pfMem)
	}
	// The gather indices r·ws, made per block: registers are short in the
	// row loop.
	c.gidx = ZMM()
	VPBROADCASTD(ws.As32(), c.gidx)
	VPMULLD(iota16, c.gidx, c.gidx)
	k.header(c)
	for j := 0; j < 8; j++ {
		z := make([]VecVirtual, 8)
		for i := 0; i < 8; i++ {
			lo := k.load(c, rows.mem(i), i, j)
			z[i] = ZMM()
			VINSERTI64X4(U8(1), k.load(c, rows.mem(i+8), i+8, j), lo.AsZ(), z[i])
		}
		transposeStore(z, idxLo, idxHi, nil, c.dst, 512*j)
	}
	rows.advance(uint32(k.wBytes))
	ADDQ(U32(5184), c.dst)
	DECQ(nbMem)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
