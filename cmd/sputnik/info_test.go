package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// run calls Main and returns its exit code, stdout and stderr.
func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestInfoAllShared(t *testing.T) {
	root := testutil.SharedTestdata(t)
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".gguf") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no GGUF files in the shared testdata")
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			code, out, errs := run("info", p)
			if code != 0 || !strings.Contains(out, "architecture") {
				t.Fatalf("text: exit %d, stderr %q", code, errs)
			}
			code, out, errs = run("info", "--json", p)
			if code != 0 {
				t.Fatalf("json: exit %d, stderr %q", code, errs)
			}
			var got struct {
				GGUFVersion  int            `json:"gguf_version"`
				Architecture string         `json:"architecture"`
				Parameters   uint64         `json:"parameters"`
				TensorCount  int            `json:"tensor_count"`
				Metadata     map[string]any `json:"metadata"`
				Tensors      []struct {
					Name   string   `json:"name"`
					Type   string   `json:"type"`
					Shape  []uint64 `json:"shape"`
					Offset *uint64  `json:"offset"`
				} `json:"tensors"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("json: %v", err)
			}
			if got.GGUFVersion < 2 || got.Architecture == "" || got.TensorCount != len(got.Tensors) || len(got.Metadata) == 0 {
				t.Fatalf("json: got version %d, arch %q, %d/%d tensors, %d keys", got.GGUFVersion, got.Architecture, got.TensorCount, len(got.Tensors), len(got.Metadata))
			}
			var sum uint64
			for _, ts := range got.Tensors {
				n := uint64(1)
				for _, d := range ts.Shape {
					n *= d
				}
				sum += n
				if ts.Offset == nil || ts.Type == "" {
					t.Fatalf("tensor %s lacks offset or type", ts.Name)
				}
			}
			if sum != got.Parameters {
				t.Errorf("parameters %d, but tensor shapes sum to %d", got.Parameters, sum)
			}
			if toks, ok := got.Metadata["tokenizer.ggml.tokens"].(map[string]any); ok {
				if toks["type"] != "string" || toks["len"] == nil {
					t.Errorf("long array not summarized as {type,len}: %v", toks)
				}
			}
		})
	}
}

func TestInfoStoriesJSON(t *testing.T) {
	p := testutil.SharedFile(t, "models/stories260K.gguf")
	_, out, _ := run("info", "--json", p)
	if _, outM, _ := run("info", "--json", "-m", p); outM != out {
		t.Errorf("info -m FILE differs from info FILE")
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// 2×64×512 (embedding, output) + 64 + 5 layers × (64·64·2 + 64·32·2 + 2·64 + 3·64·172) = 292800
	if got["parameters"].(float64) != 292_800 || got["architecture"] != "llama" || got["tensor_count"].(float64) != 48 {
		t.Errorf("got parameters %v, arch %v, tensors %v; want 292800, llama, 48", got["parameters"], got["architecture"], got["tensor_count"])
	}
	first := got["tensors"].([]any)[0].(map[string]any)
	if first["name"] != "token_embd.weight" || first["shape"].([]any)[0].(float64) != 64 || first["shape"].([]any)[1].(float64) != 512 {
		t.Errorf("first tensor: got %v, want token_embd.weight [64 512]", first)
	}
}

func TestInfoBadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(p, []byte("hello, this is not a model\n"), 0o644)
	code, out, errs := run("info", p)
	if code != 1 || out != "" {
		t.Fatalf("got exit %d, stdout %q; want 1 and nothing", code, out)
	}
	if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "not a GGUF file") {
		t.Fatalf("stderr %q: want one line saying it is not a GGUF file", errs)
	}
	// Without a file, info describes the built-in model (TestNoBuiltin
	// covers a build without one).
	if code, out, _ := run("info"); code != 0 || !strings.Contains(out, "r1-tiny (built in)") {
		t.Errorf("no file: got exit %d, output %q; want 0 and the built-in model", code, out)
	}
	if code, _, errs := run("info", filepath.Join(t.TempDir(), "missing.gguf")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: got exit %d, %q", code, errs)
	}
}
