package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// floatKind is a float weight type. Its activations are float32 (for F16
// and BF16 already rounded to the weight's precision by the caller, so that
// every product is exact in float32, as in ggml's f16/bf16 dot products),
// and each 16-element step is one FMA per (row, token).
type floatKind struct {
	name  string
	bytes int // weight bytes per 16 elements
	load  func(m Mem) VecVirtual
}

var floatKinds = []floatKind{
	{name: "F32", bytes: 64, load: func(m Mem) VecVirtual {
		z := ZMM()
		VMOVUPS(m, z)
		return z
	}},
	{name: "F16", bytes: 32, load: func(m Mem) VecVirtual {
		z := ZMM()
		VCVTPH2PS(m, z)
		return z
	}},
	{name: "BF16", bytes: 32, load: func(m Mem) VecVirtual {
		z := ZMM()
		VPMOVZXWD(m, z)
		VPSLLD(U8(16), z, z)
		return z
	}},
}

var highZ = []Register{Z31, Z30, Z29, Z28, Z27, Z26, Z25, Z24, Z23, Z22, Z21, Z20, Z19, Z18, Z17, Z16}

func genFloatTiles() {
	for _, shape := range tileShapes {
		for _, k := range floatKinds {
			floatTile(k, shape[0], shape[1])
		}
	}
}

func floatTile(k floatKind, R, T int) {
	name := fmt.Sprintf("tile%s_%dx%d", k.name, R, T)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s computes the %d×%d tile out[t*os+r] = Σ_{i<16·nb} w_r[i]·a_t[i] for %s weights and float32 activations (AVX-512).", name, R, T, k.name),
		"Weight row r starts at w+r*ws, activation row t at a+t*as (bytes); nb counts 16-element steps.")
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	wp := ptrs(w, ws, R)
	ap := ptrs(a, as, T)
	acc := make([][]Register, R)
	for r := range acc {
		acc[r] = make([]Register, T)
		for t := range acc[r] {
			acc[r][t] = highZ[r*T+t]
			VPXORD(acc[r][t], acc[r][t], acc[r][t])
		}
	}
	iw, ia := GP64(), GP64()
	XORQ(iw, iw)
	XORQ(ia, ia)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for r := 0; r < R; r++ {
		if k.bytes == 64 || r%2 == 0 {
			// One prefetch per 64-byte line: F16/BF16 steps are 32 bytes.
			PREFETCHT0(Mem{Base: wp[r], Index: iw, Scale: 1, Disp: prefetchDist})
		}
		wv := k.load(Mem{Base: wp[r], Index: iw, Scale: 1})
		for t := 0; t < T; t++ {
			VFMADD231PS(Mem{Base: ap[t], Index: ia, Scale: 1}, wv, acc[r][t])
		}
	}
	ADDQ(U32(k.bytes), iw)
	ADDQ(U32(64), ia)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		for r := 0; r < R; r++ {
			y := YMM()
			VEXTRACTF64X4(U8(1), acc[r][t], y)
			VADDPS(acc[r][t].(Vec).AsY(), y, y)
			hsumStore(y, Mem{Base: out, Disp: 4 * r})
		}
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// genF16DotTiles generates the single-token F16 kernels that add in
// ggml_vec_dot_f16's order on AVX-512: per row four 16-lane accumulators,
// element k going to accumulator (k/16) mod 4, so that a step is 64
// elements; then acc0+acc2, acc1+acc3, their sum, and the horizontal tree
// of hsumStore. Decoding with them reproduces llama.cpp's F16 results to the
// bit where the order matters (near-ties in expert routing).
func genF16DotTiles() {
	for _, R := range []int{1, 4} {
		f16DotTile(R)
	}
}

func f16DotTile(R int) {
	name := fmt.Sprintf("tileF16Dot_%dx1", R)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s computes out[r] = Σ_{i<64·nb} w_r[i]·a[i] for %d F16 weight rows (stride ws bytes) and one float32 activation row, in ggml_vec_dot_f16's order (AVX-512).", name, R),
		"nb counts 64-element steps; as and os are unused (one token).")
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	nb := loadGP("nb")
	wp := ptrs(w, ws, R)
	acc := make([][4]Register, R)
	for r := range acc {
		for j := range 4 {
			acc[r][j] = highZ[4*r+j]
			VPXORD(acc[r][j], acc[r][j], acc[r][j])
		}
	}
	iw, ia := GP64(), GP64()
	XORQ(iw, iw)
	XORQ(ia, ia)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	for r := 0; r < R; r++ {
		for j := range 4 {
			if j%2 == 0 {
				PREFETCHT0(Mem{Base: wp[r], Index: iw, Scale: 1, Disp: prefetchDist + 32*j})
			}
			z := ZMM()
			VCVTPH2PS(Mem{Base: wp[r], Index: iw, Scale: 1, Disp: 32 * j}, z)
			VFMADD231PS(Mem{Base: a, Index: ia, Scale: 1, Disp: 64 * j}, z, acc[r][j])
		}
	}
	ADDQ(U32(128), iw)
	ADDQ(U32(256), ia)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	out := loadGP("out")
	for r := 0; r < R; r++ {
		VADDPS(acc[r][2], acc[r][0], acc[r][0])
		VADDPS(acc[r][3], acc[r][1], acc[r][1])
		VADDPS(acc[r][1], acc[r][0], acc[r][0])
		y := YMM()
		VEXTRACTF64X4(U8(1), acc[r][0], y)
		VADDPS(acc[r][0].(Vec).AsY(), y, y)
		hsumStore(y, Mem{Base: out, Disp: 4 * r})
	}
	VZEROUPPER()
	RET()
}
