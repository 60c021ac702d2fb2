package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// golden is llama.cpp's greedy output on one model (testdata/golden/README.md).
type golden struct {
	Model       string `json:"model"`
	ModelSHA256 string `json:"model_sha256"`
	Cases       []struct {
		ID           string         `json:"id"`
		Prompt       string         `json:"prompt"`
		PromptIDs    []int32        `json:"prompt_ids"`
		GeneratedIDs []int32        `json:"generated_ids"`
		Top          [][][2]float64 `json:"top"`
		Margin       []float64      `json:"margin"`
	} `json:"cases"`
}

// Acceptance rules of testdata/golden/README.md.
const (
	exactMarginStop   = 0.02 // f32/f16: compare steps before the first margin below this
	denseLogprobTol   = 0.05
	moeLogprobTol     = 0.5
	quantFirstMargin  = 0.1 // q8_0/q4_0: compare the first token only if its margin is at least this
	quantFirstLogprob = 0.25
)

// Bounds that keep checkGolden from passing having checked little. A golden
// file must give the rules at least this many steps to compare (a set of
// near-tie cases would otherwise pass vacuously), and the golden top-5 ids
// that are absent from our top-5 at a compared step (whose log-probabilities
// therefore cannot be compared) must stay a small fraction of those
// checked: near the fifth rank two engines may legitimately order ids
// differently, but a wrong softmax or a broken top-k would lose many.
const (
	minExactComparedFrac = 0.25 // f32/f16 files: compared steps ≥ this × generated tokens
	minQuantComparedFrac = 0.5  // quantized files: compared first tokens ≥ this × cases
	maxMissingTopFrac    = 0.02 // golden top ids missing from ours ≤ this × golden top ids looked up
)

// knownDeviations lists golden cases that the SIMD build fails, with the
// reason. They are reported, never counted as passing, and the reference
// (-tags purego) build must still pass them. Empty now: keep it so that a
// future deviation is recorded here, not hidden by a looser tolerance.
var knownDeviations = map[string]string{}

// TestGolden runs every golden file against the engine, with the prompt ids
// used verbatim, greedy decoding, EOG ignored, top-5 log-probabilities.
func TestGolden(t *testing.T) {
	dir := filepath.Join(testutil.SharedTestdata(t), "golden")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skipf("no golden files in %s", dir)
	}
	for _, gf := range files {
		name := strings.TrimSuffix(filepath.Base(gf), ".json")
		t.Run(name, func(t *testing.T) {
			var g golden
			b, err := os.ReadFile(gf)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &g); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "models", g.Model)
			if _, err := os.Stat(path); err != nil {
				path = filepath.Join(testutil.SharedTestdata(t), "models", g.Model)
			}
			checkGolden(t, path, &g)
		})
	}
}

