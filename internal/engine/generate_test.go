package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/testutil"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

func openShared(t testing.TB, name string) (model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	m, f, err := models.Open(testutil.SharedFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// TestPrefixReuse checks that a chat's second turn reuses the first turn's
// cache blocks (only the new tokens are computed, and usage says how many
// were reused) and gives the same greedy tokens as computing the whole
// prompt from scratch.
func TestPrefixReuse(t *testing.T) {
	m, tok := openShared(t, "golden/models/qwen2-tiny-f32.gguf")
	ctx := context.Background()
	e, err := engine.New(m, tok, engine.Options{Parallel: 2, Context: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	first := tok.Encode("Once upon a time there was a little model that wanted to reason about everything it saw", tokenizer.EncodeOptions{AddSpecial: true})
	r1, err := engine.Run(ctx, e, engine.Request{Prompt: first, MaxTokens: 24, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r1.CachedTokens != 0 {
		t.Errorf("first request reused %d tokens of an empty cache", r1.CachedTokens)
	}
	second := append(append(slices.Clone(first), r1.Tokens...), tok.Encode(" and then", tokenizer.EncodeOptions{})...)
	reused, err := engine.Run(ctx, e, engine.Request{Prompt: second, MaxTokens: 8, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Whole blocks of the first turn's prompt and answer are reused (the
	// last generated token was never fed back, so it is not cached).
	bt := e.Stats().KVBlockTokens
	if want := (len(first) + len(r1.Tokens) - 1) / bt * bt; reused.CachedTokens != want {
		t.Errorf("reused %d tokens, want %d (whole %d-token blocks)", reused.CachedTokens, want, bt)
	}
	if reused.Timings.PrefillTokens != len(second)-reused.CachedTokens {
		t.Errorf("prefilled %d tokens, want %d", reused.Timings.PrefillTokens, len(second)-reused.CachedTokens)
	}
	fresh, err := engine.Generate(ctx, m, tok, engine.Request{Prompt: second, MaxTokens: 8, IgnoreEOS: true}, 256, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.CachedTokens != 0 {
		t.Errorf("fresh engine reused %d tokens", fresh.CachedTokens)
	}
	if !slices.Equal(reused.Tokens, fresh.Tokens) {
		t.Errorf("reused cache: %v, fresh: %v", reused.Tokens, fresh.Tokens)
	}
}

func TestPromptTooLong(t *testing.T) {
	m, tok := openShared(t, "golden/models/llama-tiny-f32.gguf")
	_, err := engine.Generate(context.Background(), m, tok, engine.Request{Prompt: make([]int32, 64)}, 32, nil)
	if !errors.Is(err, engine.ErrPromptTooLong) {
		t.Fatalf("got %v, want ErrPromptTooLong", err)
	}
	// A token outside the vocabulary is an error, not a crash.
	_, err = engine.Generate(context.Background(), m, tok, engine.Request{Prompt: []int32{1, 1 << 30}}, 32, nil)
	if !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("out-of-vocabulary token: got %v, want ErrInvalid", err)
	}
}
