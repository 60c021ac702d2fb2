package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/server/openai"
)

const key = "sk-test"

// newTestServer returns a ready server over b, serving an R1 model named
// "r1" (alias "deepseek-r1") with the built-in DeepSeek-R1 template.
func newTestServer(t *testing.T, b *fakeBackend, cfg Config) *Server {
	t.Helper()
	src, err := chat.BuiltinSource("deepseek-r1")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := New(cfg)
	s.SetModel(&Model{Backend: b, Name: "r1", Aliases: []string{"deepseek-r1"}, Template: tmpl, BOS: "<｜begin▁of▁sentence｜>", R1: true, Created: 1})
	return s
}

// do sends a request to h and returns the recorded response.
func do(h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("status %d, body %q: %v", w.Code, w.Body, err)
	}
	return v
}

// r1Answer is an R1 output whose </think> is split across two tokens.
var r1Answer = []string{"Let me", " think.", "</th", "ink>\n\n", "The answer", " is 4."}

const userMsg = `"messages": [{"role": "user", "content": "2+2?"}]`

func TestChatNonStreaming(t *testing.T) {
	b := &fakeBackend{script: tokens("eos", 3, r1Answer...)}
	h := newTestServer(t, b, Config{}).Handler()
	w := do(h, "POST", "/v1/chat/completions", `{"model": "deepseek-r1", `+userMsg+`}`)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	got := decode[openai.ChatCompletion](t, w)
	req, _ := b.last()
	prompt := "<｜begin▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n"
	if string(bytesOf(req.Prompt)) != prompt {
		t.Errorf("prompt: got %q, want %q", bytesOf(req.Prompt), prompt)
	}
	n := len(prompt)
	want := openai.ChatCompletion{
		ID: got.ID, Object: "chat.completion", Created: got.Created, Model: "deepseek-r1",
		Choices: []openai.ChatChoice{{
			Message:      openai.ResponseMessage{Role: "assistant", Content: "The answer is 4.", ReasoningContent: "Let me think."},
			FinishReason: "stop",
		}},
		Usage: &openai.Usage{
			PromptTokens: n, CompletionTokens: 6, TotalTokens: n + 6,
			PromptTokensDetails:     openai.PromptTokensDetails{CachedTokens: 3},
			CompletionTokensDetails: openai.CompletionTokensDetails{ReasoningTokens: 4},
			PromptCacheHitTokens:    3, PromptCacheMissTokens: n - 3,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// The raw JSON has the fields OpenAI clients read, with null logprobs.
	for _, s := range []string{`"reasoning_content":"Let me think."`, `"logprobs":null`, `"prompt_cache_hit_tokens":3`, `"reasoning_tokens":4`, `"cached_tokens":3`} {
		if !strings.Contains(w.Body.String(), s) {
			t.Errorf("body lacks %s: %s", s, w.Body)
		}
	}
	// R1 defaults apply when neither temperature nor top_p is set.
	if req.Sample.Temperature != 0.6 || req.Sample.TopP != 0.95 {
		t.Errorf("R1 defaults: got temperature %v, top_p %v", req.Sample.Temperature, req.Sample.TopP)
	}
}

func bytesOf(ids []int32) []byte {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte(id)
	}
	return b
}

func TestChatParameters(t *testing.T) {
	b := &fakeBackend{script: tokens("length", 0, "a")}
	h := newTestServer(t, b, Config{}).Handler()
	w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`, "temperature": 0, "top_k": 5, "min_p": 0.1, "seed": 42,
		"max_completion_tokens": 7, "max_tokens": 9, "stop": ["x", "y"], "frequency_penalty": 0.5, "ignore_eos": true,
		"chat_template_kwargs": {"enable_thinking": false}}`)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	req, _ := b.last()
	if req.Sample.Temperature != 0 || req.Sample.TopP != 0 || req.Sample.TopK != 5 || req.Sample.MinP != 0.1 ||
		req.Sample.Seed != 42 || req.Sample.FrequencyPenalty != 0.5 || req.MaxTokens != 7 || !req.IgnoreEOS ||
		!reflect.DeepEqual(req.Stop, []string{"x", "y"}) {
		t.Errorf("engine request: got %+v", req)
	}
	if got := decode[openai.ChatCompletion](t, w); got.Choices[0].FinishReason != "length" || got.Model != "r1" {
		t.Errorf("finish_reason %q, model %q; want length, r1", got.Choices[0].FinishReason, got.Model)
	}
}

