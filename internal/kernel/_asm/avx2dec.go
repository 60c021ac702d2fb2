package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The single-token (decode) tiles of the avx2k set, 16 rows × 1 token.
// Decode streams the weights once per token, so these tiles must keep up
// with the memory: they spend as few vector instructions per weight
// vector as the layouts allow. Besides the VPMADDUBSW per 32 weights,
// that is:
//
//   - the two row halves in turn, each over the whole block, so that one
//     int32 block sum and the four int16 sums of a group's planes fit in
//     registers with the weights, and the float accumulators stay in
//     registers across blocks;
//   - 2-bit planes unpacked in pairs: x & 3 and x & 12 (the second plane
//     times 4), then the same of x >> 4, five instructions for four
//     vectors; the groups of the planes that are not scaled by 4 take
//     their scales times 4 instead, so that the block sum is exactly
//     4·isum, and an arithmetic shift by 2 restores isum;
//   - the scales unpacked once per block and half into the stack frame,
//     used as VPMADDWD memory operands.
//
// They add in the K-quant order as the other tiles (same integers, same
// float steps), so they give the same bits.

// a2dTiles1 are the single-token tile generators, by kind; a kind without
// one takes a2kTile's.
var a2dTiles1 = map[string]func(name string){
	"Q2_K":   a2dQ2K1,
	"Q5_K":   a2dQ5K1,
	"IQ4_XS": a2dXS1,
	"Q3_K":   a2dQ3K1,
}

// a2dSig is the tiles' Go signature.
const a2dSig = "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)"

// a2dStore1 stores the two row halves acc of a single-token tile at out,
// the rows whose bit is set in mask.
func a2dStore1(acc [2]VecVirtual) {
	out, mask := loadGP("out"), loadGP("mask")
	x := XMM()
	VMOVD(mask.As32(), x)
	for h := 0; h < 2; h++ {
		m := YMM()
		VPBROADCASTD(x, m)
		VPAND(a2kC(a2kRowBit+32*h), m, m)
		VPCMPEQD(a2kC(a2kRowBit+32*h), m, m)
		VMASKMOVPS(acc[h], m, Mem{Base: out, Disp: 32 * h})
	}
	VZEROUPPER()
	RET()
}

