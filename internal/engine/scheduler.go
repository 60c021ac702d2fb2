package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/sample"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// job is one request and, while it runs, its sequence's state. Everything
// but ctx, req and stream is owned by the loop.
type job struct {
	ctx       context.Context
	req       Request
	stream    *Stream
	submitted time.Time

	seq     *kvcache.Seq
	history []int32 // prompt, then generated tokens: what the cache must hold
	sampler *sample.Sampler
	stop    *sample.StopMatcher
	dec     *tokenizer.StreamDecoder
	top     []sample.TokenLogprob // [TopLogprobs] scratch
	mask    []uint64              // [(VocabSize+63)/64] allowed tokens, when constrained
	think   bool                  // inside the reasoning block
	tail    []byte                // the last output bytes, to find ThinkEnd across tokens
	text    []byte
	res     Result
	started bool      // admitted at least once (usage and timings are set up)
	first   time.Time // start of the first step that computed this job
	decode  time.Time // when the first token was sampled
	n       int       // tokens planned for the current step
	stopped string    // the stop reason sample returned this step ("" while running)
}

// loop is the engine's one goroutine: admit, plan, step, sample, repeat.
func (e *Engine) loop() {
	defer close(e.done)
	for {
		e.mu.Lock()
		abort, closing, waiting := e.abort, e.closing, len(e.queue)
		e.mu.Unlock()
		if abort {
			e.cancelAll()
			return
		}
		e.dropCancelled()
		e.admit()
		if len(e.running) == 0 {
			e.publish()
			if waiting == 0 {
				if closing {
					return
				}
				<-e.wake
			}
			continue
		}
		e.step()
		e.publish()
	}
}

// admit moves queued requests into the running set while there are slots
// and KV blocks for their prompts, reusing cached prefix blocks.
func (e *Engine) admit() {
	for len(e.running) < e.opt.Parallel {
		e.mu.Lock()
		if len(e.queue) == 0 {
			e.mu.Unlock()
			return
		}
		j := e.queue[0]
		if j.seq == nil {
			j.seq = e.pool.NewSeq(e.opt.Context)
		}
		if !j.started {
			j.history = append(j.history[:0], j.req.Prompt...)
		}
		reused := j.seq.AttachPrefix(j.history)
		if need := e.pool.BlocksFor(len(j.history)) - j.seq.Blocks(); need > e.pool.Available() {
			j.seq.Release()
			if len(e.running) > 0 {
				e.mu.Unlock()
				return // wait for running sequences to free blocks
			}
			// Nothing runs, so nothing will free blocks: the pool cannot
			// hold this request (New sizes it for one full context, so
			// this means blocks were lost; fail rather than spin).
			e.queue = e.queue[1:]
			e.stats.Queued = len(e.queue)
			e.mu.Unlock()
			e.finish(j, "error", fmt.Errorf("engine: the KV cache has %d free blocks, the prompt needs %d", e.pool.Available(), need))
			continue
		}
		e.queue = e.queue[1:]
		e.stats.Queued = len(e.queue)
		e.mu.Unlock()
		if !j.started {
			j.start(e.tok, reused)
		}
		e.running = append(e.running, j)
	}
}

// start sets up a job's per-sequence state on its first admission.
func (j *job) start(tok *tokenizer.Tokenizer, reused int) {
	j.started = true
	j.sampler = sample.New(j.req.Sample)
	j.stop = sample.NewStopMatcher(j.req.Stop)
	j.dec = tok.NewStreamDecoder()
	if j.req.TopLogprobs > 0 {
		j.top = make([]sample.TokenLogprob, 0, j.req.TopLogprobs)
	}
	if j.req.Constraint != nil {
		j.mask = make([]uint64, (tok.VocabSize()+63)/64)
	}
	j.think = j.req.Thinking && j.req.ThinkEnd != ""
	j.res = Result{StopReason: "length", PromptTokens: len(j.req.Prompt), CachedTokens: reused}
}

// dropCancelled finishes the running and queued requests whose context is
// done.
func (e *Engine) dropCancelled() {
	keep := e.running[:0]
	for _, j := range e.running {
		if j.ctx.Err() != nil {
			e.finish(j, "cancelled", nil)
			continue
		}
		keep = append(keep, j)
	}
	clear(e.running[len(keep):])
	e.running = keep
	e.mu.Lock()
	var gone []*job
	q := e.queue[:0]
	for _, j := range e.queue {
		if j.ctx.Err() != nil {
			gone = append(gone, j)
			continue
		}
		q = append(q, j)
	}
	clear(e.queue[len(q):])
	e.queue = q
	e.stats.Queued = len(q)
	e.mu.Unlock()
	for _, j := range gone {
		e.finish(j, "cancelled", nil)
	}
}

// cancelAll finishes every request (Close's deadline passed).
func (e *Engine) cancelAll() {
	for _, j := range e.running {
		e.finish(j, "cancelled", nil)
	}
	e.running = nil
	e.mu.Lock()
	q := e.queue
	e.queue = nil
	e.mu.Unlock()
	for _, j := range q {
		e.finish(j, "cancelled", nil)
	}
	e.publish()
}

