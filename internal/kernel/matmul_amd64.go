//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -pkg kernel -out ../matmul_amd64.s -stubs ../matmul_stub_amd64.go"

import (
	"encoding/binary"
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// hasVNNI reports whether this CPU runs the AVX-512 VNNI kernels of
// matmul_amd64.s: they use AVX-512 F/BW/VL/VNNI (EVEX forms of every
// instruction), FMA and F16C.
var hasVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
	cpu.X86.HasAVX512VNNI && cpu.X86.HasFMA && cpu.X86.HasF16C && cpu.X86.HasAVX2

// hasVNNIPath reports whether the "avx512" set holds the VNNI kernels.
var hasVNNIPath = hasVNNI

// matImpls is the table MatMul uses: the best implementation per type for
// this CPU.
var matImpls = func() *implTable {
	vs := variants()
	return vs[len(vs)-1].table
}()

// variants lists every implementation set this CPU can run, reference
// first and best last.
func variants() []implVariant {
	vs := []implVariant{{"generic", genericTable()}}
	if hasAVX2 {
		t := genericTable()
		setTiles(t, avx2Tiles)
		setInter(t, avx2Inter())
		setKOrdered(t, avx2InterK())
		setAVX2IQ13(t, avx2IQ13Tiles())
		setAVX2IQ2(t, avx2IQ2Tiles())
		setAVX2PackedIQ(t)
		vs = append(vs, implVariant{"avx2", t})
	}
	if !hasAVX512 {
		return vs
	}
	// Without VNNI, the AVX2 integer kernels stay in use.
	t := genericTable()
	if hasAVX2 {
		setTiles(t, avx2Tiles)
		setInter(t, avx2Inter())
		setKOrdered(t, avx2InterK())
		setAVX2IQ13(t, avx2IQ13Tiles())
		setAVX2IQ2(t, avx2IQ2Tiles())
		setAVX2PackedIQ(t)
	}
	setTiles(t, avx512FloatTiles)
	if hasVNNI {
		setTiles(t, vnniTiles)
		setTiles(t, kTiles)
		if hasIQTiles {
			setTiles(t, iqTiles)
		}
		for _, im := range t {
			switch {
			case im == nil:
			case im.act == tensor.Q8_0:
				im.convert = quantizeRowQ8_0AVX512
			case im.act == tensor.Q8_1:
				im.convert = quantizeRowQ8_1AVX512
			case im.act == tensor.Q8_K:
				im.convert = quantizeRowQ8_KAVX512
			}
		}
	}
	return append(vs, implVariant{"avx512", t})
}

// setTiles makes the tile sets the implementation of their types in t.
func setTiles(t *implTable, tiles map[tensor.DType]*tileSet) {
	for typ, ts := range tiles {
		im := *t[typ]
		im.block = ts.block
		im.packed = ts.packed
		im.inter = ts.inter
		if ts.convert != nil {
			// F16/BF16: activations stay float32, rounded to the weight's
			// precision: the products are the same exact values as ggml's.
			im.act = tensor.F32
			im.convert = ts.convert
		}
		t[typ] = &im
	}
}

// setInter makes the interleaved kernels in inter the interleaved path of
// their types in t, keeping the rest of each type's implementation.
func setInter(t *implTable, inter map[tensor.DType]*interleavedImpl) {
	for typ, in := range inter {
		im := *t[typ]
		im.inter = in
		t[typ] = &im
	}
}

// tileFunc is the signature of the generated block kernels: the R×T tile
// out[t*os+r] of R weight rows (stride ws bytes) against T activation rows
// (stride as bytes), nb blocks each.
type tileFunc func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int)