func TestChatRawReasoning(t *testing.T) {
	b := &fakeBackend{script: tokens("eos", 0, r1Answer...)}
	h := newTestServer(t, b, Config{}).Handler()
	w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`, "reasoning_format": "none"}`)
	got := decode[openai.ChatCompletion](t, w)
	m := got.Choices[0].Message
	if m.Content != "<think>\nLet me think.</think>\n\nThe answer is 4." || m.ReasoningContent != "" {
		t.Errorf("got content %q, reasoning %q", m.Content, m.ReasoningContent)
	}
	if got.Usage.CompletionTokensDetails.ReasoningTokens != 4 {
		t.Errorf("reasoning tokens: got %d, want 4", got.Usage.CompletionTokensDetails.ReasoningTokens)
	}
}

func TestChatLogprobs(t *testing.T) {
	b := &fakeBackend{script: tokens("eos", 0, "a", "b")}
	h := newTestServer(t, b, Config{}).Handler()
	w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`, "logprobs": true, "top_logprobs": 2}`)
	got := decode[openai.ChatCompletion](t, w)
	lp := got.Choices[0].Logprobs
	want := openai.TokenLogprob{Token: "<1000>", Logprob: -0.5, Bytes: byteList("<1000>"), TopLogprobs: []openai.TopLogprob{
		{Token: "<1000>", Logprob: -0.5, Bytes: byteList("<1000>")}, {Token: "<7>", Logprob: -1, Bytes: byteList("<7>")},
	}}
	if lp == nil || len(lp.Content) != 2 || !reflect.DeepEqual(lp.Content[0], want) {
		t.Fatalf("got %+v, want 2 entries starting with %+v", lp, want)
	}
}

// sseEvents reads a text/event-stream body into its data payloads.
func sseEvents(t *testing.T, body io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("unexpected SSE line %q", line)
		}
		out = append(out, data)
	}
	return out
}

func TestChatStreaming(t *testing.T) {
	b := &fakeBackend{script: tokens("eos", 2, r1Answer...)}
	h := newTestServer(t, b, Config{}).Handler()
	w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`, "stream": true, "stream_options": {"include_usage": true}}`)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	evs := sseEvents(t, w.Body)
	if evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("last event %q, want [DONE]", evs[len(evs)-1])
	}
	var chunks []openai.ChatChunk
	for _, e := range evs[:len(evs)-1] {
		var c openai.ChatChunk
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if c.Object != "chat.completion.chunk" || c.ID != chunksID(chunks, c.ID) {
			t.Fatalf("chunk %s: wrong object or id", e)
		}
		chunks = append(chunks, c)
	}
	first := chunks[0].Choices[0].Delta
	if first.Role != "assistant" || first.Content == nil || *first.Content != "" {
		t.Errorf("first delta: got %+v, want role assistant and empty content", first)
	}
	var reasoning, content strings.Builder
	finishes := 0
	for _, c := range chunks[1 : len(chunks)-1] {
		d := c.Choices[0].Delta
		if d.ReasoningContent != nil {
			reasoning.WriteString(*d.ReasoningContent)
		}
		if d.Content != nil {
			content.WriteString(*d.Content)
		}
		if f := c.Choices[0].FinishReason; f != nil {
			finishes++
			if *f != "stop" {
				t.Errorf("finish_reason %q, want stop", *f)
			}
		}
	}
	if reasoning.String() != "Let me think." || content.String() != "The answer is 4." || finishes != 1 {
		t.Errorf("got reasoning %q, content %q, %d finish reasons", reasoning.String(), content.String(), finishes)
	}
	u := chunks[len(chunks)-1]
	if len(u.Choices) != 0 || u.Usage == nil || u.Usage.CompletionTokens != 6 || u.Usage.PromptCacheHitTokens != 2 ||
		u.Usage.CompletionTokensDetails.ReasoningTokens != 4 {
		t.Errorf("usage chunk: got %+v", u)
	}
	if !strings.Contains(evs[len(evs)-2], `"choices":[]`) {
		t.Errorf("usage chunk %s: want an empty choices array", evs[len(evs)-2])
	}
}

func chunksID(prev []openai.ChatChunk, id string) string {
	if len(prev) == 0 {
		return id
	}
	return prev[0].ID
}