// step runs one forward pass: a decode token of every sequence that has
// one, then prefill chunks within the step's token budget, and samples
// every sequence whose last token was computed.
func (e *Engine) step() {
	start := time.Now()
	e.plan()
	b := &e.batch
	b.Reset()
	e.rows = e.rows[:0]
	for _, j := range e.running {
		if j.n == 0 {
			continue
		}
		if j.first.IsZero() {
			j.first = start
		}
		from := j.seq.Len()
		last := from+j.n == len(j.history)
		for i := from; i < from+j.n; i++ {
			b.Add(j.seq, j.history[i], last && i == from+j.n-1)
		}
		if last {
			e.rows = append(e.rows, j)
		}
		if j.decode.IsZero() {
			j.res.Timings.PrefillTokens += j.n
		} else {
			j.res.Timings.DecodeTokens++
		}
	}
	if b.Len() == 0 {
		return
	}
	if err := e.m.Forward(context.Background(), e.st, b, e.logits); err != nil {
		// Not expected: the batch was checked and reserved. Fail its
		// requests rather than the engine.
		failed := map[*job]bool{}
		for _, s := range b.Seqs {
			for _, j := range e.running {
				if j.seq == s {
					failed[j] = true
				}
			}
		}
		e.remove(func(j *job) bool {
			if failed[j] {
				e.finish(j, "error", fmt.Errorf("engine: forward pass: %w", err))
				return true
			}
			return false
		})
		return
	}
	e.mu.Lock()
	e.stats.Steps++
	e.mu.Unlock()
	vocab := e.m.Info().VocabSize
	finished := false
	for r, j := range e.rows {
		j.stopped = e.sample(j, e.logits[r*vocab:(r+1)*vocab])
		finished = finished || j.stopped != ""
	}
	if finished {
		e.remove(func(j *job) bool {
			if j.stopped != "" {
				e.finish(j, j.stopped, nil)
				return true
			}
			return false
		})
	}
}

// plan sets each running job's token count for this step (j.n) and
// reserves its cache blocks: one token for each decoding sequence, then
// prefill chunks in admission order within the step budget. When the pool
// runs out, later sequences are preempted (their blocks released, kept as
// prefix cache, and the request queued again at the front) so that earlier
// ones progress; a sequence that cannot get blocks even alone fails.
func (e *Engine) plan() {
	budget := e.opt.StepTokens
	for _, j := range e.running {
		j.n = 0
		if len(j.history)-j.seq.Len() == 1 {
			j.n = 1
			budget--
		}
	}
	for _, j := range e.running {
		if rest := len(j.history) - j.seq.Len(); rest > 1 && budget > 0 {
			// Blocks another sequence computed since this one was
			// admitted (a burst of requests with one system prompt).
			if reused := j.seq.AttachPrefix(j.history); reused > 0 {
				if j.decode.IsZero() {
					j.res.CachedTokens += reused
				}
				rest -= reused
			}
			j.n = min(rest, budget)
			budget -= j.n
		}
	}
	for i := 0; i < len(e.running); i++ {
		j := e.running[i]
		if j.n == 0 {
			continue
		}
		for {
			err := j.seq.Reserve(j.n)
			if err == nil {
				break
			}
			if !errors.Is(err, kvcache.ErrPoolFull) {
				e.failAt(i, err)
				i--
				break
			}
			if len(e.running)-1 > i {
				e.preempt(len(e.running) - 1)
				continue
			}
			if i == 0 {
				e.failAt(i, fmt.Errorf("engine: the KV cache (%d blocks) cannot hold this request: %w", e.pool.Stats().Blocks, err))
				i--
			} else {
				j.n = 0 // wait: earlier sequences will free blocks
			}
			break
		}
	}
}

// preempt releases the blocks of running job i and queues it again first.
func (e *Engine) preempt(i int) {
	j := e.running[i]
	j.seq.Release()
	j.n = 0
	e.running = append(e.running[:i], e.running[i+1:]...)
	e.mu.Lock()
	e.queue = append([]*job{j}, e.queue...)
	e.stats.Queued = len(e.queue)
	e.mu.Unlock()
}

func (e *Engine) failAt(i int, err error) {
	j := e.running[i]
	e.running = append(e.running[:i], e.running[i+1:]...)
	e.finish(j, "error", err)
}

// remove drops the running jobs for which drop returns true.
func (e *Engine) remove(drop func(*job) bool) {
	keep := e.running[:0]
	for _, j := range e.running {
		if !drop(j) {
			keep = append(keep, j)
		}
	}
	clear(e.running[len(keep):])
	e.running = keep
}

