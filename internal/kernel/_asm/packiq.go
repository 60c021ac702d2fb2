package main

import (
	"fmt"

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
// either path.
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
}

// packIQ4XSRows generates packX16IQ4_XS: 16 IQ4_XS rows, nb blocks, into
// the Q6_K packed layout (the kernel package's packGroupIQ): values + 128
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