// tileSet holds one weight type's kernels indexed by [R][T].
type tileSet struct {
	fn         [5][5]tileFunc
	wBlock     int // weight bytes per kernel step
	aBlock     int // activation bytes per kernel step
	blockElems int // elements per kernel step
	// tail, for float types, adds to sum the products of the elements
	// [from, cols) that do not fill a kernel step.
	tail func(sum float32, w, a []byte, from, cols int) float32
	// convert is the activation conversion of the float types.
	convert func(dst []byte, x []float32)
	// multi, if set, is the rows × tokens of the tile for several tokens
	// (fn must hold every smaller shape); else the largest of 2×4, 1×4,
	// 2×2, 1×2 in fn.
	multi [2]int
	// group[T], if set, replaces fn: 16-row × T-token kernels that add in
	// the packed path's order (groupTiles).
	group *[groupMaxT + 1]groupFunc
	// packed, if set, is the packed prefill path (matmul_packed.go).
	packed *packedImpl
	// inter, if set, multiplies Interleaved matrices (interleave.go).
	inter *interleavedImpl
}

// packedTiles are the 16-row × T-token packed kernels.
var packedTiles = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
	1: tileP_16x1, 2: tileP_16x2, 3: tileP_16x3, 4: tileP_16x4, 5: tileP_16x5, 6: tileP_16x6,
	7: tileP_16x7, 8: tileP_16x8, 9: tileP_16x9, 10: tileP_16x10, 11: tileP_16x11, 12: tileP_16x12,
	13: tileP_16x13, 14: tileP_16x14, 15: tileP_16x15, 16: tileP_16x16,
}

// packedVNNI returns the packed path of type t with pack function pack.
func packedVNNI(t tensor.DType, pack func(w *byte, ws int, nb int, dst *byte)) *packedImpl {
	k, _ := packedKindOf(t)
	minTokens := 2
	if t == tensor.Q8_0 {
		minTokens = 6
	}
	return &packedImpl{k: k, minTokens: minTokens, pack: pack, quant: quantQ8_0xAVX512, tiles: &packedTiles,
		blockElems: 32, blockBytes: packBlockBytes, actBytes: actBlockBytes, maxT: packTokens}
}

// packedKTiles45 and packedKTiles6 are the 16-row × T-token packed K
// kernels (T ≤ 8).
var (
	packedKTiles45 = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tilePK45_16x1, 2: tilePK45_16x2, 3: tilePK45_16x3, 4: tilePK45_16x4,
		5: tilePK45_16x5, 6: tilePK45_16x6, 7: tilePK45_16x7, 8: tilePK45_16x8,
	}
	packedKTiles6 = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tilePK6_16x1, 2: tilePK6_16x2, 3: tilePK6_16x3, 4: tilePK6_16x4,
		5: tilePK6_16x5, 6: tilePK6_16x6, 7: tilePK6_16x7, 8: tilePK6_16x8,
	}
)

// packedKVNNI returns the packed path of K type t with pack function pack.
// Below minTokens the decode tiles (one row × up to 4 tokens) serve the
// batch; they add in the same order. Measured with weights streamed from
// DRAM on 2 threads (an AMD EPYC, Zen 4; BenchmarkMatMulStreamBatch's
// shape), packing pays from about 6 tokens for Q4_K, 10 for Q5_K and 16
// for Q6_K, whose rows are larger and slower to unpack, and from 5 for Q2_K
// and Q3_K (level with the decode tiles at 4 tokens for Q2_K).
func packedKVNNI(t tensor.DType, pack func(w *byte, ws int, nb int, dst *byte)) *packedImpl {
	tiles := &packedKTiles45
	minTokens := map[tensor.DType]int{tensor.Q4_K: 6, tensor.Q5_K: 10, tensor.Q6_K: 16, tensor.Q2_K: 5, tensor.Q3_K: 5}[t]
	switch t {
	case tensor.Q6_K:
		tiles = &packedKTiles6
	case tensor.Q2_K:
		tiles = &packedKTiles2
	case tensor.Q3_K:
		tiles = &packedKTiles3
	}
	return &packedImpl{k: packedKOffset(t), minTokens: minTokens, pack: pack, quant: quantQ8_KxAVX512, tiles: tiles,
		blockElems: 256, blockBytes: packedKBlockBytes(t), actBytes: actKBytes, maxT: packedKMaxT}
}

