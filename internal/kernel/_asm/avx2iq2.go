package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 codebook kernels of IQ2_XXS, IQ2_XS and IQ2_S (the "avx2iq2"
// set): one weight row against T ≤ 4 Q8_K rows (292-byte blocks: d
// float32 at 0, qs [256]int8 at 4, bsums at 260), adding in the i-quant
// order (packiq_generic.go) so that they give the bits of the AVX-512
// tiles (iq.go's tileOrd kernels) and of dotIQOrdered. VEX encodings only
// (AVX2, FMA, F16C), 16 ymm registers.
//
// Per block, the sign bytes (IQ2_XXS, IQ2_XS: seven stored bits and an
// even-parity eighth, ggml's ksigns_iq2xs) and the scales 2s+1 (as int16)
// are put into one register each. Per sub-block of 32 elements: the four
// 8-byte codebook entries are one scalar load and three broadcasts
// blended into a ymm (unsigned grid bytes |v| ≤ 43; no shuffle µops,
// of which Intel's port 5 would run short: VMOVHPS/VINSERTI128 and 16-
// or 32-byte blended loads measured no faster on Zen 4); a VPSHUFB
// spreads the four sign bytes over the 32 bytes, VPAND keeps bit m in
// byte 8l+m and adding 0x7f makes the byte negative exactly where the
// bit is set, which VPSIGNB puts on the activations (the Q8_K
// quantizer's range is [−127, 127], so no negation wraps); VPMADDUBSW
// gives int16 pair sums (|·| ≤ 2·43·127 < 2¹⁵) and VPMADDWD by the scale
// pair (a VPSHUFB of the scale register) the int32 sums, exact. Per block the T sums are
// reduced to one lane each (VPHADDD) and acc = fma(float32(isum),
// (d/8)·d_a, acc) runs on the T accumulators as the lanes of one xmm:
// lane by lane the VNNI kernels' scalar steps. A block's shared values
// are computed one block ahead (a2i2Prep), so that their latency hides
// behind the previous block's sums.
//
// One token's loop is about 210 instructions per block, about 20 per
// sub-block (four index loads, four entry loads, three blends, three for
// the signs, one for the scales, five for the token): the tiles are bound
// by instruction throughput (about 56 cycles per block, 3.8 instructions
// per cycle, on Zen 4), not by memory.
//
// The tiles reuse a few vector registers from sub-block to sub-block:
// with a fresh virtual register per value, avo's allocator reaches for
// ymm16 and up, which VEX cannot encode.

// a2i2Const is the constants' RODATA.
var a2i2Const Mem

// Offsets in a2i2Const.
const (
	a2i2Pair = 0   // VPSHUFB: per lane, bytes 0,1 of each dword, then bytes 2,3
	a2i2Bits = 32  // bytes 1 << (i%8)
	a2i2B7f  = 64  // bytes 0x7f
	a2i2Top  = 96  // bytes 0x80
	a2i2B7   = 128 // 4 × 32: dwords 0x7f << 8l
	a2i2F8   = 256 // float32 0.125, 8 lanes
	a2i2W511 = 288 // words 511
	a2i2W1   = 320 // words 1
	a2i2B0f  = 352 // bytes 0x0f
	a2i2Sc   = 384 // 8 × 32: VPSHUFB: word j of each lane into all its words
	a2i2Qh   = 640 // 2 × 32: VPSHUFB: word i ← byte (16h+i)/4, zero-extended
	a2i2Mul  = 704 // words 1 << (8 − 2(i%4))
	a2i2W300 = 736 // words 0x300
	a2i2Sg   = 768 // 8 × 32: VPSHUFB: bytes 0..7 ← byte 2j, 8..15 ← byte 2j+1, per lane
	a2i2Size = 1024
)

// a2i2C returns the constant at offset off of a2i2Const.
func a2i2C(off int) Mem { return a2i2Const.Offset(off) }

func genAVX2IQ2() {
	var c [a2i2Size]byte
	put16 := func(off int, v uint16) { c[off], c[off+1] = byte(v), byte(v>>8) }
	put32 := func(off int, v uint32) {
		for i := 0; i < 4; i++ {
			c[off+i] = byte(v >> (8 * i))
		}
	}
	const z = 0x80 // VPSHUFB: a zero byte
	for i := 0; i < 32; i++ {
		c[a2i2Pair+i] = []byte{0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15}[i%16]
		c[a2i2Bits+i] = 1 << (i % 8)
		c[a2i2B7f+i] = 0x7f
		c[a2i2Top+i] = 0x80
		c[a2i2B0f+i] = 0x0f
		for j := 0; j < 8; j++ {
			c[a2i2Sg+32*j+i] = byte(2*j + i%16/8)
		}
	}
	for i := 0; i < 8; i++ {
		for l := 0; l < 4; l++ {
			put32(a2i2B7+32*l+4*i, 0x7f<<(8*l))
		}
		put32(a2i2F8+4*i, math.Float32bits(0.125))
	}
	for i := 0; i < 16; i++ {
		put16(a2i2W511+2*i, 511)
		put16(a2i2W1+2*i, 1)
		put16(a2i2Mul+2*i, 1<<(8-2*(i%4)))
		put16(a2i2W300+2*i, 0x300)
		for j := 0; j < 8; j++ {
			c[a2i2Sc+32*j+2*i], c[a2i2Sc+32*j+2*i+1] = byte(2*j), byte(2*j+1)
		}
		for h := 0; h < 2; h++ {
			c[a2i2Qh+32*h+2*i], c[a2i2Qh+32*h+2*i+1] = byte((16*h+i)/4), z
		}
	}
	a2i2Const = GLOBL("a2iq2const", RODATA|NOPTR)
	for i := 0; i < len(c); i += 4 {
		DATA(i, U32(uint32(c[i])|uint32(c[i+1])<<8|uint32(c[i+2])<<16|uint32(c[i+3])<<24))
	}
	for _, kind := range []string{"IQ2_XXS", "IQ2_XS", "IQ2_S"} {
		for T := 1; T <= 4; T++ {
			a2i2Tile(kind, T)
		}
	}
}

// a2i2Grid loads the four 8-byte codebook entries grid[idx(l)], l = 0..3,
// into the quadwords of g: broadcasts (into b) and blends, no shuffles.
func a2i2Grid(grid GPVirtual, idx func(l int) GPVirtual, g, b VecVirtual) {
	VMOVQ(Mem{Base: grid, Index: idx(0), Scale: 8}, g.AsX())
	for l := 1; l < 4; l++ {
		VPBROADCASTQ(Mem{Base: grid, Index: idx(l), Scale: 8}, b)
		VPBLENDD(U8(3<<(2*l)), b, g, g)
	}
}

// a2i2Parity sets bit 7 of every byte of v (7-bit sign indices) so that
// each byte has an even number of set bits (ggml's ksigns_iq2xs). The
// dword shifts leave in bits 0..3, 0..1 and 0 of each byte only bits of
// that byte.
func a2i2Parity(v VecVirtual) {
	p, x := YMM(), YMM()
	VPSRLD(U8(4), v, p)
	VPXOR(v, p, p)
	VPSRLD(U8(2), p, x)
	VPXOR(x, p, p)
	VPSRLD(U8(1), p, x)
	VPXOR(x, p, p)
	VPSLLD(U8(7), p, p)
	VPAND(a2i2C(a2i2Top), p, p)
	VPOR(p, v, v)
}

// a2i2SignPairs turns the block's 32 sign bytes in v (dword j: the four
// groups of sub-block j) into the form a2i2Sg's controls read: words
// 0..7 of the low lane are bytes 0,1 of sub-blocks 0..7, of the high lane
// bytes 2,3.
func a2i2SignPairs(v VecVirtual) {
	VPSHUFB(a2i2C(a2i2Pair), v, v)
	VPERMQ(U8(0xd8), v, v)
}

// a2i2Scales sets s to, for the scale bytes at m (IQ2_XS, IQ2_S: the low
// nibble of byte j scales the first 16 elements of sub-block j, the high
// nibble the last 16), the words 2s+1 of the eight low nibbles in the low
// lane and of the eight high nibbles in the high lane.
func a2i2Scales(m Mem, s VecVirtual) {
	x, h := XMM(), XMM()
	VMOVQ(m, x)
	VPSRLW(U8(4), x, h)
	VPUNPCKLQDQ(h, x, x)
	VPAND(a2i2C(a2i2B0f), x, x)
	VPMOVZXBW(x, s)
	VPSLLW(U8(1), s, s)
	VPOR(a2i2C(a2i2W1), s, s)
}

// a2i2Prep computes what the sub-blocks of the block at wp+off of type
// kind share: signs, the block's sign bytes (a2i2SignPairs); scv, its
// scales 2s+1 as words, word j of the low lane for the first 16 elements
// of sub-block j, of the high lane for the last 16; IQ2_XS and IQ2_S: the
// 32 grid indices as words at idx.
func a2i2Prep(kind string, wp GPVirtual, off int, signs, scv VecVirtual, idx Mem) {
	switch kind {
	case "IQ2_XXS":
		// aux_j (four 7-bit sign indices, the scale s at bits 28..31) is
		// the high dword of quadword j at 2.
		y0, aux := YMM(), YMM()
		VMOVDQU(Mem{Base: wp, Disp: off + 2}, y0)
		VSHUFPS(U8(0xdd), Mem{Base: wp, Disp: off + 34}, y0, aux)
		VPERMQ(U8(0xd8), aux, aux)
		x := YMM()
		VPAND(a2i2C(a2i2B7), aux, signs)
		for l := 1; l < 4; l++ {
			VPSLLD(U8(l), aux, x)
			VPAND(a2i2C(a2i2B7+32*l), x, x)
			VPOR(x, signs, signs)
		}
		a2i2Parity(signs)
		a2i2SignPairs(signs)
		VPSRLD(U8(28), aux, x)
		VPACKUSDW(x, x, x)
		VPERMQ(U8(0x88), x, x)
		VPSLLW(U8(1), x, x)
		VPOR(a2i2C(a2i2W1), x, scv)
	case "IQ2_XS":
		// u16 qs: 9-bit grid index, 7-bit sign index.
		y0, y1 := YMM(), YMM()
		VMOVDQU(Mem{Base: wp, Disp: off + 2}, y0)
		VMOVDQU(Mem{Base: wp, Disp: off + 34}, y1)
		i0, i1 := YMM(), YMM()
		VPAND(a2i2C(a2i2W511), y0, i0)
		VPAND(a2i2C(a2i2W511), y1, i1)
		VMOVDQU(i0, idx)
		VMOVDQU(i1, idx.Offset(32))
		VPSRLW(U8(9), y0, y0)
		VPSRLW(U8(9), y1, y1)
		VPACKUSWB(y1, y0, signs)
		VPERMQ(U8(0xd8), signs, signs)
		a2i2Parity(signs)
		a2i2SignPairs(signs)
		a2i2Scales(Mem{Base: wp, Disp: off + 66}, scv)
	case "IQ2_S":
		// Index k = 4j+l: qs[k] | (qh[j] >> 2l & 3) << 8.
		qh := YMM()
		VPBROADCASTQ(Mem{Base: wp, Disp: off + 66}, qh)
		for h := 0; h < 2; h++ {
			x, q := YMM(), YMM()
			VPSHUFB(a2i2C(a2i2Qh+32*h), qh, x)
			VPMULLW(a2i2C(a2i2Mul), x, x)
			VPAND(a2i2C(a2i2W300), x, x)
			VPMOVZXBW(Mem{Base: wp, Disp: off + 2 + 16*h}, q)
			VPOR(q, x, x)
			VMOVDQU(x, idx.Offset(32*h))
		}
		VMOVDQU(Mem{Base: wp, Disp: off + 34}, signs)
		a2i2SignPairs(signs)
		a2i2Scales(Mem{Base: wp, Disp: off + 74}, scv)
	}
}

// a2i2Tile generates tileA2<kind>_1xT.
func a2i2Tile(kind string, T int) {
	blockBytes := map[string]int{"IQ2_XXS": 66, "IQ2_XS": 74, "IQ2_S": 82}[kind]
	name := fmt.Sprintf("tileA2%s_1x%d", kind, T)
	TEXT(name, NOSPLIT, iqSig)
	Doc(fmt.Sprintf("%s sets out[t*os] to the dot of an %s row with Q8_K row t (at a+t*as) for t < %d, nb blocks, grid = tensor.Grid%s, in the i-quant order (AVX2, FMA, F16C).", name, kind, T, kind),
		"The Q8_K quants must lie in [−127, 127], as the quantizer writes them.")
	wp := loadGP("w")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	grid := loadGP("grid")
	ap := ptrs(a, as, T)
	// Frame: IQ2_XS's and IQ2_S's 32 grid indices, two blocks'.
	idxMem := AllocLocal(128)
	acc := XMM()
	VXORPS(acc, acc, acc)
	bits, b7f := YMM(), YMM()
	VMOVDQU(a2i2C(a2i2Bits), bits)
	VMOVDQU(a2i2C(a2i2B7f), b7f)

	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	// The block's shared values (a2i2Prep) are computed one block ahead,
	// so that their latency hides behind the previous block's sums; the
	// grid indices of IQ2_XS and IQ2_S alternate between two buffers.
	cur, nxt := GP64(), GP64()
	LEAQ(idxMem, cur)
	LEAQ(idxMem.Offset(64), nxt)
	signs, scv := YMM(), YMM()
	a2i2Prep(kind, wp, 0, signs, scv, Mem{Base: cur})

	Label(name + "_loop")
	for off := 0; off < blockBytes; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchDist + off})
	}
	signsN, scvN := YMM(), YMM()
	CMPQ(nb, U8(1))
	JE(LabelRef(name + "_last"))
	a2i2Prep(kind, wp, blockBytes, signsN, scvN, Mem{Base: nxt})
	Label(name + "_last")

	isum := make([]VecVirtual, T)
	for t := range isum {
		isum[t] = YMM()
	}
	g, bq, sgn, sc := YMM(), YMM(), YMM(), YMM()
	for j := 0; j < 8; j++ {
		if kind == "IQ2_XXS" {
			a2i2Grid(grid, func(l int) GPVirtual {
				i := GP64()
				MOVBQZX(Mem{Base: wp, Disp: 2 + 8*j + l}, i)
				return i
			}, g, bq)
		} else {
			a2i2Grid(grid, func(l int) GPVirtual {
				i := GP64()
				MOVWQZX(Mem{Base: cur, Disp: 2 * (4*j + l)}, i)
				return i
			}, g, bq)
		}
		// The sub-block's signs for VPSIGNB: byte 8l+m is bit m of its
		// sign byte l (0 or 2^m) plus 0x7f, negative (0x80..0xff) if the
		// bit is set, else 0x7f.
		VPSHUFB(a2i2C(a2i2Sg+32*j), signs, sgn)
		VPAND(bits, sgn, sgn)
		VPADDB(b7f, sgn, sgn)
		VPSHUFB(a2i2C(a2i2Sc+32*j), scv, sc)
		for t := 0; t < T; t++ {
			q := bq
			VMOVDQU(Mem{Base: ap[t], Disp: 4 + 32*j}, q)
			VPSIGNB(sgn, q, q)
			VPMADDUBSW(q, g, q)
			if j == 0 {
				VPMADDWD(sc, q, isum[t])
			} else {
				VPMADDWD(sc, q, q)
				VPADDD(q, isum[t], isum[t])
			}
		}
	}
	a2i2BlockStep(wp, ap, isum, acc)
	ADDQ(U32(uint32(blockBytes)), wp)
	for _, p := range ap {
		ADDQ(U32(292), p)
	}
	VMOVDQU(signsN, signs)
	VMOVDQU(scvN, scv)
	XCHGQ(cur, nxt)
	DECQ(nb)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		if t == 0 {
			VMOVSS(acc, Mem{Base: out})
		} else {
			ADDQ(os, out)
			VEXTRACTPS(U8(t), acc, Mem{Base: out})
		}
	}
	VZEROUPPER()
	RET()
}

