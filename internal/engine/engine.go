package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
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
	// ErrStreamDone is returned by Stream.Next after the final event.
	ErrStreamDone = errors.New("engine: stream done")
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
	// what Parallel sequences of Context tokens need). It is rounded down
	// to whole blocks and must hold at least one full context.
	KVBytes int64
	// Queue is the most requests waiting for a slot (default 64); Submit
	// fails with ErrQueueFull beyond it.
	Queue int
	// StepTokens is the per-step token budget: one decode token of each
	// running sequence plus a chunk of pending prefill (default 512, and
	// at least Parallel + 1).
	StepTokens int
}

func (o Options) withDefaults(info model.Info) Options {
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Context <= 0 {
		o.Context = min(max(info.ContextLength, 1), 4096)
	}
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.StepTokens <= 0 {
		o.StepTokens = 512
	}
	o.StepTokens = max(o.StepTokens, o.Parallel+1)
	return o
}

// Event is one step of a request's output, as Stream.Next returns it. All
// events but the last carry a Token; the last has Done set and the Result
// (and Err when the request failed; cancellation is not a failure).
type Event struct {
	Token  Token
	Done   bool
	Result Result // when Done
	Err    error  // when Done and the request failed
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
	Steps          int64 // forward steps run so far
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
	mu     sync.Mutex
	events []Event // mu guards events
	ready  chan struct{}
	read   int  // events already returned (reader-owned)
	done   bool // the final event was returned (reader-owned)
}

func newStream() *Stream { return &Stream{ready: make(chan struct{}, 1)} }

