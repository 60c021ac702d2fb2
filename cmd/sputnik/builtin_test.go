package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/hub"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// withBuiltin makes the shared test model at rel the binary's built-in
// model, named name, for the rest of the test (as if it had been embedded
// from internal/builtin/models). It returns the model's path.
func withBuiltin(t *testing.T, name, rel string) string {
	t.Helper()
	p := testutil.SharedFile(t, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	setBuiltin(t, func() (string, []byte, bool) { return name, data, true })
	return p
}

// withoutBuiltin makes the binary have no built-in model for the rest of
// the test.
func withoutBuiltin(t *testing.T) {
	setBuiltin(t, func() (string, []byte, bool) { return "", nil, false })
}

func setBuiltin(t *testing.T, f func() (string, []byte, bool)) {
	old := builtinModel
	builtinModel = f
	t.Cleanup(func() { builtinModel = old })
}

// builtinTokens runs a short greedy sputnik generate with args and
// returns its tokens.
func builtinTokens(t *testing.T, args ...string) []int32 {
	t.Helper()
	res := generateJSON(t, append([]string{"-n", "12", "--temp", "0", "-p", "What is 2+3?"}, args...)...)
	if len(res.Tokens) == 0 {
		t.Fatalf("generate %v: no tokens", args)
	}
	return res.Tokens
}

// TestBuiltinGenerate: without -m, and with -m NAME, generate runs the
// built-in model (the same tokens as the model's file); a file of that
// name in the working directory wins over the built-in model.
func TestBuiltinGenerate(t *testing.T) {
	p := withBuiltin(t, "r1-tiny", "golden/models/qwen2-tiny-f32.gguf")
	want := builtinTokens(t, "-m", p)
	if got := builtinTokens(t); !slices.Equal(got, want) {
		t.Errorf("no -m: %v, the file: %v", got, want)
	}
	if got := builtinTokens(t, "-m", "r1-tiny"); !slices.Equal(got, want) {
		t.Errorf("-m r1-tiny: %v, the file: %v", got, want)
	}
	other := testutil.SharedFile(t, "golden/models/qwen2-tiny-q4_0.gguf")
	fromOther := builtinTokens(t, "-m", other)
	if slices.Equal(fromOther, want) {
		t.Fatal("the two models generate the same tokens: the test cannot tell them apart")
	}
	data, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r1-tiny"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if got := builtinTokens(t, "-m", "r1-tiny"); !slices.Equal(got, fromOther) {
		t.Errorf("-m r1-tiny beside a file r1-tiny: %v, want the file's %v", got, fromOther)
	}
}

// TestBuiltinRun: run without -m chats with the built-in model, and its
// reasoning (the model's template is DeepSeek-R1's) is shown as such.
func TestBuiltinRun(t *testing.T) {
	withBuiltin(t, "r1-tiny", "golden/models/qwen2-tiny-f32.gguf")
	var out, errb bytes.Buffer
	if err := runChat([]string{"-n", "8", "--temp", "0", "What is 2+3?"}, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "loading r1-tiny (built in)") {
		t.Errorf("stderr does not name the built-in model:\n%s", errb.String())
	}
	if !strings.HasPrefix(out.String(), "Thinking…\n") || len(out.String()) <= len("Thinking…\n") {
		t.Errorf("output %q: want the reasoning, introduced by Thinking…", out.String())
	}
}