func checkGolden(t *testing.T, path string, g *golden) {
	m, f, err := models.Open(path)
	if errors.Is(err, model.ErrUnsupportedArch) {
		t.Skipf("not implemented yet: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	quant := !exactRule(f)
	tol := denseLogprobTol
	if m.Info().Arch == "deepseek2" {
		tol = moeLogprobTol
	}
	compared, total := 0, 0 // steps compared, golden tokens in the file
	looked, missing := 0, 0 // golden top ids looked up in our top-5, and not found
	for _, c := range g.Cases {
		total += len(c.GeneratedIDs)
		// The tokenizer must give llama.cpp's prompt ids exactly.
		if ids := tok.Encode(c.Prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}); !slices.Equal(ids, c.PromptIDs) {
			t.Errorf("%s: prompt %q tokenized to %v, want %v", c.ID, c.Prompt, ids, c.PromptIDs)
		}
		steps := len(c.GeneratedIDs)
		if quant {
			steps = 0
			if c.Margin[0] >= quantFirstMargin {
				steps = 1
			}
		} else {
			for i, mg := range c.Margin {
				if mg < exactMarginStop {
					steps = i
					break
				}
			}
		}
		// Generate every golden step, to log how far the tokens agree; with
		// -short only the compared ones (at least one, so the prompt runs).
		n := len(c.GeneratedIDs)
		if testing.Short() {
			n = max(steps, 1)
		}
		res, tops := greedy(t, m, tok, c.PromptIDs, n)
		caseCompared, caseMissing, worst := 0, 0, 0.0
		for i := 0; i < steps; i++ {
			if res.Tokens[i] != c.GeneratedIDs[i] {
				t.Errorf("%s: step %d: got token %d, want %d (golden margin %.4f)", c.ID, i, res.Tokens[i], c.GeneratedIDs[i], c.Margin[i])
				break
			}
			stepTol := tol
			if quant {
				stepTol = quantFirstLogprob
			}
			for _, gt := range c.Top[i] {
				if quant && int32(gt[0]) != c.GeneratedIDs[i] {
					continue // the quantized rule checks the chosen token's log-probability only
				}
				looked++
				lp, ok := tops[i][int32(gt[0])]
				if !ok {
					missing++
					caseMissing++
					continue
				}
				d := math.Abs(float64(lp) - gt[1])
				worst = math.Max(worst, d)
				if d > stepTol {
					report := t.Errorf
					if why, ok := knownDeviations[g.Model+"/"+c.ID]; ok && !purego {
						report = t.Logf
						t.Logf("KNOWN DEVIATION, not a pass: %s", why)
					}
					report("%s: step %d: token %d logprob %.4f, golden %.4f (|Δ| %.4f > %.2f)", c.ID, i, int32(gt[0]), lp, gt[1], d, stepTol)
				}
			}
			caseCompared++
		}
		compared += caseCompared
		agree := 0
		for agree < n && res.Tokens[agree] == c.GeneratedIDs[agree] {
			agree++
		}
		t.Logf("%s: %d/%d steps compared, worst logprob Δ %.4f, %d golden top ids not in our top-5; first %d/%d tokens equal llama.cpp's", c.ID, caseCompared, len(c.GeneratedIDs), worst, caseMissing, agree, n)
	}
	want := int(math.Ceil(minExactComparedFrac * float64(total)))
	if quant {
		want = int(math.Ceil(minQuantComparedFrac * float64(len(g.Cases))))
	}
	if compared < want {
		t.Errorf("%s: %d steps compared, want at least %d: the golden file gives the acceptance rule too little to check", g.Model, compared, want)
	}
	limit := int(maxMissingTopFrac * float64(looked))
	if missing > limit {
		t.Errorf("%s: %d of %d golden top-5 ids are not in our top-5, want at most %d", g.Model, missing, looked, limit)
	}
	t.Logf("%s: %d steps compared (at least %d required); %d of %d golden top ids missing from our top-5 (at most %d allowed)", g.Model, compared, want, missing, looked, limit)
}

// exactRule reports whether the golden README's f32/f16 rule applies to the
// model file f: every tensor is F32, F16 or BF16. Files with any other
// weight type get the quantized-file rule. BF16 is held to the exact rule
// because its numerics are F16's with a different rounding: llama.cpp, like
// kernel.MatMul, rounds the activations of a BF16 matmul to BF16 (round to
// nearest even) and sums the exact products in f32, so the two engines
// differ only in the order of additions, as they do for F16 weights
// (testdata/quant/tiny-llama-bf16 passes it with a worst logprob Δ of 0.02).
func exactRule(f *gguf.File) bool {
	for _, ti := range f.Tensors {
		switch ti.Type {
		case tensor.F32, tensor.F16, tensor.BF16:
		default:
			return false
		}
	}
	return true
}

// greedy runs prompt greedily for n tokens and returns the result and,
// per generated step, the top-5 log-probabilities by id.
func greedy(t *testing.T, m model.Model, tok *tokenizer.Tokenizer, prompt []int32, n int) (engine.Result, []map[int32]float32) {
	var tops []map[int32]float32
	res, err := engine.Generate(context.Background(), m, tok, engine.Request{
		Prompt: prompt, MaxTokens: n, IgnoreEOS: true, TopLogprobs: 5,
	}, 512, func(tk engine.Token) error {
		if tk.ID < 0 {
			return nil
		}
		mp := map[int32]float32{}
		for _, x := range tk.Top {
			mp[x.ID] = x.Logprob
		}
		tops = append(tops, mp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tokens) != n {
		t.Fatalf("generated %d tokens, want %d", len(res.Tokens), n)
	}
	return res, tops
}

// TestStories checks the real stories260K model's greedy continuation text.
func TestStories(t *testing.T) {
	path := testutil.SharedFile(t, "models/stories260K.gguf")
	m, f, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	prompt := tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	// run.c -n 64 fills 64 positions after BOS: 4 prompt tokens, 60 generated.
	res, err := engine.Generate(context.Background(), m, tok, engine.Request{Prompt: prompt, MaxTokens: 65 - len(prompt)}, 512, nil)
	if err != nil {
		t.Fatal(err)
	}
	// From llama2.c run.c -t 0 -n 64 (testdata/models/stories260K.greedy.json).
	const want = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily"
	if res.Text != want {
		t.Errorf("got %q\nwant %q", res.Text, want)
	}
}
