// Package qwen3 implements the GGUF "qwen3" architecture (Qwen3,
// DeepSeek-R1-0528-Qwen3): the llama decoder with a per-head RMSNorm on
// queries and keys before NeoX-style rotary embeddings, an explicit head
// dim, and a tied or separate output head.
package qwen3

import (
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Config holds the hyperparameters, named after their GGUF keys.
type Config struct {
	Dim      int     // qwen3.embedding_length
	Layers   int     // qwen3.block_count
	FFN      int     // qwen3.feed_forward_length
	NHeads   int     // qwen3.attention.head_count
	NKVHeads int     // qwen3.attention.head_count_kv
	HeadDim  int     // qwen3.attention.key_length (default Dim/NHeads)
	ValueDim int     // qwen3.attention.value_length (default HeadDim)
	Eps      float32 // qwen3.attention.layer_norm_rms_epsilon
	Vocab    int     // number of tokens
	Ctx      int     // qwen3.context_length
	Rope     nn.Rope // qwen3.rope.*, rope_freqs.weight
}

// Layer holds one decoder layer's weights.
type Layer struct {
	AttnNorm   []float32 // [Dim]
	Q, K, V, O nn.Linear // [NHeads·HeadDim][Dim], [NKVHeads·HeadDim][Dim], [NKVHeads·ValueDim][Dim], [Dim][NHeads·ValueDim]
	QNorm      []float32 // [HeadDim], shared by the heads
	KNorm      []float32 // [HeadDim]
	FFNNorm    []float32 // [Dim]
	FFN        nn.FFN
}

// Model is a loaded qwen3 network.
type Model struct {
	Config
	TokEmbd tensor.Mat // [Vocab][Dim]
	Layers  []Layer
	OutNorm []float32  // [Dim]
	Output  tensor.Mat // [Vocab][Dim] (token_embd when tied)
	attn    nn.Attention
	info    model.Info
	s       *nn.Scratch
}

// Load reads a qwen3 model from f.
func Load(f *gguf.File) (*Model, error) {
	ld := model.NewLoader(f, "qwen3")
	c := Config{
		Dim:    ld.Int("embedding_length"),
		Layers: ld.Int("block_count"),
		FFN:    ld.Int("feed_forward_length"),
		NHeads: ld.Int("attention.head_count"),
		Eps:    ld.FloatOr("attention.layer_norm_rms_epsilon", 1e-5),
		Ctx:    ld.IntOr("context_length", 2048),
	}
	c.NKVHeads = ld.IntOr("attention.head_count_kv", c.NHeads)
	if ld.Err() == nil && (c.NHeads <= 0 || (c.Dim%c.NHeads != 0 && !f.Has("qwen3.attention.key_length"))) {
		ld.Failf("qwen3: embedding_length %d is not a multiple of head_count %d", c.Dim, c.NHeads)
	}
	if ld.Err() != nil {
		return nil, ld.Err()
	}
	c.HeadDim = ld.IntOr("attention.key_length", c.Dim/c.NHeads)
	c.ValueDim = ld.IntOr("attention.value_length", c.HeadDim)
	c.Rope = ld.RopeFromMetadata(ld.IntOr("rope.dimension_count", c.HeadDim), true)
	c.Vocab = model.VocabSize(ld)
	if err := model.CheckHeads(ld, c.NHeads, c.NKVHeads, c.HeadDim, c.Rope.Dims); err != nil {
		return nil, err
	}

	m := &Model{Config: c}
	m.TokEmbd = ld.Mat("token_embd.weight", c.Vocab, c.Dim)
	m.Layers = make([]Layer, c.Layers)
	for i := range m.Layers {
		l := &m.Layers[i]
		blk := func(name string) string { return fmt.Sprintf("blk.%d.%s", i, name) }
		l.AttnNorm = ld.Vec(blk("attn_norm.weight"), c.Dim)
		l.Q.W = ld.Mat(blk("attn_q.weight"), c.NHeads*c.HeadDim, c.Dim)
		l.K.W = ld.Mat(blk("attn_k.weight"), c.NKVHeads*c.HeadDim, c.Dim)
		l.V.W = ld.Mat(blk("attn_v.weight"), c.NKVHeads*c.ValueDim, c.Dim)
		l.O.W = ld.Mat(blk("attn_output.weight"), c.Dim, c.NHeads*c.ValueDim)
		l.QNorm = ld.Vec(blk("attn_q_norm.weight"), c.HeadDim)
		l.KNorm = ld.Vec(blk("attn_k_norm.weight"), c.HeadDim)
		l.FFNNorm = ld.Vec(blk("ffn_norm.weight"), c.Dim)
		l.FFN.Gate = ld.Mat(blk("ffn_gate.weight"), c.FFN, c.Dim)
		l.FFN.Up = ld.Mat(blk("ffn_up.weight"), c.FFN, c.Dim)
		l.FFN.Down = ld.Mat(blk("ffn_down.weight"), c.Dim, c.FFN)
	}
	m.OutNorm = ld.Vec("output_norm.weight", c.Dim)
	var ok bool
	if m.Output, ok = ld.OptionalMat("output.weight", c.Vocab, c.Dim); !ok {
		m.Output = m.TokEmbd // tied embeddings
	}
	if ld.Err() != nil {
		return nil, ld.Err()
	}
	m.attn = nn.Attention{NHeads: c.NHeads, NKVHeads: c.NKVHeads, HeadDim: c.HeadDim, ValueDim: c.ValueDim, Scale: nn.DefaultScale(c.HeadDim)}
	m.info = model.Info{
		Arch: "qwen3", Name: model.Name(f), VocabSize: c.Vocab, ContextLength: c.Ctx, Layers: c.Layers,
		KVLayout: kvcache.Layout{Layers: c.Layers, KeyWidth: c.NKVHeads * c.HeadDim, ValueWidth: c.NKVHeads * c.ValueDim},
		Params:   model.CountParams(f), MaxBatch: model.DefaultMaxBatch,
	}
	m.info.ActiveParams = m.info.Params
	return m, nil
}

// Info returns the model's static facts.
func (m *Model) Info() model.Info { return m.info }

// NewSeq returns an empty KV cache for one sequence.
func (m *Model) NewSeq(capacity int) (*kvcache.Seq, error) {
	return kvcache.NewSeq(m.info.KVLayout, capacity)
}

// Forward runs a batch; see model.Model.
func (m *Model) Forward(b *model.Batch, logits []float32) error {
	return model.RunBatch(b, logits, m.info, func(ch nn.Chunk) {
		m.s = m.s.Ensure(m.scratchShape(), ch.Capacity)
		m.forward(m.s, ch)
	})
}

func (m *Model) scratchShape() nn.ScratchShape {
	c := &m.Config
	return nn.ScratchShape{Dim: c.Dim, Q: c.NHeads * c.HeadDim, KV: c.NKVHeads * c.HeadDim, V: c.NKVHeads * c.ValueDim,
		Att: c.NHeads * c.ValueDim, FFN: c.FFN, RopeDims: c.Rope.Dims, MaxBatch: m.info.MaxBatch, Attn: &m.attn}
}

// forward runs one chunk of at most MaxBatch tokens and leaves the final
// hidden states of the rows in out ([len(out)/Dim][Dim]) normalized.
func (m *Model) forward(s *nn.Scratch, ch nn.Chunk) {
	c := &m.Config
	n := len(ch.Tokens)
	x := s.X[:n*c.Dim]
	nn.Embed(x, m.TokEmbd, ch.Tokens)
	c.Rope.Tables(s.Cos, s.Sin, ch.Pos)
	for i := range m.Layers {
		l := &m.Layers[i]
		// attention rmsnorm
		nn.RMSNorm(s.XB, x, l.AttnNorm, c.Eps, n)
		// q, k, v projections; per-head q/k rmsnorm; rotary embedding
		l.Q.Forward(s.Q, s.XB, n)
		l.K.Forward(s.K, s.XB, n)
		l.V.Forward(s.V, s.XB, n)
		nn.RMSNorm(s.Q, s.Q, l.QNorm, c.Eps, n*c.NHeads)
		nn.RMSNorm(s.K, s.K, l.KNorm, c.Eps, n*c.NKVHeads)
		s.RotateQK(&c.Rope, c.NHeads, c.NKVHeads, c.HeadDim, n)
		// attention over the cache, output projection, residual
		m.attn.Store(i, s.K, s.V, ch.Pos, ch.Seqs)
		m.attn.Forward(s.Att, s.Q, i, ch.Pos, ch.Seqs, s.AttnScratch)
		l.O.Forward(s.XB, s.Att, n)
		nn.AddRows(x, s.XB, n*c.Dim)
		// ffn rmsnorm, SwiGLU, residual
		nn.RMSNorm(s.XB, x, l.FFNNorm, c.Eps, n)
		l.FFN.Forward(s.XB2, s.XB, s.Gate, s.Up, n)
		nn.AddRows(x, s.XB2, n*c.Dim)
	}
	s.Head(x, m.OutNorm, c.Eps, m.Output, ch)
}
