package recipe

import (
	"context"
	"fmt"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/sample"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
	"github.com/sputnik-llm/sputnik/internal/train"
	"github.com/sputnik-llm/sputnik/internal/train/addition"
	"github.com/sputnik-llm/sputnik/internal/train/rollout"
)

// evalSeed fixes the held-out problems every evaluation uses, whatever the
// training seed, so that figures are comparable across runs.
const evalSeed = 1

// evalBatch is how many sequences an evaluation or rollout decodes at once.
const evalBatch = 64

// Task turns addition problems into the token sequences a model sees (its
// chat template with the generation prompt that opens <think>) and grades
// what the model generates.
type Task struct {
	r     Recipe
	tok   *tokenizer.Tokenizer
	enc   tokenizer.EncodeOptions
	think int32 // id of "</think>"

	// samp decodes rollouts and evaluations; it is made for the first
	// model and takes later models of the same shape with SetModel.
	samp *rollout.Sampler
}

// sampler returns the task's Sampler, running the model in modelFile.
func (t *Task) sampler(modelFile []byte) (*rollout.Sampler, error) {
	m, _, err := rollout.Load(modelFile)
	if err != nil {
		return nil, err
	}
	if t.samp == nil {
		seqs := max(evalBatch, t.r.GRPO.Prompts*t.r.GRPO.Group)
		t.samp, err = rollout.New(m, t.tok, seqs, t.r.Model.Context)
		return t.samp, err
	}
	return t.samp, t.samp.SetModel(m)
}

// NewTask returns the task of r for a model with tokenizer tok.
func NewTask(r Recipe, tok *tokenizer.Tokenizer) (*Task, error) {
	t := &Task{r: r, tok: tok, enc: tokenizer.EncodeOptions{ParseSpecial: true}}
	ids := tok.Encode("</think>", t.enc)
	if len(ids) != 1 {
		return nil, fmt.Errorf("recipe: the vocabulary has no single </think> token (%v)", ids)
	}
	t.think = ids[0]
	return t, nil
}

// Prompt returns the tokens of p's question in the model's chat template,
// ending in the assistant's "<think>\n" (as DeepSeek recommends for R1).
func (t *Task) Prompt(p addition.Problem) []int32 {
	return t.tok.Encode(p.Prompt(), t.enc)
}

// Example returns p as a supervised example: the prompt, then the gold
// completion (without thinking if noThink) and the end-of-sentence token.
func (t *Task) Example(p addition.Problem, noThink bool) train.Example {
	prompt := t.Prompt(p)
	toks := append(prompt, t.tok.Encode(p.Completion(noThink), t.enc)...)
	return train.Example{Tokens: append(toks, t.tok.EOS()), Start: len(prompt)}
}

// Rollouts samples ph.Group completions for each problem from the model in
// modelFile, and scores each with the rule-based reward.
func (t *Task) Rollouts(ctx context.Context, modelFile []byte, probs []addition.Problem, ph GRPOPhase, seed uint64) ([][]train.Sample, error) {
	s, err := t.sampler(modelFile)
	if err != nil {
		return nil, err
	}
	prompts := make([][]int32, len(probs))
	for i, p := range probs {
		prompts[i] = t.Prompt(p)
	}
	comps, err := s.Run(ctx, prompts, rollout.Options{
		Group: ph.Group, MaxTokens: t.r.MaxNewToks, Seed: seed,
		Sample: sample.Options{Temperature: ph.Temperature},
	})
	if err != nil {
		return nil, err
	}
	groups := make([][]train.Sample, len(probs))
	for _, c := range comps {
		reward := addition.Grade(probs[c.Prompt], c.Text).Reward
		toks := append(append([]int32(nil), prompts[c.Prompt]...), c.Tokens...)
		groups[c.Prompt] = append(groups[c.Prompt], train.Sample{
			Example: train.Example{Tokens: toks, Start: len(prompts[c.Prompt])}, Reward: reward,
		})
	}
	return groups, nil
}

// Eval is a held-out evaluation: greedy answers to n problems training
// never saw.
type Eval struct {
	N          int
	Accuracy   float64 // fraction answered correctly
	WellFormed float64 // fraction with a well-formed reasoning block and answer
	// ReasoningTokens is the mean number of tokens generated before
	// "</think>" (0 for the no-thinking ablation, whose block is empty).
	ReasoningTokens float64
}

// Evaluate answers n held-out problems greedily with the model in
// modelFile. With noThink the prompt already holds an empty reasoning
// block ("<think>\n\n</think>\n\n"), so the model must answer at once: the
// ablation that shows what thinking is worth.
func (t *Task) Evaluate(ctx context.Context, modelFile []byte, n int, noThink bool) (Eval, error) {
	ev := Eval{N: n}
	s, err := t.sampler(modelFile)
	if err != nil {
		return ev, err
	}
	probs := addition.TestSet(n, evalSeed, t.r.evalTask())
	for lo := 0; lo < n; lo += evalBatch {
		batch := probs[lo:min(n, lo+evalBatch)]
		prompts := make([][]int32, len(batch))
		prefix := make([]string, len(batch))
		for i, p := range batch {
			prompts[i] = t.Prompt(p)
			if noThink {
				// Everything the gold no-thinking completion has before its answer.
				prefix[i] = strings.TrimSuffix(p.Completion(true), p.Answer())
				prompts[i] = append(prompts[i], t.tok.Encode(prefix[i], t.enc)...)
			}
		}
		comps, err := s.Run(ctx, prompts, rollout.Options{Group: 1, MaxTokens: t.r.MaxNewToks})
		if err != nil {
			return ev, err
		}
		for _, c := range comps {
			sc := addition.Grade(batch[c.Prompt], prefix[c.Prompt]+c.Text)
			if sc.Correct {
				ev.Accuracy++
			}
			if sc.WellFormed {
				ev.WellFormed++
			}
			if !noThink {
				for i, id := range c.Tokens {
					if id == t.think {
						ev.ReasoningTokens += float64(i)
						break
					}
					if i == len(c.Tokens)-1 {
						ev.ReasoningTokens += float64(len(c.Tokens))
					}
				}
			}
		}
	}
	ev.Accuracy /= float64(n)
	ev.WellFormed /= float64(n)
	ev.ReasoningTokens /= float64(n)
	return ev, nil
}
