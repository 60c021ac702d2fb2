package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The interleaved Q2_K and Q3_K kernels (the "interk23" set, -set interk23,
// into interk23_amd64.s; the layouts are in the kernel package's
// interleavek23.go) compute a 16-row × T-token tile from a group of 16
// weight rows interleaved at load time, against the packed K kernels'
// activation tiles, in the K-quant order of the packed Q2_K/Q3_K path
// (packk23.go, packedk_generic.go): per block the exact int32 isum (and,
// Q2_K, msum), then acc = fma(float32(isum), d_w·d_a, acc) and (Q2_K) acc
// = fma(−float32(msum), dmin_w·d_a, acc).
//
// The packed path folds each group's scale into its values; here the
// values stay 2- or 3-bit, and the scale of a group of 16 elements comes
// after its sum: per group and token, four VPDPBUSD (one per dword vector
// of the group, the activation dword broadcast from memory) make a chain
// that fits an int16, and one VPDPWSSD adds chain × scale into isum. A
// plane of a transposed qs vector is taken near where it lies: Q2_K's as
// x & 3 (×1) or x & 12 (×4) of x or x >> 4, Q3_K's at bits 0, 1 (×1) or
// 1, 2 (×2) with its third bit joined above it by one VPTERNLOGD (from
// the hmask shifted once for two planes). The group scales carry the
// missing factor, so isum comes out 4 (Q2_K) or 2 (Q3_K) times the sum,
// and an arithmetic shift ends it exactly. Q3_K's chains start from
// −4·f·bsum_g (f the plane's factor; the interleaved Q3_K activations
// carry it, see interleavek23.go), so that a chain is f·Σ (u−4)·q and
// fits an int16; Q2_K's msum comes from eight VPDPWSSD of the min pairs.
// A group's multiplier is made in a register just before its chains: a
// VPSHUFB of its scale byte (Q2_K: from the scale vector, then ×4 for the
// even planes by a shift; Q3_K: then a VPSRAW, from the scales unpacked
// once per block into a stack buffer). Keeping a block's 16 multipliers
// in the stack buffer instead, or moving planes by GF2P8AFFINEQB (shift
// and mask in one), measured slower on Zen 4 (decode from L2 on one
// thread, before the chain starts: Q2_K 27.5 and 31.6 GB/s against 38.5;
// Q3_K 24.8 and 21.4 against 25.7; 27.5 with the chain starts).

// Constants of the interk23 set, 64 bytes each.
var (
	// ik23Lo[m]: VPSHUFB controls that zero-extend byte m of each dword
	// into its low word (and zero the high word).
	ik23Lo [4]Mem
	// ik23Hi[m]: byte m of each dword into byte 1, the rest zero (so that
	// an arithmetic word shift sign-extends it into the low word).
	ik23Hi [4]Mem
)

func genInterK23Consts() {
	ctl := func(name string, f func(b int) (src int, ok bool)) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 64; i++ {
			v := uint8(0x80)
			if s, ok := f(i % 4); ok {
				v = uint8(4*((i%16)/4) + s)
			}
			DATA(i, U8(v))
		}
		return m
	}
	for m := 0; m < 4; m++ {
		ik23Lo[m] = ctl(fmt.Sprintf("ik23lo%d", m), func(b int) (int, bool) { return m, b == 0 })
		ik23Hi[m] = ctl(fmt.Sprintf("ik23hi%d", m), func(b int) (int, bool) { return m, b == 1 })
	}
}

func genInterK23() {
	genPackedKConsts()
	genPackK23Consts()
	genInterK23Consts()
	for _, three := range []bool{false, true} {
		for T := 1; T <= packedKMaxT; T++ {
			interK23Tile(three, T)
		}
		interK23Unpack(three)
	}
}

// zeroZ zeroes z by xoring it with itself, telling avo that it reads
// nothing (so that z is not live before).
func zeroZ(z Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPXORD",
		Operands: []Op{z, z, z},
		Inputs:   []Op{},
		Outputs:  []Op{z},
		ISA:      []string{"AVX512F"},
	})
}

// interK3Vec is the kernel package's: the offset in an interleaved Q3_K
// block of the vector hm(w) (h < 0) or qs(h, w).
func interK3Vec(h, w int) int {
	switch h {
	case -1:
		return 192 + 512*(w/4) + 64*(w%4)
	case 0:
		return 448 + 512*(w/4) + 64*(w%4)
	}
	return 1216 + 64*w
}

