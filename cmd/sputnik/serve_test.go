package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/sysmem"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs sputnik serve on a shared tiny model with the real
// engine: /health, a chat answer with reasoning, a client that stops
// reading its stream without holding up another request, metrics, and a
// clean shutdown when the context ends.
func TestServe(t *testing.T) {
	model := filepath.Join(testutil.SharedTestdata(t), "golden", "models", "qwen2-tiny-q8_0.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-m", model, "--addr", "127.0.0.1:0", "--api-key", "k", "--ctx", "512", "--parallel", "2", "-t", "2"}, &stderr)
	}()
	var url string
	re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
			if resp, err := http.Get(url + "/health"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	post := func(ctx context.Context, body string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		return http.DefaultClient.Do(req)
	}

	// A stalled stream: read nothing from it.
	stallCtx, stall := context.WithCancel(ctx)
	stalled, err := post(stallCtx, `{"messages": [{"role": "user", "content": "tell me a long story"}], "max_tokens": 400, "stream": true, "ignore_eos": true}`)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Body.Close()

	start := time.Now()
	resp, err := post(ctx, `{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "temperature": 0}`)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct {
			Message struct {
				Content          string
				ReasoningContent string `json:"reasoning_content"`
			}
		}
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, body %s: %v", resp.StatusCode, body, err)
	}
	if out.Usage.CompletionTokens != 8 || out.Choices[0].Message.ReasoningContent == "" {
		t.Errorf("got %s; want 8 tokens of reasoning (the R1 template opens <think>)", body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a request beside a stalled stream took %v", d)
	}
	stall()
	structuredOutput(t, ctx, post)

	resp, err = http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"sputnik_num_requests_waiting", "sputnik_kv_cache_usage_perc", "sputnik_time_to_first_token_seconds_bucket"} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	cancel() // as SIGTERM does
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no shutdown message: %s", stderr.String())
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"512M", 512 << 20}, {"2G", 2 << 30}, {"1.5GiB", 3 << 29}, {"1048576", 1 << 20}, {"64k", 64 << 10}, {"8MB", 8 << 20}} {
		if got, err := parseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "x", "-1G", "0"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): want an error", in)
		}
	}
	if got := modelName("/m/DeepSeek-R1-Q4_K_M-00001-of-00009.gguf"); got != "DeepSeek-R1-Q4_K_M" {
		t.Errorf("modelName: got %q", got)
	}
}

// structuredOutput checks response_format json_schema, a named tool_choice
// and the reasoning budget on the tiny model: random weights, so only the
// grammar makes the output valid.
func structuredOutput(t *testing.T, ctx context.Context, post func(context.Context, string) (*http.Response, error)) {
	t.Helper()
	call := func(body string) map[string]any {
		t.Helper()
		resp, err := post(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(data, &out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d, body %s: %v", resp.StatusCode, data, err)
		}
		return out
	}
	dig := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	schema := `{"type":"object","properties":{"city":{"enum":["Paris","Tokyo"]},"days":{"type":"integer","minimum":1,"maximum":7},"rain":{"type":"boolean"}},"required":["city","days","rain"],"additionalProperties":false}`
	out := call(`{"messages": [{"role": "user", "content": "Weather?"}], "max_tokens": 600, "seed": 1, "temperature": 0.7, "max_reasoning_tokens": 3,
		"response_format": {"type": "json_schema", "json_schema": {"name": "w", "strict": true, "schema": ` + schema + `}}}`)
	content, _ := dig(out, "choices", 0, "message", "content").(string)
	var w struct {
		City string
		Days int
		Rain *bool
	}
	if err := json.Unmarshal([]byte(content), &w); err != nil || (w.City != "Paris" && w.City != "Tokyo") || w.Days < 1 || w.Days > 7 || w.Rain == nil {
		t.Errorf("structured output %q does not match the schema (%v)", content, err)
	}
	if dig(out, "usage", "completion_tokens_details", "reasoning_budget_hit") != true {
		t.Errorf("usage %v: want reasoning_budget_hit", dig(out, "usage"))
	}

	out = call(`{"messages": [{"role": "user", "content": "Weather in Paris?"}], "max_tokens": 600, "seed": 2, "temperature": 0.7, "max_reasoning_tokens": 2,
		"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": ` + schema + `}}],
		"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}`)
	if dig(out, "choices", 0, "finish_reason") != "tool_calls" {
		t.Fatalf("got %v; want a tool call", out)
	}
	fn := dig(out, "choices", 0, "message", "tool_calls", 0, "function").(map[string]any)
	args, _ := fn["arguments"].(string)
	if fn["name"] != "get_weather" || json.Unmarshal([]byte(args), &w) != nil || w.Days < 1 {
		t.Errorf("tool call %v: want get_weather with arguments matching the schema", fn)
	}
}

// TestDefaultKVBytes: without --kv-mem the pool is what --parallel ×
// --ctx needs, unless that exceeds the memory the process may use; then it
// is capped, but never below one context.
func TestDefaultKVBytes(t *testing.T) {
	info := model.Info{KVLayout: kvcache.Layout{Layers: 61, KeyWidth: 576}} // 70,272 B/token
	var errb bytes.Buffer
	small := defaultKVBytes(engine.Options{Parallel: 2, Context: 1024}, info, 1<<20, &errb)
	if want := int64(2 * 1024 * 70272); small != want || errb.Len() != 0 {
		t.Errorf("2 × 1024 tokens: got %d bytes (note %q), want %d and no note", small, errb.String(), want)
	}
	limit, _ := sysmem.Limit()
	if limit <= 0 {
		t.Skip("no memory limit known here")
	}
	huge := defaultKVBytes(engine.Options{Parallel: 1024, Context: 131072}, info, 1<<30, &errb)
	perCtx := int64(131072 * 70272)
	if huge >= 1024*perCtx || huge < perCtx || huge > limit {
		t.Errorf("1024 × 128k tokens under a %d-byte limit: got %d bytes", limit, huge)
	}
	if !strings.Contains(errb.String(), "capping it at") {
		t.Errorf("no note about the cap: %q", errb.String())
	}
}
