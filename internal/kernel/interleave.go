package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Interleaved weights: the layout MatMul reads fastest at every batch size.
//
// A GGUF row holds one output feature's blocks one after another, so a
// kernel that wants the exact int32 sum of each block for 16 rows at once
// (the order every path of a packed type follows, see MatMul) must either
// reduce each row's partial sums across lanes (the row-group decode
// kernels: a transposing add tree per block and token) or transpose 16
// rows into a scratch buffer first (the packed prefill path: a pass over
// the weights per call, paid back only by many tokens). Interleave does
// that transpose once, at load time, into a copy of the same size, so
// that a decode step reads each weight byte once and spends on it only an
// unpack and a VPDPBUSD, and a batch of 2…64 tokens costs little more than
// the weight read.
//
// Interleaved group of 16 rows, per 32-element block b (16·TypeSize bytes
// at 16·TypeSize·b; group g at g·16·RowBytes, rows past Rows are zero):
//
//	Q4_0 (288 bytes):
//	[0, 256)    z[j][r][i] = byte 4j+i of row r's 16 nibble bytes (j < 4):
//	            the low nibbles are elements 4j..4j+3 (activation dword j),
//	            the high nibbles elements 16+4j..16+4j+3 (dword 4+j)
//	[256, 288)  d[r], row r's scale as float16
//	IQ4_NL (288 bytes): Q4_0's, the nibbles indexing its value table
//	Q5_0 (352 bytes):
//	[0, 64)     qh[r], row r's 32 fifth bits (bit e: element e)
//	[64, 320)   the nibbles as Q4_0's
//	[320, 352)  d[r] as float16
//	Q8_0 (544 bytes):
//	[0, 512)    u[v][r][i] = element 4v+i of row r + 128 as an unsigned
//	            byte (v < 8)
//	[512, 544)  d[r] as float16
//
// The kernels add exactly as the packed path does (per block the exact
// int32 Σ u·q − k·Σq, then acc = fma(float32(Σ), d_w·d_a, acc), blocks in
// order), with the packed path's interleaved activations, so an
// interleaved Mat gives every token the bits the row-major one gives.
// interleavek.go has the layouts of the K-quants (256-element blocks),
// interleave41.go those of Q4_1, Q5_1 and IQ4_XS.

// interleavedImpl is the interleaved path of one weight type.
type interleavedImpl struct {
	k int32 // weight offset: u = w + k (0 for the K-quants)
	// blockElems is the elements per block (32, or 256 for the K-quants),
	// actBytes the interleaved activation bytes per token and block (the
	// packed path's: actBlockBytes or actKBytes).
	blockElems, actBytes int
	// maxT is the most tokens a tile kernel takes (at most packTokens).
	maxT int
	// quant writes a token row's nb interleaved activation blocks, stride
	// bytes apart, with −k·Σq given negk = −k (the packed path's).
	quant func(x *float32, out *byte, nb int, stride int, negk int)
	// tiles[T] computes a 16-row × T-token tile (T ≤ maxT) of one group
	// at p, with the packed path's activation tiles; rows whose bit is
	// clear in mask are not written.
	tiles *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)
	// unpack, if set, writes a group's nb blocks in the packed path's
	// group layout (packBytes per block) at dst, for the packed tiles
	// ptiles (T ≤ maxT): chunks of at least minUnpack tokens go that way,
	// which spends less per token than the interleaved tiles' unpacking
	// of each block for every maxT tokens. Both add in the same order.
	unpack    func(p *byte, nb int, dst *byte)
	ptiles    *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)
	packBytes int
	minUnpack int
}

// CanInterleave reports whether MatMul has interleaved kernels for weights
// of type t on this CPU, so that Interleave would copy them.
func CanInterleave(t tensor.DType) bool {
	im := impl(t)
	return im != nil && im.inter != nil
}

// Interleave returns a copy of the row-major matrix w in the Interleaved
// layout (see above), and true, if MatMul has interleaved kernels for
// w.Type on this CPU; otherwise w unchanged and false. The copy has the
// size of w's data rounded up to whole groups of 16 rows; MatMul on it
// gives the same bits as on w. It panics if w is not row-major or its data
// is short (programming errors).
func Interleave(w tensor.Mat) (tensor.Mat, bool) {
	if !CanInterleave(w.Type) {
		return w, false
	}
	return interleaveInto(make([]byte, InterleavedBytes(w)), w), true
}

// InterleavedBytes returns the size of w's interleaved copy: its rows
// rounded up to whole groups of tensor.InterleaveRows.
func InterleavedBytes(w tensor.Mat) int {
	return (w.Rows + packRows - 1) / packRows * packRows * w.RowBytes()
}

// InterleaveInto is Interleave writing the copy into dst, which must hold
// InterleavedBytes(w) zero bytes (memory the caller chose, e.g. on huge
// pages). It returns w unchanged and false if MatMul has no interleaved
// kernels for w.Type on this CPU.
func InterleaveInto(dst []byte, w tensor.Mat) (tensor.Mat, bool) {
	if !CanInterleave(w.Type) {
		return w, false
	}
	return interleaveInto(dst, w), true
}

