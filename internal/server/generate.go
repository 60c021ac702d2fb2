package server

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/sample"
	"github.com/sputnik-llm/sputnik/internal/server/openai"
)

// repeatLastN is the penalty window of frequency, presence and repeat
// penalties, in tokens (llama.cpp's default).
const repeatLastN = 64

// sampling turns the request's parameters into sampler options: unset
// fields are off, except that an R1 model gets DeepSeek's temperature and
// top-p when the request sets neither; without a seed each request draws
// its own.
func sampling(p *openai.Params, r1 bool) sample.Options {
	o := sample.Options{RepeatLastN: repeatLastN}
	if r1 && p.Temperature == nil && p.TopP == nil {
		d := sample.R1Defaults()
		o.Temperature, o.TopP = d.Temperature, d.TopP
	}
	f32 := func(dst *float32, v *float64) {
		if v != nil {
			*dst = float32(*v)
		}
	}
	f32(&o.Temperature, p.Temperature)
	f32(&o.TopP, p.TopP)
	f32(&o.MinP, p.MinP)
	f32(&o.FrequencyPenalty, p.FrequencyPenalty)
	f32(&o.PresencePenalty, p.PresencePenalty)
	f32(&o.RepeatPenalty, p.RepeatPenalty)
	if p.TopK != nil && *p.TopK > 0 {
		o.TopK = *p.TopK
	}
	if p.Seed != nil {
		o.Seed = uint64(*p.Seed)
	} else {
		o.Seed = rand.Uint64()
	}
	return o
}

// finishReason maps the engine's stop reason to OpenAI's.
func finishReason(stop string) string {
	switch stop {
	case "length", "context":
		return openai.FinishLength
	}
	return openai.FinishStop
}

// errCancelled: the engine cancelled a request whose client is still
// there (the server is shutting down).
var errCancelled = errors.New("the request was cancelled: the server is shutting down")

// generate reads a request's events to the end, calling onToken for each
// token, and records its timings. It returns the result, or ctx.Err() when
// the client went away, the engine's error, onToken's error, or
// errCancelled.
func (s *Server) generate(ctx context.Context, ev Events, start time.Time, onToken func(engine.Token) error) (engine.Result, error) {
	var last time.Time
	for {
		e, err := ev.Next(ctx)
		if err != nil {
			if errors.Is(err, engine.ErrStreamDone) {
				err = errors.New("engine: stream ended without a result")
			}
			return engine.Result{}, err
		}
		if e.Done {
			if e.Err != nil {
				return e.Result, e.Err
			}
			if e.Result.StopReason == "cancelled" {
				if ctx.Err() != nil {
					return e.Result, ctx.Err()
				}
				return e.Result, errCancelled
			}
			s.metrics.finished(e.Result, time.Since(start))
			return e.Result, nil
		}
		if e.Token.ID >= 0 {
			now := time.Now()
			if last.IsZero() {
				s.metrics.ttft.Observe(now.Sub(start).Seconds())
			} else {
				s.metrics.itl.Observe(now.Sub(last).Seconds())
			}
			last = now
		}
		if err := onToken(e.Token); err != nil {
			return engine.Result{}, err
		}
	}
}

// writeGenerateError answers a request whose generation failed before
// anything was written. A client that went away gets nothing.
func (s *Server) writeGenerateError(w http.ResponseWriter, ctx context.Context, err error) {
	switch {
	case ctx.Err() != nil:
	case errors.Is(err, errCancelled):
		writeError(w, http.StatusServiceUnavailable, "server_error", "", "shutting_down", err.Error())
	default:
		s.log.Error("generation failed", "model", s.modelName(), "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "", "", s.internalError("during the generation"))
	}
}

// usage builds the usage object of a finished request.
func usage(res engine.Result, promptLen, reasoningTokens int) *openai.Usage {
	prompt := res.PromptTokens
	if prompt == 0 {
		prompt = promptLen
	}
	gen := len(res.Tokens)
	return &openai.Usage{
		PromptTokens: prompt, CompletionTokens: gen, TotalTokens: prompt + gen,
		PromptTokensDetails:     openai.PromptTokensDetails{CachedTokens: res.CachedTokens},
		CompletionTokensDetails: openai.CompletionTokensDetails{ReasoningTokens: reasoningTokens, ReasoningBudgetHit: res.BudgetHit},
		PromptCacheHitTokens:    res.CachedTokens,
		PromptCacheMissTokens:   prompt - res.CachedTokens,
	}
}

// logprob makes a log-probability JSON-safe: -Inf (an impossible token)
// becomes -9999, as OpenAI reports very unlikely tokens.
func logprob(x float32) float64 {
	if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) || x < -9999 {
		return -9999
	}
	return float64(x)
}

func byteList(s string) []int {
	b := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = int(s[i])
	}
	return b
}

// chatLogprob is one token in the chat logprobs shape.
func chatLogprob(b Backend, t engine.Token) openai.TokenLogprob {
	piece := b.Piece(t.ID)
	lp := openai.TokenLogprob{Token: piece, Logprob: logprob(t.Logprob), Bytes: byteList(piece), TopLogprobs: []openai.TopLogprob{}}
	for _, c := range t.Top {
		p := b.Piece(c.ID)
		lp.TopLogprobs = append(lp.TopLogprobs, openai.TopLogprob{Token: p, Logprob: logprob(c.Logprob), Bytes: byteList(p)})
	}
	return lp
}

// thinking splits generated text into reasoning and content and counts
// the reasoning tokens.
type thinking struct {
	split  *chat.ThinkSplitter
	raw    bool   // reasoning_format "none": everything is content
	prefix string // raw mode: the "<think>\n" the prompt opened, shown once
	tokens int    // tokens generated inside the reasoning block
}

func newThinking(prompt string, raw bool) *thinking {
	open := chat.EndsInReasoning(prompt)
	t := &thinking{split: chat.NewThinkSplitter(chat.ThinkOptions{StartInReasoning: open}), raw: raw}
	if raw && open {
		t.prefix = "<think>\n"
	}
	return t
}

// push adds one token's text; a token counts as reasoning when it was
// generated inside the block or opened it.
func (t *thinking) push(tok engine.Token) (reasoning, content string) {
	before := t.split.InReasoning()
	reasoning, content = t.split.Push(tok.Text)
	if tok.ID >= 0 && (before || t.split.InReasoning()) {
		t.tokens++
	}
	if t.raw {
		content, t.prefix = t.prefix+tok.Text, ""
		return "", content
	}
	return reasoning, content
}

func (t *thinking) flush() (reasoning, content string) {
	reasoning, content = t.split.Flush()
	if t.raw {
		return "", ""
	}
	return reasoning, content
}
