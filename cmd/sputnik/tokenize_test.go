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
// alone when its files are absent. A dozen cases per vocabulary keep the test
// quick; a tokenizer.json takes about 0.4 s to load, so those run the four
// hardest (internal/tokenizer/hf runs all of them without the command).
func TestTokenizeVectors(t *testing.T) {
	first12 := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	hard := []int{0, 1, 32, 45} // unit and accent, empty, mixed-script with emoji, whitespace runs
	tests := []struct {
		name    string
		flag    string // -m or --tokenizer-json
		file    string // under shared/testdata
		vectors string // .inp/.out under shared/testdata, without the extension
		cases   []int  // indexes of the vectors to run
	}{
		{"gguf/qwen2", "-m", "vocab/ggml-vocab-qwen2.gguf", "vocab/ggml-vocab-qwen2.gguf", first12},
		{"gguf/llama-spm", "-m", "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-spm.gguf", first12},
		{"gguf/deepseek-llm", "-m", "vocab/ggml-vocab-deepseek-llm.gguf", "vocab/ggml-vocab-deepseek-llm.gguf", first12},
		{"hf/qwen3", "--tokenizer-json", "tokenizers/qwen3/tokenizer.json", "vocab/ggml-vocab-qwen2.gguf", hard},
		{"hf/llama3", "--tokenizer-json", "tokenizers/llama3/tokenizer.json", "vocab/ggml-vocab-llama-bpe.gguf", hard},
		{"hf/deepseek_v3", "--tokenizer-json", "tokenizers/deepseek_v3/tokenizer.json", "tokenizers/deepseek_v3/derived/deepseek-v3", hard},
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

// TestTokenizeHF checks what --tokenizer-json reads besides the vocabulary:
// BOS from the tokenizer_config.json beside it, special-token parsing, and
// the usage errors.
func TestTokenizeHF(t *testing.T) {
	tj := testutil.SharedFile(t, "tokenizers/deepseek_v3/tokenizer.json")
	// add_bos_token is true in deepseek_v3's config: BOS (id 0) comes first;
	// <｜User｜> is 128803.
	code, out, errs := run("tokenize", "--tokenizer-json", tj, "--json", "<｜User｜>Hi")
	var ids []int32
	if code != 0 || json.Unmarshal([]byte(out), &ids) != nil || len(ids) < 3 || ids[0] != 0 || ids[1] != 128803 {
		t.Errorf("with BOS and specials: exit %d, out %q, stderr %q; want [0 128803 ...]", code, out, errs)
	}
	// Without the config beside it there is no add_bos_token, so no BOS.
	alone := filepath.Join(t.TempDir(), "tokenizer.json")
	b, err := os.ReadFile(tj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run("tokenize", "--tokenizer-json", alone, "--json", "<｜User｜>Hi")
	ids = nil
	if code != 0 || json.Unmarshal([]byte(out), &ids) != nil || len(ids) < 2 || ids[0] != 128803 {
		t.Errorf("without tokenizer_config.json: exit %d, out %q, stderr %q; want [128803 ...]", code, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run("tokenize", "--tokenizer-json", bad, "x"); code != 1 || !strings.Contains(errs, "hf:") {
		t.Errorf("malformed tokenizer.json: exit %d, stderr %q; want 1 and an hf: error", code, errs)
	}
	if code, _, _ := run("tokenize", "--tokenizer-json", tj, "-m", tj, "x"); code != 2 {
		t.Errorf("-m with --tokenizer-json: exit %d, want 2 (usage)", code)
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