// TestBuiltinServe: serve without -m serves the built-in model under its
// name, reasoning in reasoning_content.
func TestBuiltinServe(t *testing.T) {
	withBuiltin(t, "r1-tiny", "golden/models/qwen2-tiny-f32.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--ctx", "256", "--parallel", "1", "--no-ui"}, &stderr)
	}()
	re := regexp.MustCompile(`ready: (http://[0-9.:]+)/v1`)
	var url string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned %v before it was ready: %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %s", stderr.String())
		}
	}
	get := func(path, body string) []byte {
		t.Helper()
		var resp *http.Response
		var err error
		if body == "" {
			resp, err = http.Get(url + path)
		} else {
			resp, err = http.Post(url+path, "application/json", strings.NewReader(body))
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", path, resp.StatusCode, b)
		}
		return b
	}
	var list struct{ Data []struct{ ID string } }
	if err := json.Unmarshal(get("/v1/models", ""), &list); err != nil || len(list.Data) == 0 || list.Data[0].ID != "r1-tiny" {
		t.Errorf("/v1/models: %+v (%v), want r1-tiny", list, err)
	}
	var chat struct {
		Model   string
		Choices []struct {
			Message struct {
				ReasoningContent string `json:"reasoning_content"`
			}
		}
	}
	body := get("/v1/chat/completions", `{"model": "r1-tiny", "messages": [{"role": "user", "content": "What is 2+3?"}], "max_tokens": 8, "temperature": 0}`)
	if err := json.Unmarshal(body, &chat); err != nil || len(chat.Choices) != 1 || chat.Choices[0].Message.ReasoningContent == "" {
		t.Errorf("chat: %s (%v); want reasoning_content", body, err)
	}
	if !strings.Contains(stderr.String(), "loading r1-tiny (built in)") {
		t.Errorf("stderr does not name the built-in model:\n%s", stderr.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestBuiltinListInfo: list shows the built-in model, info and show
// describe it without a model argument or with its name, and rm refuses
// it.
func TestBuiltinListInfo(t *testing.T) {
	p := withBuiltin(t, "r1-tiny", "golden/models/qwen2-tiny-f32.gguf")
	t.Setenv("SPUTNIK_MODELS", t.TempDir())
	var out, errb bytes.Buffer
	if code := Main([]string{"list"}, &out, &errb); code != 0 {
		t.Fatalf("list: exit %d: %s", code, errb.String())
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	row := `(?m)^r1-tiny\s+` + regexp.QuoteMeta(hub.HumanBytes(st.Size())) + `\s+F32\s+built in\s*$`
	if !regexp.MustCompile(row).MatchString(out.String()) {
		t.Errorf("list:\n%s\nwant a row: r1-tiny, its size, F32, built in", out.String())
	}
	info := func(args ...string) map[string]any {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main(append([]string{"info", "--json", "--no-tensors"}, args...), &out, &errb); code != 0 {
			t.Fatalf("info %v: exit %d: %s", args, code, errb.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	fromFile := info(p)
	for _, args := range [][]string{nil, {"-m", "r1-tiny"}, {"r1-tiny"}} {
		got := info(args...)
		if got["file"] != "r1-tiny (built in)" {
			t.Errorf("info %v: file %v, want r1-tiny (built in)", args, got["file"])
		}
		if got["architecture"] != "qwen2" || got["parameters"] != fromFile["parameters"] || got["file_bytes"] != fromFile["file_bytes"] {
			t.Errorf("info %v: %v %v %v, the file: %v %v %v", args, got["architecture"], got["parameters"], got["file_bytes"],
				fromFile["architecture"], fromFile["parameters"], fromFile["file_bytes"])
		}
	}
	out.Reset()
	errb.Reset()
	if code := Main([]string{"show", "--no-tensors"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "r1-tiny (built in)") {
		t.Errorf("show: exit %d, stdout:\n%s", code, out.String())
	}
	errb.Reset()
	if code := Main([]string{"rm", "r1-tiny"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "built into the binary") {
		t.Errorf("rm r1-tiny: exit %d, stderr %q", code, errb.String())
	}
	// Without a built-in model, list shows the store alone.
	withoutBuiltin(t)
	out.Reset()
	if code := Main([]string{"list"}, &out, &errb); code != 0 || strings.Contains(out.String(), "built in") {
		t.Errorf("list without a built-in model: exit %d:\n%s", code, out.String())
	}
}

// TestNoBuiltin: without -m and without a built-in model, run, generate,
// serve and info say so and change nothing.
func TestNoBuiltin(t *testing.T) {
	withoutBuiltin(t)
	for _, args := range [][]string{
		{"run", "hello"},
		{"generate", "-p", "hello"},
		{"serve", "--addr", "127.0.0.1:0"},
	} {
		var out, errb bytes.Buffer
		code := Main(args, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), "no -m given and this build has no built-in model; give -m MODEL.gguf") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%v: stdout %q", args, out.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"info"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "want exactly one GGUF file") {
		t.Errorf("info: exit %d, stderr %q", code, errb.String())
	}
}
