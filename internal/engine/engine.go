package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// Errors Submit returns before a request runs. Callers branch on them (the
// server maps them to HTTP statuses).
var (
	// ErrQueueFull: Options.Queue requests are already waiting.
	ErrQueueFull = errors.New("engine: the request queue is full")
	// ErrClosed: the engine is shutting down or closed.
	ErrClosed = errors.New("engine: closed")
	// ErrInvalid wraps a request that can never run (empty prompt, a
	// token outside the vocabulary, bad sampling options).
	ErrInvalid = errors.New("engine: invalid request")
)

// Options configures an Engine. The zero value of a field picks its
// default.
type Options struct {
	// Parallel is the most sequences decoded together (default 4).
	Parallel int
	// Context is the most tokens (prompt + generated) one sequence may
	// hold (default: the model's trained context, capped at 4096).
	Context int
	// KVBytes is the size of the paged KV cache pool in bytes (default:
	// what Parallel sequences of Context tokens need).
	KVBytes int64
	// Queue is the most requests waiting for a slot (default 64); Submit
	// fails with ErrQueueFull beyond it.
	Queue int
	// StepTokens is the per-step token budget: one decode token of each
	// running sequence plus a chunk of pending prefill (default 256).
	StepTokens int
}

// Event is one step of a request's output, as Stream.Next returns it. All
// events but the last carry a Token; the last has Done set and the Result
// (or Err when the request failed).
type Event struct {
	Token  Token
	Done   bool
	Result Result // when Done
	Err    error  // when Done and the request failed (not for cancellation)
}

// Stats is a snapshot of the engine's load, for metrics and routing.
type Stats struct {
	Running        int   // sequences being prefilled or decoded
	Queued         int   // requests waiting for a slot
	KVBlocks       int   // blocks in the KV pool
	KVBlocksUsed   int   // blocks referenced by running sequences
	KVBlocksCached int   // unreferenced blocks kept for prefix reuse
	KVBlockTokens  int   // token positions per block
	KVBytes        int64 // bytes of the pool
	KVBytesPerTok  int   // cache bytes per token over all layers
}

// KVUtilization returns the fraction of KV blocks referenced by running
// sequences, in [0, 1] (cached-but-unreferenced blocks count as free).
func (s Stats) KVUtilization() float64 {
	if s.KVBlocks == 0 {
		return 0
	}
	return float64(s.KVBlocksUsed) / float64(s.KVBlocks)
}

// Stream delivers one request's events in order. The engine never waits
// for a reader: events queue in the stream until read, so a slow client
// never holds up other sequences. A Stream is read by one goroutine.
type Stream struct {
	mu        sync.Mutex
	events    []Event // mu guards events and closed
	closed    bool    // the final event has been queued
	ready     chan struct{}
	read      int // events already returned (reader-owned)
	done      bool
	Submitted time.Time // when Submit accepted the request
}

func newStream() *Stream {
	return &Stream{ready: make(chan struct{}, 1), Submitted: time.Now()}
}

// push queues ev; the engine loop calls it and never blocks.
func (s *Stream) push(ev Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	if ev.Done {
		s.closed = true
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting for it until ctx is done (then it
// returns ctx.Err()). After the final event (Done) it returns io.EOF-like
// ErrStreamDone.
func (s *Stream) Next(ctx context.Context) (Event, error) {
	if s.done {
		return Event{}, ErrStreamDone
	}
	for {
		s.mu.Lock()
		if s.read < len(s.events) {
			ev := s.events[s.read]
			s.events[s.read] = Event{}
			s.read++
			s.mu.Unlock()
			if ev.Done {
				s.done = true
			}
			return ev, nil
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// ErrStreamDone is returned by Stream.Next after the final event.
var ErrStreamDone = errors.New("engine: stream done")

// Engine schedules requests onto one model with continuous batching: one
// goroutine owns the model, its state and the KV cache; every step runs
// one batch holding a decode token of each running sequence plus a chunk
// of pending prefill.
type Engine struct {
	m   model.Model
	tok *tokenizer.Tokenizer
	opt Options
}

// New starts an engine for m. Close stops it.
func New(m model.Model, tok *tokenizer.Tokenizer, opt Options) (*Engine, error) {
	return nil, errors.New("engine: TODO(lead): scheduler not written yet")
}

// Submit queues req; events arrive on the returned stream. Cancelling ctx
// ends the request within one step (its final event has StopReason
// "cancelled") and frees its cache. Errors: ErrQueueFull, ErrClosed,
// ErrPromptTooLong and ErrInvalid (wrapped, with the reason).
func (e *Engine) Submit(ctx context.Context, req Request) (*Stream, error) {
	return nil, ErrClosed
}

// Stats returns a snapshot of the engine's load. Safe for concurrent use.
func (e *Engine) Stats() Stats { return Stats{} }

// Info returns the model's facts.
func (e *Engine) Info() model.Info { return e.m.Info() }

// Tokenizer returns the engine's tokenizer (safe for concurrent use).
func (e *Engine) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// Context returns the most tokens one sequence may hold.
func (e *Engine) Context() int { return e.opt.Context }

// Close stops accepting requests, lets running ones finish until ctx is
// done, then cancels the rest, and waits for the loop to exit.
func (e *Engine) Close(ctx context.Context) error { return nil }
