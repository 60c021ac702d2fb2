package hf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// writeVocabGGUF converts a tokenizer.json into a vocab-only GGUF the way
// llama.cpp's converter lays it out (tokens, token types, "a b" merges,
// tokenizer.ggml.pre), so that FromGGUF's pre-tokenizer table can be checked
// against vectors for which no upstream vocab GGUF exists (deepseek-v3).
func writeVocabGGUF(t *testing.T, dir, pre string) string {
	t.Helper()
	raw, err := os.ReadFile(testutil.SharedFile(t, filepath.Join("tokenizers", dir, "tokenizer.json")))
	if err != nil {
		t.Fatal(err)
	}
	var f file
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	merges, err := parseMerges(f.Model.Merges)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, id := range f.Model.Vocab {
		n = max(n, int(id)+1)
	}
	for _, a := range f.AddedTokens {
		n = max(n, int(a.ID)+1)
	}
	tokens := make([]string, n)
	types := make([]int32, n)
	for text, id := range f.Model.Vocab {
		tokens[id], types[id] = text, int32(tokenizer.TypeNormal)
	}
	for _, a := range f.AddedTokens {
		tokens[a.ID], types[a.ID] = a.Content, int32(tokenizer.TypeUserDefined)
		if a.Special {
			types[a.ID] = int32(tokenizer.TypeControl)
		}
	}
	mstr := make([]string, len(merges))
	for i, m := range merges {
		mstr[i] = m[0] + " " + m[1]
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	w.AddKV("tokenizer.ggml.model", "gpt2")
	w.AddKV("tokenizer.ggml.pre", pre)
	w.AddKV("tokenizer.ggml.tokens", tokens)
	w.AddKV("tokenizer.ggml.token_type", types)
	w.AddKV("tokenizer.ggml.merges", mstr)
	path := filepath.Join(t.TempDir(), dir+".gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGGUFPreTypes checks FromGGUF's expression lists for the DeepSeek-R1
// family's pre types on vocabularies rebuilt from tokenizer.json.
func TestGGUFPreTypes(t *testing.T) {
	data := testutil.SharedTestdata(t)
	tests := []struct{ dir, pre, vectors string }{
		{"deepseek_v3", "deepseek-v3", "tokenizers/deepseek_v3/derived/deepseek-v3"},
		{"qwen3", "deepseek-r1-qwen", "vocab/ggml-vocab-deepseek-r1-qwen.gguf"},
		{"llama3", "llama-bpe", "vocab/ggml-vocab-llama-bpe.gguf"},
	}
	for _, tc := range tests {
		t.Run(tc.pre, func(t *testing.T) {
			path := writeVocabGGUF(t, tc.dir, tc.pre)
			g, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			tok, err := tokenizer.FromGGUF(g)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Join(data, tc.vectors)
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