// Offsets in the stack buffer of the Q3_K tiles: the scales − 32 (four
// vectors, a byte per group).
const (
	ik23Sc  = 0
	ik23Buf = 256
)

// interK23Tile generates tileIQ2_K_16xT or tileIQ3_K_16xT.
func interK23Tile(three bool, T int) {
	kind, bb := "Q2_K", 1344
	if three {
		kind, bb = "Q3_K", 1760
	}
	name := fmt.Sprintf("tileI%s_16x%d", kind, T)
	TEXT(name, NOSPLIT, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of an interleaved %s group at p against %d tokens of interleaved K activations, nb blocks, in the K-quant order (AVX-512 VNNI).", name, T, kind, T),
		fmt.Sprintf("Block b of the group is at p+%db (Q3_K: in pairs, see interleavek23.go), token t's block b at a+b*as+384t.", bb))
	var buf Mem
	if three {
		buf = AllocLocal(ik23Buf)
	}
	p := loadGP("p")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	// Q3_K's blocks go in pairs: dstep is 1792 from an even block, 1728
	// from an odd one; doff is d's offset from the block, 1728 or −32.
	var dstep, doff GPVirtual
	if three {
		dstep, doff = GP64(), GP64()
		MOVQ(U32(1792), dstep)
		MOVQ(U32(1728), doff)
	}
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highZ[t]
		zeroZ(acc[t])
	}
	// Below five tokens each token's isum runs as two chains, so that
	// VPDPWSSD's latency is covered.
	chains := 1
	if T <= 4 {
		chains = 2
	}
	isum := make([][]Register, chains)
	for c := range isum {
		isum[c] = make([]Register, T)
		for t := range isum[c] {
			isum[c][t] = highZ[packedKMaxT+4*c+t]
		}
	}
	c03 := bcastDword(0x03030303)
	var c0f, c0c, c04, c06, c08 VecVirtual
	if three {
		c04, c06, c08 = bcastDword(0x04040404), bcastDword(0x06060606), bcastDword(0x08080808)
	} else {
		c0f = bcastDword(0x0f0f0f0f)
		c0c = bcastDword(0x0c0c0c0c)
	}

	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	act := func(t, off int) Mem { return Mem{Base: a, Disp: actK*t + off} }
	if three {
		interK3Scales(p, buf)
	}
	for c := range isum {
		for t := 0; t < T; t++ {
			zeroZ(isum[c][t])
		}
	}
	n := 0 // groups done
	for h := 0; h < 2; h++ {
		// Q2_K: the scales of groups 8h..8h+3 and 8h+4..8h+7, one byte each
		var scl [2]VecVirtual
		if !three {
			for j := range scl {
				scl[j] = ZMM()
				VPANDD(Mem{Base: p, Disp: 64 * (2*h + j)}, c0f, scl[j])

			}
		}
		for ih := 0; ih < 2; ih++ {
			var hsL, hsH []VecVirtual // Q3_K: the hmask vectors shifted
			var x []VecVirtual        // Q2_K: the plane vectors
			if three {
				hsL, hsH = make([]VecVirtual, 4), make([]VecVirtual, 4)
				for i := range hsL {
					m := Mem{Base: p, Disp: interK3Vec(-1, 4*ih+i)}
					hsL[i] = ZMM()
					if h == 0 {
						VPSLLW(U8(2), m, hsL[i])
					} else {
						VPSRLW(U8(2), m, hsL[i])
					}
				}
			} else {
				x = make([]VecVirtual, 4)
				for i := range x {
					x[i] = ZMM()
					VMOVDQU32(Mem{Base: p, Disp: 256 + 64*(8*h+4*ih+i)}, x[i])
				}
			}
			for pl := 0; pl < 4; pl++ {
				g := 8*h + 2*pl + ih
				if three && h == 1 && pl == 2 {
					for i := range hsH { // hsL is dead by now
						hsH[i] = ZMM()
						VPSRLW(U8(4), Mem{Base: p, Disp: interK3Vec(-1, 4*ih+i)}, hsH[i])
					}
				}
				v := make([]VecVirtual, 4)
				for i := range v {
					w := 4*ih + i
					v[i] = ZMM()
					if !three {
						// Q2_K: plane pl at bits 0, 1 (×1) or 2, 3 (×4)
						switch pl {
						case 0:
							VPANDD(c03, x[i], v[i])
						case 1:
							VPANDD(c0c, x[i], v[i])
						case 2:
							VPSRLW(U8(4), x[i], x[i]) // x is dead but for plane 3
							VPANDD(c03, x[i], v[i])
						default:
							VPANDD(c0c, x[i], v[i])
						}
						continue
					}
					// Q3_K: the plane at bits 0, 1 (×1, even planes)
					// or 1, 2 (×2), its third bit above it.
					xm := Mem{Base: p, Disp: interK3Vec(h, w)}
					if pl == 0 {
						VPANDD(xm, c03, v[i])
					} else {
						VPSRLW(U8([]int{0, 1, 4, 5}[pl]), xm, v[i])
						VPANDD([]VecVirtual{c03, c06, c03, c06}[pl], v[i], v[i])
					}
					hb := []VecVirtual{c04, c08, c04, c08}[pl]
					switch {
					case pl < 2:
						VPTERNLOGD(U8(0xf8), hsL[i], hb, v[i])
					case h == 0:
						VPTERNLOGD(U8(0xf8), Mem{Base: p, Disp: interK3Vec(-1, w)}, hb, v[i])
					default:
						VPTERNLOGD(U8(0xf8), hsH[i], hb, v[i])
					}
				}
				// the group's multiplier: its scale in the low word of
				// each row's dword (Q3_K: − 32, ×2 for the even planes)
				var sm Op
				if three {
					z := ZMM()
					VMOVDQU32(buf.Offset(ik23Sc+64*(g/4)), z)
					VPSHUFB(ik23Hi[g%4], z, z)
					VPSRAW(U8([]int{7, 7, 8, 8}[g%4]), z, z)
					sm = z
				} else {
					z := ZMM()
					VPSHUFB(ik23Lo[g%4], scl[pl/2], z)
					if g%4 < 2 { // the even planes, taken ×1
						VPSLLD(U8(2), z, z)
					}
					sm = z
				}
				for t := 0; t < T; t++ {
					s := ZMM()
					if three {
						// from −4·f·bsum_g: Σ f·(u−4)·q fits an int16
						VPBROADCASTD(act(t, 320+4*g), s)
					} else {
						zeroZ(s)
					}
					for i := range v {
						vpdpbusdBcast(act(t, 4+128*h+32*pl+16*ih+4*i), v[i], s)
					}
					vpdpwssd(sm, s, isum[n%chains][t])
				}
				n++
			}
		}
	}
	for t := 0; t < T; t++ {
		if chains == 2 {
			VPADDD(isum[1][t], isum[0][t], isum[0][t])
		}
		if three {
			VPSRAD(U8(1), isum[0][t], isum[0][t])
		} else {
			VPSRAD(U8(2), isum[0][t], isum[0][t])
		}
	}
	var msum []VecVirtual
	if !three {
		// Σ_g m_g·bsum_g, two groups per VPDPWSSD.
		msum = make([]VecVirtual, T)
		for t := range msum {
			msum[t] = ZMM()
			zeroZ(msum[t])
		}
		for k := 0; k < 4; k++ {
			mn := ZMM()
			VPSRLW(U8(4), Mem{Base: p, Disp: 64 * k}, mn)
			VPANDD(c0f, mn, mn)
			for j, ctl := range []Mem{kPair0, kPair1} {
				mp := ZMM()
				VPSHUFB(ctl, mn, mp)
				for t := 0; t < T; t++ {
					vpdpwssdBcast(act(t, 260+4*(2*k+j)), mp, msum[t])
				}
			}
		}
	}
	dw := ZMM()
	var dmin VecVirtual
	if three {
		VCVTPH2PS(Mem{Base: p, Index: doff, Scale: 1}, dw)
	} else {
		VCVTPH2PS(Mem{Base: p, Disp: 1280}, dw)
		dmin = ZMM()
		VCVTPH2PS(Mem{Base: p, Disp: 1312}, dmin)
	}
	for t := 0; t < T; t++ {
		VCVTDQ2PS(isum[0][t], isum[0][t])
		dd := ZMM()
		VMULPS_BCST(act(t, 0), dw, dd)
		VFMADD231PS(dd, isum[0][t], acc[t])
		if !three {
			VCVTDQ2PS(msum[t], msum[t])
			ddm := ZMM()
			VMULPS_BCST(act(t, 0), dmin, ddm)
			VFNMADD231PS(ddm, msum[t], acc[t])
		}
	}
	if three {
		ADDQ(dstep, p)
		XORQ(U32(1792^1728), dstep)
		XORQ(I32(1728^-32), doff)
	} else {
		ADDQ(U32(uint32(bb)), p)
	}
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// interK3Scales writes Q3_K's scales of the interleaved block at p into
// buf: sc[k] (k < 4) with byte m of row r's dword its scale 4k+m − 32.
func interK3Scales(p GPVirtual, buf Mem) {
	c0f, c30 := bcastDword(0x0f0f0f0f), bcastDword(0x30303030)
	// ggml's unpacking of the 12 bytes: scale 4k+m is the low (k < 2) or
	// high nibble of byte 4(k%2)+m, and bits 2k, 2k+1 of byte 8+m at 4, 5.
	s2 := ZMM()
	VMOVDQU32(Mem{Base: p, Disp: 128}, s2)
	c20 := bcastDword(0x20202020)
	for k := 0; k < 4; k++ {
		lo := Mem{Base: p, Disp: 64 * (k % 2)}
		sc := ZMM()
		if k < 2 {
			VPANDD(lo, c0f, sc)
		} else {
			VPSRLW(U8(4), lo, sc)
			VPANDD(c0f, sc, sc)
		}
		hs := s2
		switch sh := 4 - 2*k; {
		case sh > 0:
			hs = ZMM()
			VPSLLW(U8(sh), s2, hs)
		case sh < 0:
			hs = ZMM()
			VPSRLW(U8(-sh), s2, hs)
		}
		VPTERNLOGD(U8(0xf8), c30, hs, sc) // sc |= hs & 0x30
		VPSUBB(c20, sc, sc)
		VMOVDQU32(sc, buf.Offset(ik23Sc+64*k))
	}
}

