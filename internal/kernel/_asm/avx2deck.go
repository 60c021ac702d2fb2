package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The single-token tiles of Q5_K, IQ4_XS and Q3_K (set avx2k), built as
// avx2dec.go's Q2_K one: both row halves per activation broadcast, masks
// and tables in registers, the scales unpacked once per block into the
// frame, the float accumulators in the frame between blocks (their
// registers are needed for the weights). They add in the K-quant
// (IQ4_XS: i-quant) order as a2kTile's do: same integers, same float
// steps, so the same bits.
//
// Measured on Zen 4 with AVX-512 masked off (BenchmarkMatMulStream, one
// thread): the Q5_K tile streams at ~10 GB/s from DRAM without software
// prefetch (its qh lines are read again for every sub-block pair, which
// the hardware prefetcher seems not to follow) and at ~24 GB/s with every
// line of the block a2dPrefetch ahead into L2; every other line is not
// enough. The Q3_K and IQ4_XS tiles were slower with the same prefetch.

// a2dPrefetch is how far ahead (bytes) the Q5_K single-token tile
// prefetches into L2.
var a2dPrefetch = 32768

// a2dShift returns x with every word shifted left by s bits (right if s <
// 0): x itself if s = 0, else a new register.
func a2dShift(s int, x VecVirtual) VecVirtual {
	if s == 0 {
		return x
	}
	y := YMM()
	if s > 0 {
		VPSLLW(U8(s), x, y)
	} else {
		VPSRLW(U8(-s), x, y)
	}
	return y
}

// a2dQ5K1 generates the Q5_K single-token tile name. Per sub-block pair
// m and dword k, one qs vector gives sub-block 2m's values (low nibbles)
// and 2m+1's (high nibbles) of a row half; the fifth bits 2m, 2m+1 of
// the qh vector are shifted to bit 4 and ORed in. The unsigned values (≤
// 31) times the quants are summed in int16 over four dwords (4·2·31·128 <
// 2¹⁵), then VPMADDWD by the sub-block's scale pair.
func a2dQ5K1(name string) {
	TEXT(name, 0, a2dSig)
	Doc(fmt.Sprintf("%s computes the 16×1 tile out[r] (rows r with bit r of mask set) of an interleaved Q5_K group at p against a token's interleaved K activations, nb blocks, in the K-quant order (AVX2, FMA, F16C).", name),
		"Block b of the group is at p+2816b, the token's block b at a+b*as.")
	// Frame: per row half hf, its 8 scale pairs and 4 min pairs at
	// sc(hf, i); then the two float accumulators.
	frame := AllocLocal(26 * 32)
	sc := func(hf, i int) Mem { return frame.Offset(32 * (12*hf + i)) }
	accm := func(hf int) Mem { return frame.Offset(32 * (24 + hf)) }
	p, a, as, nb := loadGP("p"), loadGP("a"), loadGP("as"), loadGP("nb")
	act := func(off int) Mem { return Mem{Base: a, Disp: off} }
	a2dZeroAcc(accm)
	m0f, m10 := YMM(), YMM()
	VMOVDQU(a2kC(a2k0f), m0f)
	VMOVDQU(a2kC(a2k10), m10)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for off := 0; off < 2816; off += 64 {
		PREFETCHT1(Mem{Base: p, Disp: a2dPrefetch + off})
	}
	for hf := 0; hf < 2; hf++ {
		a2kScales45(p, 32*hf, func(i int) Mem { return sc(hf, i) })
	}
	isum := [2]VecVirtual{YMM(), YMM()}
	for m := 0; m < 4; m++ {
		var s [2][2]VecVirtual // [hf][sub-block 2m+i]
		for k := 0; k < 8; k++ {
			var b [2]VecVirtual
			for i := range b {
				b[i] = YMM()
				VPBROADCASTD(act(4+32*(2*m+i)+4*k), b[i])
			}
			for hf := 0; hf < 2; hf++ {
				q, h := YMM(), YMM()
				var w [2]VecVirtual
				w[0], w[1] = YMM(), YMM()
				VMOVDQU(Mem{Base: p, Disp: 768 + 64*(8*m+k) + 32*hf}, q)
				VMOVDQU(Mem{Base: p, Disp: 256 + 64*k + 32*hf}, h)
				VPAND(m0f, q, w[0])
				VPSRLW(U8(4), q, w[1])
				VPAND(m0f, w[1], w[1])
				for i := range w {
					t := YMM()
					VPAND(m10, a2dShift(4-2*m-i, h), t)
					VPOR(t, w[i], w[i])
				}
				for i := range w {
					VPMADDUBSW(b[i], w[i], w[i])
					if k%4 == 0 {
						s[hf][i] = w[i]
					} else {
						VPADDW(w[i], s[hf][i], s[hf][i])
					}
				}
			}
			if k%4 != 3 {
				continue
			}
			for hf := range s {
				for i := range s[hf] {
					if m == 0 && k == 3 && i == 0 {
						VPMADDWD(sc(hf, 2*m+i), s[hf][i], isum[hf])
					} else {
						VPMADDWD(sc(hf, 2*m+i), s[hf][i], s[hf][i])
						VPADDD(s[hf][i], isum[hf], isum[hf])
					}
				}
			}
		}
	}
	// The block's float steps per row half: acc += float(isum)·(d·d_a),
	// then acc −= float(msum)·(dmin·d_a), msum = Σ_j m_j·psum_j.
	var ms [2]VecVirtual
	for j := 0; j < 4; j++ {
		b := YMM()
		VPBROADCASTD(act(292+4*j), b)
		for hf := range ms {
			if j == 0 {
				ms[hf] = YMM()
				VPMADDWD(sc(hf, 8+j), b, ms[hf])
			} else {
				t := YMM()
				VPMADDWD(sc(hf, 8+j), b, t)
				VPADDD(t, ms[hf], ms[hf])
			}
		}
	}
	da := YMM()
	VBROADCASTSS(act(0), da)
	for hf := 0; hf < 2; hf++ {
		f, dw, ac := YMM(), YMM(), YMM()
		VCVTDQ2PS(isum[hf], f)
		VCVTPH2PS(Mem{Base: p, Disp: 192 + 16*hf}, dw)
		VMULPS(da, dw, dw)
		VMOVUPS(accm(hf), ac)
		VFMADD231PS(dw, f, ac)
		dm := YMM()
		VCVTDQ2PS(ms[hf], ms[hf])
		VCVTPH2PS(Mem{Base: p, Disp: 224 + 16*hf}, dm)
		VMULPS(da, dm, dm)
		VFNMADD231PS(dm, ms[hf], ac)
		VMOVUPS(ac, accm(hf))
	}
	ADDQ(U32(2816), p)
	ADDQ(as, a)
	a2dLoopEnd(name, nb, accm)
}

