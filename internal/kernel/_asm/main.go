// Command _asm generates the amd64 assembly of package kernel with avo:
//
//	cd internal/kernel/_asm && go run . -pkg kernel -out ../matmul_amd64.s -stubs ../matmul_stub_amd64.go
//	cd internal/kernel/_asm && go run . -train -pkg kernel -out ../train_amd64.s -stubs ../train_stub_amd64.go
//	cd internal/kernel/_asm && go run . -set packk23 -pkg kernel -out ../packk23_amd64.s -stubs ../packk23_stub_amd64.go
//
// It is its own module so that avo stays out of the main module's
// dependencies. Every generated function has a pure-Go reference in the
// kernel package, and the kernel tests compare them.
package main

import (
	"flag"
	"log"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
)

func main() {
	train := flag.Bool("train", false, "generate the kernels of training (train_amd64.s) instead of the rest")
	set := flag.String("set", "", "generate the named kernel set into its own file instead of the rest: packk23 (Q2_K and Q3_K packed prefill and K-quant-order decode, packk23.go)")
	flag.Parse()
	ConstraintExpr("!purego")
	switch *set {
	case "":
	case "packk23":
		genPackK23()
		Generate()
		return
	default:
		log.Fatalf("unknown kernel set %q", *set)
	}
	if *train {
		genTrain()
		Generate()
		return
	}
	genBlockTiles()
	genFloatTiles()
	genF16DotTiles()
	genKQuants()
	genQuantizers()
	genPacked()
	genPackedK()
	genGroupTiles()
	genExp()
	genAttn()
	genVec()
	genAVX2()
	genIQ()
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
