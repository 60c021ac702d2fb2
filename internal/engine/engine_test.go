package engine_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// prompts returns n prompts of mixed lengths (3 to ~90 tokens), some
// sharing prefixes, drawn with a fixed seed.
func prompts(tok *tokenizer.Tokenizer, n int) [][]int32 {
	rng := rand.New(rand.NewPCG(3, 5))
	words := []string{"the", "model", "reasons", "about", "numbers", "and", "cats", "while", "a", "river", "flows", "quietly", "under", "seven", "bridges"}
	var out [][]int32
	for i := range n {
		text := "Question:"
		if i%4 == 0 {
			text = "System: you are a careful assistant who thinks step by step before answering. Question:"
		}
		for range 1 + rng.IntN(40) {
			text += " " + words[rng.IntN(len(words))]
		}
		out = append(out, tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true}))
	}
	return out
}

// TestConcurrentEqualsSolo runs many greedy requests at once and checks
// that each one's tokens equal its solo run: the batch a token is computed
// in, chunked prefill and prefix-cache hits must not change any result.
func TestConcurrentEqualsSolo(t *testing.T) {
	files := []string{"qwen2-tiny-f32", "deepseek2-tiny-f32", "llama-tiny-f16", "qwen2-tiny-q8_0", "deepseek2-tiny-q4_0"}
	streams := 64
	if testing.Short() {
		files, streams = files[:2], 16
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			m, tok := openShared(t, "golden/models/"+name+".gguf")
			ps := prompts(tok, streams)
			const maxTokens = 12
			solo := make([][]int32, len(ps))
			for i, p := range ps {
				r, err := engine.Generate(context.Background(), m, tok, engine.Request{Prompt: p, MaxTokens: maxTokens, IgnoreEOS: true}, 256, nil)
				if err != nil {
					t.Fatal(err)
				}
				solo[i] = r.Tokens
			}
			// A small step budget makes long prompts prefill in chunks
			// beside other sequences' decode tokens.
			e, err := engine.New(m, tok, engine.Options{Parallel: streams, Context: 256, StepTokens: 80, Queue: streams})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close(context.Background())
			// The first request runs alone, so that the others find its
			// system-prompt blocks in the prefix cache.
			first, err := engine.Run(context.Background(), e, engine.Request{Prompt: ps[0], MaxTokens: maxTokens, IgnoreEOS: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(first.Tokens, solo[0]) {
				t.Errorf("request 0 on the server engine: %v, solo %v", first.Tokens, solo[0])
			}
			got := make([][]int32, len(ps))
			cached := 0
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := engine.Run(context.Background(), e, engine.Request{Prompt: p, MaxTokens: maxTokens, IgnoreEOS: true}, nil)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					got[i], cached = r.Tokens, cached+r.CachedTokens
					mu.Unlock()
				}()
			}
			wg.Wait()
			bad := 0
			for i := range ps {
				if !slices.Equal(got[i], solo[i]) {
					bad++
					if bad <= 3 {
						t.Errorf("request %d (%d prompt tokens): batched %v, solo %v", i, len(ps[i]), got[i], solo[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d requests differ from their solo runs", bad, len(ps))
			}
			if cached == 0 {
				t.Errorf("no prefix-cache hits among %d requests sharing a system prompt", len(ps))
			}
			t.Logf("%d streams equal their solo runs; %d prompt tokens came from the prefix cache", len(ps), cached)
		})
	}
}

// TestCancelFreesEverything cancels many requests at random points, some
// while queued, and checks that every KV block returns to the pool and no
// goroutine is left behind.
func TestCancelFreesEverything(t *testing.T) {
	m, tok := openShared(t, "golden/models/qwen2-tiny-q8_0.gguf")
	// The worker pool starts its goroutines on first use and keeps them:
	// start it before counting.
	if _, err := engine.Generate(context.Background(), m, tok, engine.Request{Prompt: []int32{1, 2, 3}, MaxTokens: 2}, 64, nil); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	e, err := engine.New(m, tok, engine.Options{Parallel: 8, Context: 128, Queue: 2000})
	if err != nil {
		t.Fatal(err)
	}
	ps := prompts(tok, 50)
	n := 1000
	if testing.Short() {
		n = 200
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var wg sync.WaitGroup
	var cancelled, finished sync.Map
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := e.Submit(ctx, engine.Request{Prompt: ps[i%len(ps)], MaxTokens: 40, IgnoreEOS: true})
		if err != nil {
			t.Fatal(err)
		}
		after := rng.IntN(12) // tokens to read before cancelling
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			for k := 0; ; k++ {
				if k == after {
					cancel()
				}
				ev, err := s.Next(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if ev.Done {
					if ev.Result.StopReason == "cancelled" {
						cancelled.Store(i, true)
					} else {
						finished.Store(i, true)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for e.Stats().Running+e.Stats().Queued > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := e.Stats()
	if st.Running != 0 || st.Queued != 0 || st.KVBlocksUsed != 0 {
		t.Errorf("after all requests ended: %+v, want nothing running or held", st)
	}
	nc := 0
	cancelled.Range(func(any, any) bool { nc++; return true })
	if nc < n/2 {
		t.Errorf("only %d of %d requests were cancelled", nc, n)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines after Close, %d before New", g, before)
	}
	t.Logf("%d requests: %d cancelled mid-stream, blocks in use after: %d of %d", n, nc, st.KVBlocksUsed, st.KVBlocks)
}

func TestQueueFullAndClose(t *testing.T) {
	m, tok := openShared(t, "golden/models/llama-tiny-q8_0.gguf")
	e, err := engine.New(m, tok, engine.Options{Parallel: 1, Context: 512, Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := engine.Request{Prompt: []int32{1, 2, 3}, IgnoreEOS: true}
	var streams []*engine.Stream
	var full error
	for range 6 {
		s, err := e.Submit(ctx, req)
		if err != nil {
			full = err
			break
		}
		streams = append(streams, s)
	}
	if !errors.Is(full, engine.ErrQueueFull) {
		t.Fatalf("got %v, want ErrQueueFull once the queue holds 2", full)
	}
	// Waiting requests whose client went away free their queue slots at
	// once, without waiting for the loop.
	qctx, qcancel := context.WithCancel(context.Background())
	e2, err := engine.New(m, tok, engine.Options{Parallel: 1, Context: 512, Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close(context.Background())
	long, err := e2.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := long.Next(ctx); err != nil { // running now
		t.Fatal(err)
	}
	var waiting []*engine.Stream
	for range 2 {
		s, err := e2.Submit(qctx, req)
		if err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, s)
	}
	qcancel()
	if _, err := e2.Submit(ctx, req); err != nil {
		t.Errorf("Submit after the waiting requests were cancelled: %v", err)
	}
	for _, s := range waiting {
		ev, err := s.Next(ctx)
		if err != nil || !ev.Done || ev.Result.StopReason != "cancelled" {
			t.Errorf("cancelled waiting request: got %+v, %v", ev, err)
		}
	}
	// Close with a context already done cancels what runs and what waits
	// (each request would otherwise generate 500 tokens).
	dead, stop := context.WithCancel(context.Background())
	stop()
	if err := e.Close(dead); !errors.Is(err, context.Canceled) {
		t.Errorf("Close: got %v, want Canceled (requests had to be cancelled)", err)
	}
	for i, s := range streams {
		for {
			ev, err := s.Next(context.Background())
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
			if ev.Done {
				if ev.Result.StopReason != "cancelled" {
					t.Errorf("stream %d: stop reason %q", i, ev.Result.StopReason)
				}
				break
			}
		}
	}
	if _, err := e.Submit(ctx, req); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Submit after Close: got %v, want ErrClosed", err)
	}
}

// TestBurstSharesPrefix submits requests with one long system prompt at
// the same moment: the step budget prefills the first one while the
// others wait, and they then reuse its blocks (picked up between prefill
// chunks, not only at admission) instead of computing them again; every
// answer still equals its solo run.
func TestBurstSharesPrefix(t *testing.T) {
	m, tok := openShared(t, "golden/models/qwen2-tiny-q8_0.gguf")
	sys := "System: you are a careful assistant. Think step by step, check every number twice, and answer briefly. "
	sys += sys + sys
	var ps [][]int32
	for _, q := range []string{"What is 2+2?", "Name a river.", "Why is the sky blue?", "Count to three.", "Hello!", "Say yes."} {
		ps = append(ps, tok.Encode(sys+q, tokenizer.EncodeOptions{AddSpecial: true}))
	}
	e, err := engine.New(m, tok, engine.Options{Parallel: len(ps) + 1, Context: 256, StepTokens: 48})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	// A long unrelated prompt keeps the loop busy (its prefill takes the
	// whole budget for several steps), so the burst is admitted together
	// and its sequences start prefilling one after another.
	blocker := make([]int32, 200)
	for i := range blocker {
		blocker[i] = int32(3000 + i)
	}
	ctx := context.Background()
	bs, err := e.Submit(ctx, engine.Request{Prompt: blocker, MaxTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	streams := make([]*engine.Stream, len(ps))
	for i, p := range ps {
		if streams[i], err = e.Submit(ctx, engine.Request{Prompt: p, MaxTokens: 6, IgnoreEOS: true}); err != nil {
			t.Fatal(err)
		}
	}
	res := make([]engine.Result, len(ps))
	for i, s := range append(streams, bs) {
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Done {
				if i < len(ps) {
					res[i] = ev.Result
				}
				break
			}
		}
	}
	cached := 0
	for i, p := range ps {
		solo, err := engine.Generate(context.Background(), m, tok, engine.Request{Prompt: p, MaxTokens: 6, IgnoreEOS: true}, 256, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res[i].Tokens, solo.Tokens) {
			t.Errorf("request %d: burst %v, solo %v", i, res[i].Tokens, solo.Tokens)
		}
		cached += res[i].CachedTokens
	}
	if min := (len(ps) - 2) * 48; cached < min {
		t.Errorf("%d prompt tokens reused over %d simultaneous requests with a %d-token shared prefix, want at least %d", cached, len(ps), len(ps[0])-8, min)
	}
	t.Logf("%d simultaneous requests, prompts of %d tokens: %d prompt tokens reused", len(ps), len(ps[0]), cached)
}
