package tokenizer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// TokenType is a token's type as stored in GGUF tokenizer.ggml.token_type
// (llama.cpp's llama_token_type values).
type TokenType int32

// Token types.
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// attr is a token's attribute bit set (llama.cpp's llama_token_attr).
type attr uint16

const (
	attrUndefined attr = 1 << iota
	attrUnknown
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrLStrip
	attrRStrip
)

func attrOf(t TokenType) attr {
	switch t {
	case TypeNormal:
		return attrNormal
	case TypeUnknown:
		return attrUnknown
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeUnused:
		return attrUnused
	case TypeByte:
		return attrByte
	}
	return attrUndefined
}

// Model names, as in GGUF tokenizer.ggml.model.
const (
	ModelSPM = "llama" // SentencePiece BPE over scores, <0xXX> byte fallback
	ModelBPE = "gpt2"  // byte-level BPE over ranked merges
	ModelWPM = "bert"  // WordPiece
)

// ErrUnsupportedModel is returned (wrapped) for a tokenizer model type this
// package does not implement.
var ErrUnsupportedModel = errors.New("unsupported tokenizer model")

// None marks an absent special token id.
const None int32 = -1

// Spec is everything a Tokenizer is built from. All fields are final: no
// defaults are applied by New (FromGGUF applies llama.cpp's).
type Spec struct {
	Model  string      // ModelSPM, ModelBPE or ModelWPM
	Tokens []string    // vocabulary by id, as stored (GPT-2 byte alphabet for BPE, U+2581 for spaces in SPM)
	Types  []TokenType // by id; nil means all normal
	Scores []float32   // by id, SPM merge priorities; nil means all 0

	Merges       [][2]string // BPE: merge pairs in rank order, in the stored alphabet
	PreExprs     []string    // BPE: pre-tokenizer expressions, applied in order
	IgnoreMerges bool        // BPE: a piece that is itself a token is emitted without merging

	// Normalize, if set, is applied to each run of text between special
	// tokens before pre-tokenization (a Hugging Face NFC normalizer, say).
	Normalize func(string) string

	BOS, EOS, EOT, EOM, UNK, SEP, PAD int32 // None when absent
	FIMPad, FIMRep, FIMSep            int32 // None when absent; auto-detected from token text otherwise

	AddBOS, AddEOS, AddSEP bool // what Encode adds with AddSpecial
	AddSpacePrefix         bool // SPM: prefix a space to text at the start and after special tokens

	Lowercase, StripAccents bool // WPM normalization

	// RStrip and LStrip list special-token ids whose matches eat the
	// whitespace after (before) them: Hugging Face's rstrip/lstrip, and
	// llama.cpp's rule for Phi-3's special tokens.
	RStrip, LStrip []int32
}

// EncodeOptions controls Encode.
type EncodeOptions struct {
	// AddSpecial adds BOS/EOS (and WordPiece's SEP) as the vocabulary asks.
	AddSpecial bool
	// ParseSpecial matches control-token text such as "<|im_end|>" in the
	// input as that token. User-defined tokens are always matched.
	ParseSpecial bool
}

type modelKind uint8

const (
	kindSPM modelKind = iota
	kindBPE
	kindWPM
)

// Tokenizer converts between text and token ids. It is immutable after
// construction; all methods are safe for concurrent use.
type Tokenizer struct {
	kind   modelKind
	tokens []string  // by id, as stored
	attrs  []attr    // by id
	scores []float32 // by id
	pieces []string  // by id: the bytes the token stands for in text (control tokens: their text)

	toID map[string]int32 // SPM/WPM: stored text -> id; BPE: raw bytes -> id

	// byte-level BPE
	merges       *mergeTable // left<<32|right -> rank<<32|result
	byteTok      [256]int32  // id (or virtual id) of each single byte
	virt         []string    // raw bytes of virtual ids len(tokens)+i: merge products that are not tokens
	pre          pretokenizer
	ignoreMerges bool
	cache        *wordCache // nil disables it (tests)

	spmByte  [256]int32 // SPM byte-fallback token of each byte (None if absent)
	spmSplit bool       // SPM: no token has U+2581 after another character

	normalize func(string) string
	special   *specialMatcher

	bos, eos, eot, eom, unk, sep, pad int32
	addBOS, addEOS, addSEP            bool
	addSpacePrefix                    bool
	lowercase, stripAccents           bool
	maxTokenLen                       int
	eog                               []int32 // sorted

	states sync.Pool // *encodeState
}

