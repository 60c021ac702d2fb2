package kernel

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// MatMul computes out = x·Wᵀ for a weight matrix w and n activation rows:
//
//	out[t*w.Rows + r] = Σ_c W[r][c] · x[t*w.Cols + c]   for t in [0,n), r in [0,w.Rows)
//
// x is [n][w.Cols] float32 and out is [n][w.Rows] float32; only the first
// n*w.Rows elements of out are written and only the first n*w.Cols of x are
// read. out must not overlap x or w.Data. w.Type must satisfy CanMatMul; w
// may be row-major or an Interleave copy (CanInterleave), which gives the
// same bits.
//
// The arithmetic is llama.cpp's CPU backend's (see the package comment): x is
// converted once per call to the activation type paired with w.Type (F32
// as is, F16, BF16, Q8_0, Q8_1 or Q8_K blocks) and every output is a row dot
// of one weight row with one converted activation row. Implementations
// differ from the reference only in the order of float32 additions.
//
// Same input, same output: within the implementation set a process uses
// (the best one for the CPU; the reference with the purego tag), out[t][r]
// depends only on weight row r and activation row t, bit for bit. It does
// not depend on n, on the other tokens, on the token's position in x, on
// the thread count, or on which path (decode tiles, multi-token tiles,
// row-group or packed kernels, tails) computed it: MatMul of a batch gives
// each token exactly what MatMul of that token alone (n = 1) gives. This
// holds for every type CanMatMul accepts, because each type has one
// accumulation order that all its paths follow:
//
//   - F16 (AVX-512): ggml_vec_dot_f16's order for every n (four 16-lane
//     accumulators over 64-element steps, ggml's reduction tree, leftover
//     elements in float64), so decode still matches llama.cpp's order.
//   - F32, BF16: per (row, token) the same 16-lane (AVX-512) or 8-lane
//     (AVX2 F32) accumulator, lane tree and scalar tail in every tile
//     shape; the AVX2 BF16 tiles keep the 16 lanes in two ymm and add
//     them as the AVX-512 ones do (the same bits).
//   - Q8_0, Q4_0, Q5_0, IQ4_NL: per block the exact int32 Σ w·q, then
//     acc = fma(float32(Σ), d_w·d_a, acc) over the blocks in order, in the
//     reference, the VNNI row-group kernels (n below the packed path's
//     minTokens) and the packed kernels alike: these equal the reference
//     bit for bit, as are the AVX2 row tiles of Q8_0 and Q4_0 and the AVX2
//     interleaved tiles (CPUs without VNNI).
//   - Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (AVX-512 VNNI, and AVX2: the
//     interleaved tiles of avx2k_amd64.s, dotKOrdered for row-major
//     matrices): per 256-block the exact int32 sums, then acc =
//     fma(float32(isum), d_w·d_a, acc) and (Q2_K, Q4_K, Q5_K) acc =
//     fma(−float32(msum), dmin_w·d_a, acc) (the K-quant order of
//     packedk_generic.go, dotKOrdered), in the decode tiles and the
//     packed kernels alike.
//   - IQ4_XS, IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S
//     (AVX-512 VNNI; IQ4_XS also on AVX2, as the K-quants): per 256-block
//     the exact int32 sum, then acc =
//     fma(float32(isum), (d_w·c)·d_a, acc) with the type's constant c
//     (the i-quant order of packiq_generic.go, dotIQOrdered), in the
//     decode tiles, the packed kernels and (IQ4_XS) the interleaved tiles
//     alike.
//   - Q4_1, Q5_1: per block the exact int32 isum = Σ u·q of the unsigned
//     weight values and the Q8_1 quants, then acc = fma(float32(isum),
//     d_w·d_a, acc) and acc = fma(m_w, s_a, acc) (m_w the block minimum,
//     s_a = d_a·Σq the Q8_1 block sum as f16), blocks in order, in the
//     reference, the VNNI row-group kernels, the packed kernels and the
//     interleaved tiles alike (packed41_generic.go): these equal the
//     reference bit for bit.
//
// The reference (generic) dots sum the float types in float64, so for them
// the reference and the SIMD sets differ in the last bits; each set is
// invariant on its own. Types without a SIMD kernel on a CPU use the
// reference row dot there, which is invariant.
//
// MatMul splits the rows across parallel.Threads() goroutines. It does not
// allocate in steady state and may be called concurrently from several
// goroutines (concurrent calls share the worker pool; the later ones run on
// their own goroutine). It panics if a slice is too short or the type is
// unsupported: those are programming errors, checked once at load time.
func MatMul(out []float32, w tensor.Mat, x []float32, n int) {
	rows, cols := w.Rows, w.Cols
	if n < 0 || len(out) < n*rows || len(x) < n*cols {
		panic(fmt.Sprintf("kernel: MatMul shapes: out %d, x %d for n=%d, %d×%d weights", len(out), len(x), n, rows, cols))
	}
	matMul(out, w, x, n, impl(w.Type))
}