// a2dQ2K1 generates the Q2_K single-token tile name.
func a2dQ2K1(name string) {
	TEXT(name, 0, a2dSig)
	Doc(fmt.Sprintf("%s computes the 16×1 tile out[r] (rows r with bit r of mask set) of an interleaved Q2_K group at p against a token's interleaved K activations, nb blocks, in the K-quant order (AVX2, FMA, F16C).", name),
		"Block b of the group is at p+1344b, the token's block b at a+b*as.")
	// Frame: per row half hf, its 16 group scale pairs (×4 for the groups
	// of even planes) at sc(24hf+g), then its 8 min pairs.
	frame := AllocLocal(48 * 32)
	sc := func(i int) Mem { return frame.Offset(32 * i) }
	p, a, as, nb := loadGP("p"), loadGP("a"), loadGP("as"), loadGP("nb")
	act := func(off int) Mem { return Mem{Base: a, Disp: off} }
	acc := [2]VecVirtual{YMM(), YMM()}
	for _, r := range acc {
		VXORPS(r, r, r)
	}
	// The masks live in registers: as memory operands they would take
	// the load ports, which the activation broadcasts need.
	m03, m0c := YMM(), YMM()
	VMOVDQU(a2kC(a2k03), m03)
	VMOVDQU(a2kC(a2k0c), m0c)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	// Scales: byte i of dword k of row r is group 4k+i's scale (low
	// nibble) and min. Group 4k+i's plane is 2(k%2)+i/2: even for i < 2.
	{
		m0f := YMM() // 0x03 | 0x0c
		VPOR(m0c, m03, m0f)
		var ctl [6]VecVirtual
		for i := range ctl {
			ctl[i] = YMM()
			if i < 4 {
				VMOVDQU(a2kC(a2kScSh+32*i), ctl[i])
			} else {
				VMOVDQU(a2kC(a2kMnSh+32*(i-4)), ctl[i])
			}
		}
		for hf := 0; hf < 2; hf++ {
			for k := 0; k < 4; k++ {
				u, l, l4 := YMM(), YMM(), YMM()
				VMOVDQU(Mem{Base: p, Disp: 64*k + 32*hf}, u)
				VPAND(m0f, u, l)
				VPSLLW(U8(2), l, l4)
				for i := 0; i < 4; i++ {
					src := l
					if i < 2 {
						src = l4
					}
					y := YMM()
					VPSHUFB(ctl[i], src, y)
					VMOVDQU(y, sc(24*hf+4*k+i))
				}
				VPSRLW(U8(4), u, u)
				VPAND(m0f, u, u)
				for i := 0; i < 2; i++ {
					y := YMM()
					VPSHUFB(ctl[4+i], u, y)
					VMOVDQU(y, sc(24*hf+16+2*k+i))
				}
			}
		}
	}
	// 4·isum of both row halves: per block half h, dword half q and pair
	// of planes (x & 3, x & 12; then the same of x >> 4), the groups
	// 8h+2pl+q of the dwords 4q..4q+3 of the qs vectors, each activation
	// dword broadcast once for both halves.
	isum := [2]VecVirtual{YMM(), YMM()}
	first := true
	for h := 0; h < 2; h++ {
		for q := 0; q < 2; q++ {
			for pp := 0; pp < 2; pp++ {
				var s [2][2]VecVirtual // [hf][pl%2]
				for k := 0; k < 4; k++ {
					var x [2]VecVirtual
					for hf := range x {
						x[hf] = YMM()
						VMOVDQU(Mem{Base: p, Disp: 256 + 64*(8*h+4*q+k) + 32*hf}, x[hf])
						if pp == 1 {
							VPSRLW(U8(4), x[hf], x[hf])
						}
					}
					for i, m := range []VecVirtual{m03, m0c} {
						pl := 2*pp + i
						b := YMM()
						VPBROADCASTD(act(4+128*h+32*pl+16*q+4*k), b)
						for hf := range x {
							w := YMM()
							VPAND(m, x[hf], w)
							VPMADDUBSW(b, w, w)
							if k == 0 {
								s[hf][i] = w
							} else {
								VPADDW(w, s[hf][i], s[hf][i])
							}
						}
					}
				}
				for hf := range s {
					for i := range s[hf] {
						g := 8*h + 2*(2*pp+i) + q
						if first && i == 0 {
							VPMADDWD(sc(24*hf+g), s[hf][i], isum[hf])
						} else {
							VPMADDWD(sc(24*hf+g), s[hf][i], s[hf][i])
							VPADDD(s[hf][i], isum[hf], isum[hf])
						}
					}
				}
				first = false
			}
		}
	}
	// The block's float steps per row half: acc += float(isum)·(d·d_a),
	// then acc −= float(msum)·(dmin·d_a), msum = Σ_g m_g·bsum_g.
	da := YMM()
	VBROADCASTSS(act(0), da)
	for hf := 0; hf < 2; hf++ {
		f, dw := YMM(), YMM()
		VPSRAD(U8(2), isum[hf], f)
		VCVTDQ2PS(f, f)
		VCVTPH2PS(Mem{Base: p, Disp: 1280 + 16*hf}, dw)
		VMULPS(da, dw, dw)
		VFMADD231PS(dw, f, acc[hf])
	}
	var ms [2]VecVirtual
	for j := 0; j < 8; j++ {
		b := YMM()
		VPBROADCASTD(act(260+4*j), b)
		for hf := range ms {
			if j == 0 {
				ms[hf] = YMM()
				VPMADDWD(sc(24*hf+16+j), b, ms[hf])
			} else {
				t := YMM()
				VPMADDWD(sc(24*hf+16+j), b, t)
				VPADDD(t, ms[hf], ms[hf])
			}
		}
	}
	for hf := range ms {
		dm := YMM()
		VCVTDQ2PS(ms[hf], ms[hf])
		VCVTPH2PS(Mem{Base: p, Disp: 1312 + 16*hf}, dm)
		VMULPS(da, dm, dm)
		VFNMADD231PS(dm, ms[hf], acc[hf])
	}
	ADDQ(U32(1344), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	a2dStore1(acc)
}

// a2dFast1 are the avx2q kinds whose single-token tile a2dTileQ1 makes.
var a2dFast1 = map[string]bool{"Q5_0": true, "Q5_1": true, "IQ4_NL": true}

// a2dTileQ1 generates the single-token tile tileA<kind>_16x1 of Q5_0,
// Q5_1 or IQ4_NL, adding as a2Tile's do. Each row half in turn: its
// values unpacked once, constants in registers.
//
//   - Q5_0, Q5_1: unsigned u = nibble | fifth bit << 4 (u ≤ 31, four
//     vectors' pair sums fit in int16, one VPMADDWD by ones each);
//     Q5_0's Σ w·q = Σ u·q − 16·Σq takes −16·Σq from the activation, as
//     the VNNI kernels do. Fifth bits: the qh byte of the vector copied
//     into each byte of its dword (VPSHUFB; the even vectors' from qh <<
//     4), the byte's bit kept (0x10 << i) and VPMINUB with 0x10 makes it
//     bit 4.
//   - IQ4_NL: signed table values, |v| times the quants with v's sign,
//     a VPMADDWD by ones per vector.
func a2dTileQ1(k a2Kind) {
	name := fmt.Sprintf("tileA%s_16x1", k.name)
	TEXT(name, NOSPLIT, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×1 tile out[r] (rows r with bit r of mask set) of an interleaved %s group at p against a token's interleaved activations, nb blocks (AVX2, FMA, F16C).", name, k.name),
		fmt.Sprintf("Block b of the group is at p+%db, the token's block b at a+b*as.", k.blockBytes))
	five := k.qh >= 0
	p, a, as, nb := loadGP("p"), loadGP("a"), loadGP("as"), loadGP("nb")
	acc := a2Zero(1)
	acc = append(acc, a2Zero(1)...)
	m0f, ones := YMM(), YMM()
	VMOVDQU(a2c(a2C0f), m0f)
	VMOVDQU(a2c(a2Ones), ones)
	var c10, bits, tbl VecVirtual
	if five {
		c10, bits = YMM(), YMM()
		VMOVDQU(a2c(a2C10), c10)
		VMOVDQU(a2c(a2Bit4), bits)
	}
	if k.table {
		tbl = YMM()
		VMOVDQU(a2c(a2Tbl), tbl)
	}
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for h := 0; h < 2; h++ {
		var qh, qh4 VecVirtual
		if five {
			qh, qh4 = YMM(), YMM()
			VMOVDQU(Mem{Base: p, Disp: k.qh + 32*h}, qh)
			VPSLLD(U8(4), qh, qh4)
		}
		var s [2]VecVirtual // Q5: int16 sums of vectors 0..3, 4..7
		var isum VecVirtual
		for j := 0; j < 4; j++ {
			lo, hi := YMM(), YMM()
			VMOVDQU(Mem{Base: p, Disp: k.values + 64*j + 32*h}, hi)
			VPAND(m0f, hi, lo)
			VPSRLW(U8(4), hi, hi)
			VPAND(m0f, hi, hi)
			for i, w := range []VecVirtual{lo, hi} {
				v := j + 4*i
				b := YMM()
				VPBROADCASTD(Mem{Base: a, Disp: 4 * v}, b)
				if five {
					src := qh
					if v%2 == 0 {
						src = qh4
					}
					t := YMM()
					VPSHUFB(a2c(a2Rep+32*(v/2)), src, t)
					VPAND(bits, t, t)
					VPMINUB(c10, t, t)
					VPOR(t, w, w)
					VPMADDUBSW(b, w, w)
					if j == 0 {
						s[i] = w
					} else {
						VPADDW(w, s[i], s[i])
					}
					continue
				}
				// IQ4_NL
				VPSHUFB(w, tbl, w)
				aw := YMM()
				VPABSB(w, aw)
				VPSIGNB(w, b, b)
				VPMADDUBSW(b, aw, aw)
				VPMADDWD(ones, aw, aw)
				if isum == nil {
					isum = aw
				} else {
					VPADDD(aw, isum, isum)
				}
			}
		}
		if five {
			isum = YMM()
			VPMADDWD(ones, s[0], isum)
			VPMADDWD(ones, s[1], s[1])
			VPADDD(s[1], isum, isum)
		}
		if five && k.m < 0 { // Q5_0: −16·Σq
			n := YMM()
			VPBROADCASTD(Mem{Base: a, Disp: 32}, n)
			VPADDD(n, isum, isum)
		}
		// The block's float steps, as a2Block's.
		dw, sc := YMM(), YMM()
		VCVTPH2PS(Mem{Base: p, Disp: k.d + 16*h}, dw)
		VCVTDQ2PS(isum, isum)
		VBROADCASTSS(Mem{Base: a, Disp: 36}, sc)
		VMULPS(sc, dw, sc)
		VFMADD231PS(sc, isum, acc[h])
		if k.m >= 0 {
			mw, sa := YMM(), YMM()
			VCVTPH2PS(Mem{Base: p, Disp: k.m + 16*h}, mw)
			VBROADCASTSS(Mem{Base: a, Disp: 32}, sa)
			VFMADD231PS(sa, mw, acc[h])
		}
	}
	ADDQ(U32(uint32(k.blockBytes)), p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	a2Store(name+"_h0", acc[:1], 0)
	a2Store(name+"_h1", acc[1:], 1)
	VZEROUPPER()
	RET()
}
