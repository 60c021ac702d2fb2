package quantize

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Choice is the type chosen for one tensor.
type Choice struct {
	Name  string
	Shape []uint64 // GGUF order, innermost (row length) first
	From  tensor.DType
	To    tensor.DType
}

// HParams are the model facts the mixes depend on, read from metadata.
type HParams struct {
	Arch    string // general.architecture
	Layers  int    // {arch}.block_count
	Heads   int    // {arch}.attention.head_count
	KVHeads int    // {arch}.attention.head_count_kv (default Heads)
	Experts int    // {arch}.expert_count (0 for dense models)
	Is70B   bool   // llama with 80 layers and GQA: llama.cpp's LLM_TYPE_70B
}

// HParamsOf reads the HParams of f.
func HParamsOf(f *gguf.File) HParams {
	arch := f.Architecture()
	get := func(key string) int {
		v, err := f.Int(arch + "." + key)
		if err != nil {
			return 0
		}
		return int(v)
	}
	hp := HParams{Arch: arch, Layers: get("block_count"), Heads: get("attention.head_count"), KVHeads: get("attention.head_count_kv"), Experts: get("expert_count")}
	if hp.KVHeads == 0 {
		hp.KVHeads = hp.Heads
	}
	hp.Is70B = arch == "llama" && hp.Layers == 80 && hp.Heads != hp.KVHeads
	return hp
}

// gqa is llama.cpp's n_gqa(): query heads per KV head (0 if unknown).
func (hp HParams) gqa() int {
	if hp.KVHeads == 0 {
		return 0
	}
	return hp.Heads / hp.KVHeads
}

// category is llama-quant.cpp's tensor_category.
type category int

const (
	catOther category = iota
	catTokenEmbd
	catAttnQ
	catAttnV
	catAttnK
	catAttnQKV
	catAttnKVB
	catAttnOutput
	catFFNUp
	catFFNGate
	catFFNDown
	catOutput
)

func categoryOf(name string) category {
	switch {
	case name == "output.weight":
		return catOutput
	case name == "token_embd.weight" || name == "per_layer_token_embd.weight":
		return catTokenEmbd
	case strings.Contains(name, "attn_qkv.weight"):
		return catAttnQKV
	case strings.Contains(name, "attn_kv_b.weight"):
		return catAttnKVB
	case strings.Contains(name, "attn_v.weight"):
		return catAttnV
	case strings.Contains(name, "attn_k.weight"):
		return catAttnK
	case strings.Contains(name, "attn_q.weight"):
		return catAttnQ
	case strings.Contains(name, "attn_output.weight"):
		return catAttnOutput
	case strings.Contains(name, "ffn_up"):
		return catFFNUp
	case strings.Contains(name, "ffn_gate"):
		return catFFNGate
	case strings.Contains(name, "ffn_down"):
		return catFFNDown
	}
	return catOther
}

func (c category) attnVLike() bool { return c == catAttnV || c == catAttnQKV || c == catAttnKVB }

// allowsQuantization is llama-quant.cpp's tensor_allows_quantization for
// the names of the architectures Sputnik runs: 2-D and 3-D tensors whose
// name ends in "weight", except norms, MoE router weights and a few small
// tensors of other architectures.
func allowsQuantization(name string, dims int) bool {
	if dims < 2 || !strings.HasSuffix(name, "weight") {
		return false
	}
	for _, s := range []string{"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
		"per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "attn_rel_b.weight", "position_embd", "token_types.weight"} {
		if strings.Contains(name, s) {
			return false
		}
	}
	return true
}

// layerOf returns the N of "blk.N.", or -1.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	n := 0
	i := 0
	for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = n*10 + int(rest[i]-'0')
		if n > 1<<20 {
			return -1
		}
	}
	if i == 0 || i >= len(rest) || rest[i] != '.' {
		return -1
	}
	return n
}

// sortLikeLlama orders tensors as llama.cpp's model loader does
// (weight_name_comparer): by layer number (non-layer tensors first), then
// by name. The mixes count attn_v and ffn_down tensors in this order.
func sortLikeLlama(ts []gguf.TensorInfo) {
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := layerOf(ts[i].Name), layerOf(ts[j].Name)
		if a != b {
			return a < b
		}
		return ts[i].Name < ts[j].Name
	})
}