// a2i2BlockStep reduces each token's block sum isum[t] to lane t of one
// xmm and adds fma(float32(isum[t]), (d/8)·d_a, ·) (d the f16 at wp, d_a
// the float32 at ap[t]) to lane t of acc.
func a2i2BlockStep(wp GPVirtual, ap []GPVirtual, isum []VecVirtual, acc VecVirtual) {
	T := len(isum)
	s := XMM()
	switch T {
	case 1:
		x := XMM()
		VEXTRACTI128(U8(1), isum[0], s)
		VPADDD(isum[0].AsX(), s, s)
		VPSHUFD(U8(0x4e), s, x)
		VPADDD(x, s, s)
		VPSHUFD(U8(0xb1), s, x)
		VPADDD(x, s, s)
	case 2:
		h := YMM()
		VPHADDD(isum[1], isum[0], h)
		VEXTRACTI128(U8(1), h, s)
		VPADDD(h.AsX(), s, s)
		VPHADDD(s, s, s)
	default:
		i3 := isum[2]
		if T == 4 {
			i3 = isum[3]
		}
		h01, h23 := YMM(), YMM()
		VPHADDD(isum[1], isum[0], h01)
		VPHADDD(i3, isum[2], h23)
		VPHADDD(h23, h01, h01)
		VEXTRACTI128(U8(1), h01, s)
		VPADDD(h01.AsX(), s, s)
	}
	VCVTDQ2PS(s, s)
	d := XMM()
	VPBROADCASTW(Mem{Base: wp}, d)
	VCVTPH2PS(d, d)
	VMULPS(a2i2C(a2i2F8), d, d)
	da := XMM()
	VMOVSS(Mem{Base: ap[0]}, da)
	for t := 1; t < T; t++ {
		VINSERTPS(U8(t<<4), Mem{Base: ap[t]}, da, da)
	}
	VMULPS(da, d, d)
	VFMADD231PS(d, s, acc)
}