// a2dXS1 generates the IQ4_XS single-token tile name. Per sub-block j and
// dword k, one value vector gives dword k's (low nibbles) and 4+k's (high
// nibbles) indices into the IQ4_NL table (VPSHUFB, the table in a
// register). Per activation broadcast, |q| once for both row halves; per
// weight vector, the table values with q's sign (VPSIGNB) times |q|
// (VPMADDUBSW; |v|, |q| ≤ 127 or |q| = 128 with |v| ≤ 127: a pair sum <
// 2¹⁵, two are not) and VPMADDWD by the sub-block's scale pair.
func a2dXS1(name string) {
	TEXT(name, 0, a2dSig)
	Doc(fmt.Sprintf("%s computes the 16×1 tile out[r] (rows r with bit r of mask set) of an interleaved IQ4_XS group at p against a token's interleaved K activations, nb blocks, in the i-quant order (AVX2, FMA, F16C).", name),
		"Block b of the group is at p+2176b, the token's block b at a+b*as.")
	// Frame: per row half hf, its 8 int32 scales at sc(hf, j); then the two
	// float accumulators.
	frame := AllocLocal(18 * 32)
	sc := func(hf, j int) Mem { return frame.Offset(32 * (8*hf + j)) }
	accm := func(hf int) Mem { return frame.Offset(32 * (16 + hf)) }
	p, a, as, nb := loadGP("p"), loadGP("a"), loadGP("as"), loadGP("nb")
	act := func(off int) Mem { return Mem{Base: a, Disp: off} }
	a2dZeroAcc(accm)
	m0f, tbl, ones := YMM(), YMM(), YMM()
	VMOVDQU(a2kC(a2k0f), m0f)
	VMOVDQU(a2kC(a2kNL), tbl)
	VPCMPEQW(ones, ones, ones)
	VPSRLW(U8(15), ones, ones)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for hf := 0; hf < 2; hf++ {
		a2dScalesXS(p, hf, func(j int) Mem { return sc(hf, j) })
	}
	isum := [2]VecVirtual{YMM(), YMM()}
	for j := 0; j < 8; j++ {
		var sj [2]VecVirtual // sub-block j's int32 sums
		for k := 0; k < 4; k++ {
			var b, aq [2]VecVirtual // the quants of dwords k, 4+k, and |q|
			for i := range b {
				b[i], aq[i] = YMM(), YMM()
				VPBROADCASTD(act(4+32*j+4*(k+4*i)), b[i])
				VPABSB(b[i], aq[i])
			}
			for hf := 0; hf < 2; hf++ {
				var w [2]VecVirtual
				w[0], w[1] = YMM(), YMM()
				VMOVDQU(Mem{Base: p, Disp: 128 + 64*(4*j+k) + 32*hf}, w[1])
				VPAND(m0f, w[1], w[0])
				VPSRLW(U8(4), w[1], w[1])
				VPAND(m0f, w[1], w[1])
				for i := range w {
					VPSHUFB(w[i], tbl, w[i])
					VPSIGNB(b[i], w[i], w[i])
					VPMADDUBSW(w[i], aq[i], w[i])
					if k == 0 && i == 0 {
						sj[hf] = YMM()
						VPMADDWD(ones, w[i], sj[hf])
					} else {
						VPMADDWD(ones, w[i], w[i])
						VPADDD(w[i], sj[hf], sj[hf])
					}
				}
			}
		}
		for hf := range sj {
			if j == 0 {
				VPMULLD(sc(hf, j), sj[hf], isum[hf])
			} else {
				VPMULLD(sc(hf, j), sj[hf], sj[hf])
				VPADDD(sj[hf], isum[hf], isum[hf])
			}
		}
	}
	// The block's float steps per row half: acc += float(isum)·(d·d_a).
	da := YMM()
	VBROADCASTSS(act(0), da)
	for hf := 0; hf < 2; hf++ {
		f, dw, ac := YMM(), YMM(), YMM()
		VCVTDQ2PS(isum[hf], f)
		VCVTPH2PS(Mem{Base: p, Disp: 96 + 16*hf}, dw)
		VMULPS(da, dw, dw)
		VMOVUPS(accm(hf), ac)
		VFMADD231PS(dw, f, ac)
		VMOVUPS(ac, accm(hf))
	}
	ADDQ(U32(2176), p)
	ADDQ(as, a)
	a2dLoopEnd(name, nb, accm)
}