// interleave is Interleave for a type the layout above covers, whether or
// not this CPU has its kernels.
func interleave(w tensor.Mat) tensor.Mat {
	return interleaveInto(make([]byte, InterleavedBytes(w)), w)
}

// interleaveInto writes w's interleaved copy into dst (zero, at least
// InterleavedBytes(w) bytes) and returns it.
func interleaveInto(dst []byte, w tensor.Mat) tensor.Mat {
	if w.Layout != tensor.RowMajor {
		panic("kernel: Interleave of a Mat that is not row-major")
	}
	rb := w.RowBytes()
	if len(w.Data) < w.Rows*rb {
		panic(fmt.Sprintf("kernel: Interleave: %d×%d %s needs %d bytes, have %d", w.Rows, w.Cols, w.Type, w.Rows*rb, len(w.Data)))
	}
	groups := (w.Rows + packRows - 1) / packRows
	if len(dst) < groups*packRows*rb {
		panic(fmt.Sprintf("kernel: InterleaveInto: %d bytes for a copy of %d", len(dst), groups*packRows*rb))
	}
	dst = dst[: groups*packRows*rb : groups*packRows*rb]
	parallel.Run(groups, parallel.Func(func(lo, hi int) {
		for g := lo; g < hi; g++ {
			r0 := g * packRows
			rows := min(packRows, w.Rows-r0)
			interleaveGroup(w.Type, w.Data[r0*rb:], rb, rows, w.Cols/w.Type.BlockSize(), dst[r0*rb:(r0+packRows)*rb])
		}
	}))
	return tensor.Mat{Type: w.Type, Rows: w.Rows, Cols: w.Cols, Data: dst, Layout: tensor.Interleaved}
}

// interleaveGroup writes nb blocks of rows ≤ 16 row-major rows of type t
// (row r at w[r*ws:]) in the interleaved group layout into dst[:16·nb·
// TypeSize], rows from rows to 15 zero, whatever dst held before. Whole
// groups go through the transposing kernel where this CPU has one
// (xposeGroup), the rest through the Go reference.
func interleaveGroup(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	if rows == packRows && xposeGroup(t, w, ws, nb, dst) {
		return
	}
	clear(dst[:packRows*nb*t.TypeSize()])
	interleaveGroupGo(t, w, ws, rows, nb, dst)
}

// interleaveGroupGo is interleaveGroup in Go, for a dst that is zero (it
// writes only rows < rows): the reference of every interleaved layout.
func interleaveGroupGo(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	if _, ok := inter41Fields[t]; ok {
		interleaveGroup41(t, w, ws, rows, nb, dst)
		return
	}
	if t.BlockSize() == 256 {
		interleaveGroupK(t, w, ws, rows, nb, dst)
		return
	}
	wb := t.TypeSize()
	gb := packRows * wb
	dst = dst[:nb*gb]
	for r := range rows {
		row := w[r*ws : r*ws+nb*wb]
		for b := range nb {
			blk := row[b*wb : (b+1)*wb]
			p := dst[b*gb : (b+1)*gb]
			switch t {
			case tensor.Q4_0, tensor.IQ4_NL:
				putDwords(p, blk[2:18], r, 0, 0)
				p[256+2*r], p[257+2*r] = blk[0], blk[1]
			case tensor.Q5_0:
				putDwords(p, blk[2:6], r, 0, 0)
				putDwords(p, blk[6:22], r, 64, 0)
				p[320+2*r], p[321+2*r] = blk[0], blk[1]
			case tensor.Q8_0:
				putDwords(p, blk[2:34], r, 0, 0x80808080)
				p[512+2*r], p[513+2*r] = blk[0], blk[1]
			default:
				panic("kernel: interleave: unsupported type " + t.String())
			}
		}
	}
}

// putDwords writes row r's field f (whole dwords) transposed by dword
// into the group block p at to: dword v of f, XOR x, at p[to+64v+4r:].
func putDwords(p, f []byte, r, to int, x uint32) {
	le := binary.LittleEndian
	p = p[to+4*r:]
	for v := 0; 4*v+4 <= len(f); v++ {
		le.PutUint32(p[64*v:], le.Uint32(f[4*v:])^x)
	}
}

