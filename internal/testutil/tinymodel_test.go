package testutil

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

func TestTinySPMVocab(t *testing.T) {
	tokens, scores, types := TinySPMVocab()
	if len(tokens) != len(scores) || len(tokens) != len(types) {
		t.Fatalf("got %d tokens, %d scores, %d types", len(tokens), len(scores), len(types))
	}
	seen := map[string]bool{}
	for i, s := range tokens {
		if seen[s] {
			t.Errorf("token %d %q is a duplicate", i, s)
		}
		seen[s] = true
		if i > 259 && scores[i] >= scores[i-1] {
			t.Errorf("score of token %d %q is %v, not below %v", i, s, scores[i], scores[i-1])
		}
	}
	for i, want := range map[int]string{0: "<unk>", 1: "<s>", 2: "</s>", 3: "<0x00>", 13: "<0x0A>", 258: "<0xFF>", 259: "▁"} {
		if tokens[i] != want {
			t.Errorf("token %d is %q, want %q", i, tokens[i], want)
		}
	}
	for _, w := range []string{"▁Once", "▁upon", "▁capital", "▁fibonacci", "Lily"} {
		if !seen[w] {
			t.Errorf("piece %q missing", w)
		}
	}
}

func TestTinyLlama(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       TinyLlama
		wantErr bool
	}{
		{"q4_k", TinyLlama{Type: tensor.Q4_K, Seed: 1, Dim: 256, Layers: 1, FFN: 256, Heads: 4, KVHeads: 2}, false},
		{"f16-small", TinyLlama{Type: tensor.F16, Seed: 1, Dim: 64, Layers: 1, FFN: 96, Heads: 4, KVHeads: 2}, false},
		{"q4_k-rows-not-256", TinyLlama{Type: tensor.Q4_K, Seed: 1, Dim: 64, Layers: 1, FFN: 96, Heads: 4, KVHeads: 2}, true},
		{"unsupported-type", TinyLlama{Type: tensor.IQ2_XXS, Seed: 1, Dim: 256, Layers: 1, FFN: 256, Heads: 4, KVHeads: 2}, true},
		{"bad-heads", TinyLlama{Type: tensor.F32, Seed: 1, Dim: 64, Layers: 1, FFN: 96, Heads: 3, KVHeads: 2}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b bytes.Buffer
			_, err := tc.c.WriteTo(&a)
			if tc.wantErr {
				if err == nil {
					t.Fatal("got no error, want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tc.c.WriteTo(&b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("two writes differ")
			}
			path := filepath.Join(t.TempDir(), tc.c.Name()+".gguf")
			if err := os.WriteFile(path, a.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if want := 2 + 9*tc.c.Layers + 1; len(f.Tensors) != want {
				t.Errorf("got %d tensors, want %d", len(f.Tensors), want)
			}
			for _, ti := range f.Tensors {
				want := tc.c.Type
				if len(ti.Shape) == 1 {
					want = tensor.F32
				}
				if ti.Type != want {
					t.Errorf("tensor %s has type %s, want %s", ti.Name, ti.Type, want)
				}
			}
		})
	}
}