// quantQ8_KxAVX512 is quantizeRowQ8_KxGeneric in AVX-512: a token row's nb
// interleaved K activation blocks, stride bytes apart, with −k·Σq given
// negk = −k.
func quantQ8_KxAVX512(x *float32, out *byte, nb int, stride int, negk int) {
	xs := unsafe.Slice(x, 256*nb)
	o := unsafe.Slice(out, (nb-1)*stride+actKBytes)
	for b := range nb {
		blk := o[b*stride : b*stride+actKBytes]
		quantQ8_KAVX512(&xs[256*b], &blk[0], 1)
		q8KxSumsAVX512(&blk[0])
		if negk != 0 {
			var sum int32
			for i := range 8 {
				sum += int32(int16(binary.LittleEndian.Uint16(blk[292+2*i:])))
			}
			binary.LittleEndian.PutUint32(blk[308:], uint32(int32(negk)*sum))
		}
	}
}

// groupVNNI returns the tile set of a packed type: the row-group kernels
// below the packed path's minTokens, the packed path from there. Both add
// in the same order, so a token's results do not depend on which ran.
func groupVNNI(t tensor.DType, pack func(w *byte, ws int, nb int, dst *byte), wBlock int, group [groupMaxT + 1]groupFunc) *tileSet {
	return &tileSet{packed: packedVNNI(t, pack), group: &group, wBlock: wBlock, aBlock: 34, blockElems: 32}
}

// interTilesQ4_0, interTilesIQ4_NL, interTilesQ5_0 and interTilesQ8_0 are the 16-row × T-token interleaved kernels.
var (
	interTilesQ4_0 = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ4_0_16x1, 2: tileIQ4_0_16x2, 3: tileIQ4_0_16x3, 4: tileIQ4_0_16x4, 5: tileIQ4_0_16x5, 6: tileIQ4_0_16x6,
		7: tileIQ4_0_16x7, 8: tileIQ4_0_16x8, 9: tileIQ4_0_16x9, 10: tileIQ4_0_16x10, 11: tileIQ4_0_16x11, 12: tileIQ4_0_16x12,
		13: tileIQ4_0_16x13, 14: tileIQ4_0_16x14, 15: tileIQ4_0_16x15, 16: tileIQ4_0_16x16,
	}
	interTilesIQ4_NL = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIIQ4_NL_16x1, 2: tileIIQ4_NL_16x2, 3: tileIIQ4_NL_16x3, 4: tileIIQ4_NL_16x4, 5: tileIIQ4_NL_16x5, 6: tileIIQ4_NL_16x6,
		7: tileIIQ4_NL_16x7, 8: tileIIQ4_NL_16x8, 9: tileIIQ4_NL_16x9, 10: tileIIQ4_NL_16x10, 11: tileIIQ4_NL_16x11, 12: tileIIQ4_NL_16x12,
		13: tileIIQ4_NL_16x13, 14: tileIIQ4_NL_16x14, 15: tileIIQ4_NL_16x15, 16: tileIIQ4_NL_16x16,
	}
	interTilesQ5_0 = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ5_0_16x1, 2: tileIQ5_0_16x2, 3: tileIQ5_0_16x3, 4: tileIQ5_0_16x4, 5: tileIQ5_0_16x5, 6: tileIQ5_0_16x6,
		7: tileIQ5_0_16x7, 8: tileIQ5_0_16x8, 9: tileIQ5_0_16x9, 10: tileIQ5_0_16x10, 11: tileIQ5_0_16x11, 12: tileIQ5_0_16x12,
		13: tileIQ5_0_16x13, 14: tileIQ5_0_16x14, 15: tileIQ5_0_16x15, 16: tileIQ5_0_16x16,
	}
	interTilesQ8_0 = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileIQ8_0_16x1, 2: tileIQ8_0_16x2, 3: tileIQ8_0_16x3, 4: tileIQ8_0_16x4, 5: tileIQ8_0_16x5, 6: tileIQ8_0_16x6,
		7: tileIQ8_0_16x7, 8: tileIQ8_0_16x8, 9: tileIQ8_0_16x9, 10: tileIQ8_0_16x10, 11: tileIQ8_0_16x11, 12: tileIQ8_0_16x12,
		13: tileIQ8_0_16x13, 14: tileIQ8_0_16x14, 15: tileIQ8_0_16x15, 16: tileIQ8_0_16x16,
	}
)

