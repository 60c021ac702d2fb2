// Package engine turns a model, a tokenizer and a sampler into text
// generation. Generate runs one sequence to completion (the CLI's
// generate and run); continuous batching of many sequences builds on the
// same pieces.
package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
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
	Context     int            // KV cache capacity in tokens (prompt + generated)
	Sample      sample.Options // zero value: greedy
	IgnoreEOS   bool           // keep generating past end-of-generation tokens
	Stop        []string       // stop strings (not included in the output)
	Logprobs    bool           // report each sampled token's log-probability
	TopLogprobs int            // how many top log-probabilities to report per token

	// Seq, when set, is an existing cache to continue (a chat's earlier
	// turns): its first Seq.Len() positions must hold Prompt[:Seq.Len()]
	// (use CommonPrefix and Truncate), and only the rest of the prompt is
	// prefilled. The cache then holds the prompt and generated tokens.
	// Context is ignored; the cache's capacity applies.
	Seq *kvcache.Seq
}

// CommonPrefix returns the length of the longest common prefix of a and b.
func CommonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Token is one generated token as it is streamed.
type Token struct {
	ID   int32
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
	PrefillTokens int           // prompt tokens in the prefill batch (not already cached)
	Prefill       time.Duration // prefill forward pass
	DecodeTokens  int           // single-token forward passes after the prefill
	Decode        time.Duration // the decode loop: forward passes, sampling, detokenizing
}

// Result summarizes a finished generation.
type Result struct {
	Tokens       []int32
	Text         string
	StopReason   string // "length", "eos", "stop", "context" or "cancelled"
	PromptTokens int    // tokens in the prompt
	CachedTokens int    // prompt tokens whose cache was reused (prefix hit), not recomputed
	Timings      Timings
}

// Generate prefills req.Prompt in one batch, then samples tokens one at a
// time until a stop condition, calling emit (if non-nil) for each. An error
// from emit, or ctx being cancelled, ends generation early (StopReason
// "cancelled", with the tokens so far and no error for cancellation).
func Generate(ctx context.Context, m model.Model, tok *tokenizer.Tokenizer, req Request, emit func(Token) error) (Result, error) {
	info := m.Info()
	if len(req.Prompt) == 0 {
		return Result{}, errors.New("engine: empty prompt")
	}
	if req.Seq != nil {
		req.Context = req.Seq.Cap()
	}
	if req.Context <= 0 {
		req.Context = info.ContextLength
	}
	if len(req.Prompt) >= req.Context {
		return Result{}, fmt.Errorf("%w: %d prompt tokens, context %d (raise --ctx)", ErrPromptTooLong, len(req.Prompt), req.Context)
	}
	if err := req.Sample.Validate(); err != nil {
		return Result{}, err
	}
	seq := req.Seq
	if seq == nil {
		var err error
		if seq, err = m.NewSeq(req.Context); err != nil {
			return Result{}, err
		}
	}
	// Keep at least one prompt token to prefill: its logits start generation.
	if seq.Len() >= len(req.Prompt) {
		seq.Truncate(len(req.Prompt) - 1)
	}
	vocab := info.VocabSize
	logits := make([]float32, vocab)
	var batch model.Batch
	sampler := sample.New(req.Sample)
	stop := sample.NewStopMatcher(req.Stop)
	dec := tok.NewStreamDecoder()
	history := make([]int32, 0, req.Context)
	history = append(history, req.Prompt...)
	var top []sample.TokenLogprob
	if req.TopLogprobs > 0 {
		top = make([]sample.TokenLogprob, 0, req.TopLogprobs)
	}

	res := Result{StopReason: "length"}
	var text []byte
	// Prefill: the whole prompt in one batch, logits for the last row only.
	start := time.Now()
	todo := req.Prompt[seq.Len():]
	for i, id := range todo {
		batch.Add(seq, id, i == len(todo)-1)
	}
	if err := m.Forward(&batch, logits); err != nil {
		return res, err
	}
	res.Timings.PrefillTokens = len(todo)
	res.Timings.Prefill = time.Since(start)

	start = time.Now()
	for {
		if ctx.Err() != nil {
			res.StopReason = "cancelled"
			break
		}
		var tl []sample.TokenLogprob
		if req.TopLogprobs > 0 {
			tl = append([]sample.TokenLogprob(nil), sample.TopLogprobs(logits, req.TopLogprobs, top[:0])...)
		}
		id := sampler.Sample(logits, history) // the sampler applies RepeatLastN
		res.Tokens = append(res.Tokens, id)
		history = append(history, id)
		eog := tok.IsEOG(id)
		piece := ""
		if !eog || req.IgnoreEOS {
			piece = dec.Add(id)
		}
		shown, stopped := stop.Push(piece)
		text = append(text, shown...)
		if emit != nil {
			if err := emit(Token{ID: id, Text: shown, Top: tl}); err != nil {
				res.StopReason = "cancelled"
				break
			}
		}
		switch {
		case stopped:
			res.StopReason = "stop"
		case eog && !req.IgnoreEOS:
			res.StopReason = "eos"
		case req.MaxTokens > 0 && len(res.Tokens) >= req.MaxTokens:
			res.StopReason = "length"
		case seq.Len() >= seq.Cap():
			res.StopReason = "context"
		default:
			// Decode: feed the sampled token back.
			batch.Reset()
			batch.Add(seq, id, true)
			if err := m.Forward(&batch, logits); err != nil {
				return res, err
			}
			res.Timings.DecodeTokens++
			continue
		}
		break
	}
	if res.StopReason != "stop" {
		rest, _ := stop.Push(dec.Flush())
		tail := rest + stop.Flush()
		text = append(text, tail...)
		if tail != "" && emit != nil {
			emit(Token{ID: -1, Text: tail})
		}
	}
	res.Timings.Decode = time.Since(start)
	res.Text = string(text)
	return res, nil
}
