// Package deepseek2 implements the GGUF "deepseek2" architecture:
// DeepSeek-V2, V2-Lite, V3, R1 and their siblings. A decoder layer is
// Multi-head Latent Attention (MLA) followed by either a dense SwiGLU
// (the first leading_dense_block_count layers) or DeepSeekMoE: routed
// experts chosen per token by a sigmoid or softmax router with an optional
// selection bias and group-limited routing, plus always-on shared experts.
//
// The KV cache holds, per token and layer, only the RMS-normalized latent
// c (kv_lora_rank values) and the rotated shared rope key (rope dims): 576
// f16 values for DeepSeek-V3 instead of 40960 for the decompressed keys and
// values. Attention runs in the absorbed form (W_UK folded into the query,
// W_UV applied to the attention output), as llama.cpp does for MLA files;
// see ../../../../shared/docs/deepseek-v3.md §3 and the DeepSeek-V2 paper
// (arXiv:2405.04434) §2.1.
//
// Files: config.go (hyperparameters and their checks), weights.go (tensor
// loading, both MLA tensor layouts, MTP blocks), attention.go (MLA),
// moe.go (routing and experts), forward.go (the Model and its forward pass).
package deepseek2

import (
	"math"

	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
)

// Gating functions ({arch}.expert_gating_func), as llama.cpp numbers them.
const (
	GatingSoftmax       = 1 // softmax over all experts (V2, V2-Lite; the default when the key is absent)
	GatingSigmoid       = 2 // independent sigmoid per expert (V3, R1)
	GatingSoftmaxWeight = 3 // select on raw logits, softmax over the chosen ones
)

// Config holds the hyperparameters, named after their GGUF keys (all under
// the "deepseek2." prefix).
type Config struct {
	Dim       int     // embedding_length
	Layers    int     // block_count − nextn_predict_layers: the decoder layers of the main model
	MTPLayers int     // nextn_predict_layers: multi-token-prediction blocks stored after the main layers
	FFN       int     // feed_forward_length (width of the leading dense layers)
	DenseLead int     // leading_dense_block_count
	NHeads    int     // attention.head_count
	Eps       float32 // attention.layer_norm_rms_epsilon
	Vocab     int     // number of tokens
	Ctx       int     // context_length

	// MLA geometry.
	QLoRARank  int  // attention.q_lora_rank (0: plain attn_q projection, as in V2-Lite)
	KVLoRARank int  // attention.kv_lora_rank: width of the cached latent c
	QKDim      int  // d_qk = attention.key_length_mla (MLA files) or attention.key_length (legacy files)
	RopeDim    int  // d_r = rope.dimension_count: rotated dims per head, and width of the shared rope key
	NopeDim    int  // d_n = QKDim − RopeDim
	VDim       int  // d_v = attention.value_length_mla (MLA files) or attention.value_length (legacy files)
	SplitKVB   bool // the file has attn_k_b/attn_v_b (key_length_mla/value_length_mla present); else attn_kv_b

	// DeepSeekMoE.
	Experts       int     // expert_count: routed experts per MoE layer
	ExpertsUsed   int     // expert_used_count: experts chosen per token
	SharedExperts int     // expert_shared_count
	ExpertFFN     int     // expert_feed_forward_length: width of one routed expert
	Groups        int     // expert_group_count (≤ 1: no group limiting)
	GroupsUsed    int     // expert_group_used_count
	Gating        int     // expert_gating_func (GatingSoftmax, GatingSigmoid, GatingSoftmaxWeight)
	WeightsNorm   bool    // expert_weights_norm: renormalize the chosen weights to sum to 1
	WeightsScale  float32 // expert_weights_scale (routed_scaling_factor); 0 or 1: no scaling

	Rope    nn.Rope // rope.* (YaRN frequencies; cos/sin keep unit magnitude, see kqScale)
	KQScale float32 // softmax scale: mscale²/sqrt(QKDim), mscale = 1 + rope.scaling.yarn_log_multiplier·ln(factor)
}

// moeLayers reports whether any main layer is a MoE layer.
func (c *Config) moeLayers() bool { return c.DenseLead < c.Layers }

