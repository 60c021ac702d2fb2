package models_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/invariants"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestInvariantsCatchNaN poisons one weight of layer 1 with a NaN and
// checks that, built with -tags invariants, the forward pass panics naming
// the first place the NaN reaches that is checked: the residual stream
// after layer 1 for deepseek2 (through its trace hook), the logits for the
// dense models.
func TestInvariantsCatchNaN(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("the checks are compiled in only with -tags invariants (make invariants)")
	}
	tests := []struct {
		model string
		want  string
	}{
		{"deepseek2-tiny-f32", "invariants: l_out of layer 1:"},
		{"qwen2-tiny-f32", "invariants: l_out of layer 1:"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			path := poisoned(t, testutil.SharedFile(t, "golden/models/"+tc.model+".gguf"), "blk.1.ffn_norm.weight")
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
			b.Add(seq, 1, false)
			b.Add(seq, 2, true)
			logits := make([]float32, m.Info().VocabSize)
			got := func() (msg string) {
				defer func() {
					if r := recover(); r != nil {
						msg = fmt.Sprint(r)
					}
				}()
				m.Forward(context.Background(), st, &b, logits)
				return ""
			}()
			if !strings.Contains(got, tc.want) {
				t.Errorf("got panic %q, want one containing %q", got, tc.want)
			}
		})
	}
}

// poisoned writes a copy of the GGUF file at path whose F32 tensor name
// has a NaN as its first element, and returns the copy's path.
func poisoned(t *testing.T, path, name string) string {
	t.Helper()
	src, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w := gguf.NewWriter()
	for _, kv := range src.KV {
		w.AddKV(kv.Key, kv.Value)
	}
	found := false
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		data := src.TensorData(ti)
		if ti.Name == name {
			if ti.Type != tensor.F32 {
				t.Fatalf("%s is %s, want F32", name, ti.Type)
			}
			data = append([]byte(nil), data...)
			binary.LittleEndian.PutUint32(data, math.Float32bits(float32(math.NaN())))
			found = true
		}
		w.AddTensor(ti.Name, ti.Type, ti.Shape, data)
	}
	if !found {
		t.Fatalf("%s has no tensor %s", path, name)
	}
	p := filepath.Join(t.TempDir(), "poisoned.gguf")
	if err := w.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}
