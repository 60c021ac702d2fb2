package deepseek2

import (
	"sync"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// attnScratch is MLA's working memory for a chunk of up to maxBatch tokens
// and sequences of up to capacity positions.
type attnScratch struct {
	qa   []float32 // [maxBatch][QLoRARank] compressed query
	q    []float32 // [maxBatch][NHeads][QKDim] query, per head [nope ; rope]
	kv   []float32 // [maxBatch][KVLoRARank + RopeDim] compressed KV entry: [latent c ; rope key]
	att  []float32 // [maxBatch][NHeads][VDim] attention output per head, before W_O
	cos  []float32 // [maxBatch][RopeDim/2]
	sin  []float32 // [maxBatch][RopeDim/2]
	core mlaCore   // absorbed attention
}

// mlaCore is absorbed attention over the latent cache, in three parallel
// steps: per head, absorb W_UK,h into the queries of every token
// (mlaAbsorbQ); per token and block of heads, attend over the token's
// cache rows, which all heads read (mlaAttend); per head, apply W_UV,h
// (mlaAbsorbO). The absorptions are batched over the chunk's tokens; the
// heads of a token share every converted cache row.
type mlaCore struct {
	// per call
	a     *Attn
	layer int
	n     int
	pos   []int32
	seqs  []*kvcache.Seq
	q     []float32 // [n][NHeads][QKDim]
	att   []float32 // [n][NHeads][VDim] output
	scale float32
	hb    int // heads per mlaAttend task (the last block of a token may be short)
	nb    int // head blocks per token
	maxQ  int // heads per task at most (nn.AttnMaxQueries)
	// geometry
	nHeads, qk, dn, rkv, dv, kw int
	// buffers
	qn   []float32 // [NHeads][maxBatch][NopeDim] gathered q_nope
	qlat []float32 // [NHeads][maxBatch][KVLoRARank] absorbed query W_UK,hᵀ·q_nope
	olat []float32 // [NHeads][maxBatch][KVLoRARank] attention-weighted latent ō
	ov   []float32 // [NHeads][maxBatch][VDim] W_UV,h·ō
	cap  int
	bufs sync.Pool // *mlaBuf, one per goroutine running mlaAttend
}

// mlaBuf is one goroutine's working memory for a token's block of heads.
type mlaBuf struct {
	q      []float32 // [maxQ][KVLoRARank + RopeDim] queries [q̃ ; q_rope] rounded to f16 precision
	scores []float32 // [maxQ][capacity] scores, then probabilities
	o      []float32 // [maxQ][KVLoRARank] ō
}

func newAttnScratch(c *Config, maxBatch, capacity int) *attnScratch {
	kw := c.KVLoRARank + c.RopeDim
	h := c.NHeads
	s := &attnScratch{
		qa:  make([]float32, maxBatch*c.QLoRARank),
		q:   make([]float32, maxBatch*h*c.QKDim),
		kv:  make([]float32, maxBatch*kw),
		att: make([]float32, maxBatch*h*c.VDim),
		cos: make([]float32, maxBatch*c.RopeDim/2), sin: make([]float32, maxBatch*c.RopeDim/2),
		core: mlaCore{
			nHeads: h, qk: c.QKDim, dn: c.NopeDim, rkv: c.KVLoRARank, dv: c.VDim, kw: kw,
			qn:   make([]float32, h*maxBatch*c.NopeDim),
			qlat: make([]float32, h*maxBatch*c.KVLoRARank),
			olat: make([]float32, h*maxBatch*c.KVLoRARank),
			ov:   make([]float32, h*maxBatch*c.VDim),
			cap:  capacity,
		},
	}
	maxQ := nn.AttnMaxQueries(capacity)
	s.core.maxQ = maxQ
	s.core.bufs.New = func() any {
		return &mlaBuf{
			q:      make([]float32, maxQ*kw),
			scores: make([]float32, maxQ*capacity),
			o:      make([]float32, maxQ*c.KVLoRARank),
		}
	}
	return s
}

// forward computes MLA for the n normalized inputs x ([n][Dim]) of chunk ch
// into out ([n][Dim]), writing each token's [c ; k_rope] into layer's cache
// first. The rotary tables s.cos/s.sin must hold the chunk's positions.
func (a *Attn) forward(out, x []float32, layer int, ch *nn.Chunk, c *Config, s *attnScratch, tr tracer) {
	n := len(ch.Tokens)
	h, qk, rkv, dr := c.NHeads, c.QKDim, c.KVLoRARank, c.RopeDim
	kw := rkv + dr
	q := s.q[:n*h*qk]
	// query: low-rank (q_a → RMSNorm → q_b) or plain
	if a.QA.Rows > 0 {
		qa := s.qa[:n*c.QLoRARank]
		kernel.MatMul(qa, a.QA, x, n)
		nn.RMSNorm(qa, qa, a.QANorm, c.Eps, n)
		kernel.MatMul(q, a.QB, qa, n)
	} else {
		kernel.MatMul(q, a.Q, x, n)
	}
	tr.trace("q", layer, q)
	// compressed KV: latent c (normalized) and the shared rope key (not normalized)
	kv := s.kv[:n*kw]
	kernel.MatMul(kv, a.KVA, x, n)
	half := dr / 2
	for t := range n {
		row := kv[t*kw : (t+1)*kw]
		kernel.RMSNorm(row[:rkv], row[:rkv], a.KVNorm, c.Eps)
		cos, sin := s.cos[t*half:(t+1)*half], s.sin[t*half:(t+1)*half]
		// RoPE on the rope dims only: every head's q_rope, and the shared key once
		c.Rope.Apply(q[t*h*qk+c.NopeDim:], h, qk, cos, sin)
		c.Rope.Apply(row[rkv:], 1, dr, cos, sin)
		// cache [c ; k_rope] in f16
		kernel.ToF16(ch.Seqs[t].KeyRow(layer, int(ch.Pos[t])), row)
	}
	tr.trace("kv_cmpr_pe", layer, kv)
	// absorbed attention
	core := &s.core
	core.a, core.layer, core.n, core.pos, core.seqs = a, layer, n, ch.Pos, ch.Seqs
	core.q, core.att, core.scale = q, s.att[:n*h*c.VDim], c.KQScale
	// blocks of at most maxQ heads, and enough tasks for every thread when
	// the chunk has few tokens (decode)
	core.nb = min((h+3)/4, max(1, (2*parallel.Threads()+n-1)/n))
	core.nb = max(core.nb, (h+core.maxQ-1)/core.maxQ)
	core.hb = (h + core.nb - 1) / core.nb
	parallel.Run(h, (*mlaAbsorbQ)(core))
	parallel.Run(n*core.nb, (*mlaAttend)(core))
	parallel.Run(h, (*mlaAbsorbO)(core))
	core.a, core.pos, core.seqs, core.q, core.att = nil, nil, nil, nil, nil
	tr.trace("kqv_out", layer, s.att[:n*h*c.VDim])
	// output projection
	kernel.MatMul(out[:n*c.Dim], a.O, s.att[:n*h*c.VDim], n)
}

// For head h and token t at position p, with the cache rows
// K_j = [c_j ; k_rope_j] (j ≤ p):
//
//	q̃     = W_UK,hᵀ q_nope                       absorb W_UK into the query
//	s_j   = scale · ([q̃ ; q_rope] · K_j)          one MQA score over kv_lora_rank + rope dims
//	ō     = Σ_j softmax(s)_j c_j                  the latent doubles as the value
//	o_h   = W_UV,h ō                              absorb W_UV into the output
//
// As in llama.cpp's f16-cache path, the query is rounded to f16 for the
// scores and the probabilities to f16 for the weighted sum (in float32).
// A head's arithmetic depends only on its token's query and cache rows:
// the multi-query kernels give each head the single-query results.
type (
	mlaAbsorbQ mlaCore // parallel task over heads: q̃ for every token
	mlaAttend  mlaCore // parallel task over (token, head block): ō
	mlaAbsorbO mlaCore // parallel task over heads: o_h for every token
)

// Run absorbs W_UK,h into the queries of heads [lo, hi) (parallel.Task).
func (m *mlaAbsorbQ) Run(lo, hi int) {
	n, qk, dn, rkv := m.n, m.qk, m.dn, m.rkv
	stride := m.nHeads * qk
	for h := lo; h < hi; h++ {
		qlat := m.qlat[h*len(m.qlat)/m.nHeads:][:n*rkv]
		if n == 1 {
			kernel.MatMul(qlat, m.a.KB[h], m.q[h*qk:h*qk+dn], 1)
			continue
		}
		qn := m.qn[h*len(m.qn)/m.nHeads:][:n*dn]
		for t := range n {
			copy(qn[t*dn:(t+1)*dn], m.q[t*stride+h*qk:t*stride+h*qk+dn])
		}
		kernel.MatMul(qlat, m.a.KB[h], qn, n)
	}
}

// Run attends for tasks [lo, hi), task i being token i/nb and heads
// [(i%nb)·hb, +hb) (parallel.Task): all the block's heads read the same
// cache rows, page by page, through the multi-query kernels.
func (m *mlaAttend) Run(lo, hi int) {
	qk, dn, rkv, kw, nh := m.qk, m.dn, m.rkv, m.kw, m.nHeads
	stride := nh * qk
	b := m.bufs.Get().(*mlaBuf)
	for i := lo; i < hi; i++ {
		t, h0 := i/m.nb, (i%m.nb)*m.hb
		h1 := min(h0+m.hb, nh)
		nq := h1 - h0
		q := b.q[:nq*kw]
		for h := h0; h < h1; h++ {
			qh := q[(h-h0)*kw : (h-h0+1)*kw]
			copy(qh[:rkv], m.qlat[h*len(m.qlat)/nh+t*rkv:][:rkv])
			copy(qh[rkv:], m.q[t*stride+h*qk+dn:t*stride+(h+1)*qk])
			kernel.RoundF16(qh)
		}
		nCtx := int(m.pos[t]) + 1
		seq := m.seqs[t]
		bt := seq.PageTokens()
		sc := b.scores[:nq*m.cap]
		// scores page by page (a score does not depend on how the keys are
		// split into calls, nor on the other heads of the call)
		for p0 := 0; p0 < nCtx; p0 += bt {
			kernel.DotsF16Multi(sc[p0:], m.cap, min(bt, nCtx-p0), q, nq, seq.KeyPage(m.layer, p0/bt), kw, m.scale)
		}
		for r := range nq {
			kernel.SoftmaxF16(sc[r*m.cap : r*m.cap+nCtx]) // probabilities rounded to f16 precision
		}
		o := b.o[:nq*rkv]
		clear(o)
		for p0 := 0; p0 < nCtx; p0 += bt {
			kernel.AddWeightedSumF16Multi(o, nq, sc[p0:], m.cap, min(bt, nCtx-p0), seq.KeyPage(m.layer, p0/bt), kw)
		}
		for h := h0; h < h1; h++ {
			copy(m.olat[h*len(m.olat)/nh+t*rkv:][:rkv], o[(h-h0)*rkv:(h-h0+1)*rkv])
		}
	}
	m.bufs.Put(b)
}

// Run absorbs W_UV,h into the outputs of heads [lo, hi) (parallel.Task).
func (m *mlaAbsorbO) Run(lo, hi int) {
	n, rkv, dv := m.n, m.rkv, m.dv
	for h := lo; h < hi; h++ {
		olat := m.olat[h*len(m.olat)/m.nHeads:][:n*rkv]
		if n == 1 {
			kernel.MatMul(m.att[h*dv:(h+1)*dv], m.a.VB[h], olat, 1)
			continue
		}
		ov := m.ov[h*len(m.ov)/m.nHeads:][:n*dv]
		kernel.MatMul(ov, m.a.VB[h], olat, n)
		for t := range n {
			copy(m.att[(t*m.nHeads+h)*dv:(t*m.nHeads+h+1)*dv], ov[t*dv:(t+1)*dv])
		}
	}
}
