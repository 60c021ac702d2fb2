package deepseek2

import (
	"context"
	"fmt"
	"math"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Model is a loaded deepseek2 network.
type Model struct {
	Config
	TokEmbd tensor.Mat // [Vocab][Dim]
	Layers  []Layer    // the main model's decoder layers
	MTP     []MTPLayer // next-token-prediction blocks (loaded, not run)
	OutNorm []float32  // [Dim]
	Output  tensor.Mat // [Vocab][Dim] (token_embd when tied)

	// Trace, if not nil, is called with named intermediates of every layer
	// of every forward chunk, in order: "attn_norm", "q" (before RoPE),
	// "kv_cmpr_pe" (normalized latent and rotated rope key), "kqv_out"
	// (per-head attention output before W_O), "ffn_inp", "ffn_norm",
	// "ffn_out", "l_out" (llama.cpp's callback names). x is [n][width]
	// row-major and valid only during the call. Nil in production.
	Trace func(name string, layer int, x []float32)

	info     model.Info
	rt       Router
	willNeed func([]byte) // see SetExpertPrefetch
}

// scratch is the activation memory of forward passes (llama2.c's
// RunState): the model.State of deepseek2 models.
type scratch struct {
	m          *Model    // the model the state was made for
	x, xb, xb2 []float32 // [maxBatch][Dim] residual stream and normalized/branch copies
	gate, up   []float32 // [maxBatch][FFN] dense-layer activations
	attn       *attnScratch
	moe        *moeScratch
	head       *nn.Scratch // final norm and logits (uses XB only)
	maxBatch   int
	capacity   int
}

// tracer forwards to Model.Trace when set.
type tracer func(name string, layer int, x []float32)

func (t tracer) trace(name string, layer int, x []float32) {
	if t != nil {
		t(name, layer, x)
	}
}

// Load reads a deepseek2 model from f. Inconsistent metadata, a tensor
// with an unexpected shape, or an unsupported tensor type is an error
// naming the key or tensor.
func Load(f *gguf.File) (*Model, error) {
	ld := model.NewLoader(f, "deepseek2")
	c := readConfig(ld)
	if ld.Err() != nil {
		return nil, ld.Err()
	}
	m := &Model{Config: c, rt: c.router()}
	m.TokEmbd = ld.Mat("token_embd.weight", c.Vocab, c.Dim)
	m.Layers = make([]Layer, c.Layers)
	for i := range m.Layers {
		m.Layers[i] = loadLayer(ld, &m.Config, i)
	}
	for i := c.Layers; i < c.Layers+c.MTPLayers; i++ {
		m.MTP = append(m.MTP, loadMTP(ld, &m.Config, i))
	}
	m.OutNorm = ld.Vec("output_norm.weight", c.Dim)
	var ok bool
	if m.Output, ok = ld.OptionalMat("output.weight", c.Vocab, c.Dim); !ok {
		m.Output = m.TokEmbd // tied embeddings
	}
	if ld.Err() != nil {
		return nil, ld.Err()
	}
	total, active := countParams(f.Tensors, &m.Config)
	m.info = model.Info{
		Arch: "deepseek2", Name: model.Name(f), VocabSize: c.Vocab, ContextLength: c.Ctx, Layers: c.Layers,
		KVLayout: KVLayout(&m.Config),
		Params:   total, ActiveParams: active, MaxBatch: model.DefaultMaxBatch,
	}
	return m, nil
}

// KVLayout returns the cache geometry of c: per layer and token, the latent
// c and the rotated rope key in one f16 row (kv_lora_rank + rope dims
// values) and no separate value row. For DeepSeek-V3 (61 layers, 512 + 64)
// that is 61·576·2 = 70,272 bytes per token.
func KVLayout(c *Config) kvcache.Layout {
	return kvcache.Layout{Layers: c.Layers, KeyWidth: c.KVLoRARank + c.RopeDim, ValueWidth: 0}
}

// RoutingMargin returns the smallest routing margin (see Router.Route) of
// every token and MoE layer of the last Forward call on st, +Inf for a
// model without MoE layers. A margin near zero means a near tie in expert
// or group selection: another engine's rounding may pick different experts
// for that token, so comparisons with a reference should stop there, as
// they stop at a near tie between the top two tokens.
func RoutingMargin(st model.State) float32 {
	s, ok := st.(*scratch)
	if !ok || s.moe == nil {
		return float32(math.Inf(1))
	}
	return s.moe.margin
}

// SetExpertPrefetch turns on read-ahead of the routed experts (nil turns
// it off, the default): once a layer has routed its tokens, willNeed is
// called on each chosen expert's weights (gguf.File.WillNeed: the OS starts
// reading them from disk in the background, all at once). Use it when the
// model file is larger than the memory the process may use, so that the
// OS keeps only part of the weights in memory; when the weights are
// resident it only costs system calls. Call it before the first Forward.
func (m *Model) SetExpertPrefetch(willNeed func([]byte)) { m.willNeed = willNeed }

// MTPLayers returns the number of multi-token-prediction blocks the file
// carries ({arch}.nextn_predict_layers); they are loaded but not used yet.
func (m *Model) MTPLayers() int { return len(m.MTP) }

// Info returns the model's static facts.
func (m *Model) Info() model.Info { return m.info }

// NewState returns activation memory for sequences of up to capacity
// positions.
func (m *Model) NewState(capacity int) model.State {
	c, b := &m.Config, m.info.MaxBatch
	s := &scratch{
		m: m,
		x: make([]float32, b*c.Dim), xb: make([]float32, b*c.Dim), xb2: make([]float32, b*c.Dim),
		gate: make([]float32, b*c.FFN), up: make([]float32, b*c.FFN),
		attn:     newAttnScratch(c, b, capacity),
		maxBatch: b, capacity: capacity,
	}
	if c.moeLayers() {
		s.moe = newMoEScratch(c, b)
		s.moe.margin = float32(math.Inf(1))
	}
	s.head = &nn.Scratch{XB: s.xb}
	return s
}

// Capacity returns the longest sequence the state serves.
func (s *scratch) Capacity() int { return s.capacity }

// Forward runs a batch; see model.Model.
func (m *Model) Forward(ctx context.Context, st model.State, b *model.Batch, logits []float32) error {
	s, ok := st.(*scratch)
	if !ok || s.m != m {
		return fmt.Errorf("deepseek2: Forward: the state was not made by this model")
	}
	if s.moe != nil {
		s.moe.margin = float32(math.Inf(1))
		s.moe.willNeed = m.willNeed
	}
	return model.RunBatch(ctx, b, logits, m.info, s.capacity, func(ch nn.Chunk) {
		m.forward(s, &ch)
	})
}

// forward runs one chunk of at most MaxBatch tokens and writes the logits
// of its wanted rows.
func (m *Model) forward(s *scratch, ch *nn.Chunk) {
	c := &m.Config
	tr := tracer(m.Trace)
	n, d := len(ch.Tokens), c.Dim
	x := s.x[:n*d]
	nn.Embed(x, m.TokEmbd, ch.Tokens)
	c.Rope.Tables(s.attn.cos, s.attn.sin, ch.Pos)
	for i := range m.Layers {
		l := &m.Layers[i]
		// attention rmsnorm
		nn.RMSNorm(s.xb, x, l.AttnNorm, c.Eps, n)
		tr.trace("attn_norm", i, s.xb[:n*d])
		// multi-head latent attention, residual
		l.Attn.forward(s.xb2, s.xb[:n*d], i, ch, c, s.attn, tr)
		nn.AddRows(x, s.xb2, n*d)
		tr.trace("ffn_inp", i, x)
		// ffn rmsnorm
		nn.RMSNorm(s.xb, x, l.FFNNorm, c.Eps, n)
		tr.trace("ffn_norm", i, s.xb[:n*d])
		if l.IsMoE {
			// routed experts + shared experts
			l.MoE.forward(s.xb2, s.xb, n, c, &m.rt, s.moe)
		} else {
			// dense SwiGLU
			l.Dense.Forward(s.xb2, s.xb, s.gate, s.up, n)
		}
		tr.trace("ffn_out", i, s.xb2[:n*d])
		// residual
		nn.AddRows(x, s.xb2, n*d)
		tr.trace("l_out", i, x)
	}
	s.head.Head(x, m.OutNorm, c.Eps, m.Output, *ch)
}