// a2dQ3K1 generates the Q3_K single-token tile name. As Q2_K's, 2-bit
// planes in pairs: per block half h, dword half q and plane pair pp, the
// qs vector x (x >> 4 for pp = 1) gives plane 2pp as x & 3 with its hmask
// bit 4h+2pp moved to bit 2 (u = q2 + 4·hbit, ≤ 7), and plane 2pp+1 as x &
// 12 with bit 4h+2pp+1 moved to bit 4 (4u, ≤ 28; a group's four vectors
// sum in int16: 4·2·28·128 < 2¹⁵). The even planes' groups take 4×
// their scales, so the sum is exactly 4·Σ_g sc_g·Σ u·q, shifted right by
// 2; then −4·Σ_g sc_g·bsum_g (w = u − 4) as a2kTile's.
func a2dQ3K1(name string) {
	TEXT(name, 0, a2dSig)
	Doc(fmt.Sprintf("%s computes the 16×1 tile out[r] (rows r with bit r of mask set) of an interleaved Q3_K group at p against a token's interleaved K activations, nb blocks, in the K-quant order (AVX2, FMA, F16C).", name),
		"Blocks 2i and 2i+1 of the group are at p+3520i and p+3520i+1792, the token's block b at a+b*as.")
	// Frame: per row half hf, its 16 group scale pairs (×4 for the groups
	// of even planes) at sc(hf, g), then its 8 neighbouring pairs; then the
	// two float accumulators.
	frame := AllocLocal(50 * 32)
	sc := func(hf, i int) Mem { return frame.Offset(32 * (24*hf + i)) }
	accm := func(hf int) Mem { return frame.Offset(32 * (48 + hf)) }
	p, a, as, nb := loadGP("p"), loadGP("a"), loadGP("as"), loadGP("nb")
	act := func(off int) Mem { return Mem{Base: a, Disp: off} }
	a2dZeroAcc(accm)
	// Block 2i's d is at +1728, block 2i+1's at −32 (a2kTile's pairs).
	dstep, doff := GP64(), GP64()
	MOVQ(U32(1792), dstep)
	MOVQ(U32(1728), doff)
	m03, m0c, m04, m10 := YMM(), YMM(), YMM(), YMM()
	VMOVDQU(a2kC(a2k03), m03)
	VMOVDQU(a2kC(a2k0c), m0c)
	VMOVDQU(a2kC(a2k04), m04)
	VMOVDQU(a2kC(a2k10), m10)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for off := 0; off < 0; off += 64 {
		PREFETCHT1(Mem{Base: p, Disp: a2dPrefetch + off})
	}
	for hf := 0; hf < 2; hf++ {
		a2dScales3(p, 32*hf, func(i int) Mem { return sc(hf, i) })
	}
	isum := [2]VecVirtual{YMM(), YMM()}
	first := true
	for h := 0; h < 2; h++ {
		for q := 0; q < 2; q++ {
			for pp := 0; pp < 2; pp++ {
				b := 4*h + 2*pp        // hmask bit of plane 2pp
				var s [2][2]VecVirtual // [hf][plane 2pp+i]
				for k := 0; k < 4; k++ {
					wd := 4*q + k
					var bc [2]VecVirtual
					for i := range bc {
						bc[i] = YMM()
						VPBROADCASTD(act(4+128*h+32*(2*pp+i)+16*q+4*k), bc[i])
					}
					for hf := 0; hf < 2; hf++ {
						x, hm := YMM(), YMM()
						VMOVDQU(Mem{Base: p, Disp: interK3Vec(h, wd) + 32*hf}, x)
						VMOVDQU(Mem{Base: p, Disp: interK3Vec(-1, wd) + 32*hf}, hm)
						if pp == 1 {
							VPSRLW(U8(4), x, x)
						}
						for i, mk := range [2][2]VecVirtual{{m03, m04}, {m0c, m10}} {
							w, t := YMM(), YMM()
							VPAND(mk[0], x, w)
							VPAND(mk[1], a2dShift(2+2*i-(b+i), hm), t)
							VPOR(t, w, w)
							VPMADDUBSW(bc[i], w, w)
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
							VPMADDWD(sc(hf, g), s[hf][i], isum[hf])
						} else {
							VPMADDWD(sc(hf, g), s[hf][i], s[hf][i])
							VPADDD(s[hf][i], isum[hf], isum[hf])
						}
					}
				}
				first = false
			}
		}
	}
	// isum = 4·isum >> 2 − 4·Σ_i (sc_2i·bsum_2i + sc_2i+1·bsum_2i+1).
	var off [2]VecVirtual
	for k := 0; k < 8; k++ {
		bs := YMM()
		VPBROADCASTD(act(260+4*k), bs)
		for hf := range off {
			if k == 0 {
				off[hf] = YMM()
				VPMADDWD(sc(hf, 16+k), bs, off[hf])
			} else {
				t := YMM()
				VPMADDWD(sc(hf, 16+k), bs, t)
				VPADDD(t, off[hf], off[hf])
			}
		}
	}
	// The block's float steps per row half: acc += float(isum)·(d·d_a).
	da := YMM()
	VBROADCASTSS(act(0), da)
	for hf := 0; hf < 2; hf++ {
		f, dw, ac := YMM(), YMM(), YMM()
		VPSRAD(U8(2), isum[hf], f)
		VPSLLD(U8(2), off[hf], off[hf])
		VPSUBD(off[hf], f, f)
		VCVTDQ2PS(f, f)
		VCVTPH2PS(Mem{Base: p, Index: doff, Scale: 1, Disp: 16 * hf}, dw)
		VMULPS(da, dw, dw)
		VMOVUPS(accm(hf), ac)
		VFMADD231PS(dw, f, ac)
		VMOVUPS(ac, accm(hf))
	}
	ADDQ(dstep, p)
	XORQ(U32(1792^1728), dstep)
	XORQ(I32(1728^-32), doff)
	ADDQ(as, a)
	a2dLoopEnd(name, nb, accm)
}