// state is llama-quant.cpp's quantize_state_impl: counters of the tensors
// seen so far.
type state struct {
	hp                 HParams
	ft                 FileType
	nAttnV, iAttnV     int
	nFFNDown, iFFNDown int
	iFFNGate, iFFNUp   int
	tied               bool // no output.weight: token_embd doubles as the output
}

// Plan returns the output type of every tensor of f for file type ft, in
// the order llama-quantize writes them (see sortLikeLlama). With pure, every
// quantizable tensor gets ft's default type (llama-quantize --pure); the
// fallback for rows that are not a whole number of blocks applies in both
// cases.
func Plan(f *gguf.File, ft FileType, pure bool) ([]Choice, error) {
	ts := append([]gguf.TensorInfo(nil), f.Tensors...)
	return planTensors(ts, HParamsOf(f), ft, pure)
}

func planTensors(ts []gguf.TensorInfo, hp HParams, ft FileType, pure bool) ([]Choice, error) {
	sortLikeLlama(ts)
	s := &state{hp: hp, ft: ft, tied: true, nFFNDown: hp.Layers}
	for _, t := range ts {
		c := categoryOf(t.Name)
		if c.attnVLike() {
			s.nAttnV++
		}
		if c == catOutput {
			s.tied = false
		}
	}
	out := make([]Choice, 0, len(ts))
	for _, t := range ts {
		ch := Choice{Name: t.Name, Shape: t.Shape, From: t.Type, To: t.Type}
		if allowsQuantization(t.Name, len(t.Shape)) {
			to := ft.Default
			if to.Quantized() {
				if !pure {
					var err error
					if to, err = s.typeFor(t, to, categoryOf(t.Name)); err != nil {
						return nil, err
					}
				}
				var err error
				if to, err = fallback(t, to); err != nil {
					return nil, err
				}
			}
			ch.To = to
		}
		out = append(out, ch)
	}
	return out, nil
}

// fallback is llama-quant.cpp's tensor_type_fallback: a type whose block
// does not divide the row length is replaced by a compatible one (for
// llama.cpp's K-quants on rows that are not a multiple of 256), F16 when
// even that does not fit.
func fallback(t gguf.TensorInfo, to tensor.DType) (tensor.DType, error) {
	ncols := t.Shape[0]
	if ncols%uint64(to.BlockSize()) == 0 {
		return to, nil
	}
	var r tensor.DType
	switch to {
	case tensor.IQ1_S, tensor.IQ1_M, tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ3_XXS, tensor.IQ3_S, tensor.IQ4_XS:
		r = tensor.IQ4_NL
	case tensor.Q2_K, tensor.Q3_K, tensor.TQ1_0, tensor.TQ2_0:
		r = tensor.Q4_0
	case tensor.Q4_K:
		r = tensor.Q5_0
	case tensor.Q5_K:
		r = tensor.Q5_1
	case tensor.Q6_K:
		r = tensor.Q8_0
	default:
		return 0, fmt.Errorf("quantize: tensor %q: rows of %d values do not fit %s blocks and %s has no fallback", t.Name, ncols, to, to)
	}
	if ncols%uint64(r.BlockSize()) != 0 {
		r = tensor.F16
	}
	return r, nil
}

