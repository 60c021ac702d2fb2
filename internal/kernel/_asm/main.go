// Command _asm generates the amd64 assembly of package kernel with avo:
//
//	cd internal/kernel/_asm && go run . -pkg kernel -out ../matmul_amd64.s -stubs ../matmul_stub_amd64.go
//	cd internal/kernel/_asm && go run . -train -pkg kernel -out ../train_amd64.s -stubs ../train_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set interk -pkg kernel -out ../interk_amd64.s -stubs ../interk_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set packiq -pkg kernel -out ../packiq_amd64.s -stubs ../packiq_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set pack41 -pkg kernel -out ../pack41_amd64.s -stubs ../pack41_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set packk23 -pkg kernel -out ../packk23_amd64.s -stubs ../packk23_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set inter41 -pkg kernel -out ../inter41_amd64.s -stubs ../inter41_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set interk23 -pkg kernel -out ../interk23_amd64.s -stubs ../interk23_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set intergrid -pkg kernel -out ../intergrid_amd64.s -stubs ../intergrid_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set avx2vec -pkg kernel -out ../avx2vec_amd64.s -stubs ../avx2vec_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set avx2q -pkg kernel -out ../avx2q_amd64.s -stubs ../avx2q_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set avx2k -pkg kernel -out ../avx2k_amd64.s -stubs ../avx2k_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set avx2iq13 -pkg kernel -out ../avx2iq13_amd64.s -stubs ../avx2iq13_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set avx2iq2 -pkg kernel -out ../avx2iq2_amd64.s -stubs ../avx2iq2_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set avx2pk -pkg kernel -out ../avx2pk_amd64.s -stubs ../avx2pk_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set avx2pk2 -pkg kernel -out ../avx2pk2_amd64.s -stubs ../avx2pk2_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set xpose -pkg kernel -out ../xpose_amd64.s -stubs ../xpose_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set iq512 -pkg kernel -out ../iq512_amd64.s -stubs ../iq512_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set mqattn -pkg kernel -out ../mqattn_amd64.s -stubs ../mqattn_stub_amd64.go
//
// It is its own module so that avo stays out of the main module's
// dependencies. Every generated function has a pure-Go reference in the
// kernel package, and the kernel tests compare them.
package main

import (
	"flag"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
)

func main() {
	train := flag.Bool("train", false, "generate the kernels of training (train_amd64.s) instead of the rest")
	set := flag.String("set", "", `generate only the named set of kernels, into its own files (the commands above); without it, the main set (matmul_amd64.s)`)
	flag.Parse()
	ConstraintExpr("!purego")
	switch *set {
	case "":
	case "interk":
		genInterK()
		Generate()
		return
	case "packiq":
		genPackIQ()
		Generate()
		return
	case "pack41":
		genPack41()
		Generate()
		return
	case "packk23":
		genPackK23()
		Generate()
		return
	case "inter41":
		genInter41()
		Generate()
		return
	case "interk23":
		genInterK23()
		Generate()
		return
	case "intergrid":
		genInterGrid()
		Generate()
		return
	case "avx2vec":
		genAVX2Vec()
		Generate()
		return
	case "avx2q":
		genAVX2Q()
		Generate()
		return
	case "avx2k":
		genAVX2K()
		Generate()
		return
	case "avx2iq13":
		genAVX2IQ13()
		Generate()
		return
	case "avx2iq2":
		genAVX2IQ2()
		Generate()
		return
	case "avx2pk":
		genAVX2PK()
		Generate()
		return
	case "avx2pk2":
		genAVX2PK2()
		Generate()
		return
	case "xpose":
		genXpose()
		Generate()
		return
	case "iq512":
		genIQ512()
		Generate()
		return
	case "mqattn":
		genMQAttn()
		Generate()
		return
	default:
		panic("unknown -set " + *set)
	}
	if *train {
		genTrain()
		Generate()
		return
	}
	genConsts()
	genFloatTiles()
	genF16DotTiles()
	genKQuants()
	genQuantizers()
	genPacked()
	genPackedK()
	genInterleaved()
	genGroupTiles()
	genExp()
	genAttn()
	genVec()
	genAVX2()
	Generate()
}

// vpdpbusd emits VPDPBUSD (AVX512_VNNI, EVEX), which avo v0.5.0 does not
// know: acc += Σ over each group of 4 bytes of unsigned(u)·signed(s), per
// int32 lane, without saturation. Go operand order: signed source (register
// or memory), unsigned source, accumulator.
func vpdpbusd(s, u, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Operands: []Op{s, u, acc},
		Inputs:   []Op{s, u, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI", "AVX512VL"},
	})
}
