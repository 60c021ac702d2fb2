package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/testutil"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// TestSeqReuse checks that continuing a cache (a chat's second turn) gives
// the same greedy tokens as computing the whole prompt from scratch.
func TestSeqReuse(t *testing.T) {
	m, f, err := models.Open(testutil.SharedFile(t, "golden/models/qwen2-tiny-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first := tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true})
	seq, err := m.NewSeq(256)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := engine.Generate(ctx, m, tok, engine.Request{Prompt: first, MaxTokens: 8, Seq: seq, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := append(append(slices.Clone(first), r1.Tokens...), tok.Encode(" and then", tokenizer.EncodeOptions{})...)
	seq.Truncate(engine.CommonPrefix(append(slices.Clone(first), r1.Tokens...)[:seq.Len()], second))
	reused, err := engine.Generate(ctx, m, tok, engine.Request{Prompt: second, MaxTokens: 8, Seq: seq, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(second) - len(first) - len(r1.Tokens) + 1; reused.Timings.PrefillTokens != want {
		t.Errorf("prefilled %d tokens, want only the %d new ones", reused.Timings.PrefillTokens, want)
	}
	fresh, err := engine.Generate(ctx, m, tok, engine.Request{Prompt: second, MaxTokens: 8, Context: 256, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reused.Tokens, fresh.Tokens) {
		t.Errorf("reused cache: %v, fresh: %v", reused.Tokens, fresh.Tokens)
	}
}

func TestPromptTooLong(t *testing.T) {
	m, f, err := models.Open(testutil.SharedFile(t, "golden/models/llama-tiny-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, _ := tokenizer.FromGGUF(f)
	_, err = engine.Generate(context.Background(), m, tok, engine.Request{Prompt: make([]int32, 64), Context: 32}, nil)
	if !errors.Is(err, engine.ErrPromptTooLong) {
		t.Fatalf("got %v, want ErrPromptTooLong", err)
	}
	// A token outside the vocabulary is an error, not a crash.
	_, err = engine.Generate(context.Background(), m, tok, engine.Request{Prompt: []int32{1, 1 << 30}, Context: 32}, nil)
	if err == nil {
		t.Fatal("out-of-vocabulary token: no error")
	}
}
