package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestPullRunListRm pulls the shared qwen2 tiny model from a fake Hugging
// Face (tree API + /resolve/), then uses its store name with generate,
// info and tokenize, lists it and removes it.
func TestPullRunListRm(t *testing.T) {
	src := testutil.SharedFile(t, "golden/models/qwen2-tiny-q8_0.gguf")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/models/acme/tiny-GGUF/tree/main", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]map[string]any{
			{"type": "file", "path": "README.md", "size": 5, "oid": "x"},
			{"type": "file", "path": "qwen2-tiny-Q8_0.gguf", "size": len(data), "oid": "y",
				"lfs": map[string]any{"oid": hex.EncodeToString(sum[:]), "size": len(data), "pointerSize": 134}},
		})
	})
	mux.HandleFunc("GET /acme/tiny-GGUF/resolve/main/qwen2-tiny-Q8_0.gguf", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, src)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("SPUTNIK_MODELS", t.TempDir())

	code, out, errs := run("pull", "hf.co/acme/tiny-GGUF:q8_0")
	if code != 0 || !strings.Contains(out, "acme/tiny-GGUF:Q8_0") || !strings.Contains(errs, "100%") {
		t.Fatalf("pull: exit %d\nstdout %q\nstderr %q", code, out, errs)
	}
	code, out, errs = run("ls")
	if code != 0 || !strings.Contains(out, "acme/tiny-GGUF:Q8_0") || !strings.Contains(out, "Q8_0") || !strings.Contains(out, "just now") {
		t.Fatalf("ls: exit %d\nstdout %q\nstderr %q", code, out, errs)
	}
	code, out, errs = run("generate", "-m", "acme/tiny-GGUF", "-p", "Once upon a time", "-n", "4", "--temp", "0")
	if code != 0 || out == "" {
		t.Fatalf("generate by name: exit %d\nstdout %q\nstderr %q", code, out, errs)
	}
	if code, out, errs = run("info", "acme/tiny-GGUF:Q8_0"); code != 0 || !strings.Contains(out, "qwen2") {
		t.Fatalf("info by name: exit %d\nstdout %q\nstderr %q", code, out, errs)
	}
	if code, _, errs = run("tokenize", "-m", "acme/tiny-GGUF", "hello"); code != 0 {
		t.Fatalf("tokenize by name: exit %d, stderr %q", code, errs)
	}
	code, _, errs = run("pull", "acme/tiny-GGUF:Q3_K_M")
	if code != 1 || !strings.Contains(errs, `no such model/quant "Q3_K_M" (available: Q8_0)`) {
		t.Fatalf("pull unknown quant: exit %d, stderr %q", code, errs)
	}
	if code, out, errs = run("rm", "acme/tiny-GGUF:Q8_0"); code != 0 || !strings.Contains(out, "deleted acme/tiny-GGUF:Q8_0") {
		t.Fatalf("rm: exit %d\nstdout %q\nstderr %q", code, out, errs)
	}
	code, _, errs = run("generate", "-m", "acme/tiny-GGUF", "-p", "x")
	if code != 1 || !strings.Contains(errs, "neither a file nor a pulled model") {
		t.Fatalf("generate after rm: exit %d, stderr %q", code, errs)
	}
}
