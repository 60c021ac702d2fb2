package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Multi-query attention kernels (-set mqattn, into mqattn_amd64.s): several
// queries against the same f16 key or value rows, each row converted to
// float32 once and used by every query. Each (query, key) score and each
// (query, column) sum is computed with exactly the operations, in exactly
// the order, of the single-query kernels (dotsF16x16AVX512 and its add
// tree; weightedSumF16x8AVX512's one FMA per key into the column), so a
// query's results do not depend on how many queries shared the call. The
// AVX2 kernels (VEX, ymm0–15) give the AVX-512 ones' bits.
//
// Pointers to rows are bytes apart: query and output rows r at base+r·s,
// key rows j at k+j·ks.
func genMQAttn() {
	for _, q := range []int{2, 3, 4} {
		mqDots512(q)
	}
	for _, q := range []int{2, 3, 4} {
		mqWsum512(q, 4)
		mqWsum512(q, 1)
	}
	for _, q := range []int{2, 3} {
		mqDotsAVX2(q)
	}
	for _, q := range []int{2, 3} {
		mqWsumAVX2(q, 2)
		mqWsumAVX2(q, 1)
	}
}

// rowMem returns, for up to 4 rows at base+r·s, the memory operand of row
// r plus disp (s3 = 3·s).
func rowMem(base, s, s3 GPVirtual, r, disp int) Mem {
	switch r {
	case 0:
		return Mem{Base: base, Disp: disp}
	case 1:
		return Mem{Base: base, Index: s, Scale: 1, Disp: disp}
	case 2:
		return Mem{Base: base, Index: s, Scale: 2, Disp: disp}
	case 3:
		return Mem{Base: base, Index: s3, Scale: 1, Disp: disp}
	}
	panic("rowMem: row > 3")
}

// times3 returns 3·s when rows up to 3 are addressed (n > 3 rows).
func times3(s GPVirtual, n int) GPVirtual {
	if n <= 3 {
		return nil
	}
	s3 := GP64()
	LEAQ(Mem{Base: s, Index: s, Scale: 2}, s3)
	return s3
}

// mqDots512 generates dotsF16Q<Q>x4AVX512: Q queries × 4 keys, 16 float32
// lanes per pair as dotsF16x16AVX512 keeps them for one query, reduced by
// its transposing add tree with the Q·4 pairs in the places of its 16
// keys: per pair ((L0+L1)+(L2+L3)) over 128-bit lanes, each L =
// (x0+x2)+(x1+x3).
func mqDots512(Q int) {
	name := fmt.Sprintf("dotsF16Q%dx4AVX512", Q)
	TEXT(name, NOSPLIT, "func(out *float32, os int, q *float32, qs int, k *uint16, ks int, nd int, scale float32)")
	Doc(fmt.Sprintf("%s sets out_r[j] = scale·Σ_{i<16·nd} q_r[i]·k_j[i] for r < %d, j < 4 (out_r at out+r*os, q_r at q+r*qs, k_j at k+j*ks, bytes), each pair's lanes added as dotsF16x16AVX512 adds a key's.", name, Q))
	out, os, q, qs, k, ks, nd := loadGP("out"), loadGP("os"), loadGP("q"), loadGP("qs"), loadGP("k"), loadGP("ks"), loadGP("nd")
	ks3, qs3 := times3(ks, 4), times3(qs, Q)
	acc := make([][4]VecVirtual, Q)
	for r := range acc {
		for j := range acc[r] {
			acc[r][j] = ZMM()
			VPXORD(acc[r][j], acc[r][j], acc[r][j])
		}
	}
	loop, done := name+"_loop", name+"_done"
	Label(loop)
	TESTQ(nd, nd)
	JZ(LabelRef(done))
	var kv [4]VecVirtual
	for j := range kv {
		kv[j] = ZMM()
		VCVTPH2PS(rowMem(k, ks, ks3, j, 0), kv[j])
	}
	for r := 0; r < Q; r++ {
		qv := ZMM()
		VMOVUPS(rowMem(q, qs, qs3, r, 0), qv)
		for j := range kv {
			VFMADD231PS(qv, kv[j], acc[r][j])
		}
	}
	ADDQ(U32(64), q)
	ADDQ(U32(32), k)
	DECQ(nd)
	JMP(LabelRef(loop))
	Label(done)
	// Levels 1 and 2 of the tree, per query: per 128-bit lane the partial
	// sums of its 4 keys.
	d := make([]VecVirtual, Q)
	for r := 0; r < Q; r++ {
		c := make([]VecVirtual, 2)
		for i := 0; i < 2; i++ {
			lo, hi := ZMM(), ZMM()
			VUNPCKLPS(acc[r][2*i+1], acc[r][2*i], lo)
			VUNPCKHPS(acc[r][2*i+1], acc[r][2*i], hi)
			VADDPS(hi, lo, lo)
			c[i] = lo
		}
		lo, hi := ZMM(), ZMM()
		VUNPCKLPD(c[1], c[0], lo)
		VUNPCKHPD(c[1], c[0], hi)
		VADDPS(hi, lo, lo)
		d[r] = lo
	}
	for len(d) < 4 {
		d = append(d, d[len(d)-1]) // padding: its lanes are never stored
	}
	// Levels 3 and 4: add the four 128-bit lanes; g's lane r holds query r's
	// 4 scores.
	e := make([]VecVirtual, 2)
	for i := 0; i < 2; i++ {
		lo, hi := ZMM(), ZMM()
		VSHUFF32X4(U8(0x88), d[2*i+1], d[2*i], lo)
		VSHUFF32X4(U8(0xdd), d[2*i+1], d[2*i], hi)
		VADDPS(hi, lo, lo)
		e[i] = lo
	}
	g, h := ZMM(), ZMM()
	VSHUFF32X4(U8(0x88), e[1], e[0], g)
	VSHUFF32X4(U8(0xdd), e[1], e[0], h)
	VADDPS(h, g, g)
	sc := XMM()
	Load(Param("scale"), sc)
	scz := ZMM()
	VBROADCASTSS(sc, scz)
	VMULPS(scz, g, g)
	os3 := times3(os, Q)
	VMOVUPS(g.AsX(), rowMem(out, os, os3, 0, 0))
	for r := 1; r < Q; r++ {
		VEXTRACTF32X4(U8(r), g, rowMem(out, os, os3, r, 0))
	}
	VZEROUPPER()
	RET()
}

