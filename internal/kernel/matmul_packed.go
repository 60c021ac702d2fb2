package kernel

import (
	"sync"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// packedImpl is the packed prefill path of one weight type (see
// packed_generic.go and packedk_generic.go for the layouts).
type packedImpl struct {
	k int32 // weight offset: u = w + k (K-quants: packedKOffset; 0 for Q4_1 and Q5_1)
	// blockElems is the elements per block (32, or 256 for the K-quants);
	// blockBytes the packed group bytes and actBytes the interleaved
	// activation bytes per token and block.
	blockElems, blockBytes, actBytes int
	// maxT is the most tokens a tile kernel takes (at most packTokens).
	maxT int
	// minTokens is the smallest batch MatMul sends down the packed path;
	// smaller ones go to the row-group kernels, which add in the same
	// order (results are the same bits either way). Measured with weights
	// streamed from DRAM (decoding a few sequences at once), the row-group
	// kernels read Q8_0 faster below 6 tokens; for the 4- and 5-bit types
	// the two are level from 2 tokens on.
	minTokens int
	// pack packs nb blocks of the 16 rows at w (stride ws bytes) into dst.
	pack func(w *byte, ws int, nb int, dst *byte)
	// quant writes a token row's nb interleaved activation blocks, stride
	// bytes apart, with −k·Σq given negk = −k.
	quant func(x *float32, out *byte, nb int, stride int, negk int)
	// tiles[T] computes a 16-row × T-token tile (T in [1, maxT]); rows
	// whose bit is clear in mask are not written.
	tiles *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)
}

// packedJob is one packed MatMul call: the activation quantization over
// tokens (phase 0), then the row groups (phase 1). It is the parallel.Task
// of both phases.
type packedJob struct {
	im     *packedImpl
	inter  *interleavedImpl // instead of im for an Interleaved matrix
	t0, t1 int              // interleaved: the tokens of phase 1 (a multiple of packTokens, and at most n)
	typ    tensor.DType
	phase  int
	out    []float32 // [n][rows]
	w      []byte    // [rows][wrb]
	x      []float32 // [n][cols]
	act    []byte    // [tiles][nb][packTokens][im.actBytes]
	buf    []byte    // scratch behind act, kept across calls
	rows   int
	cols   int
	n      int
	nb     int
	wrb    int
	groups int
	// rowMajor: an interleaved path over a row-major w, each group
	// interleaved into scratch as it is reached (matMul).
	rowMajor bool
}

var packedJobPool = sync.Pool{New: func() any { return new(packedJob) }}

// packBuf is one thread's packed group (and, for a last group of fewer than
// 16 rows, the zero-padded copy of its rows).
type packBuf struct {
	group []byte // [nb][blockBytes]
	pad   []byte // [16][wrb]
}

var packBufPool = sync.Pool{New: func() any { return new(packBuf) }}

// matMulPacked is MatMul for n ≥ im.minTokens through the packed kernels
// of im.
func matMulPacked(out []float32, w tensor.Mat, x []float32, n int, im *packedImpl) {
	rows, cols := w.Rows, w.Cols
	nb := cols / im.blockElems
	j := packedJobPool.Get().(*packedJob)
	tiles := (n + packTokens - 1) / packTokens
	size := tiles * nb * packTokens * im.actBytes
	if cap(j.buf) < size {
		j.buf = make([]byte, size)
	}
	*j = packedJob{
		im: im, typ: w.Type, out: out, w: w.Data, x: x, act: j.buf[:size], buf: j.buf,
		rows: rows, cols: cols, n: n, nb: nb, wrb: w.RowBytes(),
		groups: (rows + packRows - 1) / packRows,
	}
	parallel.Run(n, j)
	j.phase = 1
	parallel.Run(j.groups, j)
	buf := j.buf
	*j = packedJob{buf: buf} // drop references to the caller's slices
	packedJobPool.Put(j)
}

// Run quantizes tokens [lo, hi) (phase 0) or computes row groups [lo, hi)
// for every token (phase 1).
func (j *packedJob) Run(lo, hi int) {
	if j.inter != nil {
		if j.phase == 0 {
			ab := j.inter.actBytes
			tileBytes := packTokens * ab
			for t := lo; t < hi; t++ {
				o := (t/packTokens)*j.nb*tileBytes + (t%packTokens)*ab
				j.inter.quant(&j.x[t*j.cols], &j.act[o], j.nb, tileBytes, int(-j.inter.k))
			}
			return
		}
		j.runInterleaved(lo, hi)
		return
	}
	im := j.im
	tileBytes := packTokens * im.actBytes
	if j.phase == 0 {
		for t := lo; t < hi; t++ {
			o := (t/packTokens)*j.nb*tileBytes + (t%packTokens)*im.actBytes
			im.quant(&j.x[t*j.cols], &j.act[o], j.nb, tileBytes, int(-im.k))
		}
		return
	}
	pb := packBufPool.Get().(*packBuf)
	if cap(pb.group) < j.nb*im.blockBytes {
		pb.group = make([]byte, j.nb*im.blockBytes)
	}
	group := pb.group[:j.nb*im.blockBytes]
	op := unsafe.Pointer(unsafe.SliceData(j.out))
	for g := lo; g < hi; g++ {
		r0 := g * packRows
		rows := min(packRows, j.rows-r0)
		src := j.w[r0*j.wrb:]
		if rows < packRows {
			if cap(pb.pad) < packRows*j.wrb {
				pb.pad = make([]byte, packRows*j.wrb)
			}
			pad := pb.pad[:packRows*j.wrb]
			clear(pad[copy(pad, src[:rows*j.wrb]):])
			src = pad
		}
		im.pack(&src[0], j.wrb, j.nb, &group[0])
		mask := 1<<rows - 1
		for t0 := 0; t0 < j.n; t0 += im.maxT {
			T := min(im.maxT, j.n-t0)
			o := (*float32)(unsafe.Add(op, 4*(t0*j.rows+r0)))
			a := (t0/packTokens)*j.nb*tileBytes + (t0%packTokens)*im.actBytes
			im.tiles[T](&group[0], &j.act[a], tileBytes, j.nb, o, j.rows, mask)
		}
	}
	packBufPool.Put(pb)
}
