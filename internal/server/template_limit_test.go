package server

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/chat"
)

// TestHostileTemplateRequest serves a model whose chat template doubles a
// string without end: the request fails with a 500 naming the limit, the
// template never runs away, and the server answers the next request.
func TestHostileTemplateRequest(t *testing.T) {
	tmpl, err := chat.Parse(`{% set x = 'a' %}{% for i in range(40) %}{% set x = x ~ x %}{% endfor %}{{ x }}`)
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{script: tokens("eos", 0, "ok")}
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.SetModel(&Model{Backend: b, Name: "m", Template: tmpl, Created: 1})
	h := s.Handler()
	for range 2 {
		w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`}`)
		if w.Code != 500 || !strings.Contains(w.Body.String(), "string or list too long") {
			t.Fatalf("status %d, body %s; want 500 naming the limit", w.Code, w.Body)
		}
	}
	if w := do(h, "GET", "/v1/models", ""); w.Code != 200 {
		t.Fatalf("after the failures: /v1/models status %d", w.Code)
	}
}
