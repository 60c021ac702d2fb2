package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/grammar"
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

// decodeRequest does what every generation handler does first: the model
// must be loaded, the body read and decoded by decode, and the model it
// names served here. When anything fails it has answered and ok is false.
func decodeRequest[T interface{ ModelName() string }](s *Server, w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error)) (m *Model, req T, ok bool) {
	if m = s.ready(w); m == nil {
		return nil, req, false
	}
	body := s.readBody(w, r)
	if body == nil {
		return nil, req, false
	}
	req, err := decode(body)
	if err != nil {
		writeRequestError(w, err)
		return nil, req, false
	}
	if !m.knows(req.ModelName()) {
		s.unknownModel(w, m, req.ModelName())
		return nil, req, false
	}
	return m, req, true
}

// handleChat serves POST /v1/chat/completions: the conversation rendered
// with the model's chat template, the answer split into reasoning_content
// and content as DeepSeek's API does.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	m, req, ok := decodeRequest(s, w, r, openai.DecodeChatRequest)
	if !ok {
		return
	}
	msgs := openai.ChatMessages(req.Messages)
	opts := chat.Options{
		AddGenerationPrompt: true, BOS: m.BOS, EOS: m.EOS, ForceThink: m.R1, Vars: req.ChatTemplateKwargs,
	}
	src := m.Template.Source()
	syntax := chat.DetectToolSyntax(src)
	toolsOn := len(req.Tools) > 0 && (req.ToolChoice == nil || req.ToolChoice.Mode != "none")
	if toolsOn {
		msgs, opts.Tools = withTools(msgs, req.Tools, syntax, chat.RendersTools(src))
	}
	prompt, err := m.Template.Apply(msgs, opts)
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
	ereq := engine.Request{
		Prompt: ids, MaxTokens: req.Limit(), Sample: sampling(&req.Params, m.R1),
		IgnoreEOS: req.IgnoreEOS, Stop: req.Stop, Logprobs: req.Logprobs, TopLogprobs: top,
	}
	err = s.constraint(m, &ereq, prompt, &req.Reasoning, func() (*grammar.Grammar, string, error) {
		if toolsOn && req.ToolChoice != nil && (req.ToolChoice.Mode == "required" || req.ToolChoice.Mode == "function") {
			return toolGrammar(syntax, req.Tools, req.ToolChoice)
		}
		return formatGrammar(req.ResponseFormat)
	})
	if err != nil {
		writeRequestError(w, err)
		return
	}
	events, err := m.Backend.Submit(r.Context(), ereq)
	if err != nil {
		s.writeSubmitError(w, err, "messages")
		return
	}
	th := newThinking(prompt, req.RawReasoning())
	name := req.Model
	if name == "" {
		name = m.Name
	}
	c := &chatRun{s: s, m: m, req: req, th: th, id: newID("chatcmpl"), created: start.Unix(), model: name, promptLen: len(ereq.Prompt), start: start}
	if toolsOn {
		c.tools = chat.NewToolCallParser(syntax)
	}
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
	tools     *chat.ToolCallParser // nil without tools
}

// answer passes content through the tool call parser, when there is one.
func (c *chatRun) answer(content string) string {
	if c.tools == nil || content == "" {
		return content
	}
	return c.tools.Push(content)
}

// calls ends the answer: the held content and the tool calls, in the
// response shape. A malformed call is logged and returned as content.
func (c *chatRun) calls() (string, []openai.ToolCall) {
	if c.tools == nil {
		return "", nil
	}
	content, parsed, err := c.tools.Flush()
	if err != nil {
		c.s.log.Warn("the model wrote a malformed tool call; returned as content", "err", err)
		return content, nil
	}
	if p := c.req.ParallelToolCalls; p != nil && !*p && len(parsed) > 1 {
		parsed = parsed[:1]
	}
	var out []openai.ToolCall
	for i, pc := range parsed {
		out = append(out, openai.ToolCall{
			ID: fmt.Sprintf("call_%s_%d", c.id, i), Type: "function",
			Function: openai.FunctionCall{Name: pc.Name, Arguments: pc.Arguments},
		})
	}
	return content, out
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
		content.WriteString(c.answer(cs))
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
	content.WriteString(c.answer(cs))
	held, calls := c.calls()
	content.WriteString(held)
	finish := finishReason(res.StopReason)
	if len(calls) > 0 {
		finish = openai.FinishTools
	}
	c.s.metrics.reasoning(c.th.tokens)
	writeJSON(w, http.StatusOK, openai.ChatCompletion{
		ID: c.id, Object: openai.ObjectChatCompletion, Created: c.created, Model: c.model,
		Choices: []openai.ChatChoice{{
			Message:      openai.ResponseMessage{Role: "assistant", Content: content.String(), ReasoningContent: reasoning.String(), ToolCalls: calls},
			Logprobs:     lps,
			FinishReason: finish,
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
		cs = c.answer(cs)
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
	rs, cs := c.th.flush()
	cs = c.answer(cs)
	held, calls := c.calls()
	if cs += held; rs != "" || cs != "" {
		if out.send(c.chunk(delta(rs, cs), nil, nil)) != nil {
			return
		}
	}
	for i, tc := range calls {
		d := openai.Delta{ToolCalls: []openai.ToolCallDelta{{Index: i, ID: tc.ID, Type: tc.Type, Function: tc.Function}}}
		if out.send(c.chunk(d, nil, nil)) != nil {
			return
		}
	}
	c.s.metrics.reasoning(c.th.tokens)
	finish := finishReason(res.StopReason)
	if len(calls) > 0 {
		finish = openai.FinishTools
	}
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
	s.log.Error("generation failed mid-stream", "path", r.URL.Path, "model", s.modelName(), "err", err)
	code, msg := "", s.internalError("during the generation")
	if err == errCancelled {
		code, msg = "shutting_down", err.Error()
	}
	if out.send(errorBody("server_error", "", code, msg)) == nil {
		out.done()
	}
}
