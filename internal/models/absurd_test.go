package models_test

import (
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// AbsurdCase is a model file whose metadata is well-formed GGUF but makes
// no sense: Open must refuse it with an error naming the key.
type absurdCase struct {
	name  string
	base  string            // golden model it is derived from
	set   map[string]any    // metadata changes (nil deletes)
	keep  func(string) bool // tensors kept (nil: all)
	patch func(path string) // raw edit of the written file, or nil
	want  string            // substring of the error
}

func absurdCases(t testing.TB) []absurdCase {
	const q, d = "golden/models/qwen2-tiny-q4_0.gguf", "golden/models/deepseek2-tiny-q4_0.gguf"
	none := func(string) bool { return false }
	onlyEmbd := func(n string) bool { return n == "token_embd.weight" }
	return []absurdCase{
		{name: "vocab-2e9", base: q, want: "tokenizer.ggml.tokens",
			patch: func(p string) { testutil.PatchArrayLen(t, p, "tokenizer.ggml.tokens", 2_000_000_000) }},
		{name: "merges-2e9", base: q, want: "tokenizer.ggml.merges",
			patch: func(p string) { testutil.PatchArrayLen(t, p, "tokenizer.ggml.merges", 2_000_000_000) }},
		{name: "vocab_size-2e9-no-tokens", base: q, set: map[string]any{"tokenizer.ggml.tokens": nil, "qwen2.vocab_size": uint32(2_000_000_000)}, want: "token_embd.weight"},
		{name: "vocab-empty", base: q, set: map[string]any{"tokenizer.ggml.tokens": []string{}}, want: "tokenizer.ggml.tokens"},
		{name: "context-2^62", base: q, set: map[string]any{"qwen2.context_length": uint64(1 << 62)}, want: "qwen2.context_length"},
		{name: "context-negative", base: q, set: map[string]any{"qwen2.context_length": int32(-1)}, want: "qwen2.context_length"},
		{name: "head_count-0", base: q, set: map[string]any{"qwen2.attention.head_count": uint32(0)}, want: "qwen2.attention.head_count"},
		{name: "head_count_kv-0", base: q, set: map[string]any{"qwen2.attention.head_count_kv": uint32(0)}, want: "qwen2.attention.head_count_kv"},
		{name: "head_count_kv-not-dividing", base: q, set: map[string]any{"qwen2.attention.head_count_kv": uint32(3)}, want: "qwen2.attention.head_count_kv"},
		{name: "head_count-2^31", base: q, set: map[string]any{"qwen2.attention.head_count": uint64(1 << 31)}, want: "qwen2.attention.head_count"},
		{name: "rope-dims-past-head", base: q, set: map[string]any{"qwen2.rope.dimension_count": uint32(64)}, want: "qwen2.rope.dimension_count"},
		{name: "rope-dims-2^40", base: q, set: map[string]any{"qwen2.rope.dimension_count": uint64(1 << 40)}, want: "qwen2.rope.dimension_count"},
		{name: "block_count-1e9", base: q, set: map[string]any{"qwen2.block_count": uint32(1_000_000_000)}, want: "qwen2.block_count"},
		{name: "block_count-1e9-one-tensor", base: q, set: map[string]any{"qwen2.block_count": uint32(1_000_000_000)}, keep: onlyEmbd, want: "qwen2.block_count"},
		{name: "block_count-0", base: q, set: map[string]any{"qwen2.block_count": uint32(0)}, want: "qwen2.block_count"},
		{name: "embedding_length-2^40", base: q, set: map[string]any{"qwen2.embedding_length": uint64(1 << 40)}, want: "qwen2.embedding_length"},
		{name: "embedding_length-0", base: q, set: map[string]any{"qwen2.embedding_length": uint32(0), "qwen2.attention.key_length": uint32(32)}, want: "qwen2.embedding_length"},
		{name: "feed_forward_length-2^40", base: q, set: map[string]any{"qwen2.feed_forward_length": uint64(1 << 40)}, want: "qwen2.feed_forward_length"},
		{name: "key_length-2^31", base: q, set: map[string]any{"qwen2.attention.key_length": uint64(1 << 31)}, want: "qwen2.attention.key_length"},
		{name: "no-tensors", base: q, keep: none, want: "no tensors"},

		{name: "ds-block_count-1e9", base: d, set: map[string]any{"deepseek2.block_count": uint32(1_000_000_000)}, want: "deepseek2.block_count"},
		{name: "ds-context-2^62", base: d, set: map[string]any{"deepseek2.context_length": uint64(1 << 62)}, want: "deepseek2.context_length"},
		{name: "ds-head_count-0", base: d, set: map[string]any{"deepseek2.attention.head_count": uint32(0)}, want: "deepseek2.attention.head_count"},
		{name: "ds-experts-not-dividing-groups", base: d, set: map[string]any{"deepseek2.expert_count": uint32(15)}, want: "expert_group_count"},
		{name: "ds-experts-past-tensors", base: d, set: map[string]any{"deepseek2.expert_count": uint32(1 << 20)}, want: "ffn_gate_inp"},
		{name: "ds-experts-2^40", base: d, set: map[string]any{"deepseek2.expert_count": uint64(1 << 40)}, want: "deepseek2.expert_count"},
		{name: "ds-experts-used-past-count", base: d, set: map[string]any{"deepseek2.expert_used_count": uint32(17)}, want: "deepseek2.expert_used_count"},
		{name: "ds-rope-dims-past-head", base: d, set: map[string]any{"deepseek2.rope.dimension_count": uint32(64)}, want: "deepseek2.rope.dimension_count"},
		{name: "ds-kv_lora_rank-2^40", base: d, set: map[string]any{"deepseek2.attention.kv_lora_rank": uint64(1 << 40)}, want: "deepseek2.attention.kv_lora_rank"},
		{name: "ds-embedding_length-2^40", base: d, set: map[string]any{"deepseek2.embedding_length": uint64(1 << 40)}, want: "deepseek2.embedding_length"},
		{name: "ds-nextn-huge", base: d, set: map[string]any{"deepseek2.nextn_predict_layers": uint32(math.MaxUint32)}, want: "deepseek2.nextn_predict_layers"},
	}
}

// writeAbsurd writes the case's file into dir and returns its path and size.
func writeAbsurd(t testing.TB, dir string, tc absurdCase) (string, int64) {
	src, err := gguf.Open(testutil.SharedFile(t, tc.base))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := testutil.RewriteGGUF(t, src, dir, tc.name+".gguf", tc.set, tc.keep)
	if tc.patch != nil {
		tc.patch(p)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, st.Size()
}

// TestAbsurdMetadata loads files whose hyperparameters are valid GGUF but
// absurd (a 2-billion-entry vocabulary, a 2⁶² context, zero heads, rope
// wider than the head, a billion layers…) and checks that each is refused
// with an error naming the key, and that the attempt allocates no more
// than a few times the file's own size: nothing is sized by a count the
// file does not back with data.
func TestAbsurdMetadata(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range absurdCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			p, size := writeAbsurd(t, dir, tc)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, f, err := models.Open(p)
			runtime.ReadMemStats(&after)
			if err == nil {
				f.Close()
				t.Fatalf("loaded; want an error naming %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %q", err, tc.want)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			if limit := uint64(4*size + 1<<20); !testutil.RaceEnabled && alloc > limit {
				t.Errorf("load allocated %d bytes for a %d-byte file, want ≤ %d", alloc, size, limit)
			}
		})
	}
}