// withInter adds the interleaved kernels tiles of type t to ts.
func withInter(ts *tileSet, t tensor.DType, tiles *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)) *tileSet {
	k, _ := packedKindOf(t)
	ts.inter = &interleavedImpl{k: k, blockElems: 32, actBytes: actBlockBytes, maxT: packTokens, quant: quantQ8_0xAVX512, tiles: tiles}
	return ts
}

// withUnpack lets the interleaved path of ts serve batches of 128 tokens
// or more by unpacking each group once into the packed layout for the
// packed tiles (Q4_0, IQ4_NL, Q5_0: their interleaved tiles split nibbles
// again for every 16 tokens; Q8_0's read their bytes as they are and need
// no unpacking).
func withUnpack(ts *tileSet, unpack func(p *byte, nb int, dst *byte)) *tileSet {
	ts.inter.unpack, ts.inter.ptiles, ts.inter.packBytes, ts.inter.minUnpack = unpack, &packedTiles, packBlockBytes, 128
	return ts
}

var vnniTiles = map[tensor.DType]*tileSet{
	tensor.Q8_0: withInter(groupVNNI(tensor.Q8_0, packX16Q8_0, 34, [groupMaxT + 1]groupFunc{1: tileGQ8_0_16x1, 2: tileGQ8_0_16x2, 3: tileGQ8_0_16x3, 4: tileGQ8_0_16x4}),
		tensor.Q8_0, &interTilesQ8_0),
	tensor.Q4_0: withUnpack(withInter(groupVNNI(tensor.Q4_0, packX16Q4_0, 18, [groupMaxT + 1]groupFunc{1: tileGQ4_0_16x1, 2: tileGQ4_0_16x2, 3: tileGQ4_0_16x3, 4: tileGQ4_0_16x4}),
		tensor.Q4_0, &interTilesQ4_0), unpackIQ4_0),
	tensor.IQ4_NL: withUnpack(withInter(groupVNNI(tensor.IQ4_NL, packX16IQ4_NL, 18, [groupMaxT + 1]groupFunc{1: tileGIQ4_NL_16x1, 2: tileGIQ4_NL_16x2, 3: tileGIQ4_NL_16x3, 4: tileGIQ4_NL_16x4}),
		tensor.IQ4_NL, &interTilesIQ4_NL), unpackIIQ4_NL),
	tensor.Q5_0: withUnpack(withInter(groupVNNI(tensor.Q5_0, packX16Q5_0, 22, [groupMaxT + 1]groupFunc{1: tileGQ5_0_16x1, 2: tileGQ5_0_16x2, 3: tileGQ5_0_16x3, 4: tileGQ5_0_16x4}),
		tensor.Q5_0, &interTilesQ5_0), unpackIQ5_0),
	tensor.Q4_1: withInter41(group41VNNI(packX16Q4_1, 20, [groupMaxT + 1]groupFunc{1: tileGQ4_1_16x1, 2: tileGQ4_1_16x2, 3: tileGQ4_1_16x3, 4: tileGQ4_1_16x4}),
		&interTilesQ4_1, unpackIQ4_1),
	tensor.Q5_1: withInter41(group41VNNI(packX16Q5_1, 24, [groupMaxT + 1]groupFunc{1: tileGQ5_1_16x1, 2: tileGQ5_1_16x2, 3: tileGQ5_1_16x3, 4: tileGQ5_1_16x4}),
		&interTilesQ5_1, unpackIQ5_1),
}

