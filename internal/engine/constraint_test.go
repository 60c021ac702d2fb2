package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// setConstraint allows a fixed set of tokens, then ends after n tokens.
type setConstraint struct {
	allowed  []int32
	n        int
	accepted []int32
}

func (c *setConstraint) Mask(m []uint64) {
	clear(m)
	for _, id := range c.allowed {
		m[id/64] |= 1 << (id % 64)
	}
}

func (c *setConstraint) Accept(id int32) bool {
	if !slices.Contains(c.allowed, id) {
		return false
	}
	c.accepted = append(c.accepted, id)
	return true
}

func (c *setConstraint) Done() bool { return len(c.accepted) >= c.n }

func TestConstraintAndBudget(t *testing.T) {
	m, tok := openShared(t, "golden/models/qwen2-tiny-f32.gguf")
	prompt := tok.Encode("The river flows", tokenizer.EncodeOptions{AddSpecial: true})
	gen := func(req engine.Request) engine.Result {
		t.Helper()
		req.Prompt = prompt
		r, err := engine.Generate(context.Background(), m, tok, req, 256, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	allowed := tok.Encode(" a b c", tokenizer.EncodeOptions{})

	t.Run("constrained", func(t *testing.T) {
		c := &setConstraint{allowed: allowed, n: 6}
		r := gen(engine.Request{MaxTokens: 20, Constraint: c})
		if len(r.Tokens) != 6 || r.StopReason != "stop" {
			t.Fatalf("got %d tokens, stop %q; want 6, stop", len(r.Tokens), r.StopReason)
		}
		for _, id := range r.Tokens {
			if !slices.Contains(allowed, id) {
				t.Errorf("token %d is outside the allowed set %v", id, allowed)
			}
		}
		if !slices.Equal(c.accepted, r.Tokens) {
			t.Errorf("constraint saw %v, generated %v", c.accepted, r.Tokens)
		}
	})

	t.Run("budget closes the reasoning, then the constraint applies", func(t *testing.T) {
		closing := tok.Encode("\n</think>\n\n", tokenizer.EncodeOptions{ParseSpecial: true})
		free := gen(engine.Request{MaxTokens: 4, IgnoreEOS: true})
		c := &setConstraint{allowed: allowed, n: 3}
		r := gen(engine.Request{MaxTokens: 30, IgnoreEOS: true, Constraint: c,
			Thinking: true, ThinkEnd: "</think>", MaxReasoningTokens: 4, CloseThinking: closing})
		// The reasoning ends with the token that completes "</think>".
		if !r.BudgetHit || r.ReasoningTokens <= 4 || r.ReasoningTokens > 4+len(closing) {
			t.Fatalf("budget hit %v, reasoning tokens %d; want true, 5..%d", r.BudgetHit, r.ReasoningTokens, 4+len(closing))
		}
		if !slices.Equal(r.Tokens[:4], free.Tokens) {
			t.Errorf("reasoning %v differs from unconstrained greedy %v", r.Tokens[:4], free.Tokens)
		}
		if got := r.Tokens[4 : 4+len(closing)]; !slices.Equal(got, closing) {
			t.Errorf("closing tokens %v, want %v", got, closing)
		}
		if got := r.Tokens[4+len(closing):]; len(got) != 3 || !slices.Equal(got, c.accepted) {
			t.Errorf("answer %v, constraint saw %v; want 3 allowed tokens", got, c.accepted)
		}
	})

	t.Run("no budget: reasoning runs free", func(t *testing.T) {
		r := gen(engine.Request{MaxTokens: 5, IgnoreEOS: true, Thinking: true, ThinkEnd: "</think>", Constraint: &setConstraint{allowed: allowed, n: 99}})
		free := gen(engine.Request{MaxTokens: 5, IgnoreEOS: true})
		if !slices.Equal(r.Tokens, free.Tokens) || r.ReasoningTokens != 5 || r.BudgetHit {
			t.Errorf("got %v (reasoning %d, hit %v), want %v unconstrained", r.Tokens, r.ReasoningTokens, r.BudgetHit, free.Tokens)
		}
	})
}
