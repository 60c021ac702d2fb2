package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// avx2BF16Shapes are the rows × tokens of the AVX2 BF16 tiles (two ymm
// accumulators per row and token). For several tokens 2×2 measured faster
// than 2×3 and 1×4 (BenchmarkMatMulPrefillFloat: ~20 vs ~17 GMAC/s).
var avx2BF16Shapes = [][2]int{{1, 1}, {2, 1}, {4, 1}, {1, 2}, {2, 2}}

func genAVX2BF16() {
	for _, sh := range avx2BF16Shapes {
		avx2BF16Tile(sh[0], sh[1])
	}
}

// avx2BF16Tile is floatTile's BF16 kernel in AVX2: per (row, token) the 16
// lanes of the AVX-512 accumulator in two ymm (elements 16s..16s+7 and
// 16s+8..16s+15 of each 16-element step s), added at the end as the
// AVX-512 tile adds its zmm (the 256-bit halves, then hsumStore's tree):
// the same bits. Each row is prefetched into L2 floatPrefetchDist ahead,
// once per 32-byte step, as floatTile does.
func avx2BF16Tile(R, T int) {
	name := fmt.Sprintf("tileBF16AVX2_%dx%d", R, T)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s computes the %d×%d tile out[t*os+r] = Σ_{i<16·nb} w_r[i]·a_t[i] for BF16 weights and float32 activations in tileBF16_%dx%d's order (AVX2, FMA).", name, R, T, R, T),
		"Weight row r starts at w+r*ws, activation row t at a+t*as (bytes); nb counts 16-element steps.")
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	wp := ptrs(w, ws, R)
	ap := ptrs(a, as, T)
	acc := make([][]yPair, R)
	for r := range acc {
		acc[r] = make([]yPair, T)
		for t := range acc[r] {
			acc[r][t] = newPair()
			acc[r][t].zero()
		}
	}
	iw, ia := GP64(), GP64()
	XORQ(iw, iw)
	XORQ(ia, ia)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for r := 0; r < R; r++ {
		PREFETCHT1(Mem{Base: wp[r], Index: iw, Scale: 1, Disp: floatPrefetchDist})
		for h := 0; h < 2; h++ {
			wv := YMM()
			VPMOVZXWD(Mem{Base: wp[r], Index: iw, Scale: 1, Disp: 16 * h}, wv)
			VPSLLD(U8(16), wv, wv)
			for t := 0; t < T; t++ {
				VFMADD231PS(Mem{Base: ap[t], Index: ia, Scale: 1, Disp: 32 * h}, wv, acc[r][t][h])
			}
		}
	}
	ADDQ(U32(32), iw)
	ADDQ(U32(64), ia)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		for r := 0; r < R; r++ {
			c := acc[r][t]
			VADDPS(c[0], c[1], c[1])
			avx2HsumStore(c[1], Mem{Base: out, Disp: 4 * r})
		}
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}
