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
// also the parallel task over (token, head) pairs, so that a forward pass
// allocates nothing in steady state.
type AttnScratch struct {
	capacity int
	bufs     sync.Pool // *attnBuf, one per goroutine running Run

	// The current call's arguments, set before parallel.Run.
	a     *Attention
	out   []float32 // [n][NHeads][ValueDim]
	q     []float32 // [n][NHeads][HeadDim]
	layer int
	pos   []int32
	seqs  []*kvcache.Seq
}

// attnBuf is one goroutine's working memory for a (token, head) pair.
type attnBuf struct {
	q      []float32 // [HeadDim] the query rounded to f16 precision
	scores []float32 // [capacity] scores, then probabilities
}

// NewAttnScratch sizes scratch for sequences of up to capacity positions.
func (a *Attention) NewAttnScratch(capacity int) *AttnScratch {
	hd := a.HeadDim
	sc := &AttnScratch{capacity: capacity}
	sc.bufs.New = func() any {
		return &attnBuf{q: make([]float32, hd), scores: make([]float32, capacity)}
	}
	return sc
}

// Forward computes the attention output out ([n][NHeads·ValueDim]) of the
// queries q ([n][NHeads·HeadDim], already rotated) against layer's cache.
// Token t attends to positions [0, pos[t]] of seqs[t]; Store must already
// have written every token of the batch. The n·NHeads (token, head) pairs
// run in parallel, and each pair's arithmetic depends only on its query and
// the cache rows it reads: never on the batch.
//
// As in llama.cpp's f16-cache path, the query is rounded to f16 before the
// q·k products and the probabilities are rounded to f16 before weighting
// the values; sums are in float32. The cache is read page by page (see
// kvcache.Seq.KeyPage); the pages' weighted sums are added in page order.
func (a *Attention) Forward(out, q []float32, layer int, pos []int32, seqs []*kvcache.Seq, sc *AttnScratch) {
	sc.a, sc.out, sc.q, sc.layer, sc.pos, sc.seqs = a, out, q, layer, pos, seqs
	parallel.Run(len(seqs)*a.NHeads, sc)
	sc.a, sc.out, sc.q, sc.pos, sc.seqs = nil, nil, nil, nil, nil
}

// Run computes the (token, head) pairs [lo, hi), pair i being token
// i/NHeads and head i%NHeads (parallel.Task).
func (sc *AttnScratch) Run(lo, hi int) {
	a := sc.a
	hd, vd := a.HeadDim, a.ValueDim
	kw, vw := a.NKVHeads*hd, a.NKVHeads*vd
	group := a.NHeads / a.NKVHeads
	b := sc.bufs.Get().(*attnBuf)
	for i := lo; i < hi; i++ {
		t, h := i/a.NHeads, i%a.NHeads
		kvh := h / group
		s := sc.seqs[t]
		bt := s.PageTokens()
		qh := b.q
		copy(qh, sc.q[(t*a.NHeads+h)*hd:(t*a.NHeads+h+1)*hd])
		kernel.RoundF16(qh)
		nCtx := int(sc.pos[t]) + 1
		scores := b.scores[:nCtx]
		for p0 := 0; p0 < nCtx; p0 += bt {
			kernel.DotsF16(scores[p0:min(p0+bt, nCtx)], qh, s.KeyPage(sc.layer, p0/bt)[kvh*hd:], kw, a.Scale)
		}
		kernel.SoftmaxF16(scores)
		o := sc.out[(t*a.NHeads+h)*vd : (t*a.NHeads+h+1)*vd]
		clear(o)
		for p0 := 0; p0 < nCtx; p0 += bt {
			kernel.AddWeightedSumF16(o, scores[p0:min(p0+bt, nCtx)], s.ValuePage(sc.layer, p0/bt)[kvh*vd:], vw)
		}
	}
	sc.bufs.Put(b)
}

// DefaultScale returns 1/sqrt(headDim).
func DefaultScale(headDim int) float32 { return float32(1 / math.Sqrt(float64(headDim))) }
