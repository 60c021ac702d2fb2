// Package engine turns a model, a tokenizer and a sampler into text
// generation: an Engine schedules many requests onto one model with
// continuous batching over a paged, prefix-sharing KV cache; Generate runs
// one request to completion on a private engine (the CLI's generate).
package engine

import (
	"context"
	"errors"
	"time"

	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/sample"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// ErrPromptTooLong is returned, before any compute, when the prompt does not
// fit in the context.
var ErrPromptTooLong = errors.New("engine: prompt is longer than the context")

// Request is one generation job.
type Request struct {
	Prompt      []int32        // token ids, used verbatim (BOS already added if wanted)
	MaxTokens   int            // tokens to generate; 0 means until the context is full
	Sample      sample.Options // zero value: greedy
	IgnoreEOS   bool           // keep generating past end-of-generation tokens
	Stop        []string       // stop strings (not included in the output)
	Logprobs    bool           // report each sampled token's log-probability
	TopLogprobs int            // how many top log-probabilities to report per token (0..20)

	// Constraint, if set, restricts the tokens sampled after the reasoning
	// (a grammar from the server's response_format or tool_choice). It is
	// used by the engine loop alone, never concurrently.
	Constraint Constraint
	// Thinking says the prompt leaves the model inside its reasoning block;
	// the reasoning ends when ThinkEnd ("</think>") appears in the output.
	// Until then the Constraint is not applied.
	Thinking bool
	ThinkEnd string
	// MaxReasoningTokens, when > 0 and Thinking, is the reasoning budget:
	// once that many tokens were generated inside the reasoning block, the
	// engine appends CloseThinking (the model's own "\n</think>\n\n"
	// tokens) to the output itself and the answer begins.
	MaxReasoningTokens int
	CloseThinking      []int32
}

// Constraint restricts which tokens a request may generate. The engine
// calls Mask before sampling each token of the answer and Accept with the
// token sampled.
type Constraint interface {
	// Mask sets bit id (allowed[id/64] & (1 << (id%64))) of every token
	// allowed next and clears the others; len(allowed) is
	// (vocabulary size + 63) / 64.
	Mask(allowed []uint64)
	// Accept advances past token id and reports whether it was allowed.
	Accept(id int32) bool
	// Done reports that nothing more may be generated.
	Done() bool
}

// Token is one generated token as it is streamed.
type Token struct {
	ID   int32  // -1 for trailing text flushed at the end
	Text string // text that became safe to show with this token (may be "")
	// Logprob is the natural-log probability of ID under the distribution
	// it was drawn from (set when Request.Logprobs or TopLogprobs > 0).
	Logprob float32
	// Top holds the TopLogprobs most likely tokens of the distribution this
	// token was drawn from (natural-log softmax of the raw logits).
	Top []sample.TokenLogprob
}

// Timings reports where the time went.
type Timings struct {
	PrefillTokens int           // prompt tokens computed (not reused from the prefix cache)
	Prefill       time.Duration // from the first step that computed the request to its first token
	DecodeTokens  int           // single-token steps after the first token
	Decode        time.Duration // from the first token to the end
}

// Result summarizes a finished generation.
type Result struct {
	Tokens       []int32
	Text         string
	StopReason   string // "length", "eos", "stop", "context", "cancelled" or "error" ("stop" also when a Constraint is Done)
	PromptTokens int    // tokens in the prompt
	CachedTokens int    // prompt tokens whose cache was reused (prefix hit), not recomputed
	// ReasoningTokens counts the tokens generated inside the reasoning
	// block (Request.Thinking), the closing ones included; BudgetHit says
	// the engine closed the reasoning because MaxReasoningTokens was spent.
	ReasoningTokens int
	BudgetHit       bool
	Timings         Timings
}

// Generate runs req to completion on a private engine with one sequence of
// up to contextLen positions (0: the model's context, capped at 4096),
// calling emit (if non-nil) for each streamed token. An error from emit, or
// ctx being cancelled, ends generation early (StopReason "cancelled", with
// the tokens so far and no error).
func Generate(ctx context.Context, m model.Model, tok *tokenizer.Tokenizer, req Request, contextLen int, emit func(Token) error) (Result, error) {
	e, err := New(m, tok, Options{Parallel: 1, Context: contextLen, Queue: 1})
	if err != nil {
		return Result{}, err
	}
	defer e.Close(context.Background())
	return Run(ctx, e, req, emit)
}

// Run submits req to e and reads its stream to the end, calling emit (if
// non-nil) for each token; see Generate.
func Run(ctx context.Context, e *Engine, req Request, emit func(Token) error) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := e.Submit(ctx, req)
	if err != nil {
		return Result{}, err
	}
	for {
		ev, err := s.Next(context.Background())
		if err != nil {
			return Result{}, err
		}
		if ev.Done {
			return ev.Result, ev.Err
		}
		if emit != nil {
			if err := emit(ev.Token); err != nil {
				emit = nil
				cancel()
			}
		}
	}
}
