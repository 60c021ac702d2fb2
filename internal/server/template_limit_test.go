package server

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
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
// 5xx naming the limit (or succeeds, for the ones that are harmless once
// bounded), and the server answers the next request. Templates the parser
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
			case tc.Want != "" && (w.Code < 400 || !strings.Contains(w.Body.String(), tc.Want)):
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
