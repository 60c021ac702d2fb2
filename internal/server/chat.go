package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/server/openai"
)

// newID returns a response ID with the given prefix.
func newID(prefix string) string {
	return fmt.Sprintf("%s-%x", prefix, time.Now().UnixNano())
}

func (s *Server) unknownModel(w http.ResponseWriter, m *Model, name string) {
	writeError(w, http.StatusNotFound, "invalid_request_error", "model", "model_not_found",
		fmt.Sprintf("the model %q does not exist (this server serves %q)", name, m.Name))
}

// handleChat serves POST /v1/chat/completions: the conversation rendered
// with the model's chat template, the answer split into reasoning_content
// and content as DeepSeek's API does.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	m := s.ready(w)
	if m == nil {
		return
	}
	body := s.readBody(w, r)
	if body == nil {
		return
	}
	req, err := openai.DecodeChatRequest(body)
	if err != nil {
		writeRequestError(w, err)
		return
	}
	if !m.knows(req.Model) {
		s.unknownModel(w, m, req.Model)
		return
	}
	prompt, err := m.Template.Apply(openai.ChatMessages(req.Messages), chat.Options{
		AddGenerationPrompt: true, BOS: m.BOS, EOS: m.EOS, ForceThink: m.R1, Vars: req.ChatTemplateKwargs,
	})
	if err != nil {
		s.writeTemplateError(w, err)
		return
	}
	ids := m.Backend.Encode(prompt)
	ri := info(r)
	ri.promptTokens = len(ids)
	top := 0
	if req.TopLogprobs != nil {
		top = *req.TopLogprobs
	}
	events, err := m.Backend.Submit(r.Context(), engine.Request{
		Prompt: ids, MaxTokens: req.Limit(), Sample: sampling(&req.Params, m.R1),
		IgnoreEOS: req.IgnoreEOS, Stop: req.Stop, Logprobs: req.Logprobs, TopLogprobs: top,
	})
	if err != nil {
		s.writeSubmitError(w, err, "messages")
		return
	}
	th := newThinking(prompt, req.RawReasoning())
	name := req.Model
	if name == "" {
		name = m.Name
	}
	c := &chatRun{s: s, m: m, req: req, th: th, id: newID("chatcmpl"), created: start.Unix(), model: name, promptLen: len(ids), start: start}
	if req.Stream {
		c.stream(w, r, events)
	} else {
		c.complete(w, r, events)
	}
	ri.completionTokens = c.generated
}

// chatRun is one chat request being answered.
type chatRun struct {
	s         *Server
	m         *Model
	req       *openai.ChatRequest
	th        *thinking
	id        string
	created   int64
	model     string
	promptLen int
	start     time.Time
	generated int
}

func (c *chatRun) complete(w http.ResponseWriter, r *http.Request, events Events) {
	var reasoning, content strings.Builder
	var lps *openai.ChatLogprobs
	if c.req.Logprobs {
		lps = &openai.ChatLogprobs{Content: []openai.TokenLogprob{}}
	}
	res, err := c.s.generate(r.Context(), events, c.start, func(t engine.Token) error {
		rs, cs := c.th.push(t)
		reasoning.WriteString(rs)
		content.WriteString(cs)
		if lps != nil && t.ID >= 0 {
			lps.Content = append(lps.Content, chatLogprob(c.m.Backend, t))
		}
		return nil
	})
	c.generated = len(res.Tokens)
	if err != nil {
		c.s.writeGenerateError(w, r.Context(), err)
		return
	}
	rs, cs := c.th.flush()
	reasoning.WriteString(rs)
	content.WriteString(cs)
	c.s.metrics.reasoning(c.th.tokens)
	writeJSON(w, http.StatusOK, openai.ChatCompletion{
		ID: c.id, Object: openai.ObjectChatCompletion, Created: c.created, Model: c.model,
		Choices: []openai.ChatChoice{{
			Message:      openai.ResponseMessage{Role: "assistant", Content: content.String(), ReasoningContent: reasoning.String()},
			Logprobs:     lps,
			FinishReason: finishReason(res.StopReason),
		}},
		Usage: usage(res, c.promptLen, c.th.tokens),
	})
}

func (c *chatRun) chunk(d openai.Delta, lp *openai.ChatLogprobs, finish *string) openai.ChatChunk {
	return openai.ChatChunk{
		ID: c.id, Object: openai.ObjectChatCompletionChunk, Created: c.created, Model: c.model,
		Choices: []openai.ChunkChoice{{Delta: d, Logprobs: lp, FinishReason: finish}},
	}
}

// delta is a chunk's text; empty fields are left out.
func delta(reasoning, content string) openai.Delta {
	var d openai.Delta
	if reasoning != "" {
		d.ReasoningContent = &reasoning
	}
	if content != "" {
		d.Content = &content
	}
	return d
}

func (c *chatRun) stream(w http.ResponseWriter, r *http.Request, events Events) {
	out := c.s.startSSE(w)
	empty := ""
	if err := out.send(c.chunk(openai.Delta{Role: "assistant", Content: &empty}, nil, nil)); err != nil {
		return // the client is gone; returning cancels the request
	}
	res, err := c.s.generate(r.Context(), events, c.start, func(t engine.Token) error {
		rs, cs := c.th.push(t)
		var lp *openai.ChatLogprobs
		if c.req.Logprobs && t.ID >= 0 {
			lp = &openai.ChatLogprobs{Content: []openai.TokenLogprob{chatLogprob(c.m.Backend, t)}}
		}
		if rs == "" && cs == "" && lp == nil {
			return nil
		}
		return out.send(c.chunk(delta(rs, cs), lp, nil))
	})
	c.generated = len(res.Tokens)
	if err != nil {
		c.s.streamError(out, r, err)
		return
	}
	if rs, cs := c.th.flush(); rs != "" || cs != "" {
		if out.send(c.chunk(delta(rs, cs), nil, nil)) != nil {
			return
		}
	}
	c.s.metrics.reasoning(c.th.tokens)
	finish := finishReason(res.StopReason)
	if out.send(c.chunk(openai.Delta{}, nil, &finish)) != nil {
		return
	}
	if c.req.IncludeUsage() {
		u := openai.ChatChunk{ID: c.id, Object: openai.ObjectChatCompletionChunk, Created: c.created, Model: c.model,
			Choices: []openai.ChunkChoice{}, Usage: usage(res, c.promptLen, c.th.tokens)}
		if out.send(u) != nil {
			return
		}
	}
	out.done()
}

// streamError ends a stream whose generation failed after the headers
// were sent: an error event, as OpenAI's clients read it, then [DONE].
func (s *Server) streamError(out *sse, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client is gone
	}
	s.log.Error("generation failed mid-stream", "path", r.URL.Path, "err", err)
	code := ""
	if err == errCancelled {
		code = "shutting_down"
	}
	if out.send(errorBody("server_error", "", code, fmt.Sprintf("generation failed: %v", err))) == nil {
		out.done()
	}
}
