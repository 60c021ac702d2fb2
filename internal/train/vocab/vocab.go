// Package vocab fits a byte-level BPE vocabulary to a corpus and writes it
// as GGUF tokenizer metadata (tokenizer.ggml.model "gpt2") that the engine's
// tokenizer (internal/tokenizer.FromGGUF) loads unchanged. The r1-tiny
// recipe fits one to its generated addition traces (internal/train/addition)
// and stores it, with the DeepSeek-R1 chat template, in the model it trains.
//
// A Vocab holds the 256 byte tokens (ids 0–255, in byte order, so that any
// text encodes), then one token per learned merge in merge order, then the
// special tokens. Merges are learned as in Sennrich et al. 2016 and GPT-2:
// the corpus is cut into the pieces the engine's pre-tokenizer makes (the
// special tokens cut out first, see tokenizer.PreTokenize), and the most
// frequent adjacent pair of symbols within a piece is merged, again and
// again.
package vocab

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// Special is a special token: matched in text before pre-tokenization and
// never merged.
type Special struct {
	Text string
	// Type is tokenizer.TypeControl (matched only when the caller parses
	// special tokens, left out by DecodeOptions.SkipSpecial; BOS, EOS, chat
	// role markers) or tokenizer.TypeUserDefined (always matched, always
	// decoded as its text; R1's <think> and </think>).
	Type tokenizer.TokenType
}

// The DeepSeek-R1 special tokens R1Specials returns.
const (
	R1BOS        = "<｜begin▁of▁sentence｜>"
	R1EOS        = "<｜end▁of▁sentence｜>"
	R1User       = "<｜User｜>"
	R1Assistant  = "<｜Assistant｜>"
	R1ThinkOpen  = "<think>"
	R1ThinkClose = "</think>"
)

// R1Specials returns the special tokens of the DeepSeek-R1 chat format, typed
// as in R1's own GGUF files: BOS, EOS and the two role markers are control
// tokens, <think> and </think> user-defined ones, so that a model's
// reasoning tags reach the chat layer's <think> splitter as text.
func R1Specials() []Special {
	return []Special{
		{R1BOS, tokenizer.TypeControl},
		{R1EOS, tokenizer.TypeControl},
		{R1User, tokenizer.TypeControl},
		{R1Assistant, tokenizer.TypeControl},
		{R1ThinkOpen, tokenizer.TypeUserDefined},
		{R1ThinkClose, tokenizer.TypeUserDefined},
	}
}

// Options controls Fit.
type Options struct {
	// Size is the largest vocabulary, counting the 256 byte tokens, the
	// merged tokens and the specials. Fit stops earlier when no pair of
	// symbols occurs at least twice in the corpus.
	Size int
	// Pre is the tokenizer.ggml.pre name; it must be one the engine
	// supports (tokenizer.PreTypes). For arithmetic pick one whose
	// expression splits numbers digit by digit, "qwen2" or
	// "deepseek-r1-qwen", so that every digit is its own token.
	Pre string
	// Specials are the special tokens, given ids after the merged tokens in
	// this order. Their texts must be distinct and non-empty.
	Specials []Special
	// BOS and EOS name the specials (by text) stored as
	// tokenizer.ggml.bos_token_id and eos_token_id; "" stores none.
	BOS, EOS string
	// AddBOS is stored as tokenizer.ggml.add_bos_token: whether encoding
	// with AddSpecial prepends BOS. Leave it false when prompts come from a
	// chat template that writes the BOS text itself (R1's does), or the
	// prompt gets two.
	AddBOS bool
}

// Vocab is a fitted byte-level BPE vocabulary, in GGUF's terms.
type Vocab struct {
	Pre    string   // tokenizer.ggml.pre
	Tokens []string // tokenizer.ggml.tokens, by id; normal tokens in GPT-2's byte alphabet
	Types  []int32  // tokenizer.ggml.token_type, by id (tokenizer.TokenType values)
	Merges []string // tokenizer.ggml.merges, "left right" in the byte alphabet, highest priority first
	BOS    int32    // tokenizer.ggml.bos_token_id, or tokenizer.None
	EOS    int32    // tokenizer.ggml.eos_token_id, or tokenizer.None
	AddBOS bool     // tokenizer.ggml.add_bos_token
}

