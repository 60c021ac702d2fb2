package server

import (
	"context"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/grammar"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// Backend is what the server needs of an engine. Its methods are called
// from many handler goroutines at once and must be safe for concurrent
// use.
type Backend interface {
	// Submit queues a request; cancelling ctx ends it. Errors are the
	// engine's: engine.ErrQueueFull, ErrClosed, ErrPromptTooLong and
	// ErrInvalid (wrapped).
	Submit(ctx context.Context, req engine.Request) (Events, error)
	// Stats is a snapshot of the load, read at every metrics scrape.
	Stats() engine.Stats
	// Context is the most tokens one sequence may hold.
	Context() int
	// Encode tokenizes a prompt the way the chat template's output is
	// meant to be: special tokens parsed, BOS added if the model wants it.
	Encode(text string) []int32
	// Piece is the text of one token (for logprobs).
	Piece(id int32) string
}

// Events is one request's event stream, read by one goroutine: events in
// order, the last with Done set, then engine.ErrStreamDone. Next returns
// ctx.Err() when ctx ends first.
type Events interface {
	Next(ctx context.Context) (engine.Event, error)
}

// EngineBackend adapts an engine to Backend.
func EngineBackend(e *engine.Engine) Backend { return &engineBackend{e: e} }

type engineBackend struct {
	e     *engine.Engine
	vocab vocabOnce
}

// Vocab builds the grammar vocabulary on first use: the pieces of every
// token, control tokens left out except tool-call markers (DeepSeek's
// <｜tool▁calls▁begin｜>, …), which calls are written with.
func (b *engineBackend) Vocab() *grammar.Vocab {
	b.vocab.once.Do(func() {
		tok := b.e.Tokenizer()
		n := tok.VocabSize()
		pieces := make([]string, n)
		text := make([]bool, n)
		for id := range n {
			p := tok.Piece(int32(id))
			pieces[id] = p
			text[id] = !tok.IsControl(int32(id)) || strings.Contains(p, "tool")
		}
		b.vocab.v = grammar.NewVocab(pieces, text, tok.EOG())
	})
	return b.vocab.v
}

func (b *engineBackend) EncodeText(text string) []int32 {
	return b.e.Tokenizer().Encode(text, tokenizer.EncodeOptions{ParseSpecial: true})
}

func (b *engineBackend) Submit(ctx context.Context, req engine.Request) (Events, error) {
	s, err := b.e.Submit(ctx, req)
	if err != nil {
		return nil, err // not a typed nil in an interface
	}
	return s, nil
}

func (b *engineBackend) Stats() engine.Stats { return b.e.Stats() }
func (b *engineBackend) Context() int        { return b.e.Context() }
func (b *engineBackend) Piece(id int32) string {
	return b.e.Tokenizer().Piece(id)
}

func (b *engineBackend) Encode(text string) []int32 {
	return b.e.Tokenizer().Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
}
