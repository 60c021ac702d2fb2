package train

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

func TestLoadParamsRoundTrip(t *testing.T) {
	p := NewParams(tinyConfig, 4)
	f, err := gguf.ParseBytes(writeGGUF(t, p))
	if err != nil {
		t.Fatal(err)
	}
	q, err := LoadParams(f)
	if err != nil {
		t.Fatal(err)
	}
	if q.Config != p.Config {
		t.Fatalf("config %+v, want %+v", q.Config, p.Config)
	}
	for i, tt := range p.Tensors {
		if q.Tensors[i].Name != tt.Name || !slices.Equal(q.Tensors[i].Shape, tt.Shape) || !slices.Equal(q.Tensors[i].W, tt.W) {
			t.Fatalf("tensor %s differs after the round trip", tt.Name)
		}
	}
}

func TestLoadParamsErrors(t *testing.T) {
	p := NewParams(tinyConfig, 4)
	good := writeGGUF(t, p)
	// rewrite builds a GGUF like writeGGUF's with edit applied to the writer.
	rewrite := func(edit func(w *gguf.Writer, f *gguf.File)) []byte {
		f, err := gguf.ParseBytes(good)
		if err != nil {
			t.Fatal(err)
		}
		w := gguf.NewWriter()
		edit(w, f)
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	// copyAll copies f's metadata and tensors into w, except skipKey and skipTensor.
	copyAll := func(w *gguf.Writer, f *gguf.File, skipKey, skipTensor string) {
		for _, kv := range f.KV {
			if kv.Key != skipKey {
				w.AddKV(kv.Key, kv.Value.Any())
			}
		}
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			if ti.Name != skipTensor {
				w.AddTensor(ti.Name, ti.Type, ti.Shape, f.TensorData(ti))
			}
		}
	}
	for _, tc := range []struct {
		name, want string
		image      []byte
	}{
		{"arch", `architecture "qwen2"`, rewrite(func(w *gguf.Writer, f *gguf.File) {
			copyAll(w, f, "", "")
			w.AddKV("general.architecture", "qwen2")
		})},
		{"missing output", "missing tensor output.weight", rewrite(func(w *gguf.Writer, f *gguf.File) { copyAll(w, f, "", "output.weight") })},
		{"vocab disagrees", "disagrees", rewrite(func(w *gguf.Writer, f *gguf.File) {
			copyAll(w, f, "", "")
			w.AddKV("llama.vocab_size", uint32(95))
		})},
		{"extra tensor", "tensors, want", rewrite(func(w *gguf.Writer, f *gguf.File) {
			copyAll(w, f, "", "")
			w.AddTensor("rope_freqs.weight", tensor.F32, []uint64{8}, make([]byte, 32))
		})},
		{"rope scaling", "rope.scaling.type", rewrite(func(w *gguf.Writer, f *gguf.File) {
			copyAll(w, f, "", "")
			w.AddKV("llama.rope.scaling.type", "linear")
		})},
		{"quantized", "want F32", rewrite(func(w *gguf.Writer, f *gguf.File) {
			copyAll(w, f, "", "output.weight")
			d, v := tinyConfig.Dim, tinyConfig.VocabSize
			rb, _ := tensor.RowBytes(tensor.F16, d)
			w.AddTensor("output.weight", tensor.F16, []uint64{uint64(d), uint64(v)}, make([]byte, v*rb))
		})},
		{"shape", "has shape", rewrite(func(w *gguf.Writer, f *gguf.File) {
			copyAll(w, f, "", "output.weight")
			d, v := tinyConfig.Dim, tinyConfig.VocabSize
			w.AddTensor("output.weight", tensor.F32, []uint64{uint64(v), uint64(d)}, make([]byte, 4*v*d))
		})},
		{"layers", "block_count", rewrite(func(w *gguf.Writer, f *gguf.File) {
			copyAll(w, f, "", "")
			w.AddKV("llama.block_count", uint32(1<<30))
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := gguf.ParseBytes(tc.image)
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadParams(f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestOptimizerState(t *testing.T) {
	p := NewParams(tinyConfig, 1)
	g := NewParams(tinyConfig, 2)
	o := NewAdamW(p, AdamWOptions{})
	o.Step(p, g, 1e-3)
	o.Step(p, g, 1e-3)
	path := filepath.Join(t.TempDir(), "ckpt.adamw")
	if err := o.Save(path); err != nil {
		t.Fatal(err)
	}
	image, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The round trip restores the step and the moments: the next update
	// is the same bits.
	o2 := NewAdamW(p, AdamWOptions{})
	if err := o2.Load(path); err != nil {
		t.Fatal(err)
	}
	if o2.Steps() != 2 {
		t.Errorf("restored step %d, want 2", o2.Steps())
	}
	p1, p2 := p.Clone(), p.Clone()
	o.Step(p1, g, 1e-3)
	o2.Step(p2, g, 1e-3)
	if !slices.Equal(p1.data, p2.data) {
		t.Error("an update after restoring differs from one without the round trip")
	}

	t.Run("errors", func(t *testing.T) {
		other := tinyConfig
		other.FFNDim++
		flip := bytes.Clone(image)
		flip[len(flip)/2] ^= 1
		for _, tc := range []struct {
			name  string
			o     *AdamW
			image []byte
			want  string
		}{
			{"magic", NewAdamW(p, AdamWOptions{}), append([]byte("GGUF"), image[4:]...), "not an optimizer state"},
			{"version", NewAdamW(p, AdamWOptions{}), append(append([]byte(nil), image[:8]...), append([]byte{9, 0, 0, 0}, image[12:]...)...), "version 9"},
			{"shape", NewAdamW(NewParams(other, 1), AdamWOptions{}), image, "does not match"},
			{"truncated", NewAdamW(p, AdamWOptions{}), image[:len(image)-100], "unexpected EOF"},
			{"checksum", NewAdamW(p, AdamWOptions{}), flip, "checksum"},
			{"empty", NewAdamW(p, AdamWOptions{}), nil, "EOF"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := tc.o.m.Clone()
				_, err := tc.o.ReadFrom(bytes.NewReader(tc.image))
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
				}
				if tc.name == "shape" && !errors.Is(err, ErrStateMismatch) {
					t.Errorf("%v does not wrap ErrStateMismatch", err)
				}
				if tc.o.Steps() != 0 || !slices.Equal(before.data, tc.o.m.data) {
					t.Error("a failed read changed the optimizer")
				}
			})
		}
	})
}

func TestOptimizerPath(t *testing.T) {
	if got := OptimizerPath("/a/r1-tiny.gguf"); got != "/a/r1-tiny.adamw" {
		t.Errorf("got %q", got)
	}
}