// useMoreBits is llama-quant.cpp's use_more_bits: the first and last
// eighth of the layers and every third layer in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// typeFor is llama-quant.cpp's llama_tensor_get_type_impl for the file
// types this package supports (the IQ1/IQ2/IQ3, TQ and MXFP4 branches are
// left out with those types). newType is ft's default type.
func (s *state) typeFor(t gguf.TensorInfo, newType tensor.DType, c category) (tensor.DType, error) {
	hp, ft := s.hp, s.ft.Name
	falcon := hp.Arch == "falcon"
	layerInfo := func(i, n int) (int, int, error) {
		if max(1, hp.Experts) > 1 {
			// Experts are not stored in layer order in every file: read the
			// layer from the name.
			l := layerOf(t.Name)
			if l < 0 || l >= n {
				return 0, 0, fmt.Errorf("quantize: tensor %q: cannot tell its layer (block_count %d)", t.Name, n)
			}
			return l, n, nil
		}
		return i, n, nil
	}
	switch {
	case c == catOutput || (s.tied && c == catTokenEmbd):
		nx := t.Shape[0]
		switch {
		case falcon || nx%uint64(newType.BlockSize()) != 0:
			newType = tensor.Q8_0
		case newType != tensor.Q8_0:
			newType = tensor.Q6_K
		}
	case c == catTokenEmbd:
		// The IQ1/IQ2/IQ3/TQ mixes change token_embd; none supported here.
	case c.attnVLike():
		switch {
		case ft == "Q2_K":
			newType = tensor.Q3_K
			if hp.gqa() >= 4 {
				newType = tensor.Q4_K
			}
		case ft == "Q3_K_M":
			newType = tensor.Q4_K
			if s.iAttnV < 2 {
				newType = tensor.Q5_K
			}
		case ft == "Q3_K_L":
			newType = tensor.Q5_K
		case (ft == "IQ4_NL" || ft == "IQ4_XS") && hp.gqa() >= 4:
			newType = tensor.Q5_K
		case (ft == "Q4_K_M" || ft == "Q5_K_M") && useMoreBits(s.iAttnV, s.nAttnV):
			newType = tensor.Q6_K
		case ft == "Q4_K_S" && s.iAttnV < 4:
			newType = tensor.Q5_K
		}
		if hp.Is70B && (newType == tensor.Q3_K || newType == tensor.Q4_K) {
			newType = tensor.Q5_K
		}
		if hp.Experts == 8 {
			newType = tensor.Q8_0
		}
		s.iAttnV++
	case c == catAttnK:
		if hp.Experts == 8 {
			newType = tensor.Q8_0
		}
	case c == catAttnQ:
		// Only the IQ3 mixes change attn_q.
	case c == catFFNDown:
		i, n, err := layerInfo(s.iFFNDown, s.nFFNDown)
		if err != nil {
			return 0, err
		}
		switch {
		case ft == "Q2_K":
			newType = tensor.Q3_K
		case ft == "Q3_K_M":
			switch {
			case i < n/16:
				newType = tensor.Q5_K
			case !falcon || useMoreBits(i, n):
				newType = tensor.Q4_K
			default:
				newType = tensor.Q3_K
			}
		case ft == "Q3_K_L":
			newType = tensor.Q5_K
			if falcon {
				newType = tensor.Q4_K
			}
		case ft == "Q4_K_M":
			if falcon {
				switch {
				case i < n/16:
					newType = tensor.Q6_K
				case useMoreBits(i, n):
					newType = tensor.Q5_K
				default:
					newType = tensor.Q4_K
				}
			} else if useMoreBits(i, n) {
				newType = tensor.Q6_K
			}
		case i < n/8 && (ft == "IQ4_NL" || ft == "IQ4_XS"):
			newType = tensor.Q5_K // no importance matrix
		case ft == "Q5_K_M" && useMoreBits(i, n):
			newType = tensor.Q6_K
		case ft == "Q4_K_S" && !falcon && i < n/8:
			newType = tensor.Q5_K
		}
		s.iFFNDown++
	case c == catAttnOutput:
		if !falcon {
			if hp.Experts == 8 {
				switch ft {
				case "Q2_K", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M", "IQ4_XS":
					newType = tensor.Q5_K
				}
			} else {
				switch ft {
				case "Q2_K":
					newType = tensor.Q3_K
				case "Q3_K_M":
					newType = tensor.Q4_K
				case "Q3_K_L":
					newType = tensor.Q5_K
				}
			}
		} else if ft == "Q3_K_L" {
			newType = tensor.Q4_K
		}
	case c == catAttnQKV:
		switch ft {
		case "Q3_K_M", "Q3_K_L":
			newType = tensor.Q4_K
		case "Q4_K_M":
			newType = tensor.Q5_K
		case "Q5_K_M":
			newType = tensor.Q6_K
		}
	case c == catFFNGate:
		s.iFFNGate++ // only the IQ3_XS mix uses it
	case c == catFFNUp:
		s.iFFNUp++
	}
	return newType, nil
}
