package kernel

import (
	"fmt"
	"sync"

	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// GemmArgs describes one product of float32 matrices for Gemm:
//
//	C[i][j] = (Acc ? C[i][j] : 0) + Σ_{p<K} A(i,p)·B(p,j)   for i < M, j < N
//
// with A(i,p) = A[i*LDA+p], or A[p*LDA+i] when TransA (A stored
// transposed), B(p,j) = B[p*LDB+j], or B[j*LDB+p] when TransB, and C row
// major with row stride LDC. It is a value the caller may keep and reuse.
type GemmArgs struct {
	M, N, K int
	A       []float32
	LDA     int
	TransA  bool
	B       []float32
	LDB     int
	TransB  bool
	C       []float32
	LDC     int
	Acc     bool
}

// Gemm computes the product g describes (see GemmArgs), for training,
// where both operands are activations or gradients and products are large.
//
// Each C[i][j] is one chain of float32 fused multiply-adds in p order,
// starting from its old value (Acc) or 0: c = fma(A(i,p), B(p,j), c) for p
// = 0, 1, …, K−1. So an element depends only on row i of A, column j of B
// and its start value, bit for bit: not on M, N, the tiling, the thread
// count or which implementation ran (the reference computes each fused
// step through float64, which can differ from a float32 FMA in the last
// bit in rare double-rounding cases; the SIMD implementations agree with
// each other). Summing in one chain is less accurate than pairwise
// sums by a factor of about sqrt(K); at training sizes (K ≤ a few
// thousand) that stays near 1e-5 relative.
//
// The SIMD implementations (AVX-512: 12×32 tiles; AVX2+FMA: 6×16) load
// rows of B and broadcast elements of A. B is packed into contiguous
// column panels, and A into row panels when it is stored transposed (else
// its rows are read in place), gemmKC steps of the sum at a time so that
// the panels stay in cache. Gemm splits the tiles across
// parallel.Threads() goroutines (inline when called from a parallel
// task), may be called concurrently, and does not allocate in steady
// state. It panics if a slice is too short for the shapes and strides:
// a programming error.
func Gemm(g *GemmArgs) {
	checkGemm(g)
	gemm(g, gemmImpl)
}

// gemmTile is a micro-kernel: the tile c[r][j] (r < rows, j < cols of the
// implementation) = (load ? c[r][j] : 0) + Σ_{i<k} a[r*ars+i*aks]·b[i*bks+j]
// in the order of GemmArgs, with c's rows ldc elements apart. a, b and c
// start at the tile's origin and are long enough.
type gemmTile func(a []float32, ars, aks int, b []float32, bks int, k int, c []float32, ldc int, load bool)

// gemmImplT is one implementation: its tile shape and micro-kernel.
type gemmImplT struct {
	name       string
	rows, cols int
	tile       gemmTile
}

func checkGemm(g *GemmArgs) {
	m, n, k := g.M, g.N, g.K
	need := func(name string, have, rows, cols, ld int) {
		if rows > 0 && cols > 0 && (ld < cols || have < (rows-1)*ld+cols) {
			panic(fmt.Sprintf("kernel: Gemm: %s has %d values with stride %d, %d×%d needs more", name, have, ld, rows, cols))
		}
	}
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernel: Gemm: shape %d×%d×%d", m, n, k))
	}
	if g.TransA {
		need("A", len(g.A), k, m, g.LDA)
	} else {
		need("A", len(g.A), m, k, g.LDA)
	}
	if g.TransB {
		need("B", len(g.B), n, k, g.LDB)
	} else {
		need("B", len(g.B), k, n, g.LDB)
	}
	need("C", len(g.C), m, n, g.LDC)
}

// gemmRowGroup is the number of row tiles one work item computes against
// one column panel (which stays in cache meanwhile).
const gemmRowGroup = 8

// gemmKC is the most steps of the sum computed per pass over C: the
// operands are packed gemmKC steps at a time, so that the packed panels
// stay in cache. Every element still adds its products in p order, one
// chain across the passes (a pass starts from the value the previous one
// stored).
const gemmKC = 512

