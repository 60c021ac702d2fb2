package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The single-token tiles of Q5_K, IQ4_XS and Q3_K (set avx2k), built as
// avx2dec.go's Q2_K one: both row halves per activation broadcast, masks
// in registers, the scales unpacked once per block into the frame, the
// float accumulators in the frame between blocks (their registers are
// needed for the weights).

// a2dPrefetch is how far ahead the single-token K tiles prefetch.
var a2dPrefetch = 32768

// a2dShift shifts every word of x left by s bits (right if s < 0) into y.
func a2dShift(s int, x, y VecVirtual) {
	switch {
	case s > 0:
		VPSLLW(U8(s), x, y)
	case s < 0:
		VPSRLW(U8(-s), x, y)
	default:
		VMOVDQA(x, y)
	}
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
	{
		z := YMM()
		VXORPS(z, z, z)
		VMOVUPS(z, accm(0))
		VMOVUPS(z, accm(1))
	}
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
				q, h, t := YMM(), YMM(), YMM()
				var w [2]VecVirtual
				w[0], w[1] = YMM(), YMM()
				VMOVDQU(Mem{Base: p, Disp: 768 + 64*(8*m+k) + 32*hf}, q)
				VMOVDQU(Mem{Base: p, Disp: 256 + 64*k + 32*hf}, h)
				VPAND(m0f, q, w[0])
				VPSRLW(U8(4), q, w[1])
				VPAND(m0f, w[1], w[1])
				a2dShift(4-2*m, h, t)
				VPAND(m10, t, t)
				VPOR(t, w[0], w[0])
				a2dShift(3-2*m, h, h)
				VPAND(m10, h, h)
				VPOR(h, w[1], w[1])
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
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	acc := [2]VecVirtual{YMM(), YMM()}
	for hf := range acc {
		VMOVUPS(accm(hf), acc[hf])
	}
	a2dStore1(acc)
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
	// Frame: per row half hf, its 8 scale pairs at sc(hf, j); then the two
	// float accumulators.
	frame := AllocLocal(18 * 32)
	sc := func(hf, j int) Mem { return frame.Offset(32 * (8*hf + j)) }
	accm := func(hf int) Mem { return frame.Offset(32 * (16 + hf)) }
	p, a, as, nb := loadGP("p"), loadGP("a"), loadGP("as"), loadGP("nb")
	act := func(off int) Mem { return Mem{Base: a, Disp: off} }
	{
		z := YMM()
		VXORPS(z, z, z)
		VMOVUPS(z, accm(0))
		VMOVUPS(z, accm(1))
	}
	m0f, tbl := YMM(), YMM()
	VMOVDQU(a2kC(a2k0f), m0f)
	VMOVDQU(a2kC(a2kNL), tbl)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for off := 0; off < 2176; off += 64 {
		PREFETCHT1(Mem{Base: p, Disp: a2dPrefetch + off})
	}
	for hf := 0; hf < 2; hf++ {
		a2kScalesXS(p, hf, func(j int) Mem { return sc(hf, j) })
	}
	isum := [2]VecVirtual{YMM(), YMM()}
	for j := 0; j < 8; j++ {
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
					if j == 0 && k == 0 && i == 0 {
						VPMADDWD(sc(hf, j), w[i], isum[hf])
					} else {
						VPMADDWD(sc(hf, j), w[i], w[i])
						VPADDD(w[i], isum[hf], isum[hf])
					}
				}
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
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	acc := [2]VecVirtual{YMM(), YMM()}
	for hf := range acc {
		VMOVUPS(accm(hf), acc[hf])
	}
	a2dStore1(acc)
}
