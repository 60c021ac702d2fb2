package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/sample"
)

// fakeBackend is a scripted engine: Encode gives one token per byte,
// Piece names a token "<id>", and each request streams the events its
// script returns.
type fakeBackend struct {
	script func(req engine.Request) []engine.Event
	err    error        // Submit's error, when set
	panic  bool         // Submit panics
	block  bool         // the stream waits for ctx after its events
	stats  engine.Stats // what Stats returns
	mu     sync.Mutex   // mu guards reqs and ctxs
	reqs   []engine.Request
	ctxs   []context.Context
}

func (b *fakeBackend) Submit(ctx context.Context, req engine.Request) (Events, error) {
	if b.panic {
		panic("fake backend: boom")
	}
	if b.err != nil {
		return nil, b.err
	}
	b.mu.Lock()
	b.reqs = append(b.reqs, req)
	b.ctxs = append(b.ctxs, ctx)
	b.mu.Unlock()
	var evs []engine.Event
	if b.script != nil {
		evs = b.script(req)
	}
	return &fakeEvents{evs: evs, block: b.block}, nil
}

func (b *fakeBackend) last() (engine.Request, context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reqs[len(b.reqs)-1], b.ctxs[len(b.ctxs)-1]
}

func (b *fakeBackend) Stats() engine.Stats { return b.stats }
func (b *fakeBackend) Context() int        { return 128 }
func (b *fakeBackend) Piece(id int32) string {
	return fmt.Sprintf("<%d>", id)
}

func (b *fakeBackend) Encode(text string) []int32 {
	ids := make([]int32, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int32(text[i])
	}
	return ids
}

type fakeEvents struct {
	evs   []engine.Event
	block bool
	done  bool
}

func (f *fakeEvents) Next(ctx context.Context) (engine.Event, error) {
	if len(f.evs) == 0 {
		if f.block {
			<-ctx.Done()
			return engine.Event{}, ctx.Err()
		}
		return engine.Event{}, engine.ErrStreamDone
	}
	if err := ctx.Err(); err != nil {
		return engine.Event{}, err
	}
	e := f.evs[0]
	f.evs = f.evs[1:]
	return e, nil
}

// tokens scripts a generation of the given texts (ids 1000, 1001, …, each
// with logprob -0.5 and two alternatives) ending with stop.
func tokens(stop string, cached int, texts ...string) func(engine.Request) []engine.Event {
	return func(req engine.Request) []engine.Event {
		var evs []engine.Event
		res := engine.Result{StopReason: stop, PromptTokens: len(req.Prompt), CachedTokens: cached}
		for i, t := range texts {
			id := int32(1000 + i)
			tok := engine.Token{ID: id, Text: t}
			if req.Logprobs || req.TopLogprobs > 0 {
				tok.Logprob = -0.5
				tok.Top = []sample.TokenLogprob{{ID: id, Logprob: -0.5}, {ID: 7, Logprob: -1}}[:min(2, req.TopLogprobs)]
			}
			evs = append(evs, engine.Event{Token: tok})
			res.Tokens = append(res.Tokens, id)
			res.Text += t
		}
		return append(evs, engine.Event{Done: true, Result: res})
	}
}