// gemmJob is one Gemm call. Per pass over gemmKC steps: the packing of B's
// column panels and, when A is stored transposed, of A's row panels
// (phase 0), then the tiles (phase 1). It is the parallel.Task of both
// phases.
type gemmJob struct {
	g      GemmArgs
	im     *gemmImplT
	phase  int
	k0, kc int       // the pass: steps [k0, k0+kc)
	panels int       // column panels of cols columns
	rowsP  int       // row panels of rows rows
	groups int       // row groups per column panel
	kItems int       // phase 0 items over steps (the rest are over B's stored rows)
	bp     []float32 // [panels][kc][cols] packed column panels of B
	ap     []float32 // [rowsP][kc][rows] packed row panels of A (TransA)
	bpBuf  []float32
	apBuf  []float32
}

var gemmJobs = sync.Pool{New: func() any { return new(gemmJob) }}

// gemmScratch is one goroutine's tile scratch: a packed row panel and a
// tile of C.
type gemmScratch struct {
	ap []float32 // [kc][rows]
	ct []float32 // [rows][cols]
}

var gemmScratches = sync.Pool{New: func() any { return new(gemmScratch) }}

func gemm(g *GemmArgs, im *gemmImplT) {
	if g.M == 0 || g.N == 0 {
		return
	}
	if g.K == 0 {
		if !g.Acc {
			for i := range g.M {
				clear(g.C[i*g.LDC : i*g.LDC+g.N])
			}
		}
		return
	}
	j := gemmJobs.Get().(*gemmJob)
	j.g, j.im = *g, im
	R, W := im.rows, im.cols
	j.panels = (g.N + W - 1) / W
	j.rowsP = (g.M + R - 1) / R
	j.groups = (j.rowsP + gemmRowGroup - 1) / gemmRowGroup
	kc := min(g.K, gemmKC)
	if n := j.panels * kc * W; cap(j.bpBuf) < n {
		j.bpBuf = make([]float32, n)
	}
	if n := j.rowsP * kc * R; g.TransA && cap(j.apBuf) < n {
		j.apBuf = make([]float32, n)
	}
	for j.k0 = 0; j.k0 < g.K; j.k0 += gemmKC {
		j.kc = min(gemmKC, g.K-j.k0)
		j.bp = j.bpBuf[:j.panels*j.kc*W]
		if g.TransA {
			j.ap = j.apBuf[:j.rowsP*j.kc*R]
		}
		// pack by runs of gemmPackRun steps (each reads whole rows of B
		// and of a transposed A), and, for a transposed B, by its rows
		j.kItems = (j.kc + gemmPackRun - 1) / gemmPackRun
		packs := j.kItems
		if g.TransB {
			packs += (g.N + gemmPackRun - 1) / gemmPackRun
		}
		j.phase = 0
		parallel.Run(packs, j)
		j.phase = 1
		parallel.Run(j.panels*j.groups, j)
	}
	bp, ap := j.bpBuf, j.apBuf
	*j = gemmJob{bpBuf: bp, apBuf: ap} // drop references to the caller's slices
	gemmJobs.Put(j)
}

// gemmPackRun is the number of steps (or stored rows of a transposed B)
// one packing work item covers.
const gemmPackRun = 16

// Run packs (phase 0) or computes tiles (phase 1) for work items [lo, hi).
// Phase 0: item t < kItems packs steps [16t, 16t+16) of the pass (rows of
// B, and of A when it is stored transposed); the others pack 16 stored
// rows of a transposed B. Phase 1: item t is column panel t%panels and
// row group t/panels.
func (j *gemmJob) Run(lo, hi int) {
	if j.phase == 0 {
		for t := lo; t < hi; t++ {
			if t < j.kItems {
				p0, p1 := t*gemmPackRun, min((t+1)*gemmPackRun, j.kc)
				if !j.g.TransB {
					j.packBSteps(p0, p1)
				}
				if j.g.TransA {
					j.packASteps(p0, p1)
				}
			} else {
				t := t - j.kItems
				j.packBRows(t*gemmPackRun, min((t+1)*gemmPackRun, j.g.N))
			}
		}
		return
	}
	sc := gemmScratches.Get().(*gemmScratch)
	R, W := j.im.rows, j.im.cols
	for t := lo; t < hi; t++ {
		s, grp := t%j.panels, t/j.panels
		for q := grp * gemmRowGroup; q < min((grp+1)*gemmRowGroup, j.rowsP); q++ {
			j.tile(sc, q, q*R, s*W)
		}
	}
	gemmScratches.Put(sc)
}