// a2dScales3 unpacks the 6-bit scales of the Q3_K block at p, row half at
// byte hb, minus 32, into the frame as a2kScales3 does, but the scales of
// the groups of even planes (group g's plane is g%8/2) times 4.
func a2dScales3(p GPVirtual, hb int, sc func(int) Mem) {
	u0, u1, u2 := YMM(), YMM(), YMM()
	VMOVDQU(Mem{Base: p, Disp: hb}, u0)
	VMOVDQU(Mem{Base: p, Disp: 64 + hb}, u1)
	VMOVDQU(Mem{Base: p, Disp: 128 + hb}, u2)
	for m := 0; m < 4; m++ {
		src := u0
		if m%2 == 1 {
			src = u1
		}
		lo, hi := YMM(), YMM()
		if m < 2 {
			VPAND(a2kC(a2k0f), src, lo)
		} else {
			VPSRLW(U8(4), src, lo)
			VPAND(a2kC(a2k0f), lo, lo)
		}
		VPAND(a2kC(a2k30), a2dShift(4-2*m, u2), hi)
		VPOR(hi, lo, lo)
		VPSUBB(a2kC(a2k20), lo, lo)
		// Byte i of each dword is group 4m+i's scale: into the high bytes
		// of both words, then an arithmetic shift by 8 (by 6: times 4).
		for i := 0; i < 4; i++ {
			g := 4*m + i
			sh := 8
			if g%8/2%2 == 0 {
				sh = 6
			}
			y := YMM()
			VPSHUFB(a2kC(a2k6ScSh+32*i), lo, y)
			VPSRAW(U8(sh), y, y)
			VMOVDQU(y, sc(g))
		}
		for i := 0; i < 2; i++ {
			y := YMM()
			VPSHUFB(a2kC(a2k6PrSh+32*i), lo, y)
			VPSRAW(U8(8), y, y)
			VMOVDQU(y, sc(16+2*m+i))
		}
	}
}

