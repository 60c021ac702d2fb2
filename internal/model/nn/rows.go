package nn

import (
	"sync"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// parallelRows is the fewest rows that the row-wise steps (RMSNorm, the
// residual add, RoPE) split across threads: a decode step's single row
// stays on the calling goroutine, a prompt's rows are shared.
const parallelRows = 4

// rowOp names the per-row step a rowsJob runs.
type rowOp int

const (
	opNorm rowOp = iota // y[t] = RMSNorm(x[t]) ⊙ w
	opAdd               // x[t] += y[t]
	opRope              // rotate q[t] and k[t]
)

// rowsJob is one row-wise step over n rows, run in parallel (a
// parallel.Task); jobs are pooled so that a forward pass allocates nothing.
type rowsJob struct {
	op   rowOp
	y, x []float32
	w    []float32 // [d] norm weight
	eps  float32
	d    int // row width (opNorm, opAdd)

	s                         *Scratch // opRope
	r                         *Rope
	nHeads, nKVHeads, headDim int
}

var rowsPool = sync.Pool{New: func() any { return new(rowsJob) }}

// runRows runs j over rows [0, n): on this goroutine for fewer than
// parallelRows rows, else across the pool's threads.
func runRows(j *rowsJob, n int) {
	if n < parallelRows {
		j.Run(0, n)
		return
	}
	p := rowsPool.Get().(*rowsJob)
	*p = *j
	parallel.Run(n, p)
	*p = rowsJob{}
	rowsPool.Put(p)
}

// Run applies the step to rows [lo, hi).
func (j *rowsJob) Run(lo, hi int) {
	d := j.d
	switch j.op {
	case opNorm:
		for t := lo; t < hi; t++ {
			kernel.RMSNorm(j.y[t*d:(t+1)*d], j.x[t*d:(t+1)*d], j.w, j.eps)
		}
	case opAdd:
		kernel.Add(j.x[lo*d:hi*d], j.x[lo*d:hi*d], j.y[lo*d:hi*d])
	case opRope:
		s, r, hd := j.s, j.r, j.headDim
		half := r.Dims / 2
		for t := lo; t < hi; t++ {
			cos, sin := s.Cos[t*half:(t+1)*half], s.Sin[t*half:(t+1)*half]
			r.Apply(s.Q[t*j.nHeads*hd:], j.nHeads, hd, cos, sin)
			r.Apply(s.K[t*j.nKVHeads*hd:], j.nKVHeads, hd, cos, sin)
		}
	}
}