// packBSteps packs steps [p0, p1) of the pass from B's rows into every
// column panel (bp: [panels][kc][cols], zero past N).
func (j *gemmJob) packBSteps(p0, p1 int) {
	g, W, kc := &j.g, j.im.cols, j.kc
	for p := p0; p < p1; p++ {
		src := g.B[(j.k0+p)*g.LDB : (j.k0+p)*g.LDB+g.N]
		for s := range j.panels {
			row := j.bp[(s*kc+p)*W : (s*kc+p+1)*W]
			clear(row[copy(row, src[s*W:]):])
		}
	}
}

// packBRows packs the pass's steps of the stored rows [j0, j1) of a
// transposed B (column j of B) into the column panels, and zeroes the
// padding columns of the last panel once.
func (j *gemmJob) packBRows(j0, j1 int) {
	g, W, kc := &j.g, j.im.cols, j.kc
	for c := j0; c < j1; c++ {
		src := g.B[c*g.LDB+j.k0 : c*g.LDB+j.k0+kc]
		dst := j.bp[(c/W)*kc*W+c%W:]
		for p, v := range src {
			dst[p*W] = v
		}
	}
	if j1 == g.N {
		for c := g.N; c < j.panels*W; c++ {
			dst := j.bp[(c/W)*kc*W+c%W:]
			for p := range kc {
				dst[p*W] = 0
			}
		}
	}
}

// packASteps packs steps [p0, p1) of the pass from the rows of a
// transposed A into every row panel (ap: [rowsP][kc][rows], zero past M).
func (j *gemmJob) packASteps(p0, p1 int) {
	g, R, kc := &j.g, j.im.rows, j.kc
	for p := p0; p < p1; p++ {
		src := g.A[(j.k0+p)*g.LDA : (j.k0+p)*g.LDA+g.M]
		for q := range j.rowsP {
			row := j.ap[(q*kc+p)*R : (q*kc+p+1)*R]
			i0 := q * R
			if i0+R <= g.M {
				for r := range row {
					row[r] = src[i0+r]
				}
			} else {
				clear(row[copy(row, src[i0:]):])
			}
		}
	}
}

// packRows writes A(i0+r, k0+p) to dst[p*rows+r], zero for rows past M.
func (j *gemmJob) packRows(dst []float32, i0 int) {
	g, R := &j.g, j.im.rows
	nr := min(R, g.M-i0)
	for p := range j.kc {
		row := dst[p*R : (p+1)*R]
		k := j.k0 + p
		if g.TransA {
			copy(row[:nr], g.A[k*g.LDA+i0:])
		} else {
			for r := range nr {
				row[r] = g.A[(i0+r)*g.LDA+k]
			}
		}
		clear(row[nr:])
	}
}

// tile computes the pass over the tile of C at row panel q (row i0),
// column j0.
func (j *gemmJob) tile(sc *gemmScratch, q, i0, j0 int) {
	g, R, W, kc := &j.g, j.im.rows, j.im.cols, j.kc
	nr, nc := min(R, g.M-i0), min(W, g.N-j0)
	s := j0 / W
	b := j.bp[s*kc*W : (s+1)*kc*W]
	// A: packed (TransA), in place (whole tiles), or packed here
	var a []float32
	var ars, aks int
	switch {
	case g.TransA:
		a, ars, aks = j.ap[q*kc*R:(q+1)*kc*R], 1, R
	case nr < R:
		if cap(sc.ap) < kc*R {
			sc.ap = make([]float32, gemmKC*R)
		}
		a, ars, aks = sc.ap[:kc*R], 1, R
		j.packRows(a, i0)
	default:
		a, ars, aks = g.A[i0*g.LDA+j.k0:], g.LDA, 1
	}
	load := g.Acc || j.k0 > 0
	if nr == R && nc == W {
		j.im.tile(a, ars, aks, b, W, kc, g.C[i0*g.LDC+j0:], g.LDC, load)
		return
	}
	// a partial tile of C goes through a full-size copy
	if cap(sc.ct) < R*W {
		sc.ct = make([]float32, R*W)
	}
	ct := sc.ct[:R*W]
	clear(ct)
	if load {
		for r := range nr {
			copy(ct[r*W:r*W+nc], g.C[(i0+r)*g.LDC+j0:])
		}
	}
	j.im.tile(a, ars, aks, b, W, kc, ct, W, load)
	for r := range nr {
		copy(g.C[(i0+r)*g.LDC+j0:(i0+r)*g.LDC+j0+nc], ct[r*W:r*W+nc])
	}
}

// aAt returns A(i, p).
func (g *GemmArgs) aAt(i, p int) float32 {
	if g.TransA {
		return g.A[p*g.LDA+i]
	}
	return g.A[i*g.LDA+p]
}
