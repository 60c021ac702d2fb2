package deepseek2

import (
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
	core mlaCore   // the per-head parallel task
}

// mlaCore is the parallel task of absorbed attention: for a head h it
// absorbs W_UK,h into the queries, attends over the latent cache, and
// applies W_UV,h. Its buffers are per head, so heads run concurrently.
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
	// geometry
	nHeads, qk, dn, rkv, dv, kw int
	// buffers
	qn     []float32 // [NHeads][maxBatch][NopeDim] gathered q_nope
	qlat   []float32 // [NHeads][maxBatch][KVLoRARank] absorbed query W_UK,hᵀ·q_nope
	olat   []float32 // [NHeads][maxBatch][KVLoRARank] attention-weighted latent ō
	ov     []float32 // [NHeads][maxBatch][VDim] W_UV,h·ō
	qh     []float32 // [NHeads][KVLoRARank + RopeDim] one query rounded to f16 precision
	scores []float32 // [NHeads][capacity]
	cap    int
}

func newAttnScratch(c *Config, maxBatch, capacity int) *attnScratch {
	kw := c.KVLoRARank + c.RopeDim
	h := c.NHeads
	return &attnScratch{
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
			qh:   make([]float32, h*kw), scores: make([]float32, h*capacity), cap: capacity,
		},
	}
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
	// absorbed attention, per head
	core := &s.core
	core.a, core.layer, core.n, core.pos, core.seqs = a, layer, n, ch.Pos, ch.Seqs
	core.q, core.att, core.scale = q, s.att[:n*h*c.VDim], c.KQScale
	parallel.Run(h, core)
	core.a, core.pos, core.seqs, core.q, core.att = nil, nil, nil, nil, nil
	tr.trace("kqv_out", layer, s.att[:n*h*c.VDim])
	// output projection
	kernel.MatMul(out[:n*c.Dim], a.O, s.att[:n*h*c.VDim], n)
}

// Run processes heads [lo, hi) for every token of the call (parallel.Task).
//
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
func (m *mlaCore) Run(lo, hi int) {
	n, qk, dn, rkv, dv, kw := m.n, m.qk, m.dn, m.rkv, m.dv, m.kw
	stride := m.nHeads * qk
	for h := lo; h < hi; h++ {
		qlat := m.qlat[h*len(m.qlat)/m.nHeads:][:n*rkv]
		olat := m.olat[h*len(m.olat)/m.nHeads:][:n*rkv]
		ov := m.ov[h*len(m.ov)/m.nHeads:][:n*dv]
		// absorb W_UK into the query
		if n == 1 {
			kernel.MatMul(qlat, m.a.KB[h], m.q[h*qk:h*qk+dn], 1)
		} else {
			qn := m.qn[h*len(m.qn)/m.nHeads:][:n*dn]
			for t := range n {
				copy(qn[t*dn:(t+1)*dn], m.q[t*stride+h*qk:t*stride+h*qk+dn])
			}
			kernel.MatMul(qlat, m.a.KB[h], qn, n)
		}
		qh := m.qh[h*kw : (h+1)*kw]
		for t := range n {
			copy(qh[:rkv], qlat[t*rkv:(t+1)*rkv])
			copy(qh[rkv:], m.q[t*stride+h*qk+dn:t*stride+(h+1)*qk])
			kernel.RoundF16(qh)
			nCtx := int(m.pos[t]) + 1
			seq := m.seqs[t]
			bt := seq.PageTokens()
			sc := m.scores[h*m.cap : h*m.cap+nCtx]
			// scores page by page (kernel.DotsF16: a score does not
			// depend on how the keys are split into calls)
			for p0 := 0; p0 < nCtx; p0 += bt {
				kernel.DotsF16(sc[p0:min(p0+bt, nCtx)], qh, seq.KeyPage(m.layer, p0/bt), kw, m.scale)
			}
			kernel.SoftmaxF16(sc) // probabilities rounded to f16 precision
			o := olat[t*rkv : (t+1)*rkv]
			clear(o)
			for p0 := 0; p0 < nCtx; p0 += bt {
				kernel.AddWeightedSumF16(o, sc[p0:min(p0+bt, nCtx)], seq.KeyPage(m.layer, p0/bt), kw)
			}
		}
		// absorb W_UV into the output
		if n == 1 {
			kernel.MatMul(m.att[h*dv:(h+1)*dv], m.a.VB[h], olat, 1)
		} else {
			kernel.MatMul(ov, m.a.VB[h], olat, n)
			for t := range n {
				copy(m.att[(t*m.nHeads+h)*dv:(t*m.nHeads+h+1)*dv], ov[t*dv:(t+1)*dv])
			}
		}
	}
}
