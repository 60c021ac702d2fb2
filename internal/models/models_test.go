package models_test

import (
	"context"
	"errors"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestDecodeAllocs checks that a decode step (one token, logits) allocates
// nothing once the model's scratch space exists.
func TestDecodeAllocs(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, name := range []string{"llama-tiny-q8_0", "qwen2-tiny-f16", "qwen3-tiny-q4_0"} {
		t.Run(name, func(t *testing.T) {
			m, f, err := models.Open(testutil.SharedFile(t, "golden/models/"+name+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st := m.NewState(256)
			seq, err := kvcache.NewSeq(m.Info().KVLayout, 256)
			if err != nil {
				t.Fatal(err)
			}
			logits := make([]float32, m.Info().VocabSize)
			var b model.Batch
			step := func() {
				b.Reset()
				b.Add(seq, 1, true)
				if err := m.Forward(context.Background(), st, &b, logits); err != nil {
					t.Fatal(err)
				}
			}
			step()
			if n := testing.AllocsPerRun(50, step); n != 0 {
				t.Errorf("decode step: %v allocations, want 0", n)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	td := testutil.SharedTestdata(t)
	// A vocabulary-only GGUF is not a model.
	_, _, err := models.Open(filepath.Join(td, "vocab/ggml-vocab-qwen2.gguf"))
	if err == nil || !strings.Contains(err.Error(), "vocabulary-only") {
		t.Errorf("vocab-only file: got %v", err)
	}
	// An unknown architecture names the supported ones.
	dir := t.TempDir()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "mamba")
	w.AddTensor("x", 0, []uint64{4}, make([]byte, 16))
	p := filepath.Join(dir, "mamba.gguf")
	if err := w.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	_, _, err = models.Open(p)
	if !errors.Is(err, model.ErrUnsupportedArch) || !strings.Contains(err.Error(), "qwen2") {
		t.Errorf("unknown arch: got %v", err)
	}
	// A missing tensor is named; a wrongly shaped one gives both shapes.
	src, err := gguf.Open(filepath.Join(td, "golden/models/qwen2-tiny-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rewrite := func(name string, edit func(ti *gguf.TensorInfo) (skip bool, shape []uint64, data []byte)) string {
		w := gguf.NewWriter()
		for _, kv := range src.KV {
			w.AddKV(kv.Key, kv.Value)
		}
		for i := range src.Tensors {
			ti := &src.Tensors[i]
			shape, data := ti.Shape, src.TensorData(ti)
			if edit != nil {
				skip, s, d := edit(ti)
				if skip {
					continue
				}
				if s != nil {
					shape, data = s, d
				}
			}
			w.AddTensor(ti.Name, ti.Type, shape, data)
		}
		p := filepath.Join(dir, name)
		if err := w.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p = rewrite("missing.gguf", func(ti *gguf.TensorInfo) (bool, []uint64, []byte) {
		return ti.Name == "blk.1.ffn_up.weight", nil, nil
	})
	if _, _, err := models.Open(p); err == nil || !strings.Contains(err.Error(), "missing tensor blk.1.ffn_up.weight") {
		t.Errorf("missing tensor: got %v", err)
	}
	p = rewrite("shape.gguf", func(ti *gguf.TensorInfo) (bool, []uint64, []byte) {
		if ti.Name != "blk.0.attn_k.weight" {
			return false, nil, nil
		}
		// Same bytes, rows and columns swapped.
		return false, []uint64{ti.Shape[1], ti.Shape[0]}, src.TensorData(ti)
	})
	if _, _, err := models.Open(p); err == nil || !strings.Contains(err.Error(), "blk.0.attn_k.weight has shape [128 64], expected [64 128]") {
		t.Errorf("wrong shape: got %v", err)
	}
	// A weight type the kernels cannot multiply is refused at load, naming
	// the tensor, instead of panicking in the first forward pass.
	for _, typ := range []tensor.DType{tensor.MXFP4, tensor.Q8_1} {
		w := gguf.NewWriter()
		for _, kv := range src.KV {
			w.AddKV(kv.Key, kv.Value)
		}
		for i := range src.Tensors {
			ti := &src.Tensors[i]
			typ2, data := ti.Type, src.TensorData(ti)
			if ti.Name == "blk.0.attn_q.weight" {
				size, err := tensor.RowBytes(typ, int(ti.Shape[0]))
				if err != nil {
					t.Fatal(err)
				}
				typ2, data = typ, make([]byte, size*int(ti.Shape[1]))
			}
			w.AddTensor(ti.Name, typ2, ti.Shape, data)
		}
		p := filepath.Join(dir, typ.String()+".gguf")
		if err := w.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		_, _, err := models.Open(p)
		if !errors.Is(err, model.ErrUnsupportedType) || !strings.Contains(err.Error(), "blk.0.attn_q.weight") {
			t.Errorf("%s weights: got %v, want ErrUnsupportedType naming blk.0.attn_q.weight", typ, err)
		}
	}
}

// TestSplitModel checks that a model split in parts (gguf-split's layout)
// opened from its first part computes exactly what the single file does.
func TestSplitModel(t *testing.T) {
	path := testutil.SharedFile(t, "golden/models/deepseek2-tiny-f16.gguf")
	src, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	parts := testutil.WriteSplit(t, src, t.TempDir(), 3, false, nil)
	logits := func(path string) []float32 {
		m, f, err := models.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st := m.NewState(16)
		seq, err := kvcache.NewSeq(m.Info().KVLayout, 16)
		if err != nil {
			t.Fatal(err)
		}
		var b model.Batch
		for i, id := range []int32{1, 400, 17, 4000, 9} {
			b.Add(seq, id, i == 4)
		}
		out := make([]float32, m.Info().VocabSize)
		if err := m.Forward(context.Background(), st, &b, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, got := logits(path), logits(parts[0])
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("logit %d: split model %v, single file %v", i, got[i], want[i])
		}
	}
}
