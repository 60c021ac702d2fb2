// Package recipe defines complete training recipes — the task, the
// tokenizer, the model shape and the SFT and GRPO schedules — and runs them
// from scratch to a GGUF file the engine loads like any other.
//
// The one recipe today, r1-tiny, is DeepSeek-R1's pipeline in miniature: a
// llama-architecture model a few MB in size learns multi-digit addition by
// supervised fine-tuning on step-by-step <think> traces (R1's "cold start"),
// then improves by GRPO against a rule-based reward (a correct answer and a
// well-formed <think> block), with a KL penalty against the SFT model.
package recipe

import (
	"fmt"
	"sort"

	"github.com/sputnik-llm/sputnik/internal/train"
	"github.com/sputnik-llm/sputnik/internal/train/addition"
)

// Recipe is everything that determines a trained model besides the seed.
type Recipe struct {
	Name  string
	Model train.Config
	// Task is the problems SFT trains on (and the tokenizer is fitted to);
	// Eval is the held-out problems every evaluation draws from (zero: Task).
	Task, Eval addition.Options
	VocabSize  int // tokens, including the 256 byte tokens and the specials
	Corpus     int // problems rendered to fit the tokenizer

	SFT  SFTPhase
	GRPO GRPOPhase

	MaxTokens  int // tokens per forward/backward pass (gradient accumulation beyond)
	EvalEvery  int // steps between quick held-out evaluations (for the progress plot)
	EvalQuick  int // held-out problems in a quick evaluation
	EvalFinal  int // held-out problems in the final evaluation
	MaxNewToks int // generation limit for sampling and evaluation
}

// SFTPhase is the supervised "cold start" on generated traces.
type SFTPhase struct {
	Steps   int
	Batch   int // examples per step
	LR      float64
	Warmup  int
	MinLR   float64
	Clip    float64
	Weight  float64 // AdamW weight decay
	NoThink float64 // fraction of examples without thinking (0: all think)
}

// GRPOPhase is the reinforcement-learning phase.
type GRPOPhase struct {
	Steps       int
	Prompts     int // prompts per step
	Group       int // completions sampled per prompt (G)
	LR          float64
	Warmup      int
	Clip        float64
	Temperature float32
	// Task is the problems GRPO samples (zero: the recipe's Task).
	Task    addition.Options
	Options train.GRPOOptions
	// The reward is addition.Grade's: 1 for a well-formed, correct
	// completion, 0.1 for a well-formed one, else 0.
}

// R1Tiny is the recipe of the model built into Sputnik: R1's pipeline in
// miniature. A short SFT "cold start" (400 steps of 16 traces) makes the
// format reliable and gets about three answers in four right; GRPO then
// raises held-out accuracy by sampling 8 answers to each of 16 problems per
// step and rewarding the correct, well-formed ones. (SFT alone for 1,000
// steps reaches higher accuracy on this easy task; the recipe keeps the
// cold start short so that reinforcement learning has work to do, as in
// the R1 paper.)
func R1Tiny() Recipe {
	return Recipe{
		Name: "r1-tiny",
		Model: train.Config{
			Dim: 192, Layers: 4, Heads: 6, KVHeads: 6, FFNDim: 512, Context: 512,
			RopeTheta: 10000, NormEps: 1e-5,
		},
		Task:      addition.Options{MinDigits: 1, MaxDigits: 5},
		VocabSize: 384,
		Corpus:    2000,
		SFT: SFTPhase{
			Steps: 400, Batch: 16, LR: 2e-3, Warmup: 50, MinLR: 1e-4, Clip: 1, Weight: 0.01,
		},
		GRPO: GRPOPhase{
			Steps: 200, Prompts: 16, Group: 8, LR: 3e-5, Warmup: 5, Clip: 1, Temperature: 1,
			Options: train.GRPOOptions{Epsilon: 0.2, Beta: 0.04, Iterations: 1},
		},
		MaxTokens:  4096,
		EvalEvery:  20,
		EvalQuick:  256,
		EvalFinal:  1000,
		MaxNewToks: 320,
	}
}

// grpoTask returns the problems GRPO samples.
func (r Recipe) grpoTask() addition.Options {
	if r.GRPO.Task != (addition.Options{}) {
		return r.GRPO.Task
	}
	return r.Task
}

// evalTask returns the problems evaluations draw from.
func (r Recipe) evalTask() addition.Options {
	if r.Eval != (addition.Options{}) {
		return r.Eval
	}
	return r.Task
}

// recipes are the recipes by name.
var recipes = map[string]func() Recipe{
	"r1-tiny": R1Tiny,
}

// Lookup returns the named recipe.
func Lookup(name string) (Recipe, error) {
	f, ok := recipes[name]
	if !ok {
		return Recipe{}, fmt.Errorf("recipe: no recipe %q (have %v)", name, Names())
	}
	return f(), nil
}

// Names returns the recipe names, sorted.
func Names() []string {
	var n []string
	for k := range recipes {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
