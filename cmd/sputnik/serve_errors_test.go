package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// errorTemplate is a chat template that renders normally unless the last
// message asks it to fail in one of the ways a template can.
const errorTemplate = `{%- set last = messages[-1].content -%}
{%- if last == 'limit' %}{{ 'x' * 9000000000 }}
{%- elif last == 'raise' %}{{ raise_exception('the template refuses') }}
{%- elif last == 'broken' %}{{ messages() }}
{%- elif last == 'sandbox' %}{% set l = [] %}{{ l.append(1) }}
{%- endif -%}
{%- for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}<|im_start|>assistant
`

// TestServeErrorsRevealNoPaths serves a model from a directory with a
// distinctive path, with $HOME and $SPUTNIK_MODELS under it too, provokes
// every kind of error a client can (bad template in four ways, unknown
// model, prompt longer than the context, body over the limit, invalid JSON
// and fields, unknown endpoint and method, wrong key, a model that fails to
// load) and checks that no response names that directory, the original
// $HOME or Go's internals; errors name the model only by its name.
func TestServeErrorsRevealNoPaths(t *testing.T) {
	origHome := os.Getenv("HOME")
	secret := filepath.Join(t.TempDir(), "sputnik-secret-dir-5c81e2")
	for _, d := range []string{"home", "store", "models"} {
		if err := os.MkdirAll(filepath.Join(secret, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", filepath.Join(secret, "home"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(secret, "home", ".cache"))
	t.Setenv("SPUTNIK_MODELS", filepath.Join(secret, "store"))
	src, err := gguf.Open(testutil.SharedFile(t, "golden/models/qwen2-tiny-q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	model := testutil.RewriteGGUF(t, src, filepath.Join(secret, "models"), "tiny-chat.gguf",
		map[string]any{"tokenizer.chat_template": errorTemplate}, nil)

	leaks := func(t *testing.T, what, body string) {
		t.Helper()
		for _, s := range []string{secret, "sputnik-secret-dir", origHome + "/", "goroutine", "runtime error", ".go:", "panic"} {
			if s != "/" && strings.Contains(body, s) {
				t.Errorf("%s: the response contains %q: %s", what, s, body)
			}
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done := startServe(t, ctx, "-m", model, "--api-key", "k", "--ctx", "64", "--max-body", "4K")
	call := func(method, path, body string, key string) (int, string) {
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	chatBody := func(content string) string {
		return `{"model": "tiny-chat", "max_tokens": 2, "messages": [{"role": "user", "content": "` + content + `"}]}`
	}
	tests := []struct {
		name, method, path, body, key string
		status                        int
		want                          string
	}{
		{"template over a limit", "POST", "/v1/chat/completions", chatBody("limit"), "k", 500, `the chat template of model \"tiny-chat\": chat: template line 2: template exceeded a render limit`},
		{"template raises", "POST", "/v1/chat/completions", chatBody("raise"), "k", 400, "the template refuses"},
		{"template error", "POST", "/v1/chat/completions", chatBody("broken"), "k", 500, `the chat template of model \"tiny-chat\" failed at line 4`},
		{"template breaks the sandbox", "POST", "/v1/chat/completions", chatBody("sandbox"), "k", 500, "may not change lists or dicts"},
		{"unknown model", "POST", "/v1/chat/completions", `{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}`, "k", 404, `this server serves \"tiny-chat\"`},
		{"unknown model id", "GET", "/v1/models/nope", "", "k", 404, "tiny-chat"},
		{"prompt longer than the context", "POST", "/v1/chat/completions", chatBody(strings.Repeat("word ", 200)), "k", 400, "context"},
		{"body over the limit", "POST", "/v1/chat/completions", chatBody(strings.Repeat("x", 5000)), "k", 413, "larger than"},
		{"invalid JSON", "POST", "/v1/chat/completions", `{"messages": [`, "k", 400, "invalid JSON"},
		{"invalid field", "POST", "/v1/completions", `{"prompt": "x", "temperature": "hot"}`, "k", 400, "temperature"},
		{"unknown endpoint", "GET", "/v1/nope", "", "k", 404, "no such endpoint"},
		{"wrong method", "GET", "/v1/chat/completions", "", "k", 405, "method not allowed"},
		{"wrong key", "GET", "/v1/models", "", "nope", 401, "key"},
		{"a good request", "POST", "/v1/chat/completions", chatBody("hi"), "k", 200, `"tiny-chat"`},
		{"models", "GET", "/v1/models", "", "k", 200, `"tiny-chat"`},
		{"metrics", "GET", "/metrics", "", "k", 200, "sputnik_requests_total"},
		{"health", "GET", "/health", "", "", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(tc.method, tc.path, tc.body, tc.key)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body %.300s; want %d and %q", status, body, tc.status, tc.want)
			}
			leaks(t, tc.name, body)
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}

	// A model that fails to load: until serve gives up, requests get a 503
	// that names nothing; the failure itself goes to stderr, not to clients.
	broken := filepath.Join(secret, "models", "broken.gguf")
	if err := os.WriteFile(broken, []byte("GGUF\x03\x00\x00\x00 not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	var stderr syncBuffer
	done2 := make(chan error, 1)
	go func() { done2 <- serve(ctx2, []string{"-m", broken, "--addr", "127.0.0.1:0"}, &stderr) }()
	re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			if resp, err := http.Get(m[1] + "/v1/models"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				leaks(t, "loading", string(b))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-done2; err == nil {
		t.Fatal("serve on a broken model: no error")
	}
}

// startServe runs sputnik serve with args on a free loopback port until
// ctx ends, and returns its URL once /health answers 200 and the channel
// serve's result will arrive on.
func startServe(t *testing.T, ctx context.Context, args ...string) (string, <-chan error) {
	t.Helper()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, append(args, "--addr", "127.0.0.1:0", "-t", "2"), &stderr) }()
	re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			if resp, err := http.Get(m[1] + "/health"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return m[1], done
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
