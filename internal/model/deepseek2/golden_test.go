package deepseek2_test

import (
	"context"
	"encoding/json"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/deepseek2"
)

// goldenFile is the part of a golden-v1 file (testdata/golden/README.md)
// these tests read.
type goldenFile struct {
	Model string `json:"model"`
	Cases []struct {
		ID           string         `json:"id"`
		PromptIDs    []int32        `json:"prompt_ids"`
		GeneratedIDs []int32        `json:"generated_ids"`
		Top          [][][2]float64 `json:"top"`
		Margin       []float64      `json:"margin"`
	} `json:"cases"`
}

// TestExtraGoldens checks deepseek2 variants beyond the shared goldens
// (other expert counts, groups, ranks, softmax gating, the plain-query
// V2-Lite path) against llama.cpp goldens made with the peer:
//
//	mkgguf.py preset deepseek2-tiny --set q_lora_rank=0 ... --out DIR/x.gguf
//	node tools/peer/golden.mjs --out DIR DIR/x.gguf
//	SPUTNIK_DS2_GOLDEN_DIR=DIR go test ./internal/model/deepseek2 -run ExtraGoldens -v
//
// It applies the README's rules (f32/f16: tokens equal up to the first
// golden margin below 0.02, top-5 log-probabilities within 0.5; q8_0/q4_0:
// the first token if its margin is at least 0.1, its log-probability within
// 0.25), and also stops at the first step whose own routing margin is below
// routeTieMargin. Skipped when the variable is unset: the models are generated, not
// committed.
func TestExtraGoldens(t *testing.T) {
	dir := os.Getenv("SPUTNIK_DS2_GOLDEN_DIR")
	if dir == "" {
		t.Skip("SPUTNIK_DS2_GOLDEN_DIR not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no golden files in %s", dir)
	}
	for _, gf := range files {
		t.Run(strings.TrimSuffix(filepath.Base(gf), ".json"), func(t *testing.T) {
			var g goldenFile
			b, err := os.ReadFile(gf)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &g); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(filepath.Dir(gf), g.Model)
			if _, err := os.Stat(path); err != nil {
				path = filepath.Join(filepath.Dir(gf), "..", g.Model)
			}
			checkGolden(t, path, &g)
		})
	}
}

func checkGolden(t *testing.T, path string, g *goldenFile) {
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := deepseek2.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	quant := strings.Contains(g.Model, "q8_0") || strings.Contains(g.Model, "q4_0")
	for _, c := range g.Cases {
		steps := len(c.GeneratedIDs)
		if quant {
			steps = 0
			if c.Margin[0] >= 0.1 {
				steps = 1
			}
		} else {
			for i, mg := range c.Margin {
				if mg < 0.02 {
					steps = i
					break
				}
			}
		}
		toks, lps, margins := greedy(t, m, c.PromptIDs, len(c.GeneratedIDs))
		// A routing near tie is to MoE what a near tie of the top two
		// tokens is to sampling: compare no further.
		for i, mg := range margins[:steps] {
			if mg < routeTieMargin {
				steps = i
				break
			}
		}
		worst := 0.0
		compared := 0
		for i := range steps {
			if toks[i] != c.GeneratedIDs[i] {
				t.Errorf("%s: step %d: got token %d, want %d (golden margin %.4f)", c.ID, i, toks[i], c.GeneratedIDs[i], c.Margin[i])
				break
			}
			tol := 0.5
			if quant {
				tol = 0.25
			}
			for _, gt := range c.Top[i] {
				if quant && int32(gt[0]) != c.GeneratedIDs[i] {
					continue
				}
				d := math.Abs(float64(lps[i][int32(gt[0])]) - gt[1])
				worst = max(worst, d)
				if d > tol {
					t.Errorf("%s: step %d: token %d logprob %.4f, golden %.4f", c.ID, i, int32(gt[0]), lps[i][int32(gt[0])], gt[1])
				}
			}
			compared++
		}
		// Beyond the rule: how long the greedy continuation stays identical.
		same := 0
		for same < len(toks) && toks[same] == c.GeneratedIDs[same] {
			same++
		}
		t.Logf("%s: %d/%d steps compared, worst logprob Δ %.4f (identical prefix %d)", c.ID, compared, len(c.GeneratedIDs), worst, same)
	}
}

// routeTieMargin is the routing margin (Model.RoutingMargin) below which a
// step counts as a near tie in expert choice.
const routeTieMargin = 1e-4

// greedy decodes n tokens after prompt (prefill in one batch, then one
// token per forward) and returns them with each step's log-softmax and
// routing margin.
func greedy(t testing.TB, m *deepseek2.Model, prompt []int32, n int) ([]int32, [][]float32, []float32) {
	vocab := m.Info().VocabSize
	st := m.NewState(len(prompt) + n + 1)
	seq, err := kvcache.NewSeq(m.Info().KVLayout, len(prompt)+n+1)
	if err != nil {
		t.Fatal(err)
	}
	var b model.Batch
	for i, id := range prompt {
		b.Add(seq, id, i == len(prompt)-1)
	}
	logits := make([]float32, vocab)
	var toks []int32
	var lps [][]float32
	var margins []float32
	for range n {
		if err := m.Forward(context.Background(), st, &b, logits); err != nil {
			t.Fatal(err)
		}
		lp := logSoftmax(logits)
		best := int32(0)
		for i, v := range logits {
			if v > logits[best] {
				best = int32(i)
			}
		}
		toks = append(toks, best)
		lps = append(lps, lp)
		margins = append(margins, deepseek2.RoutingMargin(st))
		b.Reset()
		b.Add(seq, best, true)
	}
	return toks, lps, margins
}

func logSoftmax(x []float32) []float32 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, float64(v))
	}
	sum := 0.0
	for _, v := range x {
		sum += math.Exp(float64(v) - mx)
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(float64(v) - mx - math.Log(sum))
	}
	return out
}