// TestChatStreamSplitEverywhere streams the answer one byte per token:
// the reasoning split must not depend on where tokens break.
func TestChatStreamSplitEverywhere(t *testing.T) {
	text := strings.Join(r1Answer, "")
	var bytesTok []string
	for i := range len(text) {
		bytesTok = append(bytesTok, text[i:i+1])
	}
	b := &fakeBackend{script: tokens("eos", 0, bytesTok...)}
	h := newTestServer(t, b, Config{}).Handler()
	w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`, "stream": true}`)
	var reasoning, content strings.Builder
	for _, e := range sseEvents(t, w.Body) {
		if e == "[DONE]" {
			break
		}
		var c openai.ChatChunk
		json.Unmarshal([]byte(e), &c)
		if c.Usage != nil {
			t.Errorf("usage chunk without include_usage: %s", e)
		}
		for _, ch := range c.Choices {
			if ch.Delta.ReasoningContent != nil {
				reasoning.WriteString(*ch.Delta.ReasoningContent)
			}
			if ch.Delta.Content != nil {
				content.WriteString(*ch.Delta.Content)
			}
		}
	}
	if reasoning.String() != "Let me think." || content.String() != "The answer is 4." {
		t.Errorf("got reasoning %q, content %q", reasoning.String(), content.String())
	}
}

func TestCompletions(t *testing.T) {
	b := &fakeBackend{script: tokens("length", 1, "Once", " upon")}
	h := newTestServer(t, b, Config{}).Handler()
	w := do(h, "POST", "/v1/completions", `{"prompt": "abc", "max_tokens": 2, "logprobs": 1}`)
	got := decode[openai.Completion](t, w)
	c := got.Choices[0]
	if w.Code != 200 || got.Object != "text_completion" || c.Text != "Once upon" || c.FinishReason == nil || *c.FinishReason != "length" {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	want := &openai.CompletionLogprobs{Tokens: []string{"<1000>", "<1001>"}, TokenLogprobs: []float64{-0.5, -0.5},
		TopLogprobs: []map[string]float64{{"<1000>": -0.5}, {"<1001>": -0.5}}, TextOffset: []int{0, 4}}
	if !reflect.DeepEqual(c.Logprobs, want) {
		t.Errorf("logprobs: got %+v, want %+v", c.Logprobs, want)
	}
	if got.Usage.PromptTokens != 3 || got.Usage.CompletionTokens != 2 || got.Usage.PromptCacheMissTokens != 2 {
		t.Errorf("usage: got %+v", got.Usage)
	}
	req, _ := b.last()
	if string(bytesOf(req.Prompt)) != "abc" || req.MaxTokens != 2 {
		t.Errorf("engine request: got %+v", req)
	}

	// Token ids are used verbatim; streamed text adds up.
	w = do(h, "POST", "/v1/completions", `{"prompt": [5, 6], "stream": true, "stream_options": {"include_usage": true}}`)
	var text strings.Builder
	evs := sseEvents(t, w.Body)
	for _, e := range evs[:len(evs)-1] {
		var c openai.Completion
		json.Unmarshal([]byte(e), &c)
		for _, ch := range c.Choices {
			text.WriteString(ch.Text)
		}
	}
	if req, _ := b.last(); !reflect.DeepEqual(req.Prompt, []int32{5, 6}) || text.String() != "Once upon" || evs[len(evs)-1] != "[DONE]" {
		t.Errorf("got prompt %v, text %q, events %q", req.Prompt, text.String(), evs)
	}
	if !strings.Contains(evs[len(evs)-2], `"usage":{"prompt_tokens":2,`) {
		t.Errorf("usage chunk: got %s", evs[len(evs)-2])
	}
}

func TestModelsAndHealth(t *testing.T) {
	b := &fakeBackend{}
	cfg := Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s := New(cfg)
	h := s.Handler()
	if w := do(h, "GET", "/health", ""); w.Code != 503 || !strings.Contains(w.Body.String(), "loading") {
		t.Errorf("loading /health: got %d %s", w.Code, w.Body)
	}
	if w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`}`); w.Code != 503 || !strings.Contains(w.Body.String(), "model_loading") {
		t.Errorf("loading chat: got %d %s", w.Code, w.Body)
	}
	s.SetModel(&Model{Backend: b, Name: "r1", Created: 5})
	if w := do(h, "GET", "/health", ""); w.Code != 200 {
		t.Errorf("ready /health: got %d", w.Code)
	}
	w := do(h, "GET", "/v1/models", "")
	want := openai.ModelList{Object: "list", Data: []openai.ModelCard{{ID: "r1", Object: "model", Created: 5, OwnedBy: "sputnik", ContextLength: 128}}}
	if got := decode[openai.ModelList](t, w); !reflect.DeepEqual(got, want) {
		t.Errorf("models: got %+v, want %+v", got, want)
	}
	if w := do(h, "GET", "/v1/models/r1", ""); w.Code != 200 {
		t.Errorf("GET /v1/models/r1: got %d", w.Code)
	}
	s.Drain()
	if w := do(h, "GET", "/health", ""); w.Code != 503 {
		t.Errorf("draining /health: got %d", w.Code)
	}
}

