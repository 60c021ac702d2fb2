package rollout_test

import (
	"context"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/train/rollout"
)

// scripted is a fake model whose logits make one token certain: a
// function of the position and the token at it, and end-of-generation
// (eos) at some positions, so that completions stop at assorted lengths.
type scripted struct {
	vocab    int
	eos      int32
	computed int // tokens run through Forward
}

func (f *scripted) Info() model.Info {
	return model.Info{Arch: "scripted", VocabSize: f.vocab, ContextLength: 1024, Layers: 1,
		KVLayout: kvcache.Layout{Layers: 1, KeyWidth: 1, ValueWidth: 1}, MaxBatch: 64}
}

type capState int

func (c capState) Capacity() int { return int(c) }

func (f *scripted) NewState(capacity int) model.State { return capState(capacity) }

func (f *scripted) Forward(ctx context.Context, st model.State, b *model.Batch, logits []float32) error {
	return model.RunBatch(ctx, b, logits, f.Info(), st.Capacity(), func(ch nn.Chunk) {
		f.computed += len(ch.Tokens)
		r := 0
		for i, want := range ch.Want {
			if !want {
				continue
			}
			row := ch.Logits[r*f.vocab : (r+1)*f.vocab]
			r++
			clear(row)
			p, t := int(ch.Pos[i]), int(ch.Tokens[i])
			next := int32(3 + (p*31+t*7)%(f.vocab-3))
			if p >= 20 && (p+t)%7 == 0 {
				next = f.eos
			}
			row[next] = 10
		}
	})
}

// TestStopsAtEOS: completions that sample the end-of-generation token
// stop there with reason "eos", keep the token in Tokens but not in Text,
// exactly as the engine reports them; the others stop at MaxTokens.
func TestStopsAtEOS(t *testing.T) {
	_, tok := tiny(t, 1)
	m := &scripted{vocab: tok.VocabSize(), eos: tok.EOS()}
	prompts := encode(tok, texts)
	o := rollout.Options{Group: 3, MaxTokens: 16}
	got, err := newSampler(t, m, tok, 5, 128).Run(context.Background(), prompts, o)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstEngine(t, m, tok, prompts, o, got)
	eos, length := 0, 0
	for _, c := range got {
		switch c.StopReason {
		case "eos":
			eos++
			if c.Tokens[len(c.Tokens)-1] != tok.EOS() {
				t.Errorf("prompt %d: stop reason eos, last token %d", c.Prompt, c.Tokens[len(c.Tokens)-1])
			}
		case "length":
			length++
			if len(c.Tokens) != o.MaxTokens {
				t.Errorf("prompt %d: stop reason length after %d tokens", c.Prompt, len(c.Tokens))
			}
		}
	}
	if eos == 0 || length == 0 {
		t.Errorf("%d completions stopped at eos and %d at the length: the script should give both", eos, length)
	}
}

// TestMembersSharePrompt: the members of a group compute only the part of
// the prompt past its first member's full KV blocks, and a prompt run
// again reuses them too.
func TestMembersSharePrompt(t *testing.T) {
	_, tok := tiny(t, 1)
	m := &scripted{vocab: tok.VocabSize(), eos: tok.EOS()}
	prompt := make([]int32, 40) // two full blocks of 16 and 8 more tokens
	for i := range prompt {
		prompt[i] = int32(10 + i)
	}
	const g = 4
	s := newSampler(t, m, tok, g, 64)
	o := rollout.Options{Group: g, MaxTokens: 1} // prefill only
	if _, err := s.Run(context.Background(), [][]int32{prompt}, o); err != nil {
		t.Fatal(err)
	}
	if want := 40 + (g-1)*8; m.computed != want {
		t.Errorf("computed %d tokens for %d members of a 40-token prompt, want %d", m.computed, g, want)
	}
	m.computed = 0
	if _, err := s.Run(context.Background(), [][]int32{prompt}, o); err != nil {
		t.Fatal(err)
	}
	if want := g * 8; m.computed != want {
		t.Errorf("second run computed %d tokens, want %d", m.computed, want)
	}
}
