package server

import (
	"strings"
	"testing"
)

// TestHostileBodies sends bodies that try to exhaust the decoder: deep
// nesting (100k arrays, which a recursive decoder without a depth limit
// would overflow the stack on) and an over-long body. Each must be a 4xx
// for that request, and the server must keep answering.
func TestHostileBodies(t *testing.T) {
	b := &fakeBackend{script: tokens("eos", 0, "ok")}
	h := newTestServer(t, b, Config{MaxBody: 1 << 20}).Handler()
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	for _, tc := range []struct{ name, body string }{
		{"deep messages", `{"messages": ` + deep + `}`},
		{"deep kwargs", `{` + userMsg + `, "chat_template_kwargs": {"x": ` + deep + `}}`},
		{"deep top level", deep},
		{"over-long body", `{` + userMsg + `, "stop": "` + strings.Repeat("x", 2<<20) + `"}`},
		{"too many stops", `{` + userMsg + `, "stop": [` + strings.Repeat(`"a",`, 100) + `"a"]}`},
		{"huge max_tokens", `{` + userMsg + `, "max_tokens": 1e300}`},
	} {
		w := do(h, "POST", "/v1/chat/completions", tc.body)
		if w.Code < 400 || w.Code >= 500 {
			t.Errorf("%s: status %d, want 4xx: %.200s", tc.name, w.Code, w.Body)
		}
	}
	if w := do(h, "POST", "/v1/chat/completions", `{`+userMsg+`}`); w.Code != 200 {
		t.Fatalf("afterwards: status %d", w.Code)
	}
	// The model list names the model, not where it lives.
	w := do(h, "GET", "/v1/models", "")
	if strings.Contains(w.Body.String(), "/tmp") || strings.Contains(w.Body.String(), ".gguf") {
		t.Errorf("/v1/models reveals a path: %s", w.Body)
	}
}
