package tokenizer

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sputnik-llm/sputnik/internal/gguf"
)

// FuzzRoundTrip: Encode never panics on any bytes, with or without special
// parsing, and Decode(Encode(s)) == s on the vocabularies where that holds:
// byte-level BPE (qwen2: scanner path; deepseek-llm: regexp2 path) for every
// byte it can represent, and SentencePiece with byte fallback (llama-spm) for
// text without U+2581, which it reads as a space.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range scanSamples {
		f.Add(s)
	}
	f.Add("<|im_start|>user\nhi<|im_end|>")
	f.Add("<｜begin▁of▁sentence｜>x<s></s>")
	vocabs := []*Tokenizer{vocab(f, "qwen2"), vocab(f, "deepseek-llm"), vocab(f, "llama-spm")}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range vocabs {
			for _, parse := range []bool{false, true} {
				ids := tok.Encode(s, EncodeOptions{ParseSpecial: parse, AddSpecial: parse})
				for _, id := range ids {
					if id < 0 || int(id) >= tok.VocabSize() {
						t.Fatalf("id %d out of range", id)
					}
				}
				if parse {
					continue
				}
				if tok.kind == kindSPM && strings.Contains(s, spaceMark) {
					continue
				}
				if !bytesRepresentable(tok, s) {
					continue
				}
				if got := tok.Decode(ids); got != s {
					t.Fatalf("Decode(Encode(%q)) = %q (ids %v)", s, got, ids)
				}
			}
			d := tok.NewStreamDecoder()
			for _, id := range tok.Encode(s, EncodeOptions{}) {
				if c := d.Add(id); !utf8.ValidString(c) {
					t.Fatalf("stream chunk %q is not valid UTF-8", c)
				}
			}
			if c := d.Flush(); !utf8.ValidString(c) {
				t.Fatalf("flushed %q is not valid UTF-8", c)
			}
		}
	})
}

// FuzzFromGGUF: building a tokenizer from arbitrary GGUF metadata never
// panics, and a tokenizer that builds can encode and decode without panics.
func FuzzFromGGUF(f *testing.F) {
	seed := func(kv map[string]any) {
		w := gguf.NewWriter()
		for k, v := range kv {
			w.AddKV(k, v)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err == nil {
			f.Add(buf.Bytes())
		}
	}
	seed(map[string]any{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2",
		"tokenizer.ggml.tokens": []string{"a", "b", "ab", "Ġ", "<|x|>"}, "tokenizer.ggml.merges": []string{"a b", "Ġ a"},
		"tokenizer.ggml.token_type": []int32{1, 1, 1, 1, 3}, "tokenizer.ggml.bos_token_id": uint32(4)})
	seed(map[string]any{"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": []string{"<unk>", "<s>", "</s>", "▁a", "<0x41>"},
		"tokenizer.ggml.scores": []float32{0, 0, 0, -1, -2}, "tokenizer.ggml.token_type": []int32{2, 3, 3, 1, 6}})
	seed(map[string]any{"tokenizer.ggml.model": "bert", "tokenizer.ggml.tokens": []string{"[PAD]", "▁a", "b"}})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := gguf.ParseBytes(data)
		if err != nil {
			return
		}
		tok, err := FromGGUF(g)
		if err != nil {
			return
		}
		for _, s := range []string{"", "a b ab", "<|x|>a", "\xff\xfeA"} {
			ids := tok.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: true})
			tok.Decode(ids)
		}
	})
}
