package nn

import (
	"math"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
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
		kernel.ToF16(s.Keys(layer)[p*kw:(p+1)*kw], k[t*kw:(t+1)*kw])
		kernel.ToF16(s.Values(layer)[p*vw:(p+1)*vw], v[t*vw:(t+1)*vw])
	}
}

// AttnScratch is reusable per-forward memory for Attention.Forward. It is
// also the parallel task over heads, so that a forward pass allocates nothing.
type AttnScratch struct {
	qh       []uint16  // [NHeads][HeadDim] query rounded to f16, per head
	scores   []float32 // [NHeads][capacity]
	capacity int

	// The current token's work, set before each parallel.Run.
	a            *Attention
	out          []float32 // [NHeads][ValueDim]
	keys, values []uint16
	nCtx         int
}

// NewAttnScratch sizes scratch for sequences of up to capacity positions.
func (a *Attention) NewAttnScratch(capacity int) *AttnScratch {
	return &AttnScratch{
		qh:       make([]uint16, a.NHeads*a.HeadDim),
		scores:   make([]float32, a.NHeads*capacity),
		capacity: capacity,
	}
}

// Forward computes the attention output out ([n][NHeads·ValueDim]) of the
// queries q ([n][NHeads·HeadDim], already rotated) against layer's cache.
// Token t attends to positions [0, pos[t]] of seqs[t]; Store must already
// have written every token of the batch.
//
// As in llama.cpp's f16-cache path, the query is rounded to f16 before the
// q·k products and the probabilities are rounded to f16 before weighting
// the values; sums are in float32.
func (a *Attention) Forward(out, q []float32, layer int, pos []int32, seqs []*kvcache.Seq, sc *AttnScratch) {
	hd, vd := a.HeadDim, a.ValueDim
	sc.a = a
	for t, s := range seqs {
		kernel.ToF16(sc.qh, q[t*a.NHeads*hd:(t+1)*a.NHeads*hd])
		sc.nCtx = int(pos[t]) + 1
		sc.keys, sc.values = s.Keys(layer), s.Values(layer)
		sc.out = out[t*a.NHeads*vd : (t+1)*a.NHeads*vd]
		parallel.Run(a.NHeads, sc)
	}
	sc.a, sc.out, sc.keys, sc.values = nil, nil, nil, nil
}

// Run computes heads [lo, hi) of the current token (parallel.Task).
func (sc *AttnScratch) Run(lo, hi int) {
	a := sc.a
	hd, vd := a.HeadDim, a.ValueDim
	kw, vw := a.NKVHeads*hd, a.NKVHeads*vd
	group := a.NHeads / a.NKVHeads
	for h := lo; h < hi; h++ {
		kvh := h / group
		qh := sc.qh[h*hd : (h+1)*hd]
		scores := sc.scores[h*sc.capacity : h*sc.capacity+sc.nCtx]
		for j := range scores {
			scores[j] = kernel.DotF16(qh, sc.keys[j*kw+kvh*hd:j*kw+(kvh+1)*hd]) * a.Scale
		}
		kernel.Softmax(scores)
		oh := sc.out[h*vd : (h+1)*vd]
		clear(oh)
		for j, p := range scores {
			p16 := tensor.Float16ToFloat32(tensor.Float32ToFloat16(p))
			kernel.AxpyF16(oh, p16, sc.values[j*vw+kvh*vd:j*vw+(kvh+1)*vd])
		}
	}
}

// DefaultScale returns 1/sqrt(headDim).
func DefaultScale(headDim int) float32 { return float32(1 / math.Sqrt(float64(headDim))) }