// matMul is MatMul with an explicit implementation (nil if unsupported),
// so tests can run every available one.
func matMul(out []float32, w tensor.Mat, x []float32, n int, im *matImpl) {
	rows, cols := w.Rows, w.Cols
	if im == nil {
		panic(fmt.Sprintf("kernel: MatMul: unsupported weight type %s", w.Type))
	}
	if cols%w.Type.BlockSize() != 0 || cols%im.act.BlockSize() != 0 {
		panic(fmt.Sprintf("kernel: MatMul: %d columns is not a whole number of %s/%s blocks", cols, w.Type, im.act))
	}
	wrb := w.RowBytes()
	if w.Layout == tensor.Interleaved {
		rows = (rows + packRows - 1) / packRows * packRows // padded groups
	}
	if len(w.Data) < rows*wrb {
		panic(fmt.Sprintf("kernel: MatMul: %d×%d %s weights need %d bytes, have %d", rows, cols, w.Type, rows*wrb, len(w.Data)))
	}
	if n == 0 || rows == 0 {
		return
	}
	if w.Layout == tensor.Interleaved {
		if im.inter == nil {
			panic(fmt.Sprintf("kernel: MatMul: no interleaved kernels for %s in this implementation", w.Type))
		}
		matMulInterleaved(out, w, x, n, im.inter)
		return
	}
	if im.inter != nil && im.block == nil && im.packed == nil {
		// No row-major kernels here but interleaved ones (AVX2 CPUs, the
		// types without AVX2 row tiles: a model larger than memory keeps
		// part of its matrices in the file): interleave each group of 16
		// rows into scratch as it is reached. The same bits, since both
		// layouts add in one order; several times the pure-Go rows' speed.
		matMulInterleaved(out, w, x, n, im.inter)
		return
	}
	if im.packed != nil && n >= im.packed.minTokens {
		matMulPacked(out, w, x, n, im.packed)
		return
	}
	j := jobPool.Get().(*matJob)
	arb, _ := tensor.RowBytes(im.act, cols)
	var act []byte
	if im.convert == nil { // float32 activations are used in place
		act = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), n*arb)
	} else {
		if cap(j.buf) < n*arb {
			j.buf = make([]byte, n*arb)
		}
		act = j.buf[:n*arb]
		for t := 0; t < n; t++ {
			im.convert(act[t*arb:(t+1)*arb], x[t*cols:(t+1)*cols])
		}
	}
	// Long batches go through in chunks of tokenChunk tokens, so that a
	// chunk's activations stay in the L2 cache while the weights stream
	// past them.
	for t0 := 0; t0 < n; t0 += tokenChunk {
		nt := min(tokenChunk, n-t0)
		*j = matJob{
			out: out[t0*rows:], w: w.Data, act: act[t0*arb:], buf: j.buf,
			rows: rows, cols: cols, n: nt, wrb: wrb, arb: arb,
			dot: im.dot, block: im.block,
		}
		// Work items of per rows (a multiple of 16) are what the pool
		// hands out; each covers ~64 KiB of weights when that leaves two
		// items.
		per := max(4, (64<<10)/(wrb*nt))
		per = min(per, (rows+1)/2)
		per = (per + 15) &^ 15 // whole 16-row groups for the SIMD kernels
		j.per = per
		parallel.Run((rows+per-1)/per, j)
	}
	buf := j.buf
	*j = matJob{buf: buf} // drop references to the caller's slices
	jobPool.Put(j)
}

// CanMatMul reports whether MatMul supports weights of type t.
func CanMatMul(t tensor.DType) bool { return impl(t) != nil }

// implTable maps a weight type to its implementation (nil: unsupported).
type implTable [64]*matImpl

// impl returns the implementation MatMul uses for weight type t, or nil.
func impl(t tensor.DType) *matImpl {
	if int(t) < len(matImpls) {
		return matImpls[t]
	}
	return nil
}

// matImpl is how MatMul handles one weight type.
type matImpl struct {
	act     tensor.DType                  // activation type paired with the weight type
	convert func(dst []byte, x []float32) // float32 row → act row; nil: x as is (act is F32)
	dot     func(w, a []byte, cols int) float32
	// block, if not nil, replaces dot for a whole block of outputs: it sets
	// out[t*os+r] for r in [0,rows), t in [0,n) from weight rows w[r*ws:]
	// and activation rows a[t*as:], tiling so that each weight block is
	// loaded once for several tokens.
	block func(out []float32, os int, w []byte, ws int, a []byte, as int, rows, n, cols int)
	// packed, if not nil, replaces convert and block for n ≥
	// packed.minTokens (matmul_packed.go).
	packed *packedImpl
	// inter, if not nil, multiplies Interleaved matrices (interleave.go).
	inter *interleavedImpl
}

// tokenChunk is the most tokens one pass over the weights serves.
const tokenChunk = 64

// matJob is one MatMul call's state, reused through jobPool so that a call
// does not allocate. It is the parallel.Task whose Run computes row tiles.
type matJob struct {
	out      []float32 // [n][rows]
	w        []byte    // [rows][wrb]
	act      []byte    // [n][arb] converted activations
	buf      []byte    // scratch behind act, kept across calls
	rows     int
	cols     int
	n        int
	wrb, arb int // weight and activation row bytes
	per      int // rows per parallel work item
	dot      func(w, a []byte, cols int) float32
	block    func(out []float32, os int, w []byte, ws int, a []byte, as int, rows, n, cols int)
}

var jobPool = sync.Pool{New: func() any { return new(matJob) }}

// Run computes the rows of work items [lo, hi) for every token. Each weight
// row is read once from memory and reused from cache for all tokens.
func (j *matJob) Run(lo, hi int) {
	r0, r1 := lo*j.per, min(hi*j.per, j.rows)
	if j.block != nil {
		j.block(j.out[r0:], j.rows, j.w[r0*j.wrb:r1*j.wrb], j.wrb, j.act, j.arb, r1-r0, j.n, j.cols)
		return
	}
	for r := r0; r < r1; r++ {
		w := j.w[r*j.wrb : (r+1)*j.wrb]
		for t := 0; t < j.n; t++ {
			j.out[t*j.rows+r] = j.dot(w, j.act[t*j.arb:(t+1)*j.arb], j.cols)
		}
	}
}
