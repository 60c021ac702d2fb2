package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestInterleavedSameLogits checks that a model loaded with its weights
// interleaved (models.InterleaveEnv on) gives the logits of the same model
// read from the file's rows (off) bit for bit, prompt and decode steps,
// for each type with an interleaved layout, and that it was interleaved.
func TestInterleavedSameLogits(t *testing.T) {
	for _, typ := range []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.IQ4_NL, tensor.Q5_0, tensor.Q4_K, tensor.Q6_K, tensor.Q5_K, tensor.Q4_1, tensor.Q5_1, tensor.IQ4_XS, tensor.Q2_K, tensor.Q3_K} {
		t.Run(typ.String(), func(t *testing.T) {
			if !kernel.CanInterleave(typ) {
				t.Skipf("no interleaved %s kernels on this CPU (AVX-512 VNNI)", typ)
			}
			fx := testutil.QuantFixture(typ)
			path := filepath.Join(t.TempDir(), fx.Name()+".gguf")
			if err := fx.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			logits := func(mode string) [][]float32 {
				t.Setenv(models.InterleaveEnv, mode)
				m, f, err := models.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if mode == "on" {
					if n, err := models.Interleave(m, nil, nil); err != nil || n != 0 {
						t.Fatalf("Open left %d bytes to interleave (%v)", n, err)
					}
				}
				vocab := m.Info().VocabSize
				st := m.NewState(64)
				seq, err := kvcache.NewSeq(m.Info().KVLayout, 64)
				if err != nil {
					t.Fatal(err)
				}
				var b model.Batch
				for k, id := range []int32{1, 5, 9, 200, 31, 77, 4, 8, 15, 16, 23, 42, 99, 100, 101, 7, 3} {
					b.Add(seq, id, k == 16)
				}
				var all [][]float32
				for range 5 {
					out := make([]float32, vocab)
					if err := m.Forward(context.Background(), st, &b, out); err != nil {
						t.Fatal(err)
					}
					all = append(all, out)
					b.Reset()
					b.Add(seq, argmax32(out), true)
				}
				return all
			}
			rows, inter := logits("off"), logits("on")
			t.Setenv(models.InterleaveEnv, "off")
			m, f, err := models.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if n, err := models.Interleave(m, nil, nil); err != nil || n == 0 {
				t.Fatal("nothing to interleave in the fixture: the test compares nothing")
			}
			for s := range rows {
				if d := maxDiff(rows[s], inter[s]); d != 0 {
					t.Errorf("step %d: interleaved logits differ from row-major by up to %g", s, d)
				}
			}
		})
	}
}
