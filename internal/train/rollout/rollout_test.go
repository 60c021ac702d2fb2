package rollout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/sample"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
	"github.com/sputnik-llm/sputnik/internal/train/rollout"
)

// load reads a shared test model into memory and builds it with
// rollout.Load (skipping when the shared testdata is absent).
func load(t testing.TB, name string) (model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	b, err := os.ReadFile(testutil.SharedFile(t, "golden/models/"+name+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	m, tok, err := rollout.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// texts are prompts of assorted lengths: shorter than a KV block, about
// one block, and several blocks (so members share cached prompt blocks).
var texts = []string{
	"Once upon a time",
	"The little model added 347 and 589, carrying the one at every step, and wrote",
	"Q: 12+30=?",
	"In the beginning there was a tokenizer, then a forward pass, then a sampler that drew one token at a time until the story ended with",
}

func encode(tok *tokenizer.Tokenizer, texts []string) [][]int32 {
	var ps [][]int32
	for _, s := range texts {
		ps = append(ps, tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true}))
	}
	return ps
}

func newSampler(t testing.TB, m model.Model, tok *tokenizer.Tokenizer, seqs, capacity int) *rollout.Sampler {
	t.Helper()
	s, err := rollout.New(m, tok, seqs, capacity)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkAgainstEngine compares every completion with engine.Generate run on
// its prompt alone, with the completion's own seed.
func checkAgainstEngine(t *testing.T, m model.Model, tok *tokenizer.Tokenizer, prompts [][]int32, o rollout.Options, got []rollout.Completion) {
	t.Helper()
	if len(got) != len(prompts)*o.Group {
		t.Fatalf("got %d completions, want %d", len(got), len(prompts)*o.Group)
	}
	for i, c := range got {
		if c.Prompt != i/o.Group || c.Member != i%o.Group {
			t.Fatalf("completion %d is (prompt %d, member %d), want (%d, %d)", i, c.Prompt, c.Member, i/o.Group, i%o.Group)
		}
		so := o.Sample
		so.Seed = rollout.MemberSeed(o.Seed, c.Prompt, c.Member)
		want, err := engine.Generate(context.Background(), m, tok, engine.Request{Prompt: prompts[c.Prompt], MaxTokens: o.MaxTokens, Sample: so}, 256, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Tokens, want.Tokens) || c.Text != want.Text || c.StopReason != want.StopReason {
			t.Errorf("prompt %d member %d: got %v %q (%s), engine %v %q (%s)",
				c.Prompt, c.Member, c.Tokens, c.Text, c.StopReason, want.Tokens, want.Text, want.StopReason)
		}
	}
}

// TestGreedyMatchesEngine: greedy rollouts equal engine.Generate token for
// token, on several architectures and weight types, with fewer slots than
// completions (so finished sequences are replaced mid-run).
func TestGreedyMatchesEngine(t *testing.T) {
	for _, name := range []string{"qwen2-tiny-f32", "llama-tiny-q8_0", "qwen3-tiny-f16", "deepseek2-tiny-q8_0"} {
		t.Run(name, func(t *testing.T) {
			m, tok := load(t, name)
			prompts := encode(tok, texts)
			o := rollout.Options{Group: 2, MaxTokens: 20}
			s := newSampler(t, m, tok, 3, 256)
			got, err := s.Run(context.Background(), prompts, o)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstEngine(t, m, tok, prompts, o, got)
			// Penalties see the prompt and the tokens generated so far.
			po := o
			po.Sample = sample.Options{RepeatPenalty: 1.5, FrequencyPenalty: 0.5, RepeatLastN: 16}
			pen, err := s.Run(context.Background(), prompts, po)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstEngine(t, m, tok, prompts, po, pen)
			for p := range prompts {
				if a, b := got[2*p], got[2*p+1]; !slices.Equal(a.Tokens, b.Tokens) {
					t.Errorf("prompt %d: greedy members differ: %v and %v", p, a.Tokens, b.Tokens)
				}
			}
		})
	}
}

// TestSampledIsBatchInvariant: at temperature 1 every completion equals
// the engine's on its prompt alone with MemberSeed, and is the same when
// run among 16 others, one at a time, or again on a warm prefix cache.
func TestSampledIsBatchInvariant(t *testing.T) {
	m, tok := load(t, "qwen2-tiny-f32")
	prompts := encode(tok, texts)
	o := rollout.Options{Group: 4, MaxTokens: 24, Sample: sample.Options{Temperature: 1, TopP: 0.95}, Seed: 42}
	ctx := context.Background()
	wide := newSampler(t, m, tok, 17, 256)
	all, err := wide.Run(ctx, prompts, o)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstEngine(t, m, tok, prompts, o, all)
	again, err := wide.Run(ctx, prompts, o)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := newSampler(t, m, tok, 1, 256).Run(ctx, prompts, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if !slices.Equal(again[i].Tokens, all[i].Tokens) {
			t.Errorf("completion %d: second run %v, first %v", i, again[i].Tokens, all[i].Tokens)
		}
		if !slices.Equal(alone[i].Tokens, all[i].Tokens) {
			t.Errorf("completion %d: alone %v, among 16 others %v", i, alone[i].Tokens, all[i].Tokens)
		}
	}
	// A different seed draws different completions.
	o.Seed = 43
	other, err := wide.Run(ctx, prompts, o)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range all {
		if slices.Equal(other[i].Tokens, all[i].Tokens) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seed 43 repeated %d of %d completions of seed 42", same, len(all))
	}
}

// TestGroupMembersDiffer: the G members of one prompt are distinct draws
// at temperature 1.
func TestGroupMembersDiffer(t *testing.T) {
	m, tok := load(t, "qwen3-tiny-f32")
	const g = 8
	got, err := newSampler(t, m, tok, g, 128).Run(context.Background(), encode(tok, texts[1:2]),
		rollout.Options{Group: g, MaxTokens: 12, Sample: sample.Options{Temperature: 1}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range got {
		seen[fmt.Sprint(c.Tokens)]++
	}
	if len(seen) != g {
		t.Errorf("%d distinct completions among %d members: %v", len(seen), g, seen)
	}
}

// TestCancel: cancelling the context stops a long run within a step or
// so, and the Sampler is whole afterwards (every KV block came back: a
// run that needs the whole pool succeeds, and repeats a fresh Sampler's).
func TestCancel(t *testing.T) {
	m, tok := load(t, "qwen2-tiny-f32")
	prompts := encode(tok, texts)
	const seqs, capacity = 4, 256
	s := newSampler(t, m, tok, seqs, capacity)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Run(ctx, prompts, rollout.Options{Group: 1, MaxTokens: 8}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before the run: got %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	var cancelled time.Time
	go func() {
		time.Sleep(30 * time.Millisecond)
		cancelled = time.Now()
		cancel()
	}()
	long := rollout.Options{Group: 8, MaxTokens: capacity - 40, Sample: sample.Options{Temperature: 1}}
	_, err := s.Run(ctx, prompts, long)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// A step of 4 sequences on this model takes about a millisecond; the
	// bound leaves room for a loaded machine.
	if d := time.Since(cancelled); d > 500*time.Millisecond {
		t.Errorf("Run returned %v after the cancel", d)
	}
	full := rollout.Options{Group: seqs, MaxTokens: capacity - len(prompts[3]), Sample: sample.Options{Temperature: 1}, Seed: 5}
	got, err := s.Run(context.Background(), prompts[3:], full)
	if err != nil {
		t.Fatalf("after a cancelled run: %v", err)
	}
	want, err := newSampler(t, m, tok, seqs, capacity).Run(context.Background(), prompts[3:], full)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !slices.Equal(got[i].Tokens, want[i].Tokens) {
			t.Errorf("completion %d after a cancelled run differs from a fresh Sampler's", i)
		}
	}
}

// tiny builds a small synthetic llama from testutil (no shared data
// needed) with the given weight seed.
func tiny(t testing.TB, seed uint64) (model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	return tinyShape(t, testutil.TinyLlama{Type: tensor.F32, Seed: seed, Dim: 64, Layers: 2, FFN: 128, Heads: 4, KVHeads: 2})
}

// tinyShape builds testutil's synthetic llama c.
func tinyShape(t testing.TB, c testutil.TinyLlama) (model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	m, tok, err := rollout.Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// TestSetModel: after SetModel a Sampler samples what a fresh Sampler on
// the new model samples, although its prefix cache held the old model's
// keys and values for the same prompts.
func TestSetModel(t *testing.T) {
	a, tok := tiny(t, 1)
	b, _ := tiny(t, 2)
	prompts := encode(tok, texts)
	o := rollout.Options{Group: 2, MaxTokens: 16}
	ctx := context.Background()
	s := newSampler(t, a, tok, 4, 256)
	fromA, err := s.Run(ctx, prompts, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetModel(b); err != nil {
		t.Fatal(err)
	}
	got, err := s.Run(ctx, prompts, o)
	if err != nil {
		t.Fatal(err)
	}
	want, err := newSampler(t, b, tok, 4, 256).Run(ctx, prompts, o)
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	for i := range want {
		if !slices.Equal(got[i].Tokens, want[i].Tokens) {
			t.Errorf("completion %d after SetModel: %v, fresh Sampler on the new model %v", i, got[i].Tokens, want[i].Tokens)
		}
		if !slices.Equal(fromA[i].Tokens, want[i].Tokens) {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the two models give the same completions: the test cannot tell them apart")
	}
	other, _ := tiny(t, 1)
	if err := s.SetModel(other); err != nil {
		t.Errorf("SetModel to a model of the same shape: %v", err)
	}
	if m, _ := load(t, "qwen3-tiny-f32"); s.SetModel(m) == nil {
		t.Error("SetModel accepted a model of another shape")
	}
}

// TestDecodeStepAllocs: a decode step allocates nothing once the buffers
// have grown: runs of 8 and of 40 tokens per completion allocate the same.
func TestDecodeStepAllocs(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	m, tok := load(t, "qwen2-tiny-f32")
	prompts := encode(tok, texts)
	s := newSampler(t, m, tok, 8, 256)
	ctx := context.Background()
	run := func(n int) func() {
		return func() {
			got, err := s.Run(ctx, prompts, rollout.Options{Group: 2, MaxTokens: n})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range got {
				if c.StopReason != "length" {
					t.Fatalf("completion stopped at %s after %d tokens: pick prompts that run to the limit", c.StopReason, len(c.Tokens))
				}
			}
		}
	}
	run(40)() // grow every buffer
	short := testing.AllocsPerRun(5, run(8))
	long := testing.AllocsPerRun(5, run(40))
	// 32 more decode steps; the text of each completion is longer, which
	// may cost an allocation or two in total.
	if extra := long - short; extra > 1 {
		t.Errorf("runs of 40 tokens allocate %v times, runs of 8 %v: %.2f per extra decode step, want 0", long, short, extra/32)
	}
	t.Logf("allocations per run: %v (8 tokens), %v (40 tokens)", short, long)
}

func TestErrors(t *testing.T) {
	m, tok := load(t, "qwen3-tiny-f32")
	s := newSampler(t, m, tok, 2, 64)
	ok := [][]int32{{1, 2, 3}}
	for _, tc := range []struct {
		name    string
		prompts [][]int32
		o       rollout.Options
		want    string
	}{
		{"no group", ok, rollout.Options{MaxTokens: 4}, "group 0"},
		{"no tokens", ok, rollout.Options{Group: 1}, "max tokens 0"},
		{"empty prompt", [][]int32{{1}, {}}, rollout.Options{Group: 1, MaxTokens: 4}, "prompt 1 is empty"},
		{"too long", ok, rollout.Options{Group: 1, MaxTokens: 62}, "needs 65 positions"},
		{"bad token", [][]int32{{1, 1 << 20}}, rollout.Options{Group: 1, MaxTokens: 4}, "outside the vocabulary"},
		{"bad sampling", ok, rollout.Options{Group: 1, MaxTokens: 4, Sample: sample.Options{TopP: 2}}, "TopP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Run(context.Background(), tc.prompts, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// No prompts: no completions, no error.
	if got, err := s.Run(context.Background(), nil, rollout.Options{Group: 3, MaxTokens: 4}); err != nil || len(got) != 0 {
		t.Errorf("no prompts: got %d completions, %v", len(got), err)
	}
	for _, tc := range []struct{ seqs, capacity int }{{0, 64}, {2, 1}, {2, 1 << 20}} {
		if _, err := rollout.New(m, tok, tc.seqs, tc.capacity); err == nil {
			t.Errorf("New(%d sequences, capacity %d) succeeded", tc.seqs, tc.capacity)
		}
	}
	if _, _, err := rollout.Load([]byte("GGUF not really")); err == nil {
		t.Error("Load accepted garbage")
	}
}

// TestLoadUnaligned: an image at an odd address (a slice into a larger
// buffer) loads, and computes what the aligned image computes.
func TestLoadUnaligned(t *testing.T) {
	b, err := os.ReadFile(testutil.SharedFile(t, "golden/models/qwen3-tiny-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	odd := make([]byte, len(b)+1)
	copy(odd[1:], b)
	prompts := [][]int32{{1, 2, 3, 4, 5}}
	o := rollout.Options{Group: 1, MaxTokens: 8}
	var got [][]int32
	for _, img := range [][]byte{b, odd[1:]} {
		m, tok, err := rollout.Load(img)
		if err != nil {
			t.Fatal(err)
		}
		c, err := newSampler(t, m, tok, 1, 32).Run(context.Background(), prompts, o)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c[0].Tokens)
	}
	if !slices.Equal(got[0], got[1]) {
		t.Errorf("unaligned image: %v, aligned: %v", got[1], got[0])
	}
}

// BenchmarkRun32 measures generated tokens per second for 32 sequences
// decoded together (4 prompts × 8 members, 64 tokens each, temperature 1):
// on testutil's synthetic llama in the r1-tiny recipe's shape (dim 192, 4
// layers, 6 heads, FFN 512, F32; its vocabulary has 913 tokens), and on
// two shared tiny models with 8k-token vocabularies.
func BenchmarkRun32(b *testing.B) {
	for _, name := range []string{"r1-tiny-shape", "qwen3-tiny-f32", "qwen2-tiny-f32"} {
		b.Run(name, func(b *testing.B) {
			var m model.Model
			var tok *tokenizer.Tokenizer
			if name == "r1-tiny-shape" {
				m, tok = tinyShape(b, testutil.TinyLlama{Type: tensor.F32, Seed: 1, Dim: 192, Layers: 4, FFN: 512, Heads: 6, KVHeads: 6})
			} else {
				m, tok = load(b, name)
			}
			prompts := encode(tok, texts)
			s := newSampler(b, m, tok, 32, 256)
			o := rollout.Options{Group: 8, MaxTokens: 64, Sample: sample.Options{Temperature: 1}}
			b.ReportAllocs()
			tokens := 0
			start := time.Now()
			for b.Loop() {
				got, err := s.Run(context.Background(), prompts, o)
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range got {
					tokens += len(c.Tokens)
				}
				o.Seed++
			}
			b.ReportMetric(float64(tokens)/time.Since(start).Seconds(), "tokens/s")
		})
	}
}
