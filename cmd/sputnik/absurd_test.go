package main

import (
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestInfoAbsurdMetadata runs info (text and JSON) on model files whose
// metadata is valid GGUF but absurd: it must report the problem, naming
// the key, and never crash.
func TestInfoAbsurdMetadata(t *testing.T) {
	src, err := gguf.Open(testutil.SharedFile(t, "golden/models/qwen2-tiny-q4_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, key string
		set       map[string]any
		patch     bool // claim 2e9 vocabulary entries
	}{
		{"context", "qwen2.context_length", map[string]any{"qwen2.context_length": uint64(1 << 62)}, false},
		{"blocks", "qwen2.block_count", map[string]any{"qwen2.block_count": uint32(1_000_000_000)}, false},
		{"heads", "qwen2.attention.head_count", map[string]any{"qwen2.attention.head_count": uint32(0)}, false},
		{"rope", "qwen2.rope.dimension_count", map[string]any{"qwen2.rope.dimension_count": uint32(1 << 20)}, false},
		{"vocab", "tokenizer.ggml.tokens", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testutil.RewriteGGUF(t, src, dir, tc.name+".gguf", tc.set, nil)
			if tc.patch {
				testutil.PatchArrayLen(t, p, "tokenizer.ggml.tokens", 2_000_000_000)
			}
			for _, args := range [][]string{{"info", p}, {"info", "--json", p}} {
				code, out, errs := run(args...)
				if !strings.Contains(out+errs, tc.key) {
					t.Errorf("%v: exit %d, output does not name %s:\n%s%s", args, code, tc.key, out, errs)
				}
			}
		})
	}
}
