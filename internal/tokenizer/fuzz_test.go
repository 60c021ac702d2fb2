package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
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
