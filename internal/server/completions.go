package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/grammar"
	"github.com/sputnik-llm/sputnik/internal/server/openai"
)

// handleCompletions serves POST /v1/completions: a raw prompt (text or
// token ids), no chat template and no reasoning split.
func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	m, req, ok := decodeRequest(s, w, r, openai.DecodeCompletionRequest)
	if !ok {
		return
	}
	ids := req.Prompt.Tokens
	if ids == nil {
		ids = m.Backend.Encode(req.Prompt.Text)
	}
	ri := info(r)
	ri.promptTokens = len(ids)
	top := 0
	if req.Logprobs != nil {
		top = *req.Logprobs
	}
	ereq := engine.Request{
		Prompt: ids, MaxTokens: req.Limit(), Sample: sampling(&req.Params, m.R1),
		IgnoreEOS: req.IgnoreEOS, Stop: req.Stop, Logprobs: req.Logprobs != nil, TopLogprobs: top,
	}
	text := req.Prompt.Text
	if req.Prompt.Tokens != nil {
		var b strings.Builder
		for _, id := range ids[max(len(ids)-8, 0):] {
			b.WriteString(m.Backend.Piece(id))
		}
		text = b.String()
	}
	err := s.constraint(m, &ereq, text, &req.Reasoning, func() (*grammar.Grammar, string, error) {
		return formatGrammar(req.ResponseFormat)
	})
	if err != nil {
		writeRequestError(w, err)
		return
	}
	events, err := m.Backend.Submit(r.Context(), ereq)
	if err != nil {
		s.writeSubmitError(w, err, "prompt")
		return
	}
	name := req.Model
	if name == "" {
		name = m.Name
	}
	c := &completionRun{s: s, m: m, req: req, id: newID("cmpl"), created: start.Unix(), model: name, promptLen: len(ids), start: start}
	if req.Stream {
		c.stream(w, r, events)
	} else {
		c.complete(w, r, events)
	}
	ri.completionTokens = c.generated
}

type completionRun struct {
	s         *Server
	m         *Model
	req       *openai.CompletionRequest
	id        string
	created   int64
	model     string
	promptLen int
	start     time.Time
	generated int
	offset    int // bytes of text so far, for text_offset
}

// logprobs adds token t to lp in the legacy completions shape.
func (c *completionRun) logprobs(lp *openai.CompletionLogprobs, t engine.Token) {
	piece := c.m.Backend.Piece(t.ID)
	lp.Tokens = append(lp.Tokens, piece)
	lp.TokenLogprobs = append(lp.TokenLogprobs, logprob(t.Logprob))
	top := make(map[string]float64, len(t.Top))
	for _, x := range t.Top {
		p := c.m.Backend.Piece(x.ID)
		if _, dup := top[p]; !dup { // keep the likelier of two ids with the same text
			top[p] = logprob(x.Logprob)
		}
	}
	lp.TopLogprobs = append(lp.TopLogprobs, top)
	lp.TextOffset = append(lp.TextOffset, c.offset)
}

func newCompletionLogprobs() *openai.CompletionLogprobs {
	return &openai.CompletionLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
}

func (c *completionRun) complete(w http.ResponseWriter, r *http.Request, events Events) {
	var text strings.Builder
	var lps *openai.CompletionLogprobs
	if c.req.Logprobs != nil {
		lps = newCompletionLogprobs()
	}
	res, err := c.s.generate(r.Context(), events, c.start, func(t engine.Token) error {
		if lps != nil && t.ID >= 0 {
			c.logprobs(lps, t)
		}
		text.WriteString(t.Text)
		c.offset += len(t.Text)
		return nil
	})
	c.generated = len(res.Tokens)
	if err != nil {
		c.s.writeGenerateError(w, r.Context(), err)
		return
	}
	finish := finishReason(res.StopReason)
	writeJSON(w, http.StatusOK, openai.Completion{
		ID: c.id, Object: openai.ObjectTextCompletion, Created: c.created, Model: c.model,
		Choices: []openai.CompletionChoice{{Text: text.String(), Logprobs: lps, FinishReason: &finish}},
		Usage:   usage(res, c.promptLen, 0),
	})
}

func (c *completionRun) chunk(text string, lp *openai.CompletionLogprobs, finish *string) openai.Completion {
	return openai.Completion{
		ID: c.id, Object: openai.ObjectTextCompletion, Created: c.created, Model: c.model,
		Choices: []openai.CompletionChoice{{Text: text, Logprobs: lp, FinishReason: finish}},
	}
}

func (c *completionRun) stream(w http.ResponseWriter, r *http.Request, events Events) {
	out := c.s.startSSE(w)
	res, err := c.s.generate(r.Context(), events, c.start, func(t engine.Token) error {
		var lp *openai.CompletionLogprobs
		if c.req.Logprobs != nil && t.ID >= 0 {
			lp = newCompletionLogprobs()
			c.logprobs(lp, t)
		}
		c.offset += len(t.Text)
		if t.Text == "" && lp == nil {
			return nil
		}
		return out.send(c.chunk(t.Text, lp, nil))
	})
	c.generated = len(res.Tokens)
	if err != nil {
		c.s.streamError(out, r, err)
		return
	}
	finish := finishReason(res.StopReason)
	if out.send(c.chunk("", nil, &finish)) != nil {
		return
	}
	if c.req.IncludeUsage() {
		u := openai.Completion{ID: c.id, Object: openai.ObjectTextCompletion, Created: c.created, Model: c.model,
			Choices: []openai.CompletionChoice{}, Usage: usage(res, c.promptLen, 0)}
		if out.send(u) != nil {
			return
		}
	}
	out.done()
}