// block runs the tiles over rows×n outputs: 4-row tiles for a single token
// (decode), 2-row × 4-token tiles otherwise (prefill), so that each weight
// block is loaded into registers once per 4 tokens.
func (ts *tileSet) block(out []float32, os int, w []byte, ws int, a []byte, as int, rows, n, cols int) {
	nb := cols / ts.blockElems
	if ts.group != nil {
		ts.groupTiles(out, os, w, ws, a, as, rows, n, nb)
		return
	}
	if nb == 0 {
		for t := 0; t < n; t++ {
			clear(out[t*os : t*os+rows])
		}
	} else {
		ts.tiles(out, os, w, ws, a, as, rows, n, nb)
	}
	if ts.tail != nil && cols%ts.blockElems != 0 {
		from := nb * ts.blockElems
		for t := 0; t < n; t++ {
			for r := 0; r < rows; r++ {
				out[t*os+r] = ts.tail(out[t*os+r], w[r*ws:], a[t*as:], from, cols)
			}
		}
	}
}

// tiles runs the kernels over rows×n outputs of nb steps each.
func (ts *tileSet) tiles(out []float32, os int, w []byte, ws int, a []byte, as int, rows, n, nb int) {
	// The kernels read nb blocks from every row they are given; the caller
	// guarantees len(w) >= rows*ws and len(a) >= n*as.
	_ = w[(rows-1)*ws+nb*ts.wBlock-1]
	_ = a[(n-1)*as+nb*ts.aBlock-1]
	_ = out[(n-1)*os+rows-1]
	wp := unsafe.Pointer(unsafe.SliceData(w))
	ap := unsafe.Pointer(unsafe.SliceData(a))
	op := unsafe.Pointer(unsafe.SliceData(out))
	call := func(f tileFunc, r, t int) {
		f((*byte)(unsafe.Add(wp, r*ws)), ws, (*byte)(unsafe.Add(ap, t*as)), as, nb,
			(*float32)(unsafe.Add(op, 4*(t*os+r))), os)
	}
	if n == 1 && ts.fn[4][1] != nil {
		r := 0
		for ; r+4 <= rows; r += 4 {
			call(ts.fn[4][1], r, 0)
		}
		for ; r < rows; r++ {
			call(ts.fn[1][1], r, 0)
		}
		return
	}
	maxR, maxT := 1, 1
	switch {
	case ts.multi[0] > 0:
		maxR, maxT = ts.multi[0], ts.multi[1]
	case ts.fn[2][4] != nil:
		maxR, maxT = 2, 4
	case ts.fn[1][4] != nil:
		maxT = 4
	case ts.fn[2][2] != nil:
		maxR, maxT = 2, 2
	case ts.fn[1][2] != nil:
		maxT = 2
	}
	for r := 0; r < rows; r += maxR {
		R := min(maxR, rows-r)
		for t := 0; t < n; t += maxT {
			call(ts.fn[R][min(maxT, n-t)], r, t)
		}
	}
}

// groupFunc is the signature of the generated row-group kernels: the
// 16×T tile out[t*os+r] of the 16 weight rows at w (stride ws bytes)
// against T Q8_0 (Q4_1, Q5_1: Q8_1) activation rows (stride as bytes), nb
// blocks, storing only the rows whose bit is set in mask.
type groupFunc func(w *byte, ws int, a *byte, as int, nb int, out *float32, os int, mask int)

// groupMaxT is the most tokens a row-group kernel takes.
const groupMaxT = 4