// encodeState holds one Encode call's scratch buffers.
type encodeState struct {
	frags          []fragment
	spans, spans2  []span
	runes          []rune
	offs           []int
	ids            []int32
	ranks, results []int32
	next, prev     []int32
	heap           []mergeEntry
	syms           []spmSymbol
	spmHeap        []spmBigram
	buf            []byte
}

// New builds a Tokenizer from spec. It returns an error for inconsistent or
// unsupported input, never panics.
func New(spec Spec) (*Tokenizer, error) {
	n := len(spec.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: empty vocabulary")
	}
	if n >= 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: vocabulary of %d tokens is too large", n)
	}
	if spec.Types != nil && len(spec.Types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(spec.Types), n)
	}
	if spec.Scores != nil && len(spec.Scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(spec.Scores), n)
	}
	t := &Tokenizer{
		tokens:         append([]string(nil), spec.Tokens...),
		attrs:          make([]attr, n),
		scores:         spec.Scores,
		normalize:      spec.Normalize,
		ignoreMerges:   spec.IgnoreMerges,
		addBOS:         spec.AddBOS,
		addEOS:         spec.AddEOS,
		addSEP:         spec.AddSEP,
		addSpacePrefix: spec.AddSpacePrefix,
		lowercase:      spec.Lowercase,
		stripAccents:   spec.StripAccents,
	}
	switch spec.Model {
	case ModelSPM:
		t.kind = kindSPM
	case ModelBPE:
		t.kind = kindBPE
	case ModelWPM:
		t.kind = kindWPM
	default:
		return nil, fmt.Errorf("tokenizer: model type %q: %w (supported: %s, %s, %s)",
			spec.Model, ErrUnsupportedModel, ModelSPM, ModelBPE, ModelWPM)
	}
	seen := make(map[string]int32, n)
	for id, text := range spec.Tokens {
		if text == "" {
			// llama.cpp renames empty tokens so that they stay unique and unmatchable.
			text = fmt.Sprintf("[EMPTY_%d]", id)
			t.tokens[id] = text
		}
		if old, dup := seen[text]; dup {
			return nil, fmt.Errorf("tokenizer: duplicate token %q has ids %d and %d", text, old, id)
		}
		seen[text] = int32(id)
		t.attrs[id] = attrNormal
		if spec.Types != nil {
			t.attrs[id] = attrOf(spec.Types[id])
		}
		t.maxTokenLen = max(t.maxTokenLen, len(text))
	}
	check := func(name string, id int32) (int32, error) {
		if id < None || id >= int32(n) {
			return None, fmt.Errorf("tokenizer: %s token id %d outside the vocabulary of %d", name, id, n)
		}
		return id, nil
	}
	var err error
	for _, c := range []struct {
		name string
		dst  *int32
		id   int32
	}{{"BOS", &t.bos, spec.BOS}, {"EOS", &t.eos, spec.EOS}, {"EOT", &t.eot, spec.EOT}, {"EOM", &t.eom, spec.EOM},
		{"UNK", &t.unk, spec.UNK}, {"SEP", &t.sep, spec.SEP}, {"PAD", &t.pad, spec.PAD}} {
		if *c.dst, err = check(c.name, c.id); err != nil {
			return nil, err
		}
	}
	if t.addBOS && t.bos == None {
		return nil, errors.New("tokenizer: add_bos_token is set but there is no BOS token")
	}
	if t.addEOS && t.eos == None {
		return nil, errors.New("tokenizer: add_eos_token is set but there is no EOS token")
	}
	if t.addSEP && t.sep == None {
		return nil, errors.New("tokenizer: add_sep_token is set but there is no SEP token")
	}
	fim := [3]int32{spec.FIMPad, spec.FIMRep, spec.FIMSep}
	for i := range fim {
		if fim[i] < None || fim[i] >= int32(n) {
			fim[i] = None
		}
	}
	t.detectEOG(seen, fim)
	for _, id := range spec.RStrip {
		if id >= 0 && id < int32(n) {
			t.attrs[id] |= attrRStrip
		}
	}
	for _, id := range spec.LStrip {
		if id >= 0 && id < int32(n) {
			t.attrs[id] |= attrLStrip
		}
	}

	switch t.kind {
	case kindBPE:
		if err := t.initBPE(spec, seen); err != nil {
			return nil, err
		}
	case kindSPM, kindWPM:
		t.toID = seen
		if t.kind == kindSPM {
			t.spmSplit = true
			for _, text := range t.tokens {
				if strings.Contains(strings.TrimLeft(text, spaceMark), spaceMark) {
					t.spmSplit = false
					break
				}
			}
			t.cache = newWordCache()
		}
		for b := 0; b < 256; b++ {
			t.spmByte[b] = None
			if id, ok := seen[fmt.Sprintf("<0x%02X>", b)]; ok {
				t.spmByte[b] = id
			} else if id, ok := seen[string([]byte{byte(b)})]; ok {
				t.spmByte[b] = id
			}
		}
	}
	t.initPieces()
	t.special = newSpecialMatcher(t.tokens, t.attrs)
	return t, nil
}