// readConfig reads and checks the hyperparameters. Errors name the
// offending keys.
func readConfig(ld *model.Loader) Config {
	c := Config{
		Dim:        ld.Int("embedding_length"),
		FFN:        ld.IntOr("feed_forward_length", 0),
		DenseLead:  ld.IntOr("leading_dense_block_count", 0),
		NHeads:     ld.Int("attention.head_count"),
		Eps:        ld.FloatOr("attention.layer_norm_rms_epsilon", 1e-6),
		Ctx:        ld.IntOr("context_length", 4096),
		QLoRARank:  ld.IntOr("attention.q_lora_rank", 0),
		KVLoRARank: ld.Int("attention.kv_lora_rank"),
		RopeDim:    ld.Int("rope.dimension_count"),
		MTPLayers:  ld.IntOr("nextn_predict_layers", 0),

		Experts:       ld.IntOr("expert_count", 0),
		ExpertsUsed:   ld.IntOr("expert_used_count", 0),
		SharedExperts: ld.IntOr("expert_shared_count", 0),
		ExpertFFN:     ld.IntOr("expert_feed_forward_length", 0),
		Groups:        ld.IntOr("expert_group_count", 0),
		GroupsUsed:    ld.IntOr("expert_group_used_count", 0),
		Gating:        ld.IntOr("expert_gating_func", GatingSoftmax),
		WeightsNorm:   ld.BoolOr("expert_weights_norm", false),
		WeightsScale:  ld.FloatOr("expert_weights_scale", 0),
	}
	blocks := ld.Int("block_count")
	if ld.Err() != nil {
		return c
	}
	a := ld.Arch
	// The file is MLA (split attn_k_b/attn_v_b) iff both *_mla keys are
	// present and non-zero, as in llama.cpp; otherwise the head sizes come
	// from key_length/value_length and the tensor is the legacy attn_kv_b.
	kMLA, vMLA := ld.IntOr("attention.key_length_mla", 0), ld.IntOr("attention.value_length_mla", 0)
	c.SplitKVB = kMLA != 0 && vMLA != 0
	if c.SplitKVB {
		c.QKDim, c.VDim = kMLA, vMLA
	} else {
		c.QKDim = ld.Int("attention.key_length")
		c.VDim = ld.Int("attention.value_length")
	}
	c.NopeDim = c.QKDim - c.RopeDim
	if ld.Err() != nil {
		return c
	}

	switch {
	case c.Dim <= 0:
		ld.Failf("deepseek2: %s.embedding_length = %d must be positive", a, c.Dim)
	case blocks <= 0 || blocks > len(ld.F.Tensors)/9:
		// A layer has at least 9 tensors (two norms, the query, latent,
		// latent norm, kv_b or k_b, output, and a feed-forward network).
		ld.CheckBlocks(blocks, 9)
	case c.MTPLayers < 0 || c.MTPLayers >= blocks:
		ld.Failf("deepseek2: %s.nextn_predict_layers = %d must be in [0, block_count = %d)", a, c.MTPLayers, blocks)
	case c.NHeads <= 0:
		ld.Failf("deepseek2: %s.attention.head_count = %d must be positive", a, c.NHeads)
	case c.KVLoRARank <= 0:
		ld.Failf("deepseek2: %s.attention.kv_lora_rank = %d must be positive", a, c.KVLoRARank)
	case c.QLoRARank < 0:
		ld.Failf("deepseek2: %s.attention.q_lora_rank = %d must not be negative", a, c.QLoRARank)
	case c.RopeDim <= 0 || c.RopeDim%2 != 0:
		ld.Failf("deepseek2: %s.rope.dimension_count = %d must be positive and even", a, c.RopeDim)
	case c.NopeDim <= 0:
		ld.Failf("deepseek2: %s.rope.dimension_count = %d must be smaller than the query/key head size %d (%s)", a, c.RopeDim, c.QKDim, headKey(c.SplitKVB, "key"))
	case c.VDim <= 0:
		ld.Failf("deepseek2: %s = %d must be positive", headKey(c.SplitKVB, "value"), c.VDim)
	case c.DenseLead < 0:
		ld.Failf("deepseek2: %s.leading_dense_block_count = %d must not be negative", a, c.DenseLead)
	}
	if c.SplitKVB {
		// The cache-facing lengths of an MLA file describe the latent row.
		if k := ld.IntOr("attention.key_length", c.KVLoRARank+c.RopeDim); k != c.KVLoRARank+c.RopeDim {
			ld.Failf("deepseek2: %s.attention.key_length = %d, want kv_lora_rank + rope.dimension_count = %d in a file with key_length_mla", a, k, c.KVLoRARank+c.RopeDim)
		}
		if v := ld.IntOr("attention.value_length", c.KVLoRARank); v != c.KVLoRARank {
			ld.Failf("deepseek2: %s.attention.value_length = %d, want kv_lora_rank = %d in a file with value_length_mla", a, v, c.KVLoRARank)
		}
		if kv := ld.IntOr("attention.head_count_kv", 1); kv != 1 {
			ld.Failf("deepseek2: %s.attention.head_count_kv = %d, want 1 in an MLA file (key_length_mla present)", a, kv)
		}
	}
	if ld.Err() != nil {
		return c
	}
	c.Layers = blocks - c.MTPLayers
	c.DenseLead = min(c.DenseLead, blocks)
	if c.DenseLead > 0 && c.FFN <= 0 {
		ld.Failf("deepseek2: %s.feed_forward_length = %d must be positive with leading_dense_block_count = %d", a, c.FFN, c.DenseLead)
	}
	if c.DenseLead < blocks {
		checkMoE(ld, &c)
	}
	if ld.Err() != nil {
		return c
	}
	c.Vocab = model.VocabSize(ld)
	c.Rope, c.KQScale = readRope(ld, c.RopeDim, c.QKDim)
	return c
}

