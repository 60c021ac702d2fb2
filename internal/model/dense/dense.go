// Package dense implements the dense decoder-only transformers that the
// DeepSeek-R1 distills are built on, one Variant per GGUF architecture:
//
//   - "llama" (Llama 2/3, R1-Distill-Llama-8B/70B): pre-norm decoder layers of
//     grouped-query attention with rotary embeddings on adjacent pairs and a
//     SwiGLU feed-forward network.
//   - "qwen2" (Qwen2/2.5, R1-Distill-Qwen-1.5B…32B): llama plus biases on the
//     q, k and v projections, and NeoX rotary pairing (x[i], x[i+d/2]).
//   - "qwen3" (Qwen3, R1-0528-Qwen3-8B): llama plus a per-head RMSNorm on
//     queries and keys before NeoX rotary embeddings, and an explicit head dim.
//
// All take a tied or separate output head. The three differ in two steps of
// the forward pass, so they share one implementation (as llama.cpp's graph
// builders for them share everything but those steps) instead of three
// near-copies; the variant is chosen by the architecture name, never by
// shapes.
package dense

import (
	"context"
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/invariants"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Variant names what an architecture adds to the llama decoder.
type Variant struct {
	Arch    string // GGUF general.architecture, also the metadata key prefix
	Neox    bool   // NeoX rotary pairing instead of adjacent pairs
	QKVBias bool   // attn_q/k/v.bias tensors (qwen2)
	QKNorm  bool   // attn_q_norm/attn_k_norm per-head RMSNorm (qwen3)
}

// The supported variants.
var (
	Llama = Variant{Arch: "llama"}
	Qwen2 = Variant{Arch: "qwen2", Neox: true, QKVBias: true}
	Qwen3 = Variant{Arch: "qwen3", Neox: true, QKNorm: true}
)

// Config holds the hyperparameters, named after their GGUF keys ({arch}.…).
type Config struct {
	Variant
	Dim      int     // embedding_length
	Layers   int     // block_count
	FFN      int     // feed_forward_length
	NHeads   int     // attention.head_count
	NKVHeads int     // attention.head_count_kv
	HeadDim  int     // attention.key_length (default Dim/NHeads)
	ValueDim int     // attention.value_length (default HeadDim)
	Eps      float32 // attention.layer_norm_rms_epsilon
	Vocab    int     // number of tokens
	Ctx      int     // context_length
	Rope     nn.Rope // rope.*, rope_freqs.weight
}

// Layer holds one decoder layer's weights.
type Layer struct {
	AttnNorm   []float32 // [Dim]
	Q, K, V, O nn.Linear // [NHeads·HeadDim][Dim], [NKVHeads·HeadDim][Dim], [NKVHeads·ValueDim][Dim], [Dim][NHeads·ValueDim]; biases with QKVBias
	QNorm      []float32 // [HeadDim], shared by the heads (QKNorm only)
	KNorm      []float32 // [HeadDim] (QKNorm only)
	FFNNorm    []float32 // [Dim]
	FFN        nn.FFN
}

// Model is a loaded dense network.
type Model struct {
	Config
	TokEmbd tensor.Mat // [Vocab][Dim]
	Layers  []Layer
	OutNorm []float32  // [Dim]
	Output  tensor.Mat // [Vocab][Dim] (token_embd when tied)
	attn    nn.Attention
	info    model.Info
}

// Load reads a model of variant v from f.
func Load(f *gguf.File, v Variant) (*Model, error) {
	ld := model.NewLoader(f, v.Arch)
	c := Config{
		Variant: v,
		Dim:     ld.Int("embedding_length"),
		Layers:  ld.Int("block_count"),
		FFN:     ld.Int("feed_forward_length"),
		NHeads:  ld.Int("attention.head_count"),
		Eps:     ld.FloatOr("attention.layer_norm_rms_epsilon", 1e-5),
		Ctx:     ld.IntOr("context_length", 2048),
	}
	c.NKVHeads = ld.IntOr("attention.head_count_kv", c.NHeads)
	// A layer has at least 9 tensors (two norms, q, k, v, output, gate, up, down).
	ld.CheckBlocks(c.Layers, 9)
	if ld.Err() == nil && c.Dim <= 0 {
		ld.Failf("%s: %s.embedding_length = %d must be positive", v.Arch, v.Arch, c.Dim)
	}
	if ld.Err() == nil && c.FFN <= 0 {
		ld.Failf("%s: %s.feed_forward_length = %d must be positive", v.Arch, v.Arch, c.FFN)
	}
	if ld.Err() == nil && (c.NHeads <= 0 || (c.Dim%c.NHeads != 0 && !f.Has(v.Arch+".attention.key_length"))) {
		ld.Failf("%s: %s.embedding_length %d is not a multiple of %s.attention.head_count %d", v.Arch, v.Arch, c.Dim, v.Arch, c.NHeads)
	}
	if ld.Err() != nil {
		return nil, ld.Err()
	}
	c.HeadDim = ld.IntOr("attention.key_length", c.Dim/c.NHeads)
	c.ValueDim = ld.IntOr("attention.value_length", c.HeadDim)
	c.Rope = ld.RopeFromMetadata(ld.IntOr("rope.dimension_count", c.HeadDim), v.Neox)
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
		if v.QKVBias {
			l.Q.B = ld.Vec(blk("attn_q.bias"), c.NHeads*c.HeadDim)
			l.K.B = ld.Vec(blk("attn_k.bias"), c.NKVHeads*c.HeadDim)
			l.V.B = ld.Vec(blk("attn_v.bias"), c.NKVHeads*c.ValueDim)
		}
		if v.QKNorm {
			l.QNorm = ld.Vec(blk("attn_q_norm.weight"), c.HeadDim)
			l.KNorm = ld.Vec(blk("attn_k_norm.weight"), c.HeadDim)
		}
		l.O.W = ld.Mat(blk("attn_output.weight"), c.Dim, c.NHeads*c.ValueDim)
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
		Arch: v.Arch, Name: model.Name(f), VocabSize: c.Vocab, ContextLength: c.Ctx, Layers: c.Layers,
		KVLayout: kvcache.Layout{Layers: c.Layers, KeyWidth: c.NKVHeads * c.HeadDim, ValueWidth: c.NKVHeads * c.ValueDim},
		Params:   model.CountParams(f), MaxBatch: model.DefaultMaxBatch,
	}
	m.info.ActiveParams = m.info.Params
	return m, nil
}

