package quantize

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

func open(t *testing.T, p string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func quantizeTo(t *testing.T, in *gguf.File, name string, pure bool) *gguf.File {
	t.Helper()
	ft, err := ParseFileType(name)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.gguf")
	if err := File(in, out, Options{Type: ft, Pure: pure}); err != nil {
		t.Fatal(err)
	}
	return open(t, out)
}

// TestGoldenFiles: the shared golden q8_0/q4_0 models were written by a
// quantizer byte-identical to llama-quantize --pure. Quantizing the f32
// file with Pure must give every tensor the same type and bytes. Without
// Pure, Q8_0 is the same file (the mix keeps Q8_0 everywhere), and Q4_0
// differs only in output.weight (or the tied token_embd), which the mix
// makes Q6_K and the 64/128-value rows turn into Q8_0.
func TestGoldenFiles(t *testing.T) {
	presets := []string{"llama-tiny", "qwen2-tiny", "qwen3-tiny", "deepseek2-tiny"}
	if testing.Short() {
		presets = presets[1:2]
	}
	for _, preset := range presets {
		f32 := open(t, testutil.SharedFile(t, "golden/models/"+preset+"-f32.gguf"))
		for _, typ := range []string{"q8_0", "q4_0"} {
			golden := open(t, testutil.SharedFile(t, "golden/models/"+preset+"-"+typ+".gguf"))
			for _, pure := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s-%s-pure=%v", preset, typ, pure), func(t *testing.T) {
					got := quantizeTo(t, f32, typ, pure)
					if len(got.Tensors) != len(golden.Tensors) {
						t.Fatalf("%d tensors, want %d", len(got.Tensors), len(golden.Tensors))
					}
					var differ []string
					for i := range golden.Tensors {
						want := &golden.Tensors[i]
						have, ok := got.Tensor(want.Name)
						if !ok {
							t.Fatalf("tensor %s missing", want.Name)
						}
						if have.Type != want.Type {
							differ = append(differ, fmt.Sprintf("%s %s->%s", want.Name, want.Type, have.Type))
							continue
						}
						if string(got.TensorData(have)) != string(golden.TensorData(want)) {
							t.Errorf("%s (%s): bytes differ from the golden file", want.Name, want.Type)
						}
					}
					var wantDiffer []string
					if !pure && typ == "q4_0" {
						name := "output.weight"
						if _, ok := f32.Tensor(name); !ok {
							name = "token_embd.weight"
						}
						wantDiffer = []string{name + " Q4_0->Q8_0"}
					}
					if fmt.Sprint(differ) != fmt.Sprint(wantDiffer) {
						t.Errorf("tensors whose type differs from the golden file: %v, want %v", differ, wantDiffer)
					}
					if v, _ := got.Uint("general.file_type"); (typ == "q8_0") != (v == 7) || (typ == "q4_0") != (v == 2) {
						t.Errorf("general.file_type = %d", v)
					}
				})
			}
		}
	}
}

// TestPlanTinyShapes checks the Q4_K_M and Q5_K_M mixes on the shared tiny
// models' shapes against types derived by hand from llama-quant.cpp's rules:
// every row there is 64, 128, 352 or (deepseek2 experts) 64 values, none a
// multiple of 256, so each K type falls back (Q4_K→Q5_0, Q5_K→Q5_1,
// Q6_K→Q8_0) and output.weight, whose rows are not a multiple of 256, is
// Q8_0. use_more_bits(i, n) holds for the last layer only when n is 2 or 3
// (i >= 7n/8), so the attn_v and ffn_down tensors of that layer get Q6_K
// (→ Q8_0). 1-D tensors, norms and the MoE router stay F32.
func TestPlanTinyShapes(t *testing.T) {
	type rule struct{ km, k5m tensor.DType }
	for _, preset := range []string{"qwen2-tiny", "deepseek2-tiny", "llama-tiny"} {
		t.Run(preset, func(t *testing.T) {
			f := open(t, testutil.SharedFile(t, "golden/models/"+preset+"-f32.gguf"))
			for _, mix := range []string{"Q4_K_M", "Q5_K_M"} {
				ft, _ := ParseFileType(mix)
				plan, err := Plan(f, ft, false)
				if err != nil {
					t.Fatal(err)
				}
				last := fmt.Sprintf("blk.%d.", HParamsOf(f).Layers-1)
				base, more := tensor.Q5_0, tensor.Q8_0 // Q4_K and Q6_K after the fallback
				if mix == "Q5_K_M" {
					base = tensor.Q5_1 // Q5_K after the fallback
				}
				for _, c := range plan {
					var want tensor.DType
					switch {
					case len(c.Shape) < 2 || strings.HasSuffix(c.Name, "_norm.weight") || strings.Contains(c.Name, "ffn_gate_inp") || !strings.HasSuffix(c.Name, "weight"):
						want = tensor.F32
					case c.Name == "output.weight":
						want = tensor.Q8_0
					case c.Name == "token_embd.weight" && preset == "llama-tiny": // tied: the output's rule
						want = tensor.Q8_0
					case strings.HasPrefix(c.Name, last) && (strings.Contains(c.Name, "attn_v.weight") || strings.Contains(c.Name, "ffn_down")):
						want = more
					default:
						want = base
					}
					if c.To != want {
						t.Errorf("%s %s %v: got %s, want %s", mix, c.Name, c.Shape, c.To, want)
					}
				}
			}
		})
	}
}

