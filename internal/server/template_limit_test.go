package server

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// hostileLimits keep the hostile renders fast (the chat package's tests
// use the same).
var hostileLimits = chat.Limits{
	MaxSteps:       1 << 16,
	MaxMacroDepth:  64,
	MaxOutputBytes: 1 << 20,
	MaxValueBytes:  1 << 20,
	MaxAllocBytes:  8 << 20,
	Timeout:        5 * time.Second,
}

// TestHostileTemplateRequest serves, one after the other, models whose chat
// templates are testutil.HostileTemplates: each chat request fails with a
// 5xx naming the limit or sandbox rule (other template errors name only the
// model and the line), or succeeds for the ones that are harmless once
// bounded, and the server answers the next request. Templates the parser
// refuses never become a model's template.
func TestHostileTemplateRequest(t *testing.T) {
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := s.Handler()
	served := 0
	for _, tc := range testutil.HostileTemplates {
		t.Run(tc.Name, func(t *testing.T) {
			tmpl, err := chat.ParseWith(tc.Source, chat.ParseOptions{Limits: hostileLimits})
			if err != nil {
				if tc.Want == "" || !strings.Contains(err.Error(), tc.Want) {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			b := &fakeBackend{script: tokens("eos", 0, "ok")}
			s.SetModel(&Model{Backend: b, Name: "m", Template: tmpl, Created: 1})
			w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`}`)
			switch {
			case tc.Want == "" && w.Code != 200:
				t.Fatalf("status %d, body %s; want 200", w.Code, w.Body)
			case tc.Want != "" && w.Code < 400:
				t.Fatalf("status %d, body %s; want an error", w.Code, w.Body)
			case tc.Want != "" && !strings.Contains(w.Body.String(), tc.Want) &&
				!strings.Contains(w.Body.String(), `the chat template of model \"m\" failed at line 1`):
				t.Fatalf("status %d, body %s; want an error naming %q", w.Code, w.Body, tc.Want)
			}
			if w := do(h, "GET", "/v1/models", ""); w.Code != 200 {
				t.Fatalf("after the request: /v1/models status %d", w.Code)
			}
			served++
		})
	}
	if served < 40 {
		t.Errorf("only %d templates were served", served)
	}
	// The default limits, as the server runs them, stop a doubling string.
	tmpl, err := chat.Parse(`{% set x = 'a' %}{% for i in range(40) %}{% set x = x ~ x %}{% endfor %}{{ x }}`)
	if err != nil {
		t.Fatal(err)
	}
	s.SetModel(&Model{Backend: &fakeBackend{script: tokens("eos", 0, "ok")}, Name: "m", Template: tmpl, Created: 1})
	if w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`}`); w.Code != 500 || !strings.Contains(w.Body.String(), "MaxValueBytes") {
		t.Fatalf("status %d, body %s; want 500 naming the limit", w.Code, w.Body)
	}
}

// TestErrorsHidePaths makes the engine fail in every way the server passes
// on, with errors that name a file, the model store and Go's internals, and
// checks that the client sees none of it: a 5xx that names the model, the
// details in the log.
func TestErrorsHidePaths(t *testing.T) {
	secret := errors.New("read /home/someone/.cache/sputnik/models/owner/repo/m.gguf: runtime error: index out of range [3] with length 2")
	failing := func(engine.Request) []engine.Event { return []engine.Event{{Done: true, Err: secret}} }
	midStream := func(engine.Request) []engine.Event {
		return []engine.Event{{Token: engine.Token{ID: 1000, Text: "a"}}, {Done: true, Err: secret}}
	}
	tests := []struct {
		name string
		b    *fakeBackend
		path string
		body string
	}{
		{"submit", &fakeBackend{err: secret}, "/v1/chat/completions", `{` + userMsg + `}`},
		{"submit, completions", &fakeBackend{err: secret}, "/v1/completions", `{"prompt": "x"}`},
		{"generation", &fakeBackend{script: failing}, "/v1/chat/completions", `{` + userMsg + `}`},
		{"generation, completions", &fakeBackend{script: failing}, "/v1/completions", `{"prompt": "x"}`},
		{"mid-stream", &fakeBackend{script: midStream}, "/v1/chat/completions", `{"stream": true, ` + userMsg + `}`},
		{"mid-stream, completions", &fakeBackend{script: midStream}, "/v1/completions", `{"stream": true, "prompt": "x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log strings.Builder
			s := newTestServer(t, tc.b, Config{Logger: slog.New(slog.NewTextHandler(&log, nil))})
			w := do(s.Handler(), "POST", tc.path, tc.body)
			body := w.Body.String()
			for _, leak := range []string{"/home/", ".cache", "m.gguf", "runtime error"} {
				if strings.Contains(body, leak) {
					t.Errorf("status %d: the response contains %q: %s", w.Code, leak, body)
				}
			}
			if !strings.Contains(body, `internal error`) || !strings.Contains(body, `model \"r1\"`) {
				t.Errorf("status %d, body %s; want an internal error naming the model", w.Code, body)
			}
			if !strings.Contains(log.String(), "m.gguf") {
				t.Errorf("the log lacks the error: %s", log.String())
			}
		})
	}
}
