// Package hf builds a tokenizer.Tokenizer from a Hugging Face tokenizer.json
// (and optionally tokenizer_config.json), for models shipped as safetensors.
//
// It supports what the byte-level BPE tokenizers of the DeepSeek, Qwen and
// Llama 3 families use: a BPE model (merges as "a b" strings or ["a", "b"]
// pairs), added tokens, the pre-tokenizers Sequence, Split (Isolated),
// ByteLevel and Digits, and the normalizers Sequence, NFC, NFD, NFKC, NFKD and
// Lowercase. Anything else is an error naming it.
//
// It is kept out of package tokenizer so that the tokenizer proper stays free
// of encoding/json (which the style guide allows here: tokenizer.json is a
// file format that is JSON). `sputnik tokenize --tokenizer-json` uses it. It
// also uses golang.org/x/text/unicode/norm for the Unicode normalizers (the
// standard library has no normalization tables).
package hf

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dlclark/regexp2"
	"golang.org/x/text/unicode/norm"

	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// gpt2Expr is the expression of a ByteLevel pre-tokenizer with use_regex.
const gpt2Expr = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

type addedToken struct {
	ID      int32  `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
	LStrip  bool   `json:"lstrip"`
	RStrip  bool   `json:"rstrip"`
}

type model struct {
	Type         string           `json:"type"`
	Vocab        map[string]int32 `json:"vocab"`
	Merges       json.RawMessage  `json:"merges"`
	IgnoreMerges bool             `json:"ignore_merges"`
	ByteFallback bool             `json:"byte_fallback"`
	UnkToken     *string          `json:"unk_token"`
}

// component is a normalizer, pre-tokenizer or post-processor node.
type component struct {
	Type          string          `json:"type"`
	Normalizers   []component     `json:"normalizers"`
	Pretokenizers []component     `json:"pretokenizers"`
	Pattern       json.RawMessage `json:"pattern"`
	Behavior      string          `json:"behavior"`
	Invert        bool            `json:"invert"`
	UseRegex      *bool           `json:"use_regex"`
	AddPrefix     bool            `json:"add_prefix_space"`
	Individual    bool            `json:"individual_digits"`
	Single        []struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
	} `json:"single"`
	Processors []component `json:"processors"`
}

type file struct {
	Model         model        `json:"model"`
	AddedTokens   []addedToken `json:"added_tokens"`
	Normalizer    *component   `json:"normalizer"`
	PreTokenizer  *component   `json:"pre_tokenizer"`
	PostProcessor *component   `json:"post_processor"`
}

// config is the part of tokenizer_config.json used here.
type config struct {
	AddBOS   *bool           `json:"add_bos_token"`
	AddEOS   *bool           `json:"add_eos_token"`
	BOSToken json.RawMessage `json:"bos_token"`
	EOSToken json.RawMessage `json:"eos_token"`
	PADToken json.RawMessage `json:"pad_token"`
	UNKToken json.RawMessage `json:"unk_token"`
}

// FromHF builds a tokenizer from the bytes of tokenizer.json and of
// tokenizer_config.json (configJSON may be nil). Token ids missing from both
// the vocabulary and the added tokens become unused placeholders "[PAD<id>]".
// Added tokens marked special become control tokens (matched in text only with
// ParseSpecial); the others become user-defined tokens (always matched).
func FromHF(tokenizerJSON, configJSON []byte) (*tokenizer.Tokenizer, error) {
	var f file
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("hf: tokenizer.json: %w", err)
	}
	var cfg config
	if len(configJSON) > 0 {
		if err := json.Unmarshal(configJSON, &cfg); err != nil {
			return nil, fmt.Errorf("hf: tokenizer_config.json: %w", err)
		}
	}
	if f.Model.Type != "BPE" {
		return nil, fmt.Errorf("hf: model type %q: %w (only BPE)", f.Model.Type, tokenizer.ErrUnsupportedModel)
	}
	if f.Model.ByteFallback {
		return nil, fmt.Errorf("hf: BPE with byte_fallback (SentencePiece-style): %w", tokenizer.ErrUnsupportedModel)
	}

	n := int32(0)
	for _, id := range f.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("hf: negative token id %d", id)
		}
		n = max(n, id+1)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 {
			return nil, fmt.Errorf("hf: added token %q has negative id %d", a.Content, a.ID)
		}
		n = max(n, a.ID+1)
	}
	if n > 1<<21 {
		return nil, fmt.Errorf("hf: vocabulary of %d ids is implausibly large", n)
	}
	spec := tokenizer.Spec{
		Model:        tokenizer.ModelBPE,
		Tokens:       make([]string, n),
		Types:        make([]tokenizer.TokenType, n),
		IgnoreMerges: f.Model.IgnoreMerges,
		BOS:          tokenizer.None, EOS: tokenizer.None, EOT: tokenizer.None, EOM: tokenizer.None,
		UNK: tokenizer.None, SEP: tokenizer.None, PAD: tokenizer.None,
		FIMPad: tokenizer.None, FIMRep: tokenizer.None, FIMSep: tokenizer.None,
	}
	for text, id := range f.Model.Vocab {
		spec.Tokens[id] = text
		spec.Types[id] = tokenizer.TypeNormal
	}
	for _, a := range f.AddedTokens {
		spec.Tokens[a.ID] = a.Content
		spec.Types[a.ID] = tokenizer.TypeUserDefined
		if a.Special {
			spec.Types[a.ID] = tokenizer.TypeControl
		}
		if a.LStrip {
			spec.LStrip = append(spec.LStrip, a.ID)
		}
		if a.RStrip {
			spec.RStrip = append(spec.RStrip, a.ID)
		}
	}
	for id := range spec.Tokens {
		if spec.Tokens[id] == "" {
			spec.Tokens[id] = fmt.Sprintf("[PAD%d]", id)
			spec.Types[id] = tokenizer.TypeUnused
		}
	}

	merges, err := parseMerges(f.Model.Merges)
	if err != nil {
		return nil, err
	}
	spec.Merges = merges

	if f.PreTokenizer != nil {
		if spec.PreExprs, err = preExprs(*f.PreTokenizer); err != nil {
			return nil, err
		}
	}
	if f.Normalizer != nil {
		if spec.Normalize, err = normalizer(*f.Normalizer); err != nil {
			return nil, err
		}
	}

	ids := make(map[string]int32, len(spec.Tokens))
	for id, text := range spec.Tokens {
		ids[text] = int32(id)
	}
	lookup := func(raw json.RawMessage) (int32, error) {
		name, err := tokenName(raw)
		if err != nil || name == "" {
			return tokenizer.None, err
		}
		id, ok := ids[name]
		if !ok {
			return tokenizer.None, fmt.Errorf("hf: special token %q is not in the vocabulary", name)
		}
		return id, nil
	}
	for _, c := range []struct {
		raw json.RawMessage
		dst *int32
	}{{cfg.BOSToken, &spec.BOS}, {cfg.EOSToken, &spec.EOS}, {cfg.PADToken, &spec.PAD}, {cfg.UNKToken, &spec.UNK}} {
		if *c.dst, err = lookup(c.raw); err != nil {
			return nil, err
		}
	}
	if spec.UNK == tokenizer.None && f.Model.UnkToken != nil {
		if id, ok := ids[*f.Model.UnkToken]; ok {
			spec.UNK = id
		}
	}
	// add_bos_token from the config; else from a TemplateProcessing post-processor
	// that starts with the BOS token.
	switch {
	case cfg.AddBOS != nil:
		spec.AddBOS = *cfg.AddBOS
	case f.PostProcessor != nil && spec.BOS != tokenizer.None:
		spec.AddBOS = templateStartsWith(*f.PostProcessor, spec.Tokens[spec.BOS])
	}
	if cfg.AddEOS != nil {
		spec.AddEOS = *cfg.AddEOS
	}
	spec.AddBOS = spec.AddBOS && spec.BOS != tokenizer.None
	spec.AddEOS = spec.AddEOS && spec.EOS != tokenizer.None
	return tokenizer.New(spec)
}

// parseMerges accepts both ["a b", …] and [["a", "b"], …].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err != nil {
		return nil, fmt.Errorf("hf: model.merges is neither [\"a b\"] nor [[\"a\", \"b\"]]: %w", err)
	}
	pairs = make([][2]string, len(strs))
	for i, m := range strs {
		l, r, ok := strings.Cut(m, " ")
		if !ok || l == "" || r == "" || strings.Contains(r, " ") {
			return nil, fmt.Errorf("hf: merge %d %q is not \"left right\"", i, m)
		}
		pairs[i] = [2]string{l, r}
	}
	return pairs, nil
}

// preExprs flattens a pre-tokenizer into tokenizer.Spec.PreExprs.
func preExprs(c component) ([]string, error) {
	switch c.Type {
	case "Sequence":
		var out []string
		for _, sub := range c.Pretokenizers {
			e, err := preExprs(sub)
			if err != nil {
				return nil, err
			}
			out = append(out, e...)
		}
		return out, nil
	case "Split":
		if c.Behavior != "Isolated" || c.Invert {
			return nil, fmt.Errorf("hf: Split pre-tokenizer with behavior %q invert %v: only Isolated, not inverted, is supported", c.Behavior, c.Invert)
		}
		var p struct {
			Regex  *string `json:"Regex"`
			String *string `json:"String"`
		}
		if err := json.Unmarshal(c.Pattern, &p); err != nil {
			return nil, fmt.Errorf("hf: Split pattern: %w", err)
		}
		switch {
		case p.Regex != nil:
			return []string{*p.Regex}, nil
		case p.String != nil:
			return []string{regexp2.Escape(*p.String)}, nil
		}
		return nil, errors.New("hf: Split pattern has neither Regex nor String")
	case "ByteLevel":
		if c.AddPrefix {
			return nil, errors.New("hf: ByteLevel pre-tokenizer with add_prefix_space is not supported")
		}
		if c.UseRegex == nil || *c.UseRegex {
			return []string{gpt2Expr}, nil
		}
		return nil, nil
	case "Digits":
		if c.Individual {
			return []string{`\p{N}`}, nil
		}
		return []string{`\p{N}+`}, nil
	}
	return nil, fmt.Errorf("hf: pre-tokenizer type %q is not supported", c.Type)
}

// normalizer returns the composed normalization function, nil for none.
func normalizer(c component) (func(string) string, error) {
	var fns []func(string) string
	var walk func(c component) error
	walk = func(c component) error {
		switch c.Type {
		case "Sequence":
			for _, sub := range c.Normalizers {
				if err := walk(sub); err != nil {
					return err
				}
			}
		case "NFC":
			fns = append(fns, norm.NFC.String)
		case "NFD":
			fns = append(fns, norm.NFD.String)
		case "NFKC":
			fns = append(fns, norm.NFKC.String)
		case "NFKD":
			fns = append(fns, norm.NFKD.String)
		case "Lowercase":
			fns = append(fns, strings.ToLower)
		default:
			return fmt.Errorf("hf: normalizer type %q is not supported", c.Type)
		}
		return nil
	}
	if err := walk(c); err != nil {
		return nil, err
	}
	switch len(fns) {
	case 0:
		return nil, nil
	case 1:
		return fns[0], nil
	}
	return func(s string) string {
		for _, f := range fns {
			s = f(s)
		}
		return s
	}, nil
}

// tokenName reads a config token given as a string or as {"content": …}.
func tokenName(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		return name, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("hf: special token %s: %w", s, err)
	}
	return obj.Content, nil
}

// templateStartsWith reports whether a TemplateProcessing post-processor (or
// one inside a Sequence) puts the special token named bos first.
func templateStartsWith(c component, bos string) bool {
	switch c.Type {
	case "TemplateProcessing":
		return len(c.Single) > 0 && c.Single[0].SpecialToken != nil && c.Single[0].SpecialToken.ID == bos
	case "Sequence":
		for _, sub := range c.Processors {
			if templateStartsWith(sub, bos) {
				return true
			}
		}
	}
	return false
}