// TestPlanKMix checks the mixes on a shape with 256-value rows (no
// fallback), 8 layers, 32 query and 8 KV heads (GQA 4): the table below is
// derived from llama-quant.cpp. use_more_bits(i, 8) holds for layers 0, 3,
// 6 and 7.
func TestPlanKMix(t *testing.T) {
	var ts []gguf.TensorInfo
	add := func(name string, shape ...uint64) {
		ts = append(ts, gguf.TensorInfo{Name: name, Type: tensor.F32, Shape: shape})
	}
	add("token_embd.weight", 256, 1000)
	add("output_norm.weight", 256)
	add("output.weight", 256, 1000)
	for i := 7; i >= 0; i-- { // out of order: the plan sorts like llama.cpp
		for _, n := range []string{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"} {
			add(fmt.Sprintf("blk.%d.%s.weight", i, n), 256, 256)
		}
		add(fmt.Sprintf("blk.%d.ffn_down.weight", i), 512, 256)
		add(fmt.Sprintf("blk.%d.attn_norm.weight", i), 256)
	}
	hp := HParams{Arch: "llama", Layers: 8, Heads: 32, KVHeads: 8}
	more := map[int]bool{0: true, 3: true, 6: true, 7: true}
	const (
		F32, Q3, Q4, Q5, Q6 = tensor.F32, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K
	)
	// want(mix, name, layer) for the layer tensors; token_embd/output below.
	want := func(mix, kind string, layer int) tensor.DType {
		switch mix {
		case "Q4_K_M":
			if (kind == "attn_v" || kind == "ffn_down") && more[layer] {
				return Q6
			}
			return Q4
		case "Q4_K_S":
			if kind == "attn_v" && layer < 4 || kind == "ffn_down" && layer < 1 {
				return Q5
			}
			return Q4
		case "Q5_K_M":
			if (kind == "attn_v" || kind == "ffn_down") && more[layer] {
				return Q6
			}
			return Q5
		case "Q3_K_M":
			switch {
			case kind == "attn_v" && layer < 2:
				return Q5
			case kind == "attn_v", kind == "attn_output", kind == "ffn_down": // ffn_down: layer >= 8/16
				return Q4
			}
			return Q3
		case "Q3_K_L":
			if kind == "attn_v" || kind == "ffn_down" || kind == "attn_output" {
				return Q5
			}
			return Q3
		case "Q2_K":
			switch kind {
			case "attn_v":
				return Q4 // GQA 4
			case "ffn_down", "attn_output":
				return Q3
			}
			return tensor.Q2_K
		case "IQ4_XS":
			if kind == "attn_v" || kind == "ffn_down" && layer < 1 {
				return Q5
			}
			return tensor.IQ4_XS
		}
		panic(mix)
	}
	for _, mix := range []string{"Q4_K_M", "Q4_K_S", "Q5_K_M", "Q3_K_M", "Q3_K_L", "Q2_K", "IQ4_XS"} {
		ft, _ := ParseFileType(mix)
		plan, err := planTensors(append([]gguf.TensorInfo(nil), ts...), hp, ft, false)
		if err != nil {
			t.Fatal(err)
		}
		if plan[0].Name != "output.weight" || plan[3].Name != "blk.0.attn_k.weight" {
			t.Errorf("order: %s, %s…", plan[0].Name, plan[3].Name)
		}
		for _, c := range plan {
			var w tensor.DType
			switch {
			case len(c.Shape) == 1:
				w = F32
			case c.Name == "output.weight":
				w = Q6
			case c.Name == "token_embd.weight":
				w = ft.Default
			default:
				l := layerOf(c.Name)
				kind := strings.TrimSuffix(strings.SplitN(c.Name, ".", 3)[2], ".weight")
				w = want(mix, kind, l)
			}
			if c.To != w {
				t.Errorf("%s %s: got %s, want %s", mix, c.Name, c.To, w)
			}
		}
	}
}

func TestParseFileType(t *testing.T) {
	if ft, err := ParseFileType("q4_k_m"); err != nil || ft.ID != 15 || ft.Default != tensor.Q4_K {
		t.Errorf("q4_k_m: %+v, %v", ft, err)
	}
	_, err := ParseFileType("IQ2_XXS")
	if err == nil || !strings.Contains(err.Error(), "IQ2_XXS is not supported") || !strings.Contains(err.Error(), "supported: F32, F16") {
		t.Errorf("IQ2_XXS: %v", err)
	}
	if _, err := ParseFileType("Q9"); err == nil || !strings.Contains(err.Error(), "not supported yet: IQ1_M") {
		t.Errorf("Q9: %v", err)
	}
}
