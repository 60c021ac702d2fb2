//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set intergrid -pkg kernel -out ../intergrid_amd64.s -stubs ../intergrid_stub_amd64.go"

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// hasCodeTiles reports whether this CPU runs the tileCode kernels
// (intergrid_amd64.s): iqTiles' features plus AVX-512 VBMI (VPERMB,
// VPERMI2W's table lookups, VPMULTISHIFTQB).
var hasCodeTiles = hasIQTiles && cpu.X86.HasAVX512VBMI

// gridCodeTable is a codebook as the tileCode kernels take it: entry i
// of the codebook as the level numbers of its values (value j at bits
// b·j, b = 2 for 3 levels, 3 for 8), vals, the levels plus 64 indexed by
// any byte's low 6 bits (entry x = 64 + level x mod 2^b), and signs,
// ggml's ksigns_iq2xs (the 7-bit sign index with an even-parity eighth
// bit), and the low and high bytes of the codes as two tables.
type gridCodeTable struct {
	codes  [256]uint16
	vals   [64]uint8
	signs  [128]uint8
	lo, hi [256]uint8
}

// newGridCodes returns the codes table of a codebook of 256 entries of n
// byte values each (the low n bytes of each entry), all in levels.
func newGridCodes[E uint32 | uint64](grid []E, n int, levels []uint8) *gridCodeTable {
	b := 2
	if len(levels) > 4 {
		b = 3
	}
	t := &gridCodeTable{}
	for i, g := range grid {
		for j := 0; j < n; j++ {
			v := uint8(uint64(g) >> (8 * j))
			l := -1
			for li, lv := range levels {
				if lv == v {
					l = li
				}
			}
			if l < 0 {
				panic("kernel: newGridCodes: codebook value not among the levels")
			}
			t.codes[i] |= uint16(l) << (b * j)
		}
	}
	for x := range t.vals {
		if l := x & (1<<b - 1); l < len(levels) {
			t.vals[x] = 64 + levels[l]
		}
	}
	for i, c := range t.codes {
		t.lo[i], t.hi[i] = uint8(c), uint8(c>>8)
	}
	for i := range t.signs {
		t.signs[i] = uint8(i) | uint8(bits.OnesCount8(uint8(i))&1)<<7
	}
	return t
}

var (
	codesIQ2_XXS = newGridCodes(tensor.GridIQ2_XXS[:], 8, []uint8{8, 25, 43})
	codesIQ3_XXS = newGridCodes(tensor.GridIQ3_XXS[:], 4, []uint8{4, 12, 20, 28, 36, 44, 52, 62})
)

// codeTiles returns the tileCode kernels of type t (1 row × 1..4 tokens,
// the same steps as iqTiles' tileOrd ones) where this CPU runs them, else
// fallback.
func codeTiles(t tensor.DType, fallback [5][5]tileFunc) [5][5]tileFunc {
	if !hasCodeTiles {
		return fallback
	}
	switch t {
	case tensor.IQ2_XXS:
		return gridTiles(&codesIQ2_XXS.codes[0], codeTile(tileCodeIQ2_XXS_1x1), codeTile(tileCodeIQ2_XXS_1x2), codeTile(tileCodeIQ2_XXS_1x3), codeTile(tileCodeIQ2_XXS_1x4))
	case tensor.IQ3_XXS:
		return gridTiles(&codesIQ3_XXS.codes[0], codeTile(tileCodeIQ3_XXS_1x1), codeTile(tileCodeIQ3_XXS_1x2), codeTile(tileCodeIQ3_XXS_1x3), codeTile(tileCodeIQ3_XXS_1x4))
	}
	return fallback
}

// codeTile adapts a tileCode kernel to gridTiles' codebook pointer.
func codeTile(f func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, tab *byte)) gridTileFunc[uint16] {
	return func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, tab *uint16) {
		f(w, ws, a, as, nb, out, os, (*byte)(unsafe.Pointer(tab)))
	}
}