// headKey names the metadata key a head size came from.
func headKey(split bool, kind string) string {
	if split {
		return "deepseek2.attention." + kind + "_length_mla"
	}
	return "deepseek2.attention." + kind + "_length"
}

// checkMoE validates the expert hyperparameters of a model with MoE layers.
func checkMoE(ld *model.Loader, c *Config) {
	a := ld.Arch
	switch {
	case c.Experts <= 0:
		ld.Failf("deepseek2: %s.expert_count = %d must be positive (layers %d.. are MoE layers)", a, c.Experts, c.DenseLead)
	case c.ExpertsUsed <= 0 || c.ExpertsUsed > c.Experts:
		ld.Failf("deepseek2: %s.expert_used_count = %d must be in [1, expert_count = %d]", a, c.ExpertsUsed, c.Experts)
	case c.ExpertFFN <= 0:
		ld.Failf("deepseek2: %s.expert_feed_forward_length = %d must be positive", a, c.ExpertFFN)
	case c.SharedExperts < 0:
		ld.Failf("deepseek2: %s.expert_shared_count = %d must not be negative", a, c.SharedExperts)
	case c.Groups < 0:
		ld.Failf("deepseek2: %s.expert_group_count = %d must not be negative", a, c.Groups)
	case c.Groups > 1 && c.Experts%c.Groups != 0:
		ld.Failf("deepseek2: %s.expert_group_count = %d does not divide expert_count = %d", a, c.Groups, c.Experts)
	case c.Groups > 1 && (c.GroupsUsed <= 0 || c.GroupsUsed > c.Groups):
		ld.Failf("deepseek2: %s.expert_group_used_count = %d must be in [1, expert_group_count = %d]", a, c.GroupsUsed, c.Groups)
	case c.Groups > 1 && c.ExpertsUsed > c.GroupsUsed*(c.Experts/c.Groups):
		ld.Failf("deepseek2: %s.expert_used_count = %d exceeds the %d experts of the expert_group_used_count = %d groups kept (expert_count %d / expert_group_count %d per group)",
			a, c.ExpertsUsed, c.GroupsUsed*(c.Experts/c.Groups), c.GroupsUsed, c.Experts, c.Groups)
	case c.Gating != GatingSoftmax && c.Gating != GatingSigmoid && c.Gating != GatingSoftmaxWeight:
		ld.Failf("deepseek2: %s.expert_gating_func = %d is not supported (1 softmax, 2 sigmoid, 3 softmax over the chosen)", a, c.Gating)
	case math.IsNaN(float64(c.WeightsScale)) || math.IsInf(float64(c.WeightsScale), 0):
		ld.Failf("deepseek2: %s.expert_weights_scale = %v must be finite", a, c.WeightsScale)
	}
}

// readRope reads the rotary embedding of the rope dims and returns it with
// the attention softmax scale.
//
// DeepSeek applies YaRN's magnitude correction ("attention temperature",
// Peng et al. 2023 §3.4) to the softmax scale, not to cos/sin: with
// mscale = 1 + yarn_log_multiplier·ln(factor) (the stored multiplier is
// 0.1·mscale_all_dim), kqScale = a²·mscale²/sqrt(d_qk), where a is
// rope.scaling.attn_factor (1 when absent), and the rotation keeps unit
// magnitude (times a). llama.cpp gets there by handing its YaRN kernel an
// attention factor of a/(1 + 0.1·ln(factor)), which the kernel multiplies
// back by (1 + 0.1·ln(factor)); we do the same so cos/sin round alike.
// Without YaRN, kqScale is 1/sqrt(d_qk).
func readRope(ld *model.Loader, dims, qkDim int) (nn.Rope, float32) {
	r := ld.RopeFromMetadata(dims, false)
	kq := float32(1 / math.Sqrt(float64(qkDim)))
	if ld.Err() != nil || r.ExtFactor == 0 {
		return r, kq
	}
	r.BetaFast = ld.FloatOr("rope.scaling.yarn_beta_fast", 32)
	r.BetaSlow = ld.FloatOr("rope.scaling.yarn_beta_slow", 1)
	r.ExtFactor = ld.FloatOr("rope.scaling.yarn_ext_factor", 1)
	a := r.AttnFactor
	if a == 0 {
		a = 1
	}
	logMul := ld.FloatOr("rope.scaling.yarn_log_multiplier", 0)
	lnS := float32(math.Log(float64(1 / r.FreqScale)))
	r.AttnFactor = a / (1 + 0.1*lnS)
	mscale := a * (1 + logMul*lnS)
	kq = mscale * mscale / float32(math.Sqrt(float64(qkDim)))
	for _, v := range []float32{r.BetaFast, r.BetaSlow, r.ExtFactor, logMul, kq} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			ld.Failf("deepseek2: %s.rope.scaling.* gives a non-finite YaRN parameter (beta_fast %v, beta_slow %v, ext_factor %v, yarn_log_multiplier %v)", ld.Arch, r.BetaFast, r.BetaSlow, r.ExtFactor, logMul)
			break
		}
	}
	return r, kq
}
