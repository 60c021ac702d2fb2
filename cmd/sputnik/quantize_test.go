package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestQuantizeLoadsAndGenerates quantizes an F32 model to several types
// with the quantize command and generates from each result: the shared
// qwen2 tiny model (128-value rows: the K types fall back to Q5_0/Q5_1/Q8_0
// as llama.cpp does) and an 8-layer 256-wide llama (real K-quant mixes).
func TestQuantizeLoadsAndGenerates(t *testing.T) {
	dir := t.TempDir()
	llama := filepath.Join(dir, "llama-256-f32.gguf")
	cfg := testutil.TinyLlama{Type: tensor.F32, Seed: 7, Dim: 256, Layers: 8, FFN: 512, Heads: 4, KVHeads: 1}
	if err := cfg.WriteFile(llama); err != nil {
		t.Fatal(err)
	}
	models := map[string]string{
		"qwen2": testutil.SharedFile(t, "golden/models/qwen2-tiny-f32.gguf"),
		"llama": llama,
	}
	types := []string{"Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M", "Q3_K_M", "Q2_K", "Q6_K", "IQ4_XS", "F16", "BF16"}
	if testing.Short() {
		types = []string{"Q4_K_M", "Q8_0"}
	}
	for name, in := range models {
		for _, typ := range types {
			t.Run(name+"-"+typ, func(t *testing.T) {
				out := filepath.Join(dir, name+"-"+typ+".gguf")
				code, _, errs := run("quantize", in, out, typ)
				if code != 0 || !strings.Contains(errs, "wrote "+out) {
					t.Fatalf("quantize: exit %d, stderr %q", code, errs)
				}
				code, stdout, errs := run("generate", "-m", out, "-p", "Once upon a time", "-n", "8", "--temp", "0")
				if code != 0 || strings.TrimSpace(stdout) == "" {
					t.Fatalf("generate: exit %d\nstdout %q\nstderr %q", code, stdout, errs)
				}
				if name == "llama" && typ == "Q4_K_M" {
					f, err := gguf.Open(out)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					// use_more_bits(i, 8): layers 0, 3, 6, 7 get Q6_K.
					for l, want := range []tensor.DType{tensor.Q6_K, tensor.Q4_K, tensor.Q4_K, tensor.Q6_K, tensor.Q4_K, tensor.Q4_K, tensor.Q6_K, tensor.Q6_K} {
						for _, n := range []string{"attn_v", "ffn_down"} {
							ti, _ := f.Tensor("blk." + string(rune('0'+l)) + "." + n + ".weight")
							if ti == nil || ti.Type != want {
								t.Errorf("blk.%d.%s: got %v, want %s", l, n, ti, want)
							}
						}
					}
					if ti, _ := f.Tensor("output.weight"); ti.Type != tensor.Q6_K {
						t.Errorf("output.weight: got %s, want Q6_K", ti.Type)
					}
				}
			})
		}
	}
}

func TestQuantizeErrors(t *testing.T) {
	in := testutil.SharedFile(t, "golden/models/qwen2-tiny-q8_0.gguf")
	out := filepath.Join(t.TempDir(), "x.gguf")
	if code, _, errs := run("quantize", in, out, "IQ2_XXS"); code != 2 || !strings.Contains(errs, "IQ2_XXS is not supported") {
		t.Errorf("IQ2_XXS: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run("quantize", in, out, "Q4_0"); code != 1 || !strings.Contains(errs, "already Q8_0") {
		t.Errorf("requantize: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run("quantize", "--allow-requantize", in, out, "Q4_0"); code != 0 {
		t.Errorf("--allow-requantize: exit %d, stderr %q", code, errs)
	}
}
