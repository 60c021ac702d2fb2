package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestUI(t *testing.T) {
	s := newTestServer(t, &fakeBackend{}, Config{UI: true, APIKey: key})
	h := s.Handler()

	// The page is open even with an API key: it asks for the key itself.
	w := do(h, "GET", "/", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /: got %d, want 200", w.Code)
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-cache",
		"X-Frame-Options":        "DENY",
	} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("GET /: %s = %q, want %q", name, got, want)
		}
	}
	policy := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", policy, want)
		}
	}
	if strings.Contains(policy, "unsafe") {
		t.Errorf("Content-Security-Policy %q allows unsafe sources", policy)
	}
	page := w.Body.String()
	if !strings.Contains(page, `<script src="app.js" type="module">`) {
		t.Errorf("GET /: the page does not load app.js")
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "onclick=") || strings.Contains(page, "onload=") {
		t.Errorf("GET /: the page has inline script")
	}

	// Every file the page names is served with its type; ETags revalidate.
	for _, tc := range []struct{ path, ctype, cache string }{
		{"/app.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/markdown.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/chats.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/style.css", "text/css; charset=utf-8", "no-cache"},
		{"/icon.svg", "image/svg+xml", "no-cache"},
		{"/vendor/marked-18.3.0/marked.esm.js", "text/javascript; charset=utf-8", "immutable"},
		{"/vendor/dompurify-3.5.0/purify.es.mjs", "text/javascript; charset=utf-8", "immutable"},
		{"/vendor/highlight.js-11.12.0/core.min.js", "text/javascript; charset=utf-8", "immutable"},
		{"/vendor/highlight.js-11.12.0/languages/python.min.js", "text/javascript; charset=utf-8", "immutable"},
		{"/vendor/katex-0.19.1/katex.min.js", "text/javascript; charset=utf-8", "immutable"},
		{"/vendor/katex-0.19.1/katex.min.css", "text/css; charset=utf-8", "immutable"},
		{"/vendor/katex-0.19.1/fonts/KaTeX_Main-Regular.woff2", "font/woff2", "immutable"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := do(h, "GET", tc.path, "")
			if w.Code != http.StatusOK || w.Body.Len() == 0 {
				t.Fatalf("got %d with %d bytes, want 200 with the file", w.Code, w.Body.Len())
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if got := w.Header().Get("Cache-Control"); !strings.Contains(got, tc.cache) {
				t.Errorf("Cache-Control = %q, want %q", got, tc.cache)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			etag := w.Header().Get("ETag")
			if w := do(h, "GET", tc.path, "", "If-None-Match", etag); etag == "" || w.Code != http.StatusNotModified {
				t.Errorf("revalidating with ETag %q: got %d, want 304", etag, w.Code)
			}
		})
	}

	// The page's references all resolve.
	for _, ref := range []string{"app.js", "style.css", "icon.svg", "vendor/katex-0.19.1/katex.min.css", "vendor/katex-0.19.1/katex.min.js"} {
		if !strings.Contains(page, `"`+ref+`"`) {
			t.Errorf("the page does not name %s", ref)
		}
	}

	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/nope", http.StatusNotFound},
		{"GET", "/index.html", http.StatusNotFound}, // the page lives at / only
		{"GET", "/vendor/README.md", http.StatusNotFound},
		{"GET", "/vendor/katex-0.19.1/LICENSE", http.StatusNotFound},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"HEAD", "/app.js", http.StatusOK},
		{"GET", "/v1/models", http.StatusUnauthorized}, // the API keeps its key
	} {
		if w := do(h, tc.method, tc.path, ""); w.Code != tc.code {
			t.Errorf("%s %s: got %d, want %d", tc.method, tc.path, w.Code, tc.code)
		}
	}
}

func TestNoUI(t *testing.T) {
	s := newTestServer(t, &fakeBackend{}, Config{})
	w := do(s.Handler(), "GET", "/", "")
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "no such endpoint") {
		t.Errorf("GET / without UI: got %d %q, want the API's 404", w.Code, w.Body.String())
	}
}