// mqWsum512 generates weightedSumF16Q<Q>x<C>AVX512: for Q queries and C
// 16-column blocks, weightedSumF16x8AVX512's FMA into the output, key by
// key, each converted value vector used by every query.
func mqWsum512(Q, C int) {
	name := fmt.Sprintf("weightedSumF16Q%dx%dAVX512", Q, C)
	TEXT(name, NOSPLIT, "func(out *float32, os int, p *float32, ps int, v *uint16, vs int, nk int)")
	Doc(fmt.Sprintf("%s adds Σ_{j<nk} p_r[j]·v_j[i] to out_r[i] for r < %d, i < %d (out_r at out+r*os, p_r at p+r*ps, v_j at v+j*vs, bytes), key by key (FMA into out's value).", name, Q, 16*C))
	out, os, p, ps, v, vs, nk := loadGP("out"), loadGP("os"), loadGP("p"), loadGP("ps"), loadGP("v"), loadGP("vs"), loadGP("nk")
	os3, ps3 := times3(os, Q), times3(ps, Q)
	acc := make([][]VecVirtual, Q)
	for r := range acc {
		acc[r] = make([]VecVirtual, C)
		for c := range acc[r] {
			acc[r][c] = ZMM()
			VMOVUPS(rowMem(out, os, os3, r, 64*c), acc[r][c])
		}
	}
	loop, done := name+"_loop", name+"_done"
	Label(loop)
	TESTQ(nk, nk)
	JZ(LabelRef(done))
	kv := make([]VecVirtual, C)
	for c := range kv {
		kv[c] = ZMM()
		VCVTPH2PS(Mem{Base: v, Disp: 32 * c}, kv[c])
	}
	for r := 0; r < Q; r++ {
		for c := range kv {
			VFMADD231PS_BCST(rowMem(p, ps, ps3, r, 0), kv[c], acc[r][c])
		}
	}
	ADDQ(U8(4), p)
	ADDQ(vs, v)
	DECQ(nk)
	JMP(LabelRef(loop))
	Label(done)
	for r := range acc {
		for c := range acc[r] {
			VMOVUPS(acc[r][c], rowMem(out, os, os3, r, 64*c))
		}
	}
	VZEROUPPER()
	RET()
}

