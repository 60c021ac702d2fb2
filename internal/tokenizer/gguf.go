package tokenizer

import (
	"fmt"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/gguf"
)

// FromGGUF builds the tokenizer stored in a GGUF file's tokenizer.ggml.*
// metadata, applying llama.cpp's defaults for absent keys:
//
//   - "llama" (SPM): BOS 1, EOS 2, UNK 0; adds BOS and a space prefix.
//   - "gpt2" (BPE): pre-tokenization by tokenizer.ggml.pre ("default" when
//     absent); adds BOS only for the pre types llama.cpp marks (llama3 and
//     its aliases, tekken, chameleon).
//   - "bert" (WPM): BOS 101 ([CLS]), SEP 102, UNK 100, lowercase and strip accents.
//
// tokenizer.ggml.add_bos_token / add_eos_token / add_sep_token /
// add_space_prefix override the defaults. Any other model type, or an unknown
// pre type, is an error naming it.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	model, err := f.String("tokenizer.ggml.model")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	spec := Spec{
		Model: model,
		BOS:   None, EOS: None, EOT: None, EOM: None, UNK: None, SEP: None, PAD: None,
		FIMPad: None, FIMRep: None, FIMSep: None,
	}
	switch model {
	case ModelSPM:
		spec.BOS, spec.EOS, spec.UNK = 1, 2, 0
		spec.AddBOS, spec.AddSpacePrefix = true, true
	case ModelWPM:
		spec.BOS, spec.UNK, spec.SEP, spec.PAD = 101, 100, 102, 0
		spec.AddBOS, spec.AddSEP = true, true
		spec.Lowercase, spec.StripAccents = true, true
	case ModelBPE:
		spec.BOS, spec.EOS = 11, 11
	default:
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.model %q: %w (supported: %s, %s, %s)",
			model, ErrUnsupportedModel, ModelSPM, ModelBPE, ModelWPM)
	}

	if spec.Tokens, err = f.Strings("tokenizer.ggml.tokens"); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	n := len(spec.Tokens)
	if f.Has("tokenizer.ggml.scores") {
		if spec.Scores, err = f.Float32s("tokenizer.ggml.scores"); err != nil {
			ints, err2 := f.Int32s("tokenizer.ggml.scores")
			if err2 != nil {
				return nil, fmt.Errorf("tokenizer: %w", err)
			}
			spec.Scores = make([]float32, len(ints))
			for i, v := range ints {
				spec.Scores[i] = float32(v)
			}
		}
		if len(spec.Scores) < n {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.scores has %d entries for %d tokens", len(spec.Scores), n)
		}
	}
	if f.Has("tokenizer.ggml.token_type") {
		types, err := f.Int32s("tokenizer.ggml.token_type")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if len(types) < n {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.token_type has %d entries for %d tokens", len(types), n)
		}
		spec.Types = make([]TokenType, n)
		for i := range spec.Types {
			spec.Types[i] = TokenType(types[i])
		}
	}

	if model == ModelBPE {
		pre := "default"
		if f.Has("tokenizer.ggml.pre") {
			if pre, err = f.String("tokenizer.ggml.pre"); err != nil {
				return nil, fmt.Errorf("tokenizer: %w", err)
			}
		}
		pt, ok := preTypes[pre]
		if !ok {
			return nil, unknownPreError(pre)
		}
		spec.PreExprs = pt.exprs
		spec.IgnoreMerges = pt.ignoreMerges
		spec.AddBOS = pt.addBOS
		if pt.noBOS {
			spec.BOS = None
		}
		merges, err := f.Strings("tokenizer.ggml.merges")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		spec.Merges = make([][2]string, 0, len(merges))
		for i, m := range merges {
			// llama.cpp splits at the first space after the first byte, so a
			// merge may start with a space-like symbol.
			j := -1
			if len(m) > 1 {
				j = strings.IndexByte(m[1:], ' ')
			}
			if j < 0 {
				return nil, fmt.Errorf("tokenizer: tokenizer.ggml.merges[%d] = %q is not \"left right\"", i, m)
			}
			spec.Merges = append(spec.Merges, [2]string{m[:j+1], m[j+2:]})
		}
	}

	// Special token ids: out-of-range defaults are dropped, out-of-range
	// stored values are ignored (llama.cpp warns and keeps the default).
	ids := []struct {
		key string
		dst *int32
	}{
		{"tokenizer.ggml.bos_token_id", &spec.BOS},
		{"tokenizer.ggml.eos_token_id", &spec.EOS},
		{"tokenizer.ggml.eot_token_id", &spec.EOT},
		{"tokenizer.ggml.eom_token_id", &spec.EOM},
		{"tokenizer.ggml.unknown_token_id", &spec.UNK},
		{"tokenizer.ggml.seperator_token_id", &spec.SEP},
		{"tokenizer.ggml.padding_token_id", &spec.PAD},
		{"tokenizer.ggml.fim_pad_token_id", &spec.FIMPad},
		{"tokenizer.ggml.fim_rep_token_id", &spec.FIMRep},
		{"tokenizer.ggml.fim_sep_token_id", &spec.FIMSep},
	}
	for _, k := range ids {
		if *k.dst >= int32(n) {
			*k.dst = None
		}
		if !f.Has(k.key) {
			continue
		}
		v, err := f.Uint(k.key)
		if err != nil {
			// 0xFFFFFFFF stored as a signed -1, say: treat as absent.
			if iv, err2 := f.Int(k.key); err2 == nil && iv < 0 {
				*k.dst = None
				continue
			}
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if v < uint64(n) {
			*k.dst = int32(v)
		}
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{
		{"tokenizer.ggml.add_bos_token", &spec.AddBOS},
		{"tokenizer.ggml.add_eos_token", &spec.AddEOS},
		{"tokenizer.ggml.add_sep_token", &spec.AddSEP},
		{"tokenizer.ggml.add_space_prefix", &spec.AddSpacePrefix},
		{"tokenizer.ggml.normalizer.lowercase", &spec.Lowercase},
	} {
		if !f.Has(b.key) {
			continue
		}
		v, err := f.Bool(b.key)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		*b.dst = v
	}
	spec.StripAccents = spec.Lowercase && model == ModelWPM
	if f.Has("tokenizer.ggml.normalizer.strip_accents") {
		if spec.StripAccents, err = f.Bool("tokenizer.ggml.normalizer.strip_accents"); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	}
	if model == ModelSPM {
		// llama.cpp: Phi-3's special tokens (but <unk>, <s>, <|endoftext|>) eat the whitespace after them.
		name, _ := f.String("general.name")
		if lname := strings.ToLower(name); strings.Contains(lname, "phi-3") || strings.Contains(lname, "phi3") {
			for id, ty := range spec.Types {
				switch spec.Tokens[id] {
				case "<unk>", "<s>", "<|endoftext|>":
					continue
				}
				if ty == TypeControl || ty == TypeUserDefined || ty == TypeUnknown || spec.Tokens[id] == "</s>" {
					spec.RStrip = append(spec.RStrip, int32(id))
				}
			}
		}
	}
	t, err := New(spec)
	if err != nil {
		return nil, err
	}
	return t, nil
}
