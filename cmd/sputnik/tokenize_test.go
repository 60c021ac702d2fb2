package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestTokenizeVectors: with --no-bos --no-special -f FILE, the output for each
// test string equals its line of llama.cpp's .out file (trimmed), for the
// tokenizer of a vocabulary-only GGUF (-m) and of a Hugging Face
// tokenizer.json (--tokenizer-json). Each tokenizer is a subtest, skipped
// alone when its files are absent. The command loads the tokenizer on every
// run (a GGUF vocabulary 0.1-1 s on a busy machine, a tokenizer.json 0.4-4 s,
// 5 times that under -race), and internal/tokenizer and internal/tokenizer/hf
// run every vector without the command, so this checks a dozen cases per
// vocabulary and three per tokenizer.json; with -short, the hardest few.
func TestTokenizeVectors(t *testing.T) {
	vocab := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	// Umlaut, leading space, mixed scripts with emoji and digits, whitespace runs.
	hard, hf := []int{1, 12, 32, 45}, []int{1, 32, 45}
	if testing.Short() {
		vocab, hf = hard, []int{32}
	}
	tests := []struct {
		name    string
		flag    string // -m or --tokenizer-json
		file    string // under shared/testdata
		vectors string // .inp/.out under shared/testdata, without the extension
		cases   []int  // indexes of the vectors to run
	}{
		{"gguf/qwen2", "-m", "vocab/ggml-vocab-qwen2.gguf", "vocab/ggml-vocab-qwen2.gguf", vocab},
		{"gguf/llama-spm", "-m", "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-spm.gguf", vocab},
		{"gguf/deepseek-llm", "-m", "vocab/ggml-vocab-deepseek-llm.gguf", "vocab/ggml-vocab-deepseek-llm.gguf", vocab},
		{"hf/qwen3", "--tokenizer-json", "tokenizers/qwen3/tokenizer.json", "vocab/ggml-vocab-qwen2.gguf", hf},
		{"hf/llama3", "--tokenizer-json", "tokenizers/llama3/tokenizer.json", "vocab/ggml-vocab-llama-bpe.gguf", hf},
		{"hf/deepseek_v3", "--tokenizer-json", "tokenizers/deepseek_v3/tokenizer.json", "tokenizers/deepseek_v3/derived/deepseek-v3", hf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := testutil.SharedFile(t, tc.file)
			inp, err := os.ReadFile(testutil.SharedFile(t, tc.vectors+".inp"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(testutil.SharedFile(t, tc.vectors+".out"))
			if err != nil {
				t.Fatal(err)
			}
			texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
			texts = texts[:len(texts)-1]
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(texts) <= slices.Max(tc.cases) || len(lines) != len(texts) {
				t.Fatalf("%s: %d inputs and %d output lines, want as many and more than %d", tc.vectors, len(texts), len(lines), slices.Max(tc.cases))
			}
			tmp := filepath.Join(t.TempDir(), "in.txt")
			for _, i := range tc.cases {
				text := texts[i]
				if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				code, got, errs := run("tokenize", tc.flag, file, "--no-bos", "--no-special", "-f", tmp)
				if code != 0 {
					t.Fatalf("case %d: exit %d: %s", i, code, errs)
				}
				if strings.TrimSpace(got) != strings.TrimSpace(lines[i]) {
					t.Errorf("case %d %q: got %q, want %q", i, text, strings.TrimSpace(got), strings.TrimSpace(lines[i]))
				}
			}
		})
	}
}

// TestTokenizeHF checks what --tokenizer-json reads besides the vocabulary,
// on a tiny tokenizer.json: BOS from the tokenizer_config.json beside it,
// special-token parsing, and the errors.
func TestTokenizeHF(t *testing.T) {
	// Byte-level BPE over "a", "b", "ab" (ids 0-2), with <s> (3) special.
	const tj = `{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},
		"added_tokens":[{"id":3,"content":"<s>","special":true}],
		"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}}`
	dir, alone := t.TempDir(), t.TempDir()
	for _, f := range []struct{ path, data string }{
		{filepath.Join(dir, "tokenizer.json"), tj},
		{filepath.Join(dir, "tokenizer_config.json"), `{"bos_token":"<s>","add_bos_token":true}`},
		{filepath.Join(alone, "tokenizer.json"), tj},
		{filepath.Join(alone, "bad.json"), "{"},
	} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		args []string
		code int
		out  string // stdout, or a fragment of stderr when code != 0
	}{
		{"config adds BOS", []string{"--tokenizer-json", filepath.Join(dir, "tokenizer.json"), "ab<s>ba"}, 0, "3 2 3 1 0\n"},
		{"--no-bos", []string{"--tokenizer-json", filepath.Join(dir, "tokenizer.json"), "--no-bos", "ab"}, 0, "2\n"},
		{"specials parsed", []string{"--tokenizer-json", filepath.Join(dir, "tokenizer.json"), "--no-bos", "a<s>b"}, 0, "0 3 1\n"},
		// As plain text, "<s>" is three bytes the vocabulary lacks: dropped.
		{"--no-special", []string{"--tokenizer-json", filepath.Join(dir, "tokenizer.json"), "--no-bos", "--no-special", "a<s>b"}, 0, "0 1\n"},
		{"no config: no BOS", []string{"--tokenizer-json", filepath.Join(alone, "tokenizer.json"), "ab"}, 0, "2\n"},
		{"malformed", []string{"--tokenizer-json", filepath.Join(alone, "bad.json"), "ab"}, 1, "hf: tokenizer.json"},
		{"missing", []string{"--tokenizer-json", filepath.Join(alone, "none.json"), "ab"}, 1, "none.json"},
		{"-m too", []string{"--tokenizer-json", filepath.Join(dir, "tokenizer.json"), "-m", "x.gguf", "ab"}, 2, "not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(append([]string{"tokenize"}, tc.args...)...)
			switch {
			case code != tc.code:
				t.Errorf("got exit %d (out %q, stderr %q), want %d", code, out, errs, tc.code)
			case code == 0 && out != tc.out:
				t.Errorf("got %q, want %q", out, tc.out)
			case code != 0 && !strings.Contains(errs, tc.out):
				t.Errorf("got stderr %q, want it to contain %q", errs, tc.out)
			}
		})
	}
}

