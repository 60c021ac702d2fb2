package deepseek2

import (
	"fmt"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Attn holds one layer's MLA weights. Shapes are row-major.
type Attn struct {
	Q      tensor.Mat   // [NHeads·QKDim][Dim] plain query projection (QLoRARank == 0), else empty
	QA     tensor.Mat   // [QLoRARank][Dim] query down-projection
	QANorm []float32    // [QLoRARank]
	QB     tensor.Mat   // [NHeads·QKDim][QLoRARank] query up-projection; per head [nope ; rope]
	KVA    tensor.Mat   // [KVLoRARank+RopeDim][Dim] latent and shared rope key
	KVNorm []float32    // [KVLoRARank] RMSNorm of the latent only
	KB     []tensor.Mat // [NHeads] each [KVLoRARank][NopeDim]: W_UK,hᵀ, to absorb into the query
	VB     []tensor.Mat // [NHeads] each [VDim][KVLoRARank]: W_UV,h, to expand the attention output
	O      tensor.Mat   // [Dim][NHeads·VDim]
}

// MoE holds one MoE layer's weights.
type MoE struct {
	Router    tensor.Mat   // [Experts][Dim] ffn_gate_inp
	ProbsBias []float32    // [Experts] exp_probs_b: selection-only score correction, or nil
	Gate, Up  []tensor.Mat // [Experts] each [ExpertFFN][Dim]
	Down      []tensor.Mat // [Experts] each [Dim][ExpertFFN]
	Shared    nn.FFN       // shared experts, width SharedExperts·ExpertFFN (zero Mats when SharedExperts is 0)
}

// Layer holds one decoder layer's weights. Exactly one of Dense and MoE is
// used: layers below DenseLead are dense.
type Layer struct {
	AttnNorm []float32 // [Dim]
	Attn     Attn
	FFNNorm  []float32 // [Dim]
	Dense    nn.FFN    // [FFN][Dim] gate/up, [Dim][FFN] down
	MoE      MoE
	IsMoE    bool
}

// MTPLayer is a multi-token-prediction block (DeepSeek-V3 §2.2): a full
// decoder layer fed with RMSNorm(embedding of the next token) and
// RMSNorm(main hidden state), concatenated in that order and projected by
// EHProj. It is loaded but not run yet (speculative decoding is future
// work).
type MTPLayer struct {
	Layer
	EHProj      tensor.Mat // [Dim][2·Dim] nextn.eh_proj
	ENorm       []float32  // [Dim] nextn.enorm
	HNorm       []float32  // [Dim] nextn.hnorm
	TokEmbd     tensor.Mat // [Vocab][Dim] nextn.embed_tokens, or empty (shares token_embd)
	HeadNorm    []float32  // [Dim] nextn.shared_head_norm, or nil
	Head        tensor.Mat // [Vocab][Dim] nextn.shared_head_head, or empty (shares output)
	BlockNumber int        // the GGUF block index (blk.N)
}

func blk(i int, name string) string { return fmt.Sprintf("blk.%d.%s", i, name) }

// loadLayer reads block i.
func loadLayer(ld *model.Loader, c *Config, i int) Layer {
	var l Layer
	l.AttnNorm = ld.Vec(blk(i, "attn_norm.weight"), c.Dim)
	l.Attn = loadAttn(ld, c, i)
	l.FFNNorm = ld.Vec(blk(i, "ffn_norm.weight"), c.Dim)
	if i < c.DenseLead {
		l.Dense.Gate = ld.Mat(blk(i, "ffn_gate.weight"), c.FFN, c.Dim)
		l.Dense.Up = ld.Mat(blk(i, "ffn_up.weight"), c.FFN, c.Dim)
		l.Dense.Down = ld.Mat(blk(i, "ffn_down.weight"), c.Dim, c.FFN)
		return l
	}
	l.IsMoE = true
	l.MoE = loadMoE(ld, c, i)
	return l
}

// loadAttn reads block i's MLA weights, in either tensor layout.
func loadAttn(ld *model.Loader, c *Config, i int) Attn {
	var a Attn
	h, qk := c.NHeads, c.QKDim
	// The query path is chosen by tensor presence (attn_q: V2-Lite), never
	// by the layer count.
	if ld.Has(blk(i, "attn_q.weight")) || c.QLoRARank == 0 {
		a.Q = ld.Mat(blk(i, "attn_q.weight"), h*qk, c.Dim)
	} else {
		a.QA = ld.Mat(blk(i, "attn_q_a.weight"), c.QLoRARank, c.Dim)
		a.QANorm = ld.Vec(blk(i, "attn_q_a_norm.weight"), c.QLoRARank)
		a.QB = ld.Mat(blk(i, "attn_q_b.weight"), h*qk, c.QLoRARank)
	}
	a.KVA = ld.Mat(blk(i, "attn_kv_a_mqa.weight"), c.KVLoRARank+c.RopeDim, c.Dim)
	a.KVNorm = ld.Vec(blk(i, "attn_kv_a_norm.weight"), c.KVLoRARank)
	if c.SplitKVB {
		a.KB = ld.Mats(blk(i, "attn_k_b.weight"), h, c.KVLoRARank, c.NopeDim)
		a.VB = ld.Mats(blk(i, "attn_v_b.weight"), h, c.VDim, c.KVLoRARank)
	} else {
		kvb := ld.Mat(blk(i, "attn_kv_b.weight"), h*(c.NopeDim+c.VDim), c.KVLoRARank)
		if ld.Err() == nil {
			var err error
			if a.KB, a.VB, err = splitKVB(kvb, h, c.NopeDim, c.VDim); err != nil {
				ld.Fail(fmt.Errorf("deepseek2: %s: %w", blk(i, "attn_kv_b.weight"), err))
			}
		}
	}
	a.O = ld.Mat(blk(i, "attn_output.weight"), c.Dim, h*c.VDim)
	return a
}

// splitKVB derives the absorbed-form matrices from a legacy attn_kv_b
// ([H·(dn+dv)][rkv]: per head dn rows of W_UK then dv rows of W_UV), the
// way ik_llama.cpp prepares attn_k_b for old files: KB[h] = W_UK,hᵀ
// ([rkv][dn]) and VB[h] = W_UV,h ([dv][rkv]). F32 weights stay F32; any
// other type is dequantized and stored as F16 (half the memory of F32, and
// its rounding is below the source's quantization error). The result is
// allocated on the heap: 2·H·(dn+dv)·rkv bytes for F16.
func splitKVB(kvb tensor.Mat, h, dn, dv int) (kb, vb []tensor.Mat, err error) {
	rkv := kvb.Cols
	out := tensor.F16
	if kvb.Type == tensor.F32 {
		out = tensor.F32
	}
	row := make([]float32, rkv)
	kt := make([]float32, rkv*dn) // one head's W_UK,hᵀ
	kb, vb = make([]tensor.Mat, h), make([]tensor.Mat, h)
	for hh := range h {
		base := hh * (dn + dv)
		for j := range dn {
			if err := tensor.Dequantize(kvb.Type, row, kvb.Row(base+j)); err != nil {
				return nil, nil, err
			}
			for c, v := range row {
				kt[c*dn+j] = v
			}
		}
		if kb[hh], err = encode(out, kt, rkv, dn); err != nil {
			return nil, nil, err
		}
		vt := make([]float32, dv*rkv)
		for j := range dv {
			if err := tensor.Dequantize(kvb.Type, vt[j*rkv:(j+1)*rkv], kvb.Row(base+dn+j)); err != nil {
				return nil, nil, err
			}
		}
		if vb[hh], err = encode(out, vt, dv, rkv); err != nil {
			return nil, nil, err
		}
	}
	return kb, vb, nil
}

// encode stores x ([rows][cols] float32) as a Mat of type t (F32 or F16).
func encode(t tensor.DType, x []float32, rows, cols int) (tensor.Mat, error) {
	rb, err := tensor.RowBytes(t, cols)
	if err != nil {
		return tensor.Mat{}, err
	}
	data := make([]byte, rows*rb)
	if err := tensor.Quantize(t, data, x); err != nil {
		return tensor.Mat{}, err
	}
	return tensor.NewMat(t, rows, cols, data)
}

// loadMoE reads block i's router, routed experts and shared experts. An
// expert tensor whose expert count or width disagrees with the metadata is
// reported with the metadata keys involved.
func loadMoE(ld *model.Loader, c *Config, i int) MoE {
	var m MoE
	// GGUF dims (innermost first): router {Dim, E}; gate/up {Dim, F, E}; down {F, Dim, E}
	checkDim(ld, blk(i, "ffn_gate_inp.weight"), 1, "expert_count", c.Experts)
	for _, name := range []string{"ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"} {
		checkDim(ld, blk(i, name), 2, "expert_count", c.Experts)
	}
	checkDim(ld, blk(i, "ffn_gate_exps.weight"), 1, "expert_feed_forward_length", c.ExpertFFN)
	checkDim(ld, blk(i, "ffn_up_exps.weight"), 1, "expert_feed_forward_length", c.ExpertFFN)
	checkDim(ld, blk(i, "ffn_down_exps.weight"), 0, "expert_feed_forward_length", c.ExpertFFN)
	m.Router = ld.Mat(blk(i, "ffn_gate_inp.weight"), c.Experts, c.Dim)
	m.ProbsBias = ld.OptionalVec(blk(i, "exp_probs_b.bias"), c.Experts)
	m.Gate = ld.Mats(blk(i, "ffn_gate_exps.weight"), c.Experts, c.ExpertFFN, c.Dim)
	m.Up = ld.Mats(blk(i, "ffn_up_exps.weight"), c.Experts, c.ExpertFFN, c.Dim)
	m.Down = ld.Mats(blk(i, "ffn_down_exps.weight"), c.Experts, c.Dim, c.ExpertFFN)
	if c.SharedExperts > 0 {
		fs := c.SharedExperts * c.ExpertFFN
		m.Shared.Gate = ld.Mat(blk(i, "ffn_gate_shexp.weight"), fs, c.Dim)
		m.Shared.Up = ld.Mat(blk(i, "ffn_up_shexp.weight"), fs, c.Dim)
		m.Shared.Down = ld.Mat(blk(i, "ffn_down_shexp.weight"), c.Dim, fs)
	}
	return m
}

// checkDim fails with a message naming the metadata key when GGUF
// dimension axis of tensor name differs from the key's value want.
func checkDim(ld *model.Loader, name string, axis int, key string, want int) {
	if ld.Err() != nil {
		return
	}
	t, ok := ld.F.Tensor(name)
	if !ok || len(t.Shape) <= axis {
		return // the loader reports missing tensors and wrong ranks
	}
	if got := t.Shape[axis]; got != uint64(want) {
		ld.Failf("deepseek2: %s.%s = %d, but tensor %s has %d there (GGUF dim %d of %v)", ld.Arch, key, want, name, got, axis, t.Shape)
	}
}

// loadMTP reads the multi-token-prediction block stored as GGUF block i
// (GLM-4.5-style nextn tensors next to a regular decoder layer).
func loadMTP(ld *model.Loader, c *Config, i int) MTPLayer {
	m := MTPLayer{Layer: loadLayer(ld, c, i), BlockNumber: i}
	m.EHProj = ld.Mat(blk(i, "nextn.eh_proj.weight"), c.Dim, 2*c.Dim)
	m.ENorm = ld.Vec(blk(i, "nextn.enorm.weight"), c.Dim)
	m.HNorm = ld.Vec(blk(i, "nextn.hnorm.weight"), c.Dim)
	m.TokEmbd, _ = ld.OptionalMat(blk(i, "nextn.embed_tokens.weight"), c.Vocab, c.Dim)
	m.HeadNorm = ld.OptionalVec(blk(i, "nextn.shared_head_norm.weight"), c.Dim)
	m.Head, _ = ld.OptionalMat(blk(i, "nextn.shared_head_head.weight"), c.Vocab, c.Dim)
	return m
}

// countParams returns the parameters of the file and those one token uses:
// every tensor of the main model except the routed experts, plus
// ExpertsUsed/Experts of the routed-expert tensors (ffn_*_exps). The
// token embedding counts whole, by convention. MTP blocks (GGUF blocks at or
// after c.Layers) count in the total only.
func countParams(tensors []gguf.TensorInfo, c *Config) (total, active uint64) {
	for i := range tensors {
		t := &tensors[i]
		n := t.Elements()
		total += n
		var b int
		if _, err := fmt.Sscanf(t.Name, "blk.%d.", &b); err == nil && b >= c.Layers {
			continue
		}
		if strings.Contains(t.Name, "_exps.") && c.Experts > 0 {
			n = n * uint64(c.ExpertsUsed) / uint64(c.Experts)
		}
		active += n
	}
	return total, active
}

// MatMulWeights returns every matrix that only kernel.MatMul reads — the
// projections of every layer (routed and shared experts, the absorbed
// W_UK/W_UV heads), the router, and the output head (also when tied: the
// pointer is to Output, which may be replaced without touching TokEmbd) —
// so that a caller may replace them with kernel.Interleave copies before
// the first Forward. The MTP blocks, which never run, are left out.
func (m *Model) MatMulWeights() []*tensor.Mat {
	ws := []*tensor.Mat{&m.Output}
	for i := range m.Layers {
		l := &m.Layers[i]
		a := &l.Attn
		ws = append(ws, &a.Q, &a.QA, &a.QB, &a.KVA, &a.O)
		for h := range a.KB {
			ws = append(ws, &a.KB[h])
		}
		for h := range a.VB {
			ws = append(ws, &a.VB[h])
		}
		if !l.IsMoE {
			ws = append(ws, &l.Dense.Gate, &l.Dense.Up, &l.Dense.Down)
			continue
		}
		e := &l.MoE
		ws = append(ws, &e.Router, &e.Shared.Gate, &e.Shared.Up, &e.Shared.Down)
		for x := range e.Gate {
			ws = append(ws, &e.Gate[x], &e.Up[x], &e.Down[x])
		}
	}
	return ws
}

// RoutedWeights returns the routed experts' matrices, a subset of
// MatMulWeights: a token reads only those of the experts its router
// picks, where every other matrix of MatMulWeights is read by every token.
func (m *Model) RoutedWeights() []*tensor.Mat {
	var ws []*tensor.Mat
	for i := range m.Layers {
		if e := &m.Layers[i].MoE; m.Layers[i].IsMoE {
			for x := range e.Gate {
				ws = append(ws, &e.Gate[x], &e.Up[x], &e.Down[x])
			}
		}
	}
	return ws
}