// interK23Unpack generates unpackIQ2_K or unpackIQ3_K: nb blocks of an
// interleaved group into the packed K group layout (values with the group
// scales folded in, packk23.go), for the packed tiles to serve long
// batches. The interleaved planes and hmask are the transposed vectors the
// pack kernels make first, so the pack kernels' value step
// (packValuesQ2_K, packValuesQ3_K) reads them where they lie.
func interK23Unpack(three bool) {
	k := k23Of(three)
	name := "unpackI" + k.name
	TEXT(name, NOSPLIT, "func(p *byte, nb int, dst *byte)")
	Doc(fmt.Sprintf("%s writes nb blocks of the interleaved %s group at p into the packed K group layout at dst (%d bytes per block, AVX-512).", name, k.name, k.blockBytes))
	p := loadGP("p")
	nb := loadGP("nb")
	dst := loadGP("dst")
	var dstep, doff GPVirtual
	if three {
		dstep, doff = GP64(), GP64()
		MOVQ(U32(1792), dstep)
		MOVQ(U32(1728), doff)
	}
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	slot := func(v int) Mem { return Mem{Base: dst, Disp: 64 * v} }
	c03 := bcastDword(0x03030303)
	load := func(m Mem) VecVirtual {
		z := ZMM()
		VMOVDQU32(m, z)
		return z
	}
	halves := func(m, to Mem) {
		f := ZMM()
		VCVTPH2PS(m, f)
		VMOVUPS(f, to)
	}
	if three {
		packValuesQ3_K(k23Src{
			dword: func(off int) VecVirtual { return load(Mem{Base: p, Disp: 64 * ((off - 96) / 4)}) },
			planes: func(v int) Mem {
				if v >= 56 {
					return Mem{Base: p, Disp: interK3Vec(-1, v-56)}
				}
				return Mem{Base: p, Disp: interK3Vec(v/32, v%32)}
			},
			d: func() { halves(Mem{Base: p, Index: doff, Scale: 1}, Mem{Base: dst, Disp: 4096}) },
		}, dst, slot, c03)
		ADDQ(dstep, p)
		XORQ(U32(1792^1728), dstep)
		XORQ(I32(1728^-32), doff)
	} else {
		packValuesQ2_K(k23Src{
			dword:  func(off int) VecVirtual { return load(Mem{Base: p, Disp: 64 * (off / 4)}) },
			planes: func(v int) Mem { return Mem{Base: p, Disp: 256 + 64*(8*(v/32)+v%32)} },
			d: func() {
				halves(Mem{Base: p, Disp: 1280}, Mem{Base: dst, Disp: 4608})
				halves(Mem{Base: p, Disp: 1312}, Mem{Base: dst, Disp: 4672})
			},
		}, dst, slot, c03)
		ADDQ(U32(1344), p)
	}
	ADDQ(U32(uint32(k.blockBytes)), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
