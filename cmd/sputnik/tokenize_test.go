package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestTokenizeVectors: with --no-bos --no-special -f FILE, the output for each
// test string equals its line of llama.cpp's .out file (trimmed).
func TestTokenizeVectors(t *testing.T) {
	dir := filepath.Join(testutil.SharedTestdata(t), "vocab")
	for _, name := range []string{"qwen2", "llama-spm", "deepseek-llm"} {
		model := filepath.Join(dir, "ggml-vocab-"+name+".gguf")
		inp, err := os.ReadFile(model + ".inp")
		if err != nil {
			t.Skip(err)
		}
		out, err := os.ReadFile(model + ".out")
		if err != nil {
			t.Fatal(err)
		}
		texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
		texts = texts[:len(texts)-1]
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		tmp := filepath.Join(t.TempDir(), "in.txt")
		for i, text := range texts[:12] { // a dozen per vocab keeps the test quick
			if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			code, got, errs := run("tokenize", "-m", model, "--no-bos", "--no-special", "-f", tmp)
			if code != 0 {
				t.Fatalf("%s case %d: exit %d: %s", name, i, code, errs)
			}
			if strings.TrimSpace(got) != strings.TrimSpace(lines[i]) {
				t.Errorf("%s case %d %q: got %q, want %q", name, i, text, strings.TrimSpace(got), strings.TrimSpace(lines[i]))
			}
		}
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
