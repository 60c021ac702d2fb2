package train

import (
	"context"
	"math"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
)

// engineLogProbs loads image with the engine and returns, for each
// sequence, the engine's log-softmax probability of each next token.
func engineLogProbs(t *testing.T, image []byte, seqs [][]int32) []float64 {
	t.Helper()
	f, err := gguf.ParseBytes(image)
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.New(f)
	if err != nil {
		t.Fatal(err)
	}
	vocab := m.Info().VocabSize
	var out []float64
	for _, s := range seqs {
		if len(s) < 2 {
			continue
		}
		st := m.NewState(len(s))
		seq, err := kvcache.NewSeq(m.Info().KVLayout, len(s))
		if err != nil {
			t.Fatal(err)
		}
		var b model.Batch
		for _, tok := range s[:len(s)-1] {
			b.Add(seq, tok, true)
		}
		logits := make([]float32, (len(s)-1)*vocab)
		if err := m.Forward(context.Background(), st, &b, logits); err != nil {
			t.Fatal(err)
		}
		for i := range len(s) - 1 {
			row := logits[i*vocab : (i+1)*vocab]
			mx := math.Inf(-1)
			for _, x := range row {
				mx = max(mx, float64(x))
			}
			sum := 0.0
			for _, x := range row {
				sum += math.Exp(float64(x) - mx)
			}
			out = append(out, float64(row[s[i+1]])-mx-math.Log(sum))
		}
	}
	return out
}

// TestEngineLogProbs checks that Forward computes what the engine computes
// on the GGUF that AddTo writes: the same log probabilities of every next
// token, over sequences of several attention blocks, in one batch.
//
// The engine keeps queries, keys, values and attention probabilities at f16
// precision (its KV cache); Forward keeps float32. With engineArith set,
// Forward computes attention and SwiGLU with the engine's kernels and
// precision, so every other step (embedding, norms, projections, RoPE
// pairing and angles, GQA head mapping, residuals, output head, log-softmax)
// is checked tightly: within 1e-4 nats, absolute. Without it (the training
// arithmetic), the f16 rounding alone separates them: within 2e-2 nats on
// these deliberately sharp weights, whose log probabilities spread over tens
// of nats.
func TestEngineLogProbs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kvHeads int
	}{{"gqa", 2}, {"mha", 4}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig
			cfg.KVHeads = tc.kvHeads
			p := NewParams(cfg, 7)
			sharpen(p, 7)
			seqs := randomSeqs(3, cfg.VocabSize, 150, 37, 1, 90)
			want := engineLogProbs(t, writeGGUF(t, p), seqs)
			net := NewNet(p, 400)
			logp := make([]float32, LogProbs(seqs))
			if len(logp) != len(want) {
				t.Fatalf("got %d log probabilities, the engine %d", len(logp), len(want))
			}
			spread := 0.0
			for _, w := range want {
				spread = max(spread, -w)
			}
			if spread < 5 {
				t.Fatalf("the test weights are too flat: the least likely target has log p %.2f", -spread)
			}
			for _, rounded := range []bool{true, false} {
				net.engineArith = rounded
				net.Forward(seqs, logp)
				tol := 2e-2
				if rounded {
					tol = 1e-4
				}
				worst, at := 0.0, 0
				for i, w := range want {
					if d := math.Abs(float64(logp[i]) - w); d > worst || math.IsNaN(d) {
						worst, at = d, i
					}
				}
				t.Logf("engineArith=%v: max |Δ log p| = %.3g at %d (engine %.4f, train %.4f)", rounded, worst, at, want[at], logp[at])
				if !(worst <= tol) {
					t.Errorf("engineArith=%v: log p[%d] = %v, engine %v: |Δ| %.3g > %g", rounded, at, logp[at], want[at], worst, tol)
				}
			}
		})
	}
}
