package hf

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

func loadHF(t testing.TB, dir string) *tokenizer.Tokenizer {
	t.Helper()
	tj, err := os.ReadFile(testutil.SharedFile(t, filepath.Join("tokenizers", dir, "tokenizer.json")))
	if err != nil {
		t.Fatal(err)
	}
	cj, err := os.ReadFile(testutil.SharedFile(t, filepath.Join("tokenizers", dir, "tokenizer_config.json")))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromHF(tj, cj)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type vocabCase struct {
	text string
	want []int32
}

func readCases(t testing.TB, inpPath, outPath string) []vocabCase {
	t.Helper()
	inp, err := os.ReadFile(inpPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var texts []string
	for s := string(inp); len(s) > 0; {
		i := strings.Index(s, sep)
		if i < 0 {
			t.Fatalf("%s: trailing text without separator", inpPath)
		}
		texts = append(texts, s[:i])
		s = s[i+len(sep):]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d inputs, %d output lines", inpPath, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, text := range texts {
		cases[i].text = text
		for _, f := range strings.Fields(lines[i]) {
			v, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				t.Fatalf("%s line %d: %v", outPath, i+1, err)
			}
			cases[i].want = append(cases[i].want, int32(v))
		}
	}
	return cases
}

func equal(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVectors runs llama.cpp's vectors (and the derived DeepSeek-V3 ones)
// through the matching Hugging Face tokenizer.json files.
func TestVectors(t *testing.T) {
	data := testutil.SharedTestdata(t)
	tests := []struct {
		tokenizer string
		inp       string // path under shared/testdata, without .inp/.out
	}{
		{"qwen3", "vocab/ggml-vocab-qwen2.gguf"},
		{"qwen3", "vocab/ggml-vocab-deepseek-r1-qwen.gguf"},
		{"llama3", "vocab/ggml-vocab-llama-bpe.gguf"},
		{"deepseek_v3", "tokenizers/deepseek_v3/derived/deepseek-v3"},
	}
	cache := map[string]*tokenizer.Tokenizer{}
	for _, tc := range tests {
		t.Run(tc.tokenizer+"/"+filepath.Base(tc.inp), func(t *testing.T) {
			tok := cache[tc.tokenizer]
			if tok == nil {
				tok = loadHF(t, tc.tokenizer)
				cache[tc.tokenizer] = tok
			}
			base := filepath.Join(data, tc.inp)
			cases := readCases(t, base+".inp", base+".out")
			pass := 0
			for i, c := range cases {
				got := tok.Encode(c.text, tokenizer.EncodeOptions{})
				if equal(got, c.want) {
					pass++
					continue
				}
				t.Errorf("case %d %q:\n got %v\nwant %v", i, c.text, got, c.want)
			}
			t.Logf("%d/%d exact", pass, len(cases))
		})
	}
}

// FuzzFromHF: arbitrary tokenizer.json / tokenizer_config.json bytes give a
// tokenizer or an error, never a panic.
func FuzzFromHF(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"added_tokens":[{"id":3,"content":"<s>","special":true}],"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\p{N}{1,3}"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]},"normalizer":{"type":"NFC"}}`),
		[]byte(`{"bos_token":"<s>","add_bos_token":true}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[["a","b"]]}}`), []byte(nil))
	f.Fuzz(func(t *testing.T, tj, cj []byte) {
		tok, err := FromHF(tj, cj)
		if err != nil {
			return
		}
		ids := tok.Encode("ab <s> 12345 \xff", tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
		tok.Decode(ids)
	})
}

// TestSpecials checks BOS/EOS/EOG and special-token parsing as read from
// tokenizer_config.json and added_tokens.
func TestSpecials(t *testing.T) {
	ds := loadHF(t, "deepseek_v3")
	if ds.BOS() != 0 || ds.EOS() != 1 || !ds.AddBOS() || !ds.IsEOG(1) || ds.IsEOG(0) {
		t.Errorf("deepseek_v3: BOS %d EOS %d AddBOS %v IsEOG(1) %v IsEOG(0) %v", ds.BOS(), ds.EOS(), ds.AddBOS(), ds.IsEOG(1), ds.IsEOG(0))
	}
	ids := ds.Encode("<｜User｜>Hi<｜Assistant｜>", tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if len(ids) < 4 || ids[0] != 0 || ids[1] != 128803 || ids[len(ids)-1] != 128804 {
		t.Errorf("deepseek_v3 chat prefix: got %v, want [0 128803 … 128804]", ids)
	}
	qw := loadHF(t, "qwen3")
	if qw.BOS() != tokenizer.None || qw.AddBOS() || qw.EOS() != 151645 || !qw.IsEOG(151645) || !qw.IsEOG(151643) {
		t.Errorf("qwen3: BOS %d AddBOS %v EOS %d", qw.BOS(), qw.AddBOS(), qw.EOS())
	}
	if ids := qw.Encode("<think>\nx</think>", tokenizer.EncodeOptions{ParseSpecial: true}); ids[0] != 151667 || ids[len(ids)-1] != 151668 {
		t.Errorf("qwen3 <think>: got %v", ids)
	}
}

func TestBadJSON(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"not json", `{`, "tokenizer.json"},
		{"wordpiece", `{"model":{"type":"WordPiece","vocab":{}}}`, "WordPiece"},
		{"split merged", `{"model":{"type":"BPE","vocab":{"a":0}},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"a"},"behavior":"MergedWithPrevious"}}`, "MergedWithPrevious"},
		{"bad merge", `{"model":{"type":"BPE","vocab":{"a":0},"merges":["abc"]}}`, "abc"},
		{"bad regex", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(["},"behavior":"Isolated"}}`, "(["},
		{"metaspace", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Metaspace"}}`, "Metaspace"},
		{"unknown bos", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`, "<nope>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg []byte
			if tc.name == "unknown bos" {
				cfg = []byte(`{"bos_token":"<nope>"}`)
			}
			_, err := FromHF([]byte(tc.json), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