func TestErrors(t *testing.T) {
	big := `{"messages": [{"role": "user", "content": "` + strings.Repeat("x", 2000) + `"}]}`
	auth := []string{"Authorization", "Bearer " + key}
	tests := []struct {
		name         string
		backend      *fakeBackend
		method, path string
		body         string
		header       []string
		status       int
		param, code  string
		msg          string
	}{
		{"bad JSON", nil, "POST", "/v1/chat/completions", `{"messages": [}`, auth, 400, "", "", "invalid JSON at byte"},
		{"n=2", nil, "POST", "/v1/chat/completions", `{` + userMsg + `, "n": 2}`, auth, 400, "n", "", "only n = 1"},
		{"unknown role", nil, "POST", "/v1/chat/completions", `{"messages": [{"role": "robot", "content": "x"}]}`, auth, 400, "messages[0].role", "", `unknown role "robot"`},
		{"max_tokens 0", nil, "POST", "/v1/completions", `{"prompt": "x", "max_tokens": 0}`, auth, 400, "max_tokens", "", "at least 1"},
		{"tools", nil, "POST", "/v1/chat/completions", `{` + userMsg + `, "tools": [{"type": "function"}]}`, auth, 400, "tools[0].function", "", "missing"},
		{"template raises", nil, "POST", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}, {"role": "system", "content": "c"}, {"role": "banana", "content": "d"}]}`, auth, 400, "messages[3].role", "", "unknown role"},
		{"no key", nil, "POST", "/v1/chat/completions", `{` + userMsg + `}`, nil, 401, "", "invalid_api_key", "API key"},
		{"wrong key", nil, "GET", "/v1/models", "", []string{"Authorization", "Bearer sk-wrong"}, 401, "", "invalid_api_key", "API key"},
		{"key without Bearer", nil, "GET", "/v1/models", "", []string{"Authorization", key}, 401, "", "invalid_api_key", "API key"},
		{"unknown model", nil, "POST", "/v1/chat/completions", `{"model": "gpt-4", ` + userMsg + `}`, auth, 404, "model", "model_not_found", `"gpt-4" does not exist`},
		{"unknown model id", nil, "GET", "/v1/models/gpt-4", "", auth, 404, "model", "model_not_found", "does not exist"},
		{"unknown path", nil, "GET", "/v2/x", "", auth, 404, "", "", "no such endpoint"},
		{"wrong method", nil, "GET", "/v1/chat/completions", "", auth, 405, "", "", "method not allowed"},
		{"body too large", nil, "POST", "/v1/chat/completions", big, auth, 413, "", "request_too_large", "larger than 1024 bytes"},
		{"queue full", &fakeBackend{err: engine.ErrQueueFull}, "POST", "/v1/chat/completions", `{` + userMsg + `}`, auth, 429, "", "queue_full", "busy"},
		{"closed", &fakeBackend{err: engine.ErrClosed}, "POST", "/v1/completions", `{"prompt": "x"}`, auth, 503, "", "shutting_down", "shutting down"},
		{"prompt too long", &fakeBackend{err: fmt.Errorf("%w: 200 prompt tokens, context 128", engine.ErrPromptTooLong)}, "POST", "/v1/completions", `{"prompt": "x"}`, auth, 400, "prompt", "context_length_exceeded", "200 prompt tokens, context 128"},
		{"engine invalid", &fakeBackend{err: fmt.Errorf("%w: token 99999 outside the vocabulary", engine.ErrInvalid)}, "POST", "/v1/completions", `{"prompt": [99999]}`, auth, 400, "", "", "outside the vocabulary"},
		{"engine failure", &fakeBackend{script: func(engine.Request) []engine.Event {
			return []engine.Event{{Done: true, Err: errors.New("kernel exploded reading /secret/model.gguf")}}
		}}, "POST", "/v1/chat/completions", `{` + userMsg + `}`, auth, 500, "", "", "internal error during the generation for model \"r1\""},
		{"panic", &fakeBackend{panic: true}, "POST", "/v1/chat/completions", `{` + userMsg + `}`, auth, 500, "", "", "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.backend
			if b == nil {
				b = &fakeBackend{script: tokens("eos", 0, "x")}
			}
			h := newTestServer(t, b, Config{APIKey: key, MaxBody: 1024, RetryAfter: 3 * time.Second}).Handler()
			w := do(h, tc.method, tc.path, tc.body, tc.header...)
			if w.Code != tc.status {
				t.Fatalf("status: got %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			e := decode[openai.ErrorResponse](t, w)
			str := func(p *string) string {
				if p == nil {
					return ""
				}
				return *p
			}
			if str(e.Error.Param) != tc.param || str(e.Error.Code) != tc.code || !strings.Contains(e.Error.Message, tc.msg) || e.Error.Type == "" {
				t.Errorf("got %s; want param %q, code %q and a message containing %q", w.Body, tc.param, tc.code, tc.msg)
			}
			switch tc.status {
			case 429:
				if w.Header().Get("Retry-After") != "3" {
					t.Errorf("Retry-After: got %q, want 3", w.Header().Get("Retry-After"))
				}
			case 405:
				if w.Header().Get("Allow") != "POST" {
					t.Errorf("Allow: got %q, want POST", w.Header().Get("Allow"))
				}
			}
		})
	}
}

// TestPanicEndsOneRequest: after a handler panics, the server keeps
// serving.
func TestPanicEndsOneRequest(t *testing.T) {
	var logs bytes.Buffer
	b := &fakeBackend{panic: true, script: tokens("eos", 0, "ok")}
	h := newTestServer(t, b, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Handler()
	if w := do(h, "POST", "/v1/completions", `{"prompt": "x"}`); w.Code != 500 {
		t.Fatalf("got %d, want 500", w.Code)
	}
	if !strings.Contains(logs.String(), "fake backend: boom") {
		t.Errorf("panic not logged: %s", logs.String())
	}
	b.panic = false
	if w := do(h, "POST", "/v1/completions", `{"prompt": "x"}`); w.Code != 200 {
		t.Fatalf("after the panic: got %d, want 200", w.Code)
	}
	if !strings.Contains(logs.String(), "status=200") || !strings.Contains(logs.String(), "completion_tokens=1") {
		t.Errorf("request log line missing: %s", logs.String())
	}
}

// TestClientDisconnect: a client that goes away mid-stream cancels the
// context its request was submitted with.
func TestClientDisconnect(t *testing.T) {
	b := &fakeBackend{script: tokens("eos", 0, "a"), block: true}
	srv := httptest.NewServer(newTestServer(t, b, Config{}).Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions", strings.NewReader(`{`+userMsg+`, "stream": true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()
	_, subCtx := b.last()
	select {
	case <-subCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the request context was not cancelled after the client left")
	}
}