// groupTiles runs the row-group kernels over rows×n outputs of nb blocks:
// every group of 16 rows against the tokens four at a time. A last group
// of fewer than 16 rows is copied into a zero-padded buffer. Each output
// lane depends only on its own row and token, so how rows and tokens are
// grouped does not change any result.
func (ts *tileSet) groupTiles(out []float32, os int, w []byte, ws int, a []byte, as int, rows, n, nb int) {
	if nb == 0 {
		for t := 0; t < n; t++ {
			clear(out[t*os : t*os+rows])
		}
		return
	}
	_ = a[(n-1)*as+nb*ts.aBlock-1]
	_ = out[(n-1)*os+rows-1]
	ap := unsafe.Pointer(unsafe.SliceData(a))
	op := unsafe.Pointer(unsafe.SliceData(out))
	var pb *packBuf
	for r0 := 0; r0 < rows; r0 += packRows {
		R := min(packRows, rows-r0)
		src := w[r0*ws:]
		if R < packRows {
			if pb == nil {
				pb = packBufPool.Get().(*packBuf)
			}
			if cap(pb.pad) < packRows*ws {
				pb.pad = make([]byte, packRows*ws)
			}
			pad := pb.pad[:packRows*ws]
			clear(pad[copy(pad, src[:R*ws]):])
			src = pad
		}
		_ = src[15*ws+nb*ts.wBlock-1]
		wp := unsafe.Pointer(unsafe.SliceData(src))
		for t0 := 0; t0 < n; t0 += groupMaxT {
			T := min(groupMaxT, n-t0)
			ts.group[T]((*byte)(wp), ws, (*byte)(unsafe.Add(ap, t0*as)), as, nb,
				(*float32)(unsafe.Add(op, 4*(t0*os+r0))), os, 1<<R-1)
		}
	}
	if pb != nil {
		packBufPool.Put(pb)
	}
}

// kTiles are the AVX-512 VNNI K-quant kernels (one row × 1..4 tokens; Q2_K
// and Q3_K's, in the K-quant order, are in packk23_amd64.s).
var kTiles = map[tensor.DType]*tileSet{
	tensor.Q4_K: withInterK(&tileSet{fn: [5][5]tileFunc{1: {1: tileQ4_K_1x1, 2: tileQ4_K_1x2, 3: tileQ4_K_1x3, 4: tileQ4_K_1x4}}, wBlock: 144, aBlock: 292, blockElems: 256,
		packed: packedKVNNI(tensor.Q4_K, packX16Q4_K)}, &interTilesQ4_K, unpackIQ4_K),
	tensor.Q5_K: withInterK(&tileSet{fn: [5][5]tileFunc{1: {1: tileQ5_K_1x1, 2: tileQ5_K_1x2, 3: tileQ5_K_1x3, 4: tileQ5_K_1x4}}, wBlock: 176, aBlock: 292, blockElems: 256,
		packed: packedKVNNI(tensor.Q5_K, packX16Q5_K)}, &interTilesQ5_K, unpackIQ5_K),
	tensor.Q2_K: withInterK23(&tileSet{fn: [5][5]tileFunc{1: {1: tileOrdQ2_K_1x1, 2: tileOrdQ2_K_1x2, 3: tileOrdQ2_K_1x3, 4: tileOrdQ2_K_1x4}, 4: {1: tileOrdQ2_K_4x1}}, wBlock: 84, aBlock: 292, blockElems: 256,
		packed: packedKVNNI(tensor.Q2_K, packX16Q2_K)}, tensor.Q2_K, &interTilesQ2_K, unpackIQ2_K),
	tensor.Q3_K: withInterK23(&tileSet{fn: [5][5]tileFunc{1: {1: tileOrdQ3_K_1x1, 2: tileOrdQ3_K_1x2, 3: tileOrdQ3_K_1x3, 4: tileOrdQ3_K_1x4}, 4: {1: tileOrdQ3_K_4x1}}, wBlock: 110, aBlock: 292, blockElems: 256,
		packed: packedKVNNI(tensor.Q3_K, packX16Q3_K)}, tensor.Q3_K, &interTilesQ3_K, unpackIQ3_K),
	tensor.IQ4_XS: withInterIQ4_XS(&tileSet{fn: [5][5]tileFunc{1: {1: tileOrdIQ4_XS_1x1, 2: tileOrdIQ4_XS_1x2}}, wBlock: 136, aBlock: 292, blockElems: 256,
		packed: packedIQVNNI(tensor.IQ4_XS)}),
	tensor.Q6_K: withInterK(&tileSet{fn: [5][5]tileFunc{1: {1: tileQ6_K_1x1, 2: tileQ6_K_1x2, 3: tileQ6_K_1x3, 4: tileQ6_K_1x4}}, wBlock: 210, aBlock: 292, blockElems: 256,
		packed: packedKVNNI(tensor.Q6_K, packX16Q6_K)}, &interTilesQ6_K, unpackIQ6_K),
}

