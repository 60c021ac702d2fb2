package tokenizer

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

var (
	vocabMu    sync.Mutex
	vocabCache = map[string]*Tokenizer{}
)

// vocab loads ggml-vocab-<name>.gguf once per test binary.
func vocab(t testing.TB, name string) *Tokenizer {
	t.Helper()
	vocabMu.Lock()
	defer vocabMu.Unlock()
	if tok, ok := vocabCache[name]; ok {
		return tok
	}
	tok := loadGGUF(t, testutil.SharedFile(t, filepath.Join("vocab", "ggml-vocab-"+name+".gguf")))
	vocabCache[name] = tok
	return tok
}

// writeGGUF writes a small vocab-only GGUF with the given keys.
func writeGGUF(t *testing.T, kv map[string]any) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	for k, v := range kv {
		w.AddKV(k, v)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.ParseBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBadMetadata(t *testing.T) {
	tiny := map[string]any{
		"tokenizer.ggml.tokens": []string{"a", "b", "ab"},
		"tokenizer.ggml.merges": []string{"a b"},
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range tiny {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		kv   map[string]any
		want []string
		is   error
	}{
		{"unknown pre", with(map[string]any{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "no-such-pre"}),
			[]string{`"no-such-pre"`, "qwen2", "deepseek-v3", "llama-bpe"}, nil},
		{"unknown model", with(map[string]any{"tokenizer.ggml.model": "t5"}), []string{`"t5"`}, ErrUnsupportedModel},
		{"no model", map[string]any{"tokenizer.ggml.tokens": []string{"a"}}, []string{"tokenizer.ggml.model"}, gguf.ErrKeyNotFound},
		{"no merges", map[string]any{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": []string{"a"}},
			[]string{"tokenizer.ggml.merges"}, nil},
		{"bad merge", with(map[string]any{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.merges": []string{"ab"}}),
			[]string{`"ab"`}, nil},
		{"short types", with(map[string]any{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.token_type": []int32{1}}),
			[]string{"token_type"}, nil},
		{"duplicate token", map[string]any{"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": []string{"a", "a", "b"}},
			[]string{"duplicate"}, nil},
		{"add_bos without bos", with(map[string]any{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.add_bos_token": true}),
			[]string{"BOS"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromGGUF(writeGGUF(t, tc.kv))
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}
}

func TestSpecialTokens(t *testing.T) {
	qwen := vocab(t, "qwen2")
	text := "<|im_start|>user\nhi<|im_end|>"
	parsed := qwen.Encode(text, EncodeOptions{ParseSpecial: true})
	if parsed[0] != 151644 || parsed[len(parsed)-1] != 151645 {
		t.Errorf("ParseSpecial: got %v, want 151644 … 151645", parsed)
	}
	plain := qwen.Encode(text, EncodeOptions{})
	for _, id := range plain {
		if id == 151644 || id == 151645 {
			t.Errorf("without ParseSpecial: got control id %d in %v", id, plain)
		}
	}
	if got := qwen.Decode(parsed); got != text {
		t.Errorf("Decode(parsed) = %q, want %q", got, text)
	}
	if got := qwen.DecodeWith(parsed, DecodeOptions{SkipSpecial: true}); got != "user\nhi" {
		t.Errorf("DecodeWith(SkipSpecial) = %q, want %q", got, "user\nhi")
	}
	for _, id := range []int32{151643, 151645} {
		if !qwen.IsEOG(id) {
			t.Errorf("qwen2 IsEOG(%d) = false", id)
		}
	}
	if qwen.IsEOG(151644) || qwen.IsEOG(0) {
		t.Error("qwen2: <|im_start|> or id 0 is EOG")
	}
	if got := qwen.Encode("hi", EncodeOptions{AddSpecial: true}); len(got) != 1 {
		t.Errorf("qwen2 adds no BOS: got %v", got)
	}

	llama3 := vocab(t, "llama-bpe")
	if got := llama3.Encode("hi", EncodeOptions{AddSpecial: true}); got[0] != 128000 {
		t.Errorf("llama-bpe AddSpecial: got %v, want BOS 128000 first", got)
	}
	for _, id := range []int32{128001, 128009} {
		if !llama3.IsEOG(id) {
			t.Errorf("llama-bpe IsEOG(%d) = false", id)
		}
	}

	// User-defined tokens are matched even without ParseSpecial (mpt's runs of spaces).
	mpt := vocab(t, "mpt")
	ids := mpt.Encode("a"+strings.Repeat(" ", 10)+"b", EncodeOptions{})
	found := false
	for _, id := range ids {
		found = found || mpt.TokenType(id) == TypeUserDefined
	}
	if !found {
		t.Errorf("mpt: no user-defined space token in %v", ids)
	}

	spm := vocab(t, "llama-spm")
	got := spm.Encode("Hello world", EncodeOptions{AddSpecial: true})
	if got[0] != 1 || spm.BOS() != 1 || spm.EOS() != 2 || !spm.AddBOS() || spm.AddEOS() {
		t.Errorf("llama-spm: got %v, BOS %d EOS %d addBOS %v addEOS %v", got, spm.BOS(), spm.EOS(), spm.AddBOS(), spm.AddEOS())
	}
	if got := spm.Decode(got[1:]); got != "Hello world" {
		t.Errorf("llama-spm Decode = %q", got)
	}
	if a, b := spm.Encode("Hello", EncodeOptions{}), spm.Encode(" Hello", EncodeOptions{}); equalIDs(a, b) {
		t.Errorf("llama-spm: leading space ignored: %v", a)
	}
}

// TestInvalidUTF8 checks that arbitrary bytes encode without panic and, for
// byte-level and byte-fallback vocabularies, decode back unchanged.
func TestInvalidUTF8(t *testing.T) {
	inputs := []string{"\xff", "\xe4\xb8", "ab\xe4\xb8cd", "\x80\x80 \xc0\xaf", "\xf0\x9f\xa6", "ok\xffok 中\xe4文"}
	for _, name := range []string{"qwen2", "llama-bpe", "deepseek-llm", "deepseek-coder", "falcon", "llama-spm", "phi-3", "mpt"} {
		tok := vocab(t, name)
		for _, s := range inputs {
			ids := tok.Encode(s, EncodeOptions{ParseSpecial: true})
			if !bytesRepresentable(tok, s) {
				continue
			}
			if got := tok.Decode(ids); got != s {
				t.Errorf("%s: Decode(Encode(%q)) = %q", name, s, got)
			}
		}
	}
	bert := vocab(t, "bert-bge")
	for _, s := range inputs {
		bert.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: true})
	}
}

// TestHeapMerge reruns the BPE vectors with every piece merged by the heap.
func TestHeapMerge(t *testing.T) {
	old := smallWord
	smallWord = 0
	defer func() { smallWord = old }()
	for _, name := range []string{"qwen2", "llama-bpe", "deepseek-llm", "mpt"} {
		path := testutil.SharedFile(t, filepath.Join("vocab", "ggml-vocab-"+name+".gguf"))
		cases := readVocabCases(t, path+".inp", path+".out")
		tok := loadGGUF(t, path)
		tok.cache = nil // every piece must go through the heap
		if pass := checkCases(t, tok, cases); pass != len(cases) {
			t.Errorf("%s: %d/%d with heap merges", name, pass, len(cases))
		}
	}
}

// TestSPMUnsplit reruns the SentencePiece vectors with the text segmented
// whole (no chunking at spaces, no cache), as llama.cpp does.
func TestSPMUnsplit(t *testing.T) {
	for _, name := range []string{"llama-spm", "phi-3"} {
		path := testutil.SharedFile(t, filepath.Join("vocab", "ggml-vocab-"+name+".gguf"))
		cases := readVocabCases(t, path+".inp", path+".out")
		tok := loadGGUF(t, path)
		if !tok.spmSplit {
			t.Errorf("%s: expected a splittable vocabulary", name)
		}
		tok.spmSplit, tok.cache = false, nil
		if pass := checkCases(t, tok, cases); pass != len(cases) {
			t.Errorf("%s: %d/%d unsplit", name, pass, len(cases))
		}
	}
}

// TestExtraVectors runs vector files that share a GGUF with another name:
// deepseek-r1-qwen has Qwen2's BPE vocabulary.
func TestExtraVectors(t *testing.T) {
	inp := testutil.SharedFile(t, "vocab/ggml-vocab-deepseek-r1-qwen.gguf.inp")
	cases := readVocabCases(t, inp, strings.TrimSuffix(inp, ".inp")+".out")
	pass := checkCases(t, vocab(t, "qwen2"), cases)
	t.Logf("deepseek-r1-qwen vectors on the qwen2 vocab: %d/%d exact", pass, len(cases))
}

func TestStreamDecoder(t *testing.T) {
	tok := vocab(t, "qwen2")
	b := func(s string) []int32 { // one byte token per byte
		var ids []int32
		for i := 0; i < len(s); i++ {
			ids = append(ids, tok.byteTok[s[i]])
		}
		return ids
	}
	tests := []struct {
		name string
		ids  []int32
		want []string // output after each Add, then Flush
	}{
		{"ascii", b("hi"), []string{"h", "i", ""}},
		{"split 3-byte", b("中"), []string{"", "", "中", ""}},
		{"split emoji", b("🦙!"), []string{"", "", "", "🦙", "!", ""}},
		{"invalid byte", b("\xffa"), []string{"\uFFFD", "a", ""}},
		{"truncated at end", b("a\xe4\xb8"), []string{"a", "", "", "\uFFFD\uFFFD"}},
		{"bad continuation", b("\xe4a"), []string{"", "\uFFFDa", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tok.NewStreamDecoder()
			var got []string
			for _, id := range tc.ids {
				got = append(got, d.Add(id))
			}
			got = append(got, d.Flush())
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Real tokens of mixed text: every chunk is valid UTF-8 and they add up.
	text := "héllo 世界🦙 — ok\n"
	d := tok.NewStreamDecoder()
	var sb strings.Builder
	for _, id := range tok.Encode(text, EncodeOptions{}) {
		chunk := d.Add(id)
		if !utf8.ValidString(chunk) {
			t.Errorf("chunk %q is not valid UTF-8", chunk)
		}
		sb.WriteString(chunk)
	}
	sb.WriteString(d.Flush())
	if sb.String() != text {
		t.Errorf("stream = %q, want %q", sb.String(), text)
	}
	d.SkipSpecial = true
	if got := d.Add(151645); got != "" {
		t.Errorf("SkipSpecial: <|im_end|> gave %q", got)
	}
}

// TestConcurrentEncode encodes the vectors from several goroutines at once
// (run with -race).
func TestConcurrentEncode(t *testing.T) {
	for _, name := range []string{"qwen2", "llama-spm", "deepseek-llm", "qwen2+regexp2"} {
		base, viaRegex := strings.CutSuffix(name, "+regexp2")
		path := testutil.SharedFile(t, filepath.Join("vocab", "ggml-vocab-"+base+".gguf"))
		tok := vocab(t, base)
		if viaRegex { // the regexp2 path must be safe for concurrent use too
			tok = loadGGUF(t, path)
			pre, err := compilePre([]string{exprQwen2}, true)
			if err != nil {
				t.Fatal(err)
			}
			tok.pre = pre
		}
		cases := readVocabCases(t, path+".inp", path+".out")
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for rep := 0; rep < 5; rep++ {
					for i := range cases {
						c := cases[(i+g*7)%len(cases)]
						if got := tok.Encode(c.text, EncodeOptions{}); !equalIDs(got, c.want) {
							select {
							case errs <- name + ": " + c.text:
							default:
							}
							return
						}
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("concurrent mismatch: %q", e)
		}
	}
}

func TestTokenAccessors(t *testing.T) {
	tok := vocab(t, "llama-spm")
	if tok.VocabSize() != 32000 {
		t.Errorf("VocabSize = %d", tok.VocabSize())
	}
	if tok.TokenText(-1) != "" || tok.TokenText(32000) != "" || tok.Piece(99999) != "" {
		t.Error("out-of-range ids must give empty text")
	}
	if got := tok.Piece(tok.spmByte['\n']); got != "\n" {
		t.Errorf("Piece(<0x0A>) = %q", got)
	}
	if tok.TokenType(1) != TypeControl || tok.TokenType(tok.spmByte['A']) != TypeByte {
		t.Errorf("TokenType: <s> %v, <0x41> %v", tok.TokenType(1), tok.TokenType(tok.spmByte['A']))
	}
	if got := tok.Decode([]int32{-5, 1 << 30}); got != "" {
		t.Errorf("Decode(bad ids) = %q", got)
	}
}

// bytesRepresentable reports whether every byte of s that is not part of a
// valid UTF-8 character has a byte token that decodes to that byte. Some
// byte-level vocabularies lack tokens for bytes that never occur in UTF-8
// (falcon, gpt-neox) or reuse them as user-defined Latin-1 letters
// (deepseek-llm, deepseek-coder: "ÿ" is both byte 0xFF and the letter).
func bytesRepresentable(tok *Tokenizer, s string) bool {
	if tok.kind != kindBPE {
		return true
	}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			id := tok.byteTok[s[i]]
			if int(id) >= len(tok.tokens) || tok.Piece(id) != s[i:i+1] {
				return false
			}
		}
		i += w
	}
	return true
}

// TestStories260K: the prompt ids of models/stories260K.greedy.json (with BOS).
func TestStories260K(t *testing.T) {
	tok := loadGGUF(t, testutil.SharedFile(t, "models/stories260K.gguf"))
	got := tok.Encode("Once upon a time", EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if want := []int32{1, 403, 407, 261, 378}; !equalIDs(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if s := tok.DecodeWith(got, DecodeOptions{SkipSpecial: true}); s != " Once upon a time" {
		t.Errorf("DecodeWith(SkipSpecial) = %q", s)
	}
}
