//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set xpose -pkg kernel -out ../xpose_amd64.s -stubs ../xpose_stub_amd64.go"

import (
	"fmt"
	"maps"
	"slices"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// The group transpose: interleaveGroup for whole groups of 16 rows as a
// program of xposeAVX2 operations per type, built once from the type's
// layout written as fields (xposeLayout). The Go reference
// (interleaveGroupGo) gives the same bytes (TestXposeSameBytes).

// hasXpose reports whether this CPU runs xposeAVX2.
var hasXpose = cpu.X86.HasAVX2

// xposeOp is one operation of xposeAVX2 (its doc comment), 24 bytes.
type xposeOp struct {
	from int32    // byte offset of the field in a step of row 0
	word int32    // 1: a dword's low word to to[0]+2r, high to to[1]+2r; 0: four dwords
	to   [4]int32 // dword i's 64-byte vector in a step of the group; −1: none
}

// xposePlan is a type's group transpose: steps of blocks (two for Q3_K
// and Q6_K, whose blocks come in pairs, one otherwise), each the
// operations ops, of which ops[:first] are the first block's (for an odd
// block count), and x the XOR of every dword (Q8_0's 0x80808080).
type xposePlan struct {
	blocks    int // blocks per step
	stepBytes int // interleaved bytes per step
	ops       []xposeOp
	first     int
	x         uint32
}

// xposeLayout returns the layout of an interleaved group of type t as
// fields: per block of a step (see xposePlan), the interFields whose to is
// the offset in the step (a dword field's dword v at to+64v, a word
// field's row r at to+2r, as inter41Fields'), and Q8_0's XOR; nil for a
// type without one. The layouts are interleave.go's, interleave41.go's,
// interleavek.go's and interleavek23.go's.
func xposeLayout(t tensor.DType) (blocks [][]interField, x uint32) {
	switch t {
	case tensor.Q4_0, tensor.IQ4_NL:
		return [][]interField{{{2, 16, 0}, {0, 2, 256}}}, 0
	case tensor.Q5_0:
		return [][]interField{{{2, 4, 0}, {6, 16, 64}, {0, 2, 320}}}, 0
	case tensor.Q8_0:
		return [][]interField{{{2, 32, 0}, {0, 2, 512}}}, 0x80808080
	case tensor.Q4_1, tensor.Q5_1, tensor.IQ4_XS:
		return [][]interField{inter41Fields[t]}, 0
	case tensor.Q4_K:
		return [][]interField{{{4, 12, 0}, {0, 2, 192}, {2, 2, 224}, {16, 128, 256}}}, 0
	case tensor.Q5_K:
		return [][]interField{{{4, 12, 0}, {0, 2, 192}, {2, 2, 224}, {16, 32, 256}, {48, 128, 768}}}, 0
	case tensor.Q2_K:
		return [][]interField{{{0, 16, 0}, {16, 64, 256}, {80, 2, 1280}, {82, 2, 1312}}}, 0
	case tensor.Q3_K:
		var fs [][]interField
		for b := range 2 {
			at, dat := interKBlock(t, b)
			f := []interField{{96, 12, at}, {108, 2, dat}}
			for w := range 8 {
				f = append(f, interField{4 * w, 4, at + interK3Vec(-1, w)})
				for h := range 2 {
					f = append(f, interField{32 + 32*h + 4*w, 4, at + interK3Vec(h, w)})
				}
			}
			fs = append(fs, f)
		}
		return fs, 0
	case tensor.Q6_K:
		var fs [][]interField
		for b := range 2 {
			at, dat := interKBlock(t, b)
			f := []interField{{192, 16, at}, {208, 2, dat}}
			for h := range 2 {
				for w := range 8 {
					f = append(f,
						interField{128 + 32*h + 4*w, 4, at + interK6Vec(h, -1, w)},
						interField{64*h + 4*w, 4, at + interK6Vec(h, 0, w)},
						interField{64*h + 32 + 4*w, 4, at + interK6Vec(h, 1, w)})
				}
			}
			fs = append(fs, f)
		}
		return fs, 0
	}
	return nil, 0
}

// newXposePlan returns the plan of type t's layout, or nil. Each field's
// dwords go in operations of four consecutive source dwords, and words in
// operations of two; one that would read past the block starts earlier
// and leaves those bytes out (to −1), so that no operation reads outside a
// row's data.
func newXposePlan(t tensor.DType) *xposePlan {
	fields, x := xposeLayout(t)
	if fields == nil {
		return nil
	}
	wb := t.TypeSize()
	pl := &xposePlan{blocks: len(fields), stepBytes: len(fields) * packRows * wb, x: x}
	for k, fs := range fields {
		dw := map[int]int32{}    // source offset of a dword → its vector
		words := map[int]int32{} // source offset of a word → its 32 bytes
		for _, f := range fs {
			if f.n == 2 {
				words[f.from] = int32(f.to)
				continue
			}
			for v := range f.n / 4 {
				dw[f.from+4*v] = int32(f.to + 64*v)
			}
		}
		// Words in pairs, as one dword: a word and the next, or alone
		// as the low word (or, at the end of the block, the high word).
		for len(words) > 0 {
			start := slices.Min(slices.Collect(maps.Keys(words)))
			if start+4 > wb {
				start -= 2
			}
			op := xposeOp{from: int32(k*wb + start), word: 1, to: [4]int32{-1, -1, -1, -1}}
			for i := range 2 {
				if to, ok := words[start+2*i]; ok {
					op.to[i] = to
					delete(words, start+2*i)
				}
			}
			pl.ops = append(pl.ops, op)
		}
		for len(dw) > 0 {
			start := slices.Min(slices.Collect(maps.Keys(dw)))
			if over := start + 16 - wb; over > 0 {
				start -= (over + 3) / 4 * 4
			}
			if start < 0 {
				panic(fmt.Sprintf("kernel: xpose plan of %s: a dword field in a block of %d bytes", t, wb))
			}
			op := xposeOp{from: int32(k*wb + start), to: [4]int32{-1, -1, -1, -1}}
			for i := range 4 {
				if to, ok := dw[start+4*i]; ok {
					op.to[i] = to
					delete(dw, start+4*i)
				}
			}
			pl.ops = append(pl.ops, op)
		}
		if k == 0 {
			pl.first = len(pl.ops)
		}
	}
	return pl
}

// xposePlans are the plans of every interleaved type, indexed by type
// (as implTable; a map lookup per group showed in decode profiles).
var xposePlans = func() (m [len(implTable{})]*xposePlan) {
	for _, t := range []tensor.DType{tensor.Q4_0, tensor.IQ4_NL, tensor.Q5_0, tensor.Q8_0, tensor.Q4_1, tensor.Q5_1, tensor.IQ4_XS,
		tensor.Q2_K, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K} {
		m[t] = newXposePlan(t)
	}
	return m
}()

// xposeGroup is interleaveGroup for 16 rows through xposeAVX2, which
// writes every byte of the group's nb blocks (dst need not be zero); it
// reports false, writing nothing, if this CPU has no AVX2 or t no plan.
func xposeGroup(t tensor.DType, w []byte, ws, nb int, dst []byte) bool {
	if !hasXpose || int(t) >= len(xposePlans) || xposePlans[t] == nil {
		return false
	}
	pl := xposePlans[t]
	if nb == 0 {
		return true
	}
	wb := t.TypeSize()
	if len(w) < (packRows-1)*ws+nb*wb || len(dst) < packRows*nb*wb || ws < nb*wb {
		panic(fmt.Sprintf("kernel: xposeGroup: %s, %d blocks, row stride %d: %d source bytes, %d destination", t, nb, ws, len(w), len(dst)))
	}
	ops := (*int32)(unsafe.Pointer(&pl.ops[0]))
	steps := nb / pl.blocks
	// Prefetch the next group of rows (the next in memory when ws is the
	// row size), spread over the operations: from DRAM this doubled the
	// rate (6–8 → 10–19 GB/s per core, noisy).
	next := uintptr(unsafe.Pointer(&w[0])) + uintptr(packRows*ws)
	pfOp := 0
	if steps > 0 {
		pfOp = (packRows*ws/(steps*len(pl.ops)) + 63) &^ 63
	}
	xposeAVX2(&dst[0], &w[0], ws, steps, pl.blocks*wb, pl.stepBytes, ops, len(pl.ops), pl.x, next, pfOp)
	if nb%pl.blocks != 0 {
		xposeAVX2(&dst[steps*pl.stepBytes], &w[steps*pl.blocks*wb], ws, 1, 0, 0, ops, pl.first, pl.x, 0, 0)
	}
	return true
}