// Fit learns a vocabulary from corpus. Each text is cut by the special
// tokens (control ones included: the corpus is read as rendered prompts
// are) and pre-tokenized as the engine does with o.Pre; then, while the
// vocabulary is below o.Size, the adjacent pair of symbols that occurs
// most often within the pieces (counting every occurrence in every text)
// becomes a merge and, unless its text is already a token, a new token.
// Ties go to the pair whose left, then right, symbol is smaller as bytes,
// so the result depends only on the multiset of texts, not on their order
// or on the machine. It stops when the best pair occurs fewer than twice.
//
// Cost: each merge recounts the pairs of every distinct piece, so
// O(merges × total bytes of distinct pieces); fine for generated corpora
// and a few hundred merges.
func Fit(corpus []string, o Options) (*Vocab, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	base, err := o.vocab(nil, nil)
	if err != nil {
		return nil, err
	}
	pre, err := base.Tokenizer()
	if err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}

	counts := map[string]int{}
	for _, text := range corpus {
		for _, p := range pre.PreTokenize(text, true) {
			counts[p]++
		}
	}
	ws := make([]word, 0, len(counts))
	for p, c := range counts {
		w := word{syms: make([]int32, len(p)), count: c}
		for i := 0; i < len(p); i++ {
			w.syms[i] = int32(p[i])
		}
		ws = append(ws, w)
	}

	// raw[id] is the bytes symbol id stands for; ids index raw.
	raw := make([]string, 256, o.Size)
	toID := make(map[string]int32, o.Size)
	for b := range raw {
		raw[b] = string([]byte{byte(b)})
		toID[raw[b]] = int32(b)
	}
	var merges [][2]int32
	pairs := map[[2]int32]int{}
	for len(raw)+len(o.Specials) < o.Size {
		clear(pairs)
		for _, w := range ws {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]int32{w.syms[i], w.syms[i+1]}] += w.count
			}
		}
		best, bestN := [2]int32{}, 0
		for pr, n := range pairs {
			if n > bestN || n == bestN && pairLess(raw, pr, best) {
				best, bestN = pr, n
			}
		}
		if bestN < 2 {
			break
		}
		text := raw[best[0]] + raw[best[1]]
		id, ok := toID[text]
		if !ok {
			id = int32(len(raw))
			raw = append(raw, text)
			toID[text] = id
		}
		merges = append(merges, best)
		for i := range ws {
			ws[i].merge(best, id)
		}
	}
	return o.vocab(raw[256:], mergeTexts(raw, merges))
}

// word is one distinct pre-tokenized piece: its current symbols and how
// often it occurs in the corpus.
type word struct {
	syms  []int32
	count int
}

// merge replaces every non-overlapping occurrence of pair, left to right,
// by id.
func (w *word) merge(pair [2]int32, id int32) {
	out := w.syms[:0]
	for i := 0; i < len(w.syms); i++ {
		if i+1 < len(w.syms) && w.syms[i] == pair[0] && w.syms[i+1] == pair[1] {
			out = append(out, id)
			i++
			continue
		}
		out = append(out, w.syms[i])
	}
	w.syms = out
}

// pairLess orders pairs by their left symbol's bytes, then their right's.
func pairLess(raw []string, a, b [2]int32) bool {
	if raw[a[0]] != raw[b[0]] {
		return raw[a[0]] < raw[b[0]]
	}
	return raw[a[1]] < raw[b[1]]
}

func mergeTexts(raw []string, merges [][2]int32) []string {
	out := make([]string, len(merges))
	for i, m := range merges {
		out[i] = tokenizer.ByteLevelText(raw[m[0]]) + " " + tokenizer.ByteLevelText(raw[m[1]])
	}
	return out
}

