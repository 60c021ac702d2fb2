package nn

import (
	"math"
	"sync"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// Attention is causal grouped-query attention over an f16 KV cache: each of
// NHeads query heads reads KV head h / (NHeads/NKVHeads).
type Attention struct {
	NHeads, NKVHeads int
	HeadDim          int     // key (and query) width per head
	ValueDim         int     // value width per head
	Scale            float32 // softmax scale, usually 1/sqrt(HeadDim)
}

// Store writes the keys k ([n][NKVHeads·HeadDim]) and values v
// ([n][NKVHeads·ValueDim]) of n tokens into layer's cache rows at pos[t] of
// seqs[t], rounded to f16.
func (a *Attention) Store(layer int, k, v []float32, pos []int32, seqs []*kvcache.Seq) {
	kw, vw := a.NKVHeads*a.HeadDim, a.NKVHeads*a.ValueDim
	for t, s := range seqs {
		p := int(pos[t])
		kernel.ToF16(s.KeyRow(layer, p), k[t*kw:(t+1)*kw])
		kernel.ToF16(s.ValueRow(layer, p), v[t*vw:(t+1)*vw])
	}
}

// AttnScratch is reusable per-forward memory for Attention.Forward. It is
// also the parallel task over blocks of queries, so that a forward pass
// allocates nothing in steady state (once it has seen its largest batch).
type AttnScratch struct {
	capacity int
	maxQ     int       // queries per task at most
	bufs     sync.Pool // *attnBuf, one per goroutine running Run

	// The current call's arguments and its split into tasks, set before
	// parallel.Run. Task i is token block i/(NKVHeads·nb), KV head
	// (i/nb)%NKVHeads and that head's query heads [(i%nb)·hb, +hb).
	a      *Attention
	out    []float32 // [n][NHeads][ValueDim]
	q      []float32 // [n][NHeads][HeadDim]
	layer  int
	pos    []int32
	seqs   []*kvcache.Seq
	blocks []int // token block i is tokens [blocks[i], blocks[i+1])
	nb, hb int
}

// attnBuf is one goroutine's working memory for a task's queries.
type attnBuf struct {
	q      []float32 // [maxQ][HeadDim] the queries rounded to f16 precision
	scores []float32 // [maxQ][capacity] scores, then probabilities
	o      []float32 // [maxQ][ValueDim] outputs
}

// AttnMaxQueries returns how many queries one goroutine attends for at
// once (it keeps their scores, capacity each): 16, fewer for long contexts
// so that the scores stay within about 1 MiB, but at least 4 (the
// multi-query kernels' blocks).
func AttnMaxQueries(capacity int) int { return min(16, max(4, (1<<18)/max(capacity, 1))) }

// NewAttnScratch sizes scratch for sequences of up to capacity positions.
func (a *Attention) NewAttnScratch(capacity int) *AttnScratch {
	hd, vd := a.HeadDim, a.ValueDim
	maxQ := AttnMaxQueries(capacity)
	sc := &AttnScratch{capacity: capacity, maxQ: maxQ}
	sc.bufs.New = func() any {
		return &attnBuf{q: make([]float32, maxQ*hd), scores: make([]float32, maxQ*capacity), o: make([]float32, maxQ*vd)}
	}
	return sc
}

// Forward computes the attention output out ([n][NHeads·ValueDim]) of the
// queries q ([n][NHeads·HeadDim], already rotated) against layer's cache.
// Token t attends to positions [0, pos[t]] of seqs[t]; Store must already
// have written every token of the batch. Each (token, head) pair's
// arithmetic depends only on its query and the cache rows it reads: never
// on the batch.
//
// As in llama.cpp's f16-cache path, the query is rounded to f16 before the
// q·k products and the probabilities are rounded to f16 before weighting
// the values; sums are in float32. The cache is read page by page (see
// kvcache.Seq.KeyPage); the pages' weighted sums are added in page order.
//
// The heads that share a KV head, of one token or of a few consecutive
// tokens of the same sequence, run together: the cache rows every one of
// them attends to go through the multi-query kernels (converted once for
// all), each query's remaining rows through the single-query ones; the
// kernels give each query the same bits either way.
func (a *Attention) Forward(out, q []float32, layer int, pos []int32, seqs []*kvcache.Seq, sc *AttnScratch) {
	group := a.NHeads / a.NKVHeads
	// token blocks: runs of up to maxQ/group tokens of the same sequence
	tb := max(1, sc.maxQ/group)
	sc.blocks = sc.blocks[:0]
	for t := range seqs {
		if t == 0 || seqs[t] != seqs[t-1] || t-sc.blocks[len(sc.blocks)-1] == tb {
			sc.blocks = append(sc.blocks, t)
		}
	}
	nBlocks := len(sc.blocks)
	sc.blocks = append(sc.blocks, len(seqs))
	// split the group's heads when it has more than maxQ, or when there are
	// too few tasks for the threads (decode of few sequences)
	sc.nb = min((group+1)/2, max(1, (2*parallel.Threads()+nBlocks*a.NKVHeads-1)/(nBlocks*a.NKVHeads)))
	sc.nb = max(sc.nb, (group+sc.maxQ-1)/sc.maxQ)
	sc.hb = (group + sc.nb - 1) / sc.nb
	sc.a, sc.out, sc.q, sc.layer, sc.pos, sc.seqs = a, out, q, layer, pos, seqs
	parallel.Run(nBlocks*a.NKVHeads*sc.nb, sc)
	sc.a, sc.out, sc.q, sc.pos, sc.seqs = nil, nil, nil, nil, nil
}

// Run computes tasks [lo, hi) (parallel.Task; see AttnScratch).
func (sc *AttnScratch) Run(lo, hi int) {
	a := sc.a
	hd, vd, nh := a.HeadDim, a.ValueDim, a.NHeads
	kw, vw := a.NKVHeads*hd, a.NKVHeads*vd
	group := nh / a.NKVHeads
	c := sc.capacity
	b := sc.bufs.Get().(*attnBuf)
	for i := lo; i < hi; i++ {
		blk, kvh, hblk := i/(a.NKVHeads*sc.nb), (i/sc.nb)%a.NKVHeads, i%sc.nb
		t0, t1 := sc.blocks[blk], sc.blocks[blk+1]
		h0 := kvh*group + hblk*sc.hb
		h1 := min(h0+sc.hb, (kvh+1)*group)
		nhq := h1 - h0
		nq := (t1 - t0) * nhq // query r: token t0 + r/nhq, head h0 + r%nhq
		s := sc.seqs[t0]
		bt := s.PageTokens()
		q := b.q[:nq*hd]
		shared, nMax := c, 0 // rows every query attends to; rows any does
		for t := t0; t < t1; t++ {
			copy(q[(t-t0)*nhq*hd:(t-t0+1)*nhq*hd], sc.q[(t*nh+h0)*hd:(t*nh+h1)*hd])
			shared, nMax = min(shared, int(sc.pos[t])+1), max(nMax, int(sc.pos[t])+1)
		}
		for r := range nq {
			kernel.RoundF16(q[r*hd : (r+1)*hd])
		}
		nCtx := func(r int) int { return int(sc.pos[t0+r/nhq]) + 1 }
		// scores page by page: the shared rows for all queries at once, then
		// each query's own (a score does not depend on the call it was in)
		scores := b.scores[:nq*c]
		for p0 := 0; p0 < nMax; p0 += bt {
			keys := s.KeyPage(sc.layer, p0/bt)[kvh*hd:]
			ns := max(0, min(bt, shared-p0))
			kernel.DotsF16Multi(scores[p0:], c, ns, q, nq, keys, kw, a.Scale)
			for r := range nq {
				if end := min(p0+bt, nCtx(r)); end > p0+ns {
					kernel.DotsF16(scores[r*c+p0+ns:r*c+end], q[r*hd:(r+1)*hd], keys[ns*kw:], kw, a.Scale)
				}
			}
		}
		for r := range nq {
			kernel.SoftmaxF16(scores[r*c : r*c+nCtx(r)])
		}
		// weighted values in row order: per page the shared rows, then the
		// query's own (which come after them)
		o := b.o[:nq*vd]
		clear(o)
		for p0 := 0; p0 < nMax; p0 += bt {
			vals := s.ValuePage(sc.layer, p0/bt)[kvh*vd:]
			ns := max(0, min(bt, shared-p0))
			kernel.AddWeightedSumF16Multi(o, nq, scores[p0:], c, ns, vals, vw)
			for r := range nq {
				if end := min(p0+bt, nCtx(r)); end > p0+ns {
					kernel.AddWeightedSumF16(o[r*vd:(r+1)*vd], scores[r*c+p0+ns:r*c+end], vals[ns*vw:], vw)
				}
			}
		}
		for t := t0; t < t1; t++ {
			copy(sc.out[(t*nh+h0)*vd:(t*nh+h1)*vd], o[(t-t0)*nhq*vd:(t-t0+1)*nhq*vd])
		}
	}
	sc.bufs.Put(b)
}

// DefaultScale returns 1/sqrt(headDim).
func DefaultScale(headDim int) float32 { return float32(1 / math.Sqrt(float64(headDim))) }