// tileInterleavedGeneric is the Go reference of the interleaved tile
// kernels: out[t*os+r] for t < T tokens and r < rows of the group p
// (nb blocks of type t) against a tile of interleaved activations a (block
// b of token t at a[b*as+40*t:]).
func tileInterleavedGeneric(typ tensor.DType, p, a []byte, as, nb, T, rows int, out []float32, os int) {
	bb := packRows * typ.TypeSize()
	var u [32]byte
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				pb := p[b*bb:]
				var d float32
				switch typ {
				case tensor.Q4_0, tensor.IQ4_NL:
					for j := range 4 {
						for i := range 4 {
							z := pb[64*j+4*r+i]
							u[4*j+i], u[16+4*j+i] = z&15, z>>4
						}
					}
					if typ == tensor.IQ4_NL {
						for i, v := range u {
							u[i] = byte(int(iq4nlValues[v]) + 128)
						}
					}
					d = h2f(pb[256+2*r:])
				case tensor.Q5_0:
					qh := binary.LittleEndian.Uint32(pb[4*r:])
					for j := range 4 {
						for i := range 4 {
							z := pb[64+64*j+4*r+i]
							e := 4*j + i
							u[e] = z&15 | byte(qh>>e&1)<<4
							u[16+e] = z>>4 | byte(qh>>(16+e)&1)<<4
						}
					}
					d = h2f(pb[320+2*r:])
				case tensor.Q8_0:
					for v := range 8 {
						copy(u[4*v:4*v+4], pb[64*v+4*r:64*v+4*r+4])
					}
					d = h2f(pb[512+2*r:])
				}
				ab := a[b*as+actBlockBytes*t:]
				s := int32(binary.LittleEndian.Uint32(ab[32:]))
				for i, q := range ab[:32] {
					s += int32(u[i]) * int32(int8(q))
				}
				da := math.Float32frombits(binary.LittleEndian.Uint32(ab[36:]))
				acc = fma32(float32(s), d*da, acc)
			}
			out[t*os+r] = acc
		}
	}
}

// matMulInterleaved is MatMul of an Interleaved w through im: the packed
// path's activation quantization, then every group against every token.
func matMulInterleaved(out []float32, w tensor.Mat, x []float32, n int, im *interleavedImpl) {
	rows, cols := w.Rows, w.Cols
	nb := cols / im.blockElems
	j := packedJobPool.Get().(*packedJob)
	tiles := (n + packTokens - 1) / packTokens
	size := tiles * nb * packTokens * im.actBytes
	if cap(j.buf) < size {
		j.buf = make([]byte, size)
	}
	*j = packedJob{
		inter: im, typ: w.Type, out: out, w: w.Data, x: x, act: j.buf[:size], buf: j.buf,
		rows: rows, cols: cols, n: n, nb: nb, wrb: w.RowBytes(),
		groups:   (rows + packRows - 1) / packRows,
		rowMajor: w.Layout == tensor.RowMajor,
	}
	if n <= 2 {
		j.Run(0, n) // a dispatch costs more than quantizing a token
	} else {
		parallel.Run(n, j)
	}
	j.phase = 1
	// Long batches go through in chunks of tokenChunk tokens, so that a
	// chunk's activations stay in the L2 cache while the weights stream
	// past them; or, if im unpacks groups for the packed tiles, in one
	// pass, so that each group is unpacked once, as the packed path packs
	// it once.
	chunk := tokenChunk
	if im.unpack != nil && n >= im.minUnpack {
		chunk = n
	}
	for j.t0 = 0; j.t0 < n; j.t0 += chunk {
		j.t1 = min(n, j.t0+chunk)
		parallel.Run(j.groups, j)
	}
	buf := j.buf
	*j = packedJob{buf: buf} // drop references to the caller's slices
	packedJobPool.Put(j)
}

// runInterleaved computes groups [lo, hi) of an interleaved job for the
// tokens [j.t0, j.t1).
func (j *packedJob) runInterleaved(lo, hi int) {
	im := j.inter
	tileBytes := packTokens * im.actBytes
	op := unsafe.Pointer(unsafe.SliceData(j.out))
	gb := packRows * j.wrb
	tiles := im.tiles
	var pb *packBuf
	unpack := im.unpack != nil && j.t1-j.t0 >= im.minUnpack
	if unpack || j.rowMajor {
		pb = packBufPool.Get().(*packBuf)
	}
	if unpack {
		tiles = im.ptiles
		if cap(pb.group) < j.nb*im.packBytes {
			pb.group = make([]byte, j.nb*im.packBytes)
		}
	}
	if j.rowMajor && cap(pb.pad) < gb {
		pb.pad = make([]byte, gb)
	}
	for g := lo; g < hi; g++ {
		r0 := g * packRows
		rows := min(packRows, j.rows-r0)
		mask := 1<<rows - 1
		var p *byte
		if j.rowMajor {
			// This group's rows interleaved into scratch.
			sc := pb.pad[:gb]
			interleaveGroup(j.typ, j.w[r0*j.wrb:], j.wrb, rows, j.nb, sc)
			p = &sc[0]
		} else {
			p = &j.w[g*gb]
		}
		if unpack {
			im.unpack(p, j.nb, &pb.group[0])
			p = &pb.group[0]
		}
		for t0 := j.t0; t0 < j.t1; t0 += im.maxT {
			T := min(im.maxT, j.t1-t0)
			o := (*float32)(unsafe.Add(op, 4*(t0*j.rows+r0)))
			a := (t0/packTokens)*j.nb*tileBytes + (t0%packTokens)*im.actBytes
			tiles[T](p, &j.act[a], tileBytes, j.nb, o, j.rows, mask)
		}
	}
	if pb != nil {
		packBufPool.Put(pb)
	}
}