// mqDotsAVX2 generates dotsF16Q<Q>x4AVX2: mqDots512's arithmetic in two
// passes over the rows, one per 8-lane half of the 16 lanes (each pair's
// lanes 0–7, whose 128-bit lanes L0 and L1 give L0+L1 as dotsF16x4AVX2
// reduces them, stored in out; then lanes 8–15, L2+L3, added to it), so
// that the Q·4 accumulators, the Q query vectors and a key fit in 16 ymm
// registers (Q ≤ 3).
func mqDotsAVX2(Q int) {
	name := fmt.Sprintf("dotsF16Q%dx4AVX2", Q)
	TEXT(name, NOSPLIT, "func(out *float32, os int, q *float32, qs int, k *uint16, ks int, nd int, scale float32)")
	Doc(fmt.Sprintf("%s sets out_r[j] = scale·Σ_{i<16·nd} q_r[i]·k_j[i] for r < %d, j < 4 (out_r at out+r*os, q_r at q+r*qs, k_j at k+j*ks, bytes), each pair's lanes added as dotsF16x16AVX512 adds a key's.", name, Q))
	out, os, q, qs, k, ks, nd := loadGP("out"), loadGP("os"), loadGP("q"), loadGP("qs"), loadGP("k"), loadGP("ks"), loadGP("nd")
	ks3, qs3, os3 := times3(ks, 4), times3(qs, Q), times3(os, Q)
	qi, ki, n := GP64(), GP64(), GP64()
	for half := 0; half < 2; half++ {
		acc := make([][4]VecVirtual, Q)
		for r := range acc {
			for j := range acc[r] {
				acc[r][j] = YMM()
				VXORPS(acc[r][j], acc[r][j], acc[r][j])
			}
		}
		MOVQ(q, qi)
		MOVQ(k, ki)
		MOVQ(nd, n)
		loop, done := fmt.Sprintf("%s_loop%d", name, half), fmt.Sprintf("%s_done%d", name, half)
		Label(loop)
		TESTQ(n, n)
		JZ(LabelRef(done))
		qv := make([]VecVirtual, Q)
		for r := range qv {
			qv[r] = YMM()
			VMOVUPS(rowMem(qi, qs, qs3, r, 32*half), qv[r])
		}
		for j := 0; j < 4; j++ {
			kv := YMM()
			VCVTPH2PS(rowMem(ki, ks, ks3, j, 16*half), kv)
			for r := 0; r < Q; r++ {
				VFMADD231PS(qv[r], kv, acc[r][j])
			}
		}
		ADDQ(U32(64), qi)
		ADDQ(U32(32), ki)
		DECQ(n)
		JMP(LabelRef(loop))
		Label(done)
		for r := 0; r < Q; r++ {
			// dotsF16x4AVX2's levels 1 and 2, then L(2h)+L(2h+1).
			c := make([]VecVirtual, 2)
			for i := 0; i < 2; i++ {
				lo, hi := YMM(), YMM()
				VUNPCKLPS(acc[r][2*i+1], acc[r][2*i], lo)
				VUNPCKHPS(acc[r][2*i+1], acc[r][2*i], hi)
				VADDPS(hi, lo, lo)
				c[i] = lo
			}
			lo, hi := YMM(), YMM()
			VUNPCKLPD(c[1], c[0], lo)
			VUNPCKHPD(c[1], c[0], hi)
			VADDPS(hi, lo, lo)
			x := XMM()
			VEXTRACTF128(U8(1), lo, x)
			VADDPS(lo.AsX(), x, x)
			if half == 0 {
				VMOVUPS(x, rowMem(out, os, os3, r, 0))
				continue
			}
			VADDPS(rowMem(out, os, os3, r, 0), x, x)
			sc := XMM()
			VBROADCASTSS(paramMem("scale"), sc)
			VMULPS(sc, x, x)
			VMOVUPS(x, rowMem(out, os, os3, r, 0))
		}
	}
	VZEROUPPER()
	RET()
}

// mqWsumAVX2 generates weightedSumF16Q<Q>x<C>AVX2: mqWsum512's arithmetic
// with each 16-column block in two ymm.
func mqWsumAVX2(Q, C int) {
	name := fmt.Sprintf("weightedSumF16Q%dx%dAVX2", Q, C)
	TEXT(name, NOSPLIT, "func(out *float32, os int, p *float32, ps int, v *uint16, vs int, nk int)")
	Doc(fmt.Sprintf("%s adds Σ_{j<nk} p_r[j]·v_j[i] to out_r[i] for r < %d, i < %d (out_r at out+r*os, p_r at p+r*ps, v_j at v+j*vs, bytes), key by key (FMA into out's value).", name, Q, 16*C))
	out, os, p, ps, v, vs, nk := loadGP("out"), loadGP("os"), loadGP("p"), loadGP("ps"), loadGP("v"), loadGP("vs"), loadGP("nk")
	os3, ps3 := times3(os, Q), times3(ps, Q)
	acc := make([][]VecVirtual, Q)
	for r := range acc {
		acc[r] = make([]VecVirtual, 2*C)
		for c := range acc[r] {
			acc[r][c] = YMM()
			VMOVUPS(rowMem(out, os, os3, r, 32*c), acc[r][c])
		}
	}
	loop, done := name+"_loop", name+"_done"
	Label(loop)
	TESTQ(nk, nk)
	JZ(LabelRef(done))
	pb := make([]VecVirtual, Q)
	for r := range pb {
		pb[r] = YMM()
		VBROADCASTSS(rowMem(p, ps, ps3, r, 0), pb[r])
	}
	for c := 0; c < 2*C; c++ {
		kv := YMM()
		VCVTPH2PS(Mem{Base: v, Disp: 16 * c}, kv)
		for r := 0; r < Q; r++ {
			VFMADD231PS(pb[r], kv, acc[r][c])
		}
	}
	ADDQ(U8(4), p)
	ADDQ(vs, v)
	DECQ(nk)
	JMP(LabelRef(loop))
	Label(done)
	for r := range acc {
		for c := range acc[r] {
			VMOVUPS(acc[r][c], rowMem(out, os, os3, r, 32*c))
		}
	}
	VZEROUPPER()
	RET()
}