func floatTiles(k string) [5][5]tileFunc {
	switch k {
	case "F32":
		return [5][5]tileFunc{
			1: {1: tileF32_1x1, 2: tileF32_1x2, 3: tileF32_1x3, 4: tileF32_1x4},
			2: {1: tileF32_2x1, 2: tileF32_2x2, 3: tileF32_2x3, 4: tileF32_2x4},
			4: {1: tileF32_4x1}}
	}
	return [5][5]tileFunc{
		1: {1: tileBF16_1x1, 2: tileBF16_1x2, 3: tileBF16_1x3, 4: tileBF16_1x4},
		2: {1: tileBF16_2x1, 2: tileBF16_2x2, 3: tileBF16_2x3, 4: tileBF16_2x4},
		4: {1: tileBF16_4x1}}
}

// avx512FloatTiles are the AVX-512 float kernels, 16 elements per step.
var avx512FloatTiles = map[tensor.DType]*tileSet{
	tensor.F32: {fn: floatTiles("F32"), wBlock: 64, aBlock: 64, blockElems: 16, tail: tailF32},
	// ggml's F16 matrix-vector product is ggml_vec_dot_f16 per row; its
	// products are exact, so only the order of additions differs, and that
	// order can flip a near-tie in MoE routing. Every tile adds in that
	// order, for any number of tokens, so that batching changes nothing.
	tensor.F16: {fn: [5][5]tileFunc{
		1: {1: tileF16Dot_1x1, 2: tileF16Dot_1x2, 3: tileF16Dot_1x3},
		2: {1: tileF16Dot_2x1, 2: tileF16Dot_2x2, 3: tileF16Dot_2x3},
		4: {1: tileF16Dot_4x1}},
		// Two rows share each activation load: 2×3 tiles (24
		// accumulators) measured fastest for prefill.
		multi:  [2]int{2, 3},
		wBlock: 128, aBlock: 256, blockElems: 64, tail: tailF16Float64, convert: convertRowF16AsF32},
	tensor.BF16: {fn: floatTiles("BF16"), wBlock: 32, aBlock: 64, blockElems: 16, tail: tailBF16, convert: convertRowBF16AsF32},
}

func f32At(b []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) }

func tailF32(s float32, w, a []byte, from, cols int) float32 {
	for i := from; i < cols; i++ {
		s += f32At(w, i) * f32At(a, i)
	}
	return s
}

func tailF16(s float32, w, a []byte, from, cols int) float32 {
	for i := from; i < cols; i++ {
		s += h2f(w[2*i:]) * f32At(a, i)
	}
	return s
}

// tailF16Float64 is ggml_vec_dot_f16's leftover loop: exact products
// added in float64.
func tailF16Float64(sum float32, w, a []byte, from, cols int) float32 {
	s := float64(sum)
	for i := from; i < cols; i++ {
		s += float64(h2f(w[2*i:]) * f32At(a, i))
	}
	return float32(s)
}

func tailBF16(s float32, w, a []byte, from, cols int) float32 {
	for i := from; i < cols; i++ {
		s += bf2f(binary.LittleEndian.Uint16(w[2*i:])) * f32At(a, i)
	}
	return s
}

// convertRowF16AsF32 rounds x to f16 precision but stores float32: the
// activation row of the SIMD F16 kernels.
func convertRowF16AsF32(dst []byte, x []float32) {
	for i, v := range x {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(f16Table[floatToHalf(v)]))
	}
}

