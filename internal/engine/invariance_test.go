package engine_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestBatchInvariantEveryType checks, for every weight type MatMul
// supports, that a sequence's logits are bit-for-bit the same whether its
// tokens are computed alone (prompt in one chunk, then one token per step)
// or together with other sequences (all prompts in one batch, then one
// decode token of each sequence per step): "same input, same output",
// whatever the batch and whichever kernel path its size selects.
func TestBatchInvariantEveryType(t *testing.T) {
	prompts := [][]int32{
		{1, 5, 9, 200, 31, 77, 4, 8, 15, 16, 23, 42, 99, 100, 101, 7, 3},
		{1, 17},
		{1, 300, 301, 302, 303},
		{1, 250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274, 275, 276, 277, 278, 279, 280, 281},
		{1, 60, 61, 62, 63, 64, 65, 66, 67},
		{1, 2, 3},
	}
	const steps = 4
	for _, typ := range quantTypes {
		t.Run(typ.String(), func(t *testing.T) {
			fx := testutil.QuantFixture(typ)
			path := filepath.Join(t.TempDir(), fx.Name()+".gguf")
			if err := fx.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			m, f, err := models.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			vocab := m.Info().VocabSize
			ctx := context.Background()
			st := m.NewState(64)
			// solo[i][s] are sequence i's logits at step s (s = 0: after the prompt).
			solo := make([][][]float32, len(prompts))
			for i, p := range prompts {
				seq, err := kvcache.NewSeq(m.Info().KVLayout, 64)
				if err != nil {
					t.Fatal(err)
				}
				var b model.Batch
				for k, id := range p {
					b.Add(seq, id, k == len(p)-1)
				}
				for range steps {
					out := make([]float32, vocab)
					if err := m.Forward(ctx, st, &b, out); err != nil {
						t.Fatal(err)
					}
					solo[i] = append(solo[i], out)
					b.Reset()
					b.Add(seq, argmax32(out), true)
				}
			}
			seqs := make([]*kvcache.Seq, len(prompts))
			var b model.Batch
			for i, p := range prompts {
				if seqs[i], err = kvcache.NewSeq(m.Info().KVLayout, 64); err != nil {
					t.Fatal(err)
				}
				for k, id := range p {
					b.Add(seqs[i], id, k == len(p)-1)
				}
			}
			out := make([]float32, len(prompts)*vocab)
			bad := 0
			for s := range steps {
				if err := m.Forward(ctx, st, &b, out); err != nil {
					t.Fatal(err)
				}
				b.Reset()
				for i := range prompts {
					row := out[i*vocab : (i+1)*vocab]
					if d := maxDiff(row, solo[i][s]); d != 0 {
						bad++
						if bad <= 2 {
							t.Errorf("sequence %d step %d: batched logits differ from solo by up to %g", i, s, d)
						}
					}
					b.Add(seqs[i], argmax32(solo[i][s]), true)
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d logit rows differ", bad, steps*len(prompts))
			}
		})
	}
}

func argmax32(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			d = max(d, math.Abs(float64(a[i]-b[i])), math.SmallestNonzeroFloat32)
		}
	}
	return d
}