// Info returns the model's static facts.
func (m *Model) Info() model.Info { return m.info }

// NewState returns activation memory for sequences of up to capacity
// positions (an *nn.Scratch).
func (m *Model) NewState(capacity int) model.State {
	return nn.NewScratch(m.scratchShape(), capacity)
}

// Forward runs a batch; see model.Model.
func (m *Model) Forward(ctx context.Context, st model.State, b *model.Batch, logits []float32) error {
	s, ok := st.(*nn.Scratch)
	if !ok || s.Shape() != m.scratchShape() {
		return fmt.Errorf("%s: Forward: the state was not made by this model", m.Arch)
	}
	return model.RunBatch(ctx, b, logits, m.info, s.Capacity(), func(ch nn.Chunk) {
		m.forward(s, ch)
	})
}

func (m *Model) scratchShape() nn.ScratchShape {
	c := &m.Config
	return nn.ScratchShape{Dim: c.Dim, Q: c.NHeads * c.HeadDim, KV: c.NKVHeads * c.HeadDim, V: c.NKVHeads * c.ValueDim,
		Att: c.NHeads * c.ValueDim, FFN: c.FFN, RopeDims: c.Rope.Dims, MaxBatch: m.info.MaxBatch, Attn: &m.attn}
}

// forward runs one chunk of at most MaxBatch tokens and writes the logits
// of its wanted rows.
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
		// q, k, v projections (qwen2: with biases)
		l.Q.Forward(s.Q, s.XB, n)
		l.K.Forward(s.K, s.XB, n)
		l.V.Forward(s.V, s.XB, n)
		// qwen3: per-head q/k rmsnorm
		if c.QKNorm {
			nn.RMSNorm(s.Q, s.Q, l.QNorm, c.Eps, n*c.NHeads)
			nn.RMSNorm(s.K, s.K, l.KNorm, c.Eps, n*c.NKVHeads)
		}
		// rotary embedding
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
		if invariants.Enabled {
			invariants.Finite("l_out", i, x)
		}
	}
	// final rmsnorm and output head on the rows that want logits
	s.Head(x, m.OutNorm, c.Eps, m.Output, ch)
}

// MatMulWeights returns every matrix that only kernel.MatMul reads — the
// projections, and the output head (also when it is tied to the token
// embeddings: the pointer is then to Output, a second view that may be
// replaced without touching TokEmbd, which embedding lookups read by row)
// — so that a caller may replace them with kernel.Interleave copies before
// the first Forward.
func (m *Model) MatMulWeights() []*tensor.Mat {
	ws := []*tensor.Mat{&m.Output}
	for i := range m.Layers {
		l := &m.Layers[i]
		ws = append(ws, &l.Q.W, &l.K.W, &l.V.W, &l.O.W, &l.FFN.Gate, &l.FFN.Up, &l.FFN.Down)
	}
	return ws
}