// convertRowBF16AsF32 rounds x to bf16 precision, stored as float32.
func convertRowBF16AsF32(dst []byte, x []float32) {
	for i, v := range x {
		binary.LittleEndian.PutUint32(dst[4*i:], uint32(floatToBF16(v))<<16)
	}
}

// quantizeRowQ8_0AVX512 is quantizeRowQ8_0Generic in AVX-512.
func quantizeRowQ8_0AVX512(dst []byte, x []float32) {
	nb := len(x) / 32
	if nb == 0 {
		return
	}
	_ = dst[nb*34-1]
	quantQ8_0AVX512(&x[0], &dst[0], nb)
}

// hasAVX2 reports whether this CPU runs the AVX2 kernels (AVX2, FMA, F16C).
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// avx2Tiles are the kernels for CPUs without AVX-512.
var avx2Tiles = map[tensor.DType]*tileSet{
	// Q8_0, Q4_0: the reference order (avx2q_amd64.s), as their
	// interleaved kernels.
	tensor.Q8_0: {wBlock: 34, aBlock: 34, blockElems: 32, fn: [5][5]tileFunc{
		1: {1: tileQ8_0OrdAVX2_1x1, 2: tileQ8_0OrdAVX2_1x2}, 2: {1: tileQ8_0OrdAVX2_2x1, 2: tileQ8_0OrdAVX2_2x2}, 4: {1: tileQ8_0OrdAVX2_4x1}}},
	tensor.Q4_0: {wBlock: 18, aBlock: 34, blockElems: 32, fn: [5][5]tileFunc{
		1: {1: tileQ4_0OrdAVX2_1x1, 2: tileQ4_0OrdAVX2_1x2}, 2: {1: tileQ4_0OrdAVX2_2x1, 2: tileQ4_0OrdAVX2_2x2}, 4: {1: tileQ4_0OrdAVX2_4x1}}},
	tensor.F32: {wBlock: 32, aBlock: 32, blockElems: 8, tail: tailF32, fn: [5][5]tileFunc{
		1: {1: tileF32AVX2_1x1, 2: tileF32AVX2_1x2}, 2: {1: tileF32AVX2_2x1, 2: tileF32AVX2_2x2}, 4: {1: tileF32AVX2_4x1}}},
	tensor.F16: {wBlock: 16, aBlock: 32, blockElems: 8, tail: tailF16, convert: convertRowF16AsF32, fn: [5][5]tileFunc{
		1: {1: tileF16AVX2_1x1, 2: tileF16AVX2_1x2}, 2: {1: tileF16AVX2_2x1, 2: tileF16AVX2_2x2}, 4: {1: tileF16AVX2_4x1}}},
	// BF16 (avx2vec_amd64.s): the AVX-512 BF16 tiles' order, the same bits.
	tensor.BF16: {wBlock: 32, aBlock: 64, blockElems: 16, tail: tailBF16, convert: convertRowBF16AsF32, fn: [5][5]tileFunc{
		1: {1: tileBF16AVX2_1x1, 2: tileBF16AVX2_1x2}, 2: {1: tileBF16AVX2_2x1, 2: tileBF16AVX2_2x2}, 4: {1: tileBF16AVX2_4x1}}},
}

// hasAVX512 reports whether this CPU runs the float and vector kernels of
// matmul_amd64.s (AVX-512 F/BW/VL, FMA, F16C).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
	cpu.X86.HasFMA && cpu.X86.HasF16C && cpu.X86.HasAVX2

// quantizeRowQ8_KAVX512 is quantizeRowQ8_KGeneric in AVX-512.
func quantizeRowQ8_KAVX512(dst []byte, x []float32) {
	nb := len(x) / 256
	if nb == 0 {
		return
	}
	_ = dst[nb*292-1]
	quantQ8_KAVX512(&x[0], &dst[0], nb)
	q8KBsumsAVX512(&dst[0], nb)
}
