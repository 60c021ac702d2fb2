package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestGenerateCommand runs the README's first command in process: greedy
// generation with stories260K continues the prompt as llama.cpp does.
func TestGenerateCommand(t *testing.T) {
	p := testutil.SharedFile(t, "models/stories260K.gguf")
	var out, errb bytes.Buffer
	if err := runGenerate([]string{"-m", p, "-p", "Once upon a time", "-n", "60"}, &out, &errb); err != nil {
		t.Fatalf("generate: %v\n%s", err, errb.String())
	}
	// llama.cpp's greedy continuation (../shared/testdata/golden) starts so.
	if want := ", there was a little girl named Lily. She loved to play outside in the park."; !strings.HasPrefix(out.String(), want) {
		t.Errorf("output %q does not start with %q", out.String(), want)
	}
}

// TestBenchCommand checks that bench reports both tests, for prompt
// lengths shorter and longer than the decode run, as text and JSON.
func TestBenchCommand(t *testing.T) {
	p := testutil.SharedFile(t, "golden/models/deepseek2-tiny-q8_0.gguf")
	for _, args := range [][]string{
		{"--pp", "8", "--tg", "16"},
		{"--pp", "16", "--tg", "8", "--random"},
	} {
		var out, errb bytes.Buffer
		full := append([]string{"-m", p, "--reps", "1", "--json"}, args...)
		if err := runBench(full, &out, &errb); err != nil {
			t.Fatalf("bench %v: %v\n%s", args, err, errb.String())
		}
		var res struct {
			Results []struct {
				Test   string  `json:"test"`
				Median float64 `json:"median_tok_s"`
			} `json:"results"`
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("bench %v: %v in %s", args, err, out.String())
		}
		if len(res.Results) != 2 || res.Results[0].Test != "pp "+args[1] || res.Results[1].Test != "tg "+args[3] {
			t.Fatalf("bench %v: results %+v", args, res.Results)
		}
		for _, r := range res.Results {
			if !(r.Median > 0) {
				t.Errorf("bench %v: %s at %v tok/s", args, r.Test, r.Median)
			}
		}
	}
}