// check validates o.
func (o Options) check() error {
	if o.Size < 256+len(o.Specials) {
		return fmt.Errorf("vocab: size %d is below the 256 byte tokens and %d specials", o.Size, len(o.Specials))
	}
	seen := map[string]bool{}
	for _, s := range o.Specials {
		switch {
		case s.Text == "":
			return errors.New("vocab: a special token has no text")
		case seen[s.Text]:
			return fmt.Errorf("vocab: special token %q given twice", s.Text)
		case s.Type != tokenizer.TypeControl && s.Type != tokenizer.TypeUserDefined:
			return fmt.Errorf("vocab: special token %q has type %d, want control (%d) or user-defined (%d)",
				s.Text, s.Type, tokenizer.TypeControl, tokenizer.TypeUserDefined)
		}
		seen[s.Text] = true
	}
	for _, name := range []struct{ what, text string }{{"BOS", o.BOS}, {"EOS", o.EOS}} {
		if name.text != "" && !seen[name.text] {
			return fmt.Errorf("vocab: %s %q is not one of the special tokens", name.what, name.text)
		}
	}
	if o.AddBOS && o.BOS == "" {
		return errors.New("vocab: AddBOS is set but there is no BOS")
	}
	return nil
}

// vocab assembles the vocabulary of o with the given merged tokens (raw
// bytes, in id order from 256) and merges.
func (o Options) vocab(merged []string, merges []string) (*Vocab, error) {
	v := &Vocab{Pre: o.Pre, BOS: tokenizer.None, EOS: tokenizer.None, AddBOS: o.AddBOS, Merges: merges}
	if v.Merges == nil {
		v.Merges = []string{}
	}
	add := func(text string, ty tokenizer.TokenType) {
		v.Tokens = append(v.Tokens, text)
		v.Types = append(v.Types, int32(ty))
	}
	for b := 0; b < 256; b++ {
		add(tokenizer.ByteLevelText(string([]byte{byte(b)})), tokenizer.TypeNormal)
	}
	for _, m := range merged {
		add(tokenizer.ByteLevelText(m), tokenizer.TypeNormal)
	}
	for _, s := range o.Specials {
		id := int32(len(v.Tokens))
		switch s.Text {
		case o.BOS:
			v.BOS = id
		case o.EOS:
			v.EOS = id
		}
		add(s.Text, s.Type)
	}
	// A special written like a byte-level token would be a duplicate.
	seen := make(map[string]bool, len(v.Tokens))
	for _, t := range v.Tokens {
		if seen[t] {
			return nil, fmt.Errorf("vocab: token %q occurs twice", t)
		}
		seen[t] = true
	}
	return v, nil
}

// AddTo writes v as tokenizer metadata into w: tokenizer.ggml.model
// ("gpt2"), pre, tokens, token_type, merges, bos_token_id and eos_token_id
// (uint32; an int32 -1 when absent, which the engine reads as none),
// add_bos_token,
// add_eos_token (false) and, when chatTemplate is not empty,
// tokenizer.chat_template. w keeps references to v's slices until written.
func (v *Vocab) AddTo(w *gguf.Writer, chatTemplate string) {
	w.AddKV("tokenizer.ggml.model", tokenizer.ModelBPE)
	w.AddKV("tokenizer.ggml.pre", v.Pre)
	w.AddKV("tokenizer.ggml.tokens", v.Tokens)
	w.AddKV("tokenizer.ggml.token_type", v.Types)
	w.AddKV("tokenizer.ggml.merges", v.Merges)
	for _, id := range []struct {
		key string
		id  int32
	}{{"tokenizer.ggml.bos_token_id", v.BOS}, {"tokenizer.ggml.eos_token_id", v.EOS}} {
		if id.id >= 0 {
			w.AddKV(id.key, uint32(id.id)) // llama.cpp's type for token ids
		} else {
			w.AddKV(id.key, int32(-1)) // absent: without the key the engine would assume id 11
		}
	}
	w.AddKV("tokenizer.ggml.add_bos_token", v.AddBOS)
	w.AddKV("tokenizer.ggml.add_eos_token", false)
	if chatTemplate != "" {
		w.AddKV("tokenizer.chat_template", chatTemplate)
	}
}

// Tokenizer returns the engine's tokenizer for v, built the way the engine
// builds it from a model file: v's metadata is written into an in-memory
// GGUF, parsed back and given to tokenizer.FromGGUF.
func (v *Vocab) Tokenizer() (*tokenizer.Tokenizer, error) {
	w := gguf.NewWriter()
	v.AddTo(w, "")
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	f, err := gguf.ParseBytes(buf.Bytes())
	if err != nil {
		return nil, err
	}
	return tokenizer.FromGGUF(f)
}

// Size returns the number of tokens.
func (v *Vocab) Size() int { return len(v.Tokens) }