func TestMetrics(t *testing.T) {
	b := &fakeBackend{script: tokens("eos", 2, r1Answer...), stats: engine.Stats{Running: 2, Queued: 3, KVBlocks: 100, KVBlocksUsed: 25, KVBlocksCached: 5, KVBlockTokens: 16, KVBytes: 1 << 20, KVBytesPerTok: 576}}
	h := newTestServer(t, b, Config{}).Handler()
	do(h, "POST", "/v1/chat/completions", `{`+userMsg+`}`)
	do(h, "POST", "/v1/chat/completions", `{`+userMsg+`, "n": 3}`)
	w := do(h, "GET", "/metrics", "")
	body := w.Body.String()
	for _, s := range []string{
		`sputnik_requests_total{code="200",endpoint="chat"} 1`,
		`sputnik_requests_total{code="400",endpoint="chat"} 1`,
		"sputnik_prompt_tokens_total 4", // wait: set below
		"sputnik_generation_tokens_total 6",
		"sputnik_reasoning_tokens_total 4",
		"sputnik_prefix_cache_hit_tokens_total 2",
		"sputnik_time_to_first_token_seconds_count 1",
		"sputnik_inter_token_latency_seconds_count 5",
		"sputnik_e2e_request_latency_seconds_count 1",
		MetricRunning + " 2",
		MetricQueued + " 3",
		MetricKVUsage + " 0.25",
		`sputnik_kv_cache_blocks{state="free"} 70`,
		`sputnik_cache_config_info{block_size="16",num_gpu_blocks="100"} 1`,
	} {
		if strings.HasPrefix(s, "sputnik_prompt_tokens_total") {
			s = fmt.Sprintf("sputnik_prompt_tokens_total %d", len("<｜begin▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n"))
		}
		if !strings.Contains(body, s+"\n") {
			t.Errorf("metrics lack %q", s)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}
