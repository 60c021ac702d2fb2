package recipe

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/train"
	"github.com/sputnik-llm/sputnik/internal/train/addition"
)

// small is r1-tiny scaled down to run in CI in a minute or two: a smaller
// model on one- and two-digit problems, SFT, then a few GRPO steps.
func small() Recipe {
	r := R1Tiny()
	r.Model = train.Config{Dim: 64, Layers: 2, Heads: 4, KVHeads: 4, FFNDim: 192, Context: 256, RopeTheta: 10000, NormEps: 1e-5}
	r.Task = addition.Options{MinDigits: 1, MaxDigits: 2}
	r.VocabSize = 320
	r.Corpus = 300
	r.SFT.Steps, r.SFT.Batch, r.SFT.Warmup = 1000, 16, 20
	r.GRPO.Steps, r.GRPO.Prompts, r.GRPO.Group = 4, 4, 6
	r.EvalEvery, r.EvalQuick, r.EvalFinal = 100, 32, 200
	r.MaxNewToks = 96
	return r
}

// chance is the accuracy of guessing: a sum of two numbers below 100 is
// one of 199 values, and the stated bar is well above 1/199.
const chance = 0.05

// TestTrainSmall trains the small recipe end to end and checks that it
// learns: the SFT loss falls by more than half, and the held-out accuracy
// beats chance by a wide margin after SFT and after GRPO.
func TestTrainSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model for about a minute; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "small.gguf")
	r := small()
	res, err := Run(context.Background(), r, Options{Seed: 7, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.History[0].Loss, res.History[r.SFT.Steps-1].Loss
	t.Logf("SFT loss %.3f → %.3f; held-out accuracy after SFT %.1f%%, final %.1f%%, no thinking %.1f%%; mean reasoning %.1f tokens; %d tokens in %s",
		first, last, 100*res.SFT.Accuracy, 100*res.Final.Accuracy, 100*res.NoThink.Accuracy, res.Final.ReasoningTokens, res.Tokens, res.Wall)
	if !(last < first/2) {
		t.Errorf("SFT loss fell from %.3f to %.3f, want below half", first, last)
	}
	for _, ev := range []struct {
		name string
		e    Eval
	}{{"after SFT", res.SFT}, {"final", res.Final}} {
		if ev.e.N != r.EvalFinal || ev.e.Accuracy < 4*chance {
			t.Errorf("%s: accuracy %.3f on %d problems, want >= %.2f (4× the stated chance %.2f) on %d", ev.name, ev.e.Accuracy, ev.e.N, 4*chance, chance, r.EvalFinal)
		}
	}
	if got := len(res.History); got != r.SFT.Steps+r.GRPO.Steps {
		t.Errorf("history has %d steps, want %d", got, r.SFT.Steps+r.GRPO.Steps)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
}

// TestResumeIsExact interrupts a run in each phase and resumes it: the
// final file must equal the uninterrupted run's byte for byte (same seed,
// same thread count).
func TestResumeIsExact(t *testing.T) {
	r := small()
	r.Model = train.Config{Dim: 32, Layers: 1, Heads: 2, KVHeads: 2, FFNDim: 64, Context: 256, RopeTheta: 10000, NormEps: 1e-5}
	r.SFT.Steps, r.SFT.Batch = 12, 4
	r.GRPO.Steps, r.GRPO.Prompts, r.GRPO.Group = 3, 2, 3
	r.EvalEvery, r.EvalQuick, r.EvalFinal = 0, 4, 8
	r.MaxNewToks = 24
	dir := t.TempDir()

	whole := filepath.Join(dir, "whole.gguf")
	if _, err := Run(context.Background(), r, Options{Seed: 3, Out: whole}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(whole)

	for _, stop := range []struct {
		phase string
		step  int
	}{{"sft", 5}, {"grpo", 2}} {
		t.Run(stop.phase, func(t *testing.T) {
			out := filepath.Join(dir, stop.phase+".gguf")
			ctx, cancel := context.WithCancel(context.Background())
			res, err := Run(ctx, r, Options{Seed: 3, Out: out, Progress: func(p Progress) {
				if p.Phase == stop.phase && p.Step == stop.step {
					cancel()
				}
			}})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if !res.Interrupted {
				t.Fatal("the run was not interrupted")
			}
			if _, err := Run(context.Background(), r, Options{Out: out, Resume: out}); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(out)
			if !bytes.Equal(got, want) {
				t.Errorf("resumed after %s step %d: file differs from the uninterrupted run (%d vs %d bytes)", stop.phase, stop.step, len(got), len(want))
			}
		})
	}
}