// EOG detection follows llama.cpp (llama_vocab::impl::load): end-of-generation
// tokens are found by their text, since GGUF files do not list them.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
		"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
		"[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
		"<｜end▁of▁sentence｜>", "[e~["}
	fimTexts = [...][]string{
		{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"},
		{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"},
		{"<|file_sep|>"},
	}
	fimOtherTexts = []string{ // FIM prefix/suffix/middle: only marked as control
		"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
		"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
		"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
	}
)

func (t *Tokenizer) detectEOG(ids map[string]int32, fim [3]int32) {
	find := func(texts []string) int32 {
		for _, s := range texts {
			if id, ok := ids[s]; ok {
				return id
			}
		}
		return None
	}
	control := func(id int32) {
		if id >= 0 {
			t.attrs[id] |= attrControl
		}
	}
	if t.eot == None {
		t.eot = find(eotTexts)
		control(t.eot)
	}
	if t.eom == None {
		t.eom = find([]string{"<|eom_id|>"})
		control(t.eom)
	}
	for i := range fim {
		if fim[i] == None {
			fim[i] = find(fimTexts[i])
			control(fim[i])
		}
	}
	for _, s := range fimOtherTexts {
		if id, ok := ids[s]; ok {
			control(id)
		}
	}
	for id := range t.attrs {
		if t.attrs[id]&attrControl != 0 && strings.Contains(t.tokens[id], "unused") {
			t.attrs[id] |= attrUnused
		}
	}
	eog := map[int32]bool{}
	for _, id := range append(fim[:], t.eos, t.eot, t.eom) {
		if id >= 0 {
			eog[id] = true
		}
	}
	for _, s := range eogTexts {
		if id, ok := ids[s]; ok {
			eog[id] = true
			control(id)
		}
	}
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := ids[s]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	// gpt-oss / solar-open: <|end|> ends a message, not the generation.
	has := func(s string) bool { id, ok := ids[s]; return ok && eog[id] }
	if has("<|end|>") && ((has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>"))) {
		id := ids["<|end|>"]
		delete(eog, id)
		t.attrs[id] = attrUserDefined
	}
	// Gemma 4 / PaddleOCR: </s> is not an end of generation there.
	if has("<|tool_response>") && has("</s>") {
		id := ids["</s>"]
		delete(eog, id)
		t.attrs[id] = attrNormal
	}
	for id := range eog {
		t.eog = append(t.eog, id)
	}
	sort.Slice(t.eog, func(i, j int) bool { return t.eog[i] < t.eog[j] })
}

func (t *Tokenizer) state() *encodeState {
	if st, ok := t.states.Get().(*encodeState); ok {
		return st
	}
	return &encodeState{}
}

// Encode returns the token ids of text. Invalid UTF-8 is encoded byte by byte
// (byte-level BPE keeps every byte; SPM falls back to <0xXX> tokens); Encode
// never fails. The result is a new slice owned by the caller.
func (t *Tokenizer) Encode(text string, opts EncodeOptions) []int32 {
	st := t.state()
	defer t.states.Put(st)

	out := make([]int32, 0, len(text)/3+4)
	if opts.AddSpecial && (t.addBOS || t.kind == kindWPM) && t.bos != None {
		out = append(out, t.bos)
	}
	st.frags = t.special.partition(st.frags[:0], text, opts.ParseSpecial)
	prevSpecial := true
	for _, f := range st.frags {
		if f.id >= 0 {
			out = append(out, f.id)
			prevSpecial = true
			continue
		}
		s := text[f.start:f.end]
		if t.normalize != nil {
			s = t.normalize(s)
		}
		switch t.kind {
		case kindBPE:
			for _, p := range t.pre.apply(s, span{0, len(s)}, st) {
				out = t.encodeWord(out, s[p.start:p.end], st)
			}
		case kindSPM:
			out = t.encodeSPM(out, s, t.addSpacePrefix && prevSpecial, st)
		case kindWPM:
			out = t.encodeWPM(out, s)
		}
		prevSpecial = false
	}
	if opts.AddSpecial {
		if t.addEOS && t.eos != None {
			out = append(out, t.eos)
		}
		if t.kind == kindWPM && t.sep != None {
			out = append(out, t.sep)
		}
	}
	return out
}

// VocabSize returns the number of tokens; valid ids are [0, VocabSize()).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence id, or None.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence id, or None.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn id (given or detected by text), or None.
func (t *Tokenizer) EOT() int32 { return t.eot }

// PAD returns the padding id, or None.
func (t *Tokenizer) PAD() int32 { return t.pad }

// UNK returns the unknown-token id, or None.
func (t *Tokenizer) UNK() int32 { return t.unk }

// AddBOS reports whether Encode with AddSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS && t.bos != None }

// AddEOS reports whether Encode with AddSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS && t.eos != None }

// EOG returns the ids that end generation, sorted. The slice is shared; do
// not modify it.
func (t *Tokenizer) EOG() []int32 { return t.eog }

// IsEOG reports whether id ends generation: EOS, EOT, EOM and the tokens
// llama.cpp recognizes by text (<|im_end|>, <|eot_id|>, <｜end▁of▁sentence｜>, …).
func (t *Tokenizer) IsEOG(id int32) bool {
	i := sort.Search(len(t.eog), func(i int) bool { return t.eog[i] >= id })
	return i < len(t.eog) && t.eog[i] == id
}

// TokenText returns the token's text as stored in the vocabulary (byte
// alphabet for BPE, U+2581 for SPM spaces), or "" for an id out of range.
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenType returns the token's type (control tokens detected by llama.cpp's
// text rules included), or TypeUndefined for an id out of range.
func (t *Tokenizer) TokenType(id int32) TokenType {
	if id < 0 || int(id) >= len(t.tokens) {
		return TypeUndefined
	}
	a := t.attrs[id]
	switch {
	case a&attrControl != 0:
		return TypeControl
	case a&attrUserDefined != 0:
		return TypeUserDefined
	case a&attrUnknown != 0:
		return TypeUnknown
	case a&attrByte != 0:
		return TypeByte
	case a&attrUnused != 0:
		return TypeUnused
	case a&attrNormal != 0:
		return TypeNormal
	}
	return TypeUndefined
}

// IsControl reports whether id is a control or unknown-type token, whose text
// Decode with SkipSpecial leaves out.
func (t *Tokenizer) IsControl(id int32) bool {
	return id >= 0 && int(id) < len(t.attrs) && t.attrs[id]&(attrControl|attrUnknown) != 0
}