// push queues ev; the engine loop calls it and never blocks.
func (s *Stream) push(ev Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting until one arrives or ctx is done
// (then it returns ctx.Err()). After the final event (Done) it returns
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
			s.done = ev.Done
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

// Engine schedules requests onto one model with continuous batching: one
// goroutine (the loop) owns the model state, the KV pool and every running
// sequence; every step runs one batch holding a decode token of each
// running sequence plus a chunk of pending prefill. Requests reach the loop
// through Submit and are cancelled through their context.
type Engine struct {
	m   model.Model
	tok *tokenizer.Tokenizer
	opt Options

	mu      sync.Mutex // guards queue, closing, abort, stats
	queue   []*job
	closing bool // Close was called: Submit refuses, the loop drains
	abort   bool // Close's deadline passed: the loop cancels everything
	stats   Stats
	wake    chan struct{} // a request arrived or Close was called
	done    chan struct{} // the loop has exited

	// Owned by the loop.
	pool    *kvcache.Pool
	st      model.State
	running []*job
	batch   model.Batch
	rows    []*job    // [rows with logits] the job of each logits row
	logits  []float32 // [Parallel][VocabSize]
}

// New starts an engine for m: it allocates the KV pool and the model state
// and starts the loop. Close stops it.
func New(m model.Model, tok *tokenizer.Tokenizer, opt Options) (*Engine, error) {
	info := m.Info()
	opt = opt.withDefaults(info)
	layout := info.KVLayout
	bt := kvcache.DefaultBlockTokens
	perBlock := int64(layout.BytesPerToken()) * int64(bt)
	perCtx := int64((opt.Context + bt - 1) / bt)
	blocks := int64(opt.Parallel) * perCtx
	if opt.KVBytes > 0 {
		blocks = opt.KVBytes / perBlock
	}
	if blocks < perCtx {
		return nil, fmt.Errorf("engine: a KV pool of %d bytes holds %d blocks of %d tokens; one %d-token context needs %d (%d bytes)",
			opt.KVBytes, blocks, bt, opt.Context, perCtx, perCtx*perBlock)
	}
	pool, err := kvcache.NewPool(layout, bt, int(blocks))
	if err != nil {
		return nil, err
	}
	e := &Engine{
		m: m, tok: tok, opt: opt,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		pool: pool, st: m.NewState(opt.Context),
		logits: make([]float32, opt.Parallel*info.VocabSize),
	}
	e.stats = Stats{KVBlocks: int(blocks), KVBlockTokens: bt, KVBytes: blocks * perBlock, KVBytesPerTok: layout.BytesPerToken()}
	go e.loop()
	return e, nil
}

// Submit queues req; events arrive on the returned stream. Cancelling ctx
// ends the request within one step (its final event has StopReason
// "cancelled") and frees its cache. Errors: ErrQueueFull, ErrClosed,
// ErrPromptTooLong and ErrInvalid (wrapped, with the reason).
func (e *Engine) Submit(ctx context.Context, req Request) (*Stream, error) {
	if err := e.validate(&req); err != nil {
		return nil, err
	}
	j := &job{ctx: ctx, req: req, stream: newStream(), submitted: time.Now()}
	e.mu.Lock()
	if len(e.queue) >= e.opt.Queue {
		e.pruneQueueLocked()
	}
	switch {
	case e.closing:
		e.mu.Unlock()
		return nil, ErrClosed
	case len(e.queue) >= e.opt.Queue:
		n := len(e.queue)
		e.mu.Unlock()
		return nil, fmt.Errorf("%w (%d waiting)", ErrQueueFull, n)
	}
	e.queue = append(e.queue, j)
	e.stats.Queued = len(e.queue)
	e.mu.Unlock()
	e.signal()
	return j.stream, nil
}

// pruneQueueLocked ends the queued requests whose context is done and that
// never ran, so that they do not hold queue slots until the loop's next
// step. (Requests that ran before, and were preempted, hold KV state that
// only the loop may touch; the loop ends those.)
func (e *Engine) pruneQueueLocked() {
	q := e.queue[:0]
	for _, j := range e.queue {
		if j.ctx.Err() != nil && !j.started {
			j.res = Result{StopReason: "cancelled", PromptTokens: len(j.req.Prompt)}
			j.stream.push(Event{Done: true, Result: j.res})
			continue
		}
		q = append(q, j)
	}
	clear(e.queue[len(q):])
	e.queue = q
	e.stats.Queued = len(q)
}

func (e *Engine) validate(req *Request) error {
	vocab := e.m.Info().VocabSize
	switch {
	case len(req.Prompt) == 0:
		return fmt.Errorf("%w: empty prompt", ErrInvalid)
	case len(req.Prompt) >= e.opt.Context:
		return fmt.Errorf("%w: %d prompt tokens, context %d", ErrPromptTooLong, len(req.Prompt), e.opt.Context)
	case req.MaxTokens < 0:
		return fmt.Errorf("%w: max tokens %d is negative", ErrInvalid, req.MaxTokens)
	case req.TopLogprobs < 0 || req.TopLogprobs > 20:
		return fmt.Errorf("%w: top logprobs %d is outside [0, 20]", ErrInvalid, req.TopLogprobs)
	}
	for i, id := range req.Prompt {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("%w: prompt token %d at index %d is outside the vocabulary [0, %d)", ErrInvalid, id, i, vocab)
		}
	}
	if err := req.Sample.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the engine's load. Safe for concurrent use.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Info returns the model's facts.
func (e *Engine) Info() model.Info { return e.m.Info() }

// Tokenizer returns the engine's tokenizer (safe for concurrent use).
func (e *Engine) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// Context returns the most tokens one sequence may hold.
func (e *Engine) Context() int { return e.opt.Context }

// Parallel returns the most sequences decoded together.
func (e *Engine) Parallel() int { return e.opt.Parallel }

// Close stops accepting requests and lets the accepted ones (running and
// queued) finish until ctx is done; then it cancels the rest. It returns
// when the loop has exited: ctx.Err() if requests had to be cancelled.
// Close may be called more than once.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closing = true
	e.mu.Unlock()
	e.signal()
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
	}
	e.mu.Lock()
	e.abort = true
	e.mu.Unlock()
	e.signal()
	<-e.done
	return ctx.Err()
}
