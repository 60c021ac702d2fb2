package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestPs asks a running server what it has loaded, naming it with --host
// and with SPUTNIK_HOST, and checks the error when nothing listens.
func TestPs(t *testing.T) {
	model := filepath.Join(testutil.SharedTestdata(t), "golden", "models", "qwen2-tiny-q8_0.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-m", model, "--addr", "127.0.0.1:0", "--api-key", "k", "--ctx", "256", "--parallel", "1", "-t", "1"}, &stderr)
	}()
	defer func() { cancel(); <-done }()
	re := regexp.MustCompile(`listening on http://([0-9.:]+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			if resp, err := http.Get("http://" + addr + "/health"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready:\n%s", stderr.String())
		}
	}

	var out, errb bytes.Buffer
	if code := Main([]string{"ps", "--host", addr, "--api-key", "k"}, &out, &errb); code != 0 {
		t.Fatalf("ps: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "qwen2-tiny-q8_0 ") || !strings.Contains(lines[1], " 256 ") {
		t.Errorf("ps output:\n%s", out.String())
	}

	t.Setenv("SPUTNIK_HOST", "http://"+addr)
	t.Setenv("SPUTNIK_API_KEY", "k")
	out.Reset()
	if code := Main([]string{"ps", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("ps --json: exit %d: %s", code, errb.String())
	}
	var res struct {
		Models []struct {
			Name          string `json:"name"`
			ContextLength int    `json:"context_length"`
		} `json:"models"`
		Waiting *float64 `json:"requests_waiting"`
		KVBytes float64  `json:"kv_cache_bytes"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != 1 || res.Models[0].Name != "qwen2-tiny-q8_0" || res.Waiting == nil || res.KVBytes <= 0 {
		t.Errorf("ps --json: %s", out.String())
	}

	// A wrong key and no server are errors that say so.
	errb.Reset()
	if code := Main([]string{"ps", "--api-key", "wrong"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "401") {
		t.Errorf("wrong key: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := Main([]string{"ps", "--host", "127.0.0.1:1"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no sputnik server answers at http://127.0.0.1:1") {
		t.Errorf("no server: exit %d, %q", code, errb.String())
	}
}

func TestHostURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "http://127.0.0.1:8080",
		":9000":              "http://127.0.0.1:9000",
		"example.com":        "http://example.com:8080",
		"10.0.0.1:80":        "http://10.0.0.1:80",
		"https://x.example/": "https://x.example",
		"http://[::1]:8080":  "http://[::1]:8080",
	} {
		if got := hostURL(in); got != want {
			t.Errorf("hostURL(%q) = %q, want %q", in, got, want)
		}
	}
}