// sample draws the next token of j from its logits row, streams it, and
// returns the stop reason if j is finished ("" otherwise).
func (e *Engine) sample(j *job, logits []float32) string {
	if j.decode.IsZero() {
		j.decode = time.Now()
		j.res.Timings.Prefill = j.decode.Sub(j.first)
	}
	if j.think && j.req.MaxReasoningTokens > 0 && j.res.ReasoningTokens >= j.req.MaxReasoningTokens && len(j.req.CloseThinking) > 0 {
		// The reasoning budget is spent: close the block with the model's
		// own tokens instead of sampling (this step's logits are unused).
		j.res.BudgetHit = true
		var reason string
		for _, id := range j.req.CloseThinking {
			if reason = e.emit(j, id, 0, nil); reason != "" {
				break
			}
		}
		j.think = false
		return reason
	}
	constrained := j.req.Constraint != nil && !j.think
	if constrained {
		if j.req.Constraint.Done() {
			return "stop"
		}
		j.req.Constraint.Mask(j.mask)
		if !applyMask(logits, j.mask) {
			return "stop" // nothing may follow
		}
	}
	var top []sample.TokenLogprob
	if j.req.TopLogprobs > 0 {
		top = append([]sample.TokenLogprob(nil), sample.TopLogprobs(logits, j.req.TopLogprobs, j.top[:0])...)
	}
	id := j.sampler.Sample(logits, j.history) // the sampler applies RepeatLastN
	var lp float32
	if j.req.Logprobs || j.req.TopLogprobs > 0 {
		lp = sample.Logprob(logits, id)
	}
	if constrained && !j.req.Constraint.Accept(id) {
		return "stop" // not reached: the mask allowed id
	}
	reason := e.emit(j, id, lp, top)
	if reason == "" && constrained && j.req.Constraint.Done() && !j.req.IgnoreEOS {
		reason = "stop"
	}
	return reason
}

// applyMask sets the logits of the tokens not allowed to -Inf and reports
// whether any token is allowed.
func applyMask(logits []float32, allowed []uint64) bool {
	ninf := float32(math.Inf(-1))
	any := false
	for w, bits := range allowed {
		any = any || bits != 0
		if bits == ^uint64(0) {
			continue
		}
		lo := w * 64
		hi := min(lo+64, len(logits))
		for i := lo; i < hi; i++ {
			if bits&(1<<(i-lo)) == 0 {
				logits[i] = ninf
			}
		}
	}
	return any
}

// emit appends token id (sampled, or forced by the reasoning budget) to
// j's output, streams it, tracks the reasoning block, and returns the stop
// reason if j is finished ("" otherwise).
func (e *Engine) emit(j *job, id int32, lp float32, top []sample.TokenLogprob) string {
	j.res.Tokens = append(j.res.Tokens, id)
	j.history = append(j.history, id)
	if j.think {
		j.res.ReasoningTokens++
		j.tail = append(j.tail, e.tok.Piece(id)...)
		if i := bytes.Index(j.tail, []byte(j.req.ThinkEnd)); i >= 0 {
			j.think = false
		} else if keep := len(j.req.ThinkEnd) - 1; len(j.tail) > keep {
			j.tail = append(j.tail[:0], j.tail[len(j.tail)-keep:]...)
		}
	}
	eog := e.tok.IsEOG(id)
	piece := ""
	if !eog || j.req.IgnoreEOS {
		piece = j.dec.Add(id)
	}
	shown, stopped := j.stop.Push(piece)
	j.text = append(j.text, shown...)
	j.stream.push(Event{Token: Token{ID: id, Text: shown, Logprob: lp, Top: top}})
	switch {
	case stopped:
		return "stop"
	case eog && !j.req.IgnoreEOS:
		return "eos"
	case j.req.MaxTokens > 0 && len(j.res.Tokens) >= j.req.MaxTokens:
		return "length"
	case len(j.history) > e.opt.Context:
		return "context"
	}
	return ""
}

// finish ends j: flushes held text, frees its cache and sends the final
// event.
func (e *Engine) finish(j *job, reason string, err error) {
	if j.started && reason != "stop" && err == nil {
		rest, _ := j.stop.Push(j.dec.Flush())
		if tail := rest + j.stop.Flush(); tail != "" {
			j.text = append(j.text, tail...)
			j.stream.push(Event{Token: Token{ID: -1, Text: tail}})
		}
	}
	if j.seq != nil {
		j.seq.Release()
	}
	if !j.decode.IsZero() {
		j.res.Timings.Decode = time.Since(j.decode)
	}
	if !j.started {
		j.res.PromptTokens = len(j.req.Prompt)
	}
	j.res.StopReason = reason
	j.res.Text = string(j.text)
	j.stream.push(Event{Done: true, Result: j.res, Err: err})
}

// publish copies the loop's counters into the stats snapshot.
func (e *Engine) publish() {
	ps := e.pool.Stats()
	e.mu.Lock()
	e.stats.Running = len(e.running)
	e.stats.Queued = len(e.queue)
	e.stats.KVBlocksUsed = ps.Used
	e.stats.KVBlocksCached = ps.Cached
	e.mu.Unlock()
}