func TestTokenizeOutputs(t *testing.T) {
	model := testutil.SharedFile(t, "vocab/ggml-vocab-llama-spm.gguf")
	code, out, errs := run("tokenize", "-m", model, "Hello world")
	if code != 0 || out != "1 15043 3186\n" {
		t.Errorf("plain: exit %d, out %q, stderr %q; want \"1 15043 3186\\n\"", code, out, errs)
	}
	code, out, _ = run("tokenize", "-m", model, "--json", "Hello world")
	var ids []int32
	if code != 0 || json.Unmarshal([]byte(out), &ids) != nil || len(ids) != 3 || ids[0] != 1 {
		t.Errorf("--json: exit %d, out %q", code, out)
	}
	code, out, _ = run("tokenize", "-m", model, "--pieces", "--no-bos", "Hello world")
	if code != 0 || out != "15043\t\" Hello\"\n3186\t\" world\"\n" {
		t.Errorf("--pieces: exit %d, out %q", code, out)
	}
	code, out, _ = run("tokenize", "-m", model, "--pieces", "--json", "Hi")
	var ps []struct {
		ID    int32  `json:"id"`
		Piece string `json:"piece"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &ps) != nil || len(ps) < 2 || ps[0].Piece != "<s>" {
		t.Errorf("--pieces --json: exit %d, out %q", code, out)
	}
	code, out, _ = run("tokenize", "-m", model, "--json", "--no-bos", "-f", filepath.Join(t.TempDir(), "missing"))
	if code != 1 {
		t.Errorf("missing file: exit %d, out %q; want 1", code, out)
	}
	for _, args := range [][]string{
		{"tokenize", "Hello"},
		{"tokenize", "-m", model},
		{"tokenize", "-m", model, "-f", model, "text"},
	} {
		if code, _, _ := run(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage)", args, code)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o644)
	if code, out, _ := run("tokenize", "-m", model, "--no-bos", "--json", "-f", empty); code != 0 || out != "[]\n" {
		t.Errorf("empty text --json: exit %d, out %q", code, out)
	}
}
