package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// floatKind is a float weight type. Its activations are float32 (for BF16
// already rounded to the weight's precision by the caller, so that every
// product is exact in float32, as in ggml's bf16 dot product),
// and each 16-element step is one FMA per (row, token).
type floatKind struct {
	name  string
	bytes int // weight bytes per 16 elements
	load  func(m Mem) VecVirtual
}

// floatKinds are the float types with 16-element-step tiles; F16 has its
// own (genF16DotTiles).
var floatKinds = []floatKind{
	{name: "F32", bytes: 64, load: func(m Mem) VecVirtual {
		z := ZMM()
		VMOVUPS(m, z)
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
		// Every step of every row, also the 32-byte steps of BF16: a
		// second prefetch of a line costs less than a missed one.
		PREFETCHT1(Mem{Base: wp[r], Index: iw, Scale: 1, Disp: floatPrefetchDist})
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

// genF16DotTiles generates the F16 kernels, which add in
// ggml_vec_dot_f16's order on AVX-512 whatever the tile shape: per (row,
// token) four 16-lane accumulators, element k going to accumulator (k/16)
// mod 4, so that a step is 64 elements; then acc0+acc2, acc1+acc3, their
// sum, and the horizontal tree of hsumStore. Decoding with them reproduces
// llama.cpp's F16 results to the bit where the order matters (near-ties in
// expert routing), and a token's results do not depend on the tile it
// shares with other rows or tokens.
func genF16DotTiles() {
	for _, shape := range [][2]int{{1, 1}, {4, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 2}, {2, 3}} {
		f16DotTile(shape[0], shape[1])
	}
}

// accZ are the accumulator registers of the F16 tiles, highest first:
// up to 24, leaving Z0..Z7 for temporaries.
var accZ = append(append([]Register{}, highZ...), Z15, Z14, Z13, Z12, Z11, Z10, Z9, Z8)

func f16DotTile(R, T int) {
	name := fmt.Sprintf("tileF16Dot_%dx%d", R, T)
	TEXT(name, NOSPLIT, "func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)")
	Doc(fmt.Sprintf("%s computes the %d×%d tile out[t*os+r] = Σ_{i<64·nb} w_r[i]·a_t[i] of F16 weight rows and float32 activation rows, in ggml_vec_dot_f16's order (AVX-512).", name, R, T),
		"Weight row r starts at w+r*ws, activation row t at a+t*as (bytes); nb counts 64-element steps.")
	w := loadGP("w")
	ws := loadGP("ws")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	wp := ptrs(w, ws, R)
	ap := ptrs(a, as, T)
	acc := make([][][4]Register, R)
	for r := range acc {
		acc[r] = make([][4]Register, T)
		for t := range acc[r] {
			for j := range 4 {
				acc[r][t][j] = accZ[4*(r*T+t)+j]
				VPXORD(acc[r][t][j], acc[r][t][j], acc[r][t][j])
			}
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
				PREFETCHT1(Mem{Base: wp[r], Index: iw, Scale: 1, Disp: floatPrefetchDist + 32*j})
			}
			z := ZMM()
			VCVTPH2PS(Mem{Base: wp[r], Index: iw, Scale: 1, Disp: 32 * j}, z)
			for t := 0; t < T; t++ {
				VFMADD231PS(Mem{Base: ap[t], Index: ia, Scale: 1, Disp: 64 * j}, z, acc[r][t][j])
			}
		}
	}
	ADDQ(U32(128), iw)
	ADDQ(U32(256), ia)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	out := loadGP("out")
	os := loadGP("os")
	SHLQ(U8(2), os)
	for t := 0; t < T; t++ {
		for r := 0; r < R; r++ {
			c := acc[r][t]
			VADDPS(c[2], c[0], c[0])
			VADDPS(c[3], c[1], c[1])
			VADDPS(c[1], c[0], c[0])
			y := YMM()
			VEXTRACTF64X4(U8(1), c[0], y)
			VADDPS(c[0].(Vec).AsY(), y, y)
			hsumStore(y, Mem{Base: out, Disp: 4 * r})
		}
		if t+1 < T {
			ADDQ(os, out)
		}
	}
	VZEROUPPER()
	RET()
}

// floatPrefetchDist is how far ahead of each weight row the float kernels
// prefetch, into L2 (PREFETCHT1). Decode reads each row once, from DRAM;
// the hardware prefetchers alone kept it at ~15 GB/s per core on Zen 4
// (F16, BF16; plain reads 26), prefetching into L1 at any distance did
// not help, and into L2 16 KiB ahead took F16 to 23–25 GB/s
// (BenchmarkMatMulStream).
const floatPrefetchDist = 16384