// a2dScalesXS writes into the frame the scales of the IQ4_XS block at p,
// rows 8h..8h+7: sc(j) (j < 8) sub-block j's ls − 32 as int32 (ls =
// nibble j of scales_l | bits 2j, 2j+1 of scales_h at 4, 5).
func a2dScalesXS(p GPVirtual, h int, sc func(int) Mem) {
	sl, sh := YMM(), YMM()
	VMOVDQU(Mem{Base: p, Disp: 32 * h}, sl)
	VPMOVZXWD(Mem{Base: p, Disp: 64 + 16*h}, sh)
	for j := 0; j < 8; j++ {
		lo, hi := YMM(), YMM()
		if j > 0 {
			VPSRLD(U8(4*j), sl, lo)
			VPAND(a2kC(a2kLow4), lo, lo)
		} else {
			VPAND(a2kC(a2kLow4), sl, lo)
		}
		switch s := 2*j - 4; {
		case s > 0:
			VPSRLD(U8(s), sh, hi)
		case s < 0:
			VPSLLD(U8(-s), sh, hi)
		default:
			VMOVDQA(sh, hi)
		}
		VPAND(a2kC(a2kLow30), hi, hi)
		VPOR(hi, lo, lo)
		VPSUBD(a2kC(a2kD20), lo, lo)
		VMOVDQU(lo, sc(j))
	}
}

// a2dZeroAcc zeroes the two float accumulators (row halves) in the frame.
func a2dZeroAcc(accm func(hf int) Mem) {
	z := YMM()
	VXORPS(z, z, z)
	VMOVUPS(z, accm(0))
	VMOVUPS(z, accm(1))
}

// a2dLoopEnd closes a single-token tile's block loop (name_loop, counting
// nb down) and stores the two accumulators in the frame as the tile's
// result.
func a2dLoopEnd(name string, nb GPVirtual, accm func(hf int) Mem) {
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	acc := [2]VecVirtual{YMM(), YMM()}
	for hf := range acc {
		VMOVUPS(accm(hf), acc[hf])
	}
	a2dStore1(acc)
}
