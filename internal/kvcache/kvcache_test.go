package kvcache

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestLayout(t *testing.T) {
	if got := (Layout{Layers: 2, KeyWidth: 576}).BytesPerToken(); got != 2*2*576 {
		t.Fatalf("BytesPerToken: got %d, want %d", got, 2*2*576)
	}
	// DeepSeek-V3: 61 layers × 576 f16 values = 70272 bytes per token.
	if got := (Layout{Layers: 61, KeyWidth: 576}).BytesPerToken(); got != 70272 {
		t.Fatalf("V3 bytes per token: got %d, want 70272", got)
	}
	if _, err := NewSeq(Layout{}, 4); err == nil {
		t.Fatal("empty layout: no error")
	}
	if _, err := NewPool(Layout{Layers: 1, KeyWidth: 4}, 0, 4); err == nil {
		t.Fatal("zero block size: no error")
	}
}

// fill writes a row pattern that names (layer, token, position) into every
// reserved position of s from its length on, then appends the tokens.
func fill(s *Seq, toks []int32) {
	l := s.Layout()
	for i, tk := range toks {
		p := s.Len() + i
		for layer := range l.Layers {
			for c, k := range s.KeyRow(layer, p) {
				_ = k
				s.KeyRow(layer, p)[c] = uint16(layer*1000 + int(tk)*10 + c%7)
			}
			for c := range s.ValueRow(layer, p) {
				s.ValueRow(layer, p)[c] = uint16(layer*2000 + int(tk)*10 + c%5)
			}
		}
	}
	s.Append(toks...)
}

// check reads every filled row back through KeyRow, KeyPage and the value
// accessors and compares it with fill's pattern.
func check(t *testing.T, s *Seq) {
	t.Helper()
	l := s.Layout()
	bt := s.PageTokens()
	for p, tk := range s.Tokens() {
		for layer := range l.Layers {
			page := s.KeyPage(layer, p/bt)[p%bt*l.KeyWidth:]
			for c := range l.KeyWidth {
				want := uint16(layer*1000 + int(tk)*10 + c%7)
				if got := s.KeyRow(layer, p)[c]; got != want || page[c] != want {
					t.Fatalf("layer %d pos %d key[%d]: row %d, page %d, want %d", layer, p, c, got, page[c], want)
				}
			}
			vpage := s.ValuePage(layer, p/bt)[p%bt*l.ValueWidth:]
			for c := range l.ValueWidth {
				want := uint16(layer*2000 + int(tk)*10 + c%5)
				if got := s.ValueRow(layer, p)[c]; got != want || vpage[c] != want {
					t.Fatalf("layer %d pos %d value[%d]: row %d, page %d, want %d", layer, p, c, got, vpage[c], want)
				}
			}
		}
	}
}

func seqToks(n int, base int32) []int32 {
	x := make([]int32, n)
	for i := range x {
		x[i] = base + int32(i)
	}
	return x
}

func TestSeqRowsAndLimits(t *testing.T) {
	l := Layout{Layers: 2, KeyWidth: 6, ValueWidth: 3}
	s, err := NewSeq(l, 40)
	if err != nil {
		t.Fatal(err)
	}
	toks := seqToks(37, 100)
	for lo := 0; lo < len(toks); lo += 5 {
		hi := min(lo+5, len(toks))
		if err := s.Reserve(hi - lo); err != nil {
			t.Fatal(err)
		}
		fill(s, toks[lo:hi])
	}
	check(t, s)
	if err := s.Reserve(4); !errors.Is(err, ErrContextFull) {
		t.Fatalf("Reserve past capacity: got %v, want ErrContextFull", err)
	}
	if err := s.Truncate(20); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 20 || s.Blocks() != 2 {
		t.Fatalf("after Truncate(20): Len %d, %d blocks; want 20, 2", s.Len(), s.Blocks())
	}
	if err := s.Reserve(3); err != nil {
		t.Fatal(err)
	}
	fill(s, seqToks(3, 900))
	check(t, s)
	s.Release()
	if st := s.Pool().Stats(); st.Used != 0 || st.Free+st.Cached != st.Blocks {
		t.Fatalf("after Release: %+v", st)
	}
}

func TestPrefixSharing(t *testing.T) {
	l := Layout{Layers: 1, KeyWidth: 4, ValueWidth: 4}
	p, err := NewPool(l, 4, 12)
	if err != nil {
		t.Fatal(err)
	}
	prompt := seqToks(10, 1) // two full blocks + 2
	a := p.NewSeq(32)
	if got := a.AttachPrefix(prompt); got != 0 {
		t.Fatalf("empty pool: reused %d", got)
	}
	if err := a.Reserve(len(prompt)); err != nil {
		t.Fatal(err)
	}
	fill(a, prompt)
	// A second sequence with the same prompt shares the two full blocks.
	b := p.NewSeq(32)
	if got := b.AttachPrefix(prompt); got != 8 {
		t.Fatalf("reused %d positions, want 8", got)
	}
	if st := p.Stats(); st.Used != 3 {
		t.Fatalf("shared blocks counted twice: %+v", st)
	}
	if err := b.Reserve(2); err != nil {
		t.Fatal(err)
	}
	fill(b, prompt[8:])
	check(t, b)
	// A prompt equal to whole blocks keeps its last token to compute.
	c := p.NewSeq(32)
	if got := c.AttachPrefix(prompt[:8]); got != 4 {
		t.Fatalf("whole-block prompt: reused %d, want 4", got)
	}
	c.Release()
	// A different prompt shares only the common whole blocks.
	other := append(seqToks(4, 1), seqToks(6, 50)...)
	d := p.NewSeq(32)
	if got := d.AttachPrefix(other); got != 4 {
		t.Fatalf("diverging prompt: reused %d, want 4", got)
	}
	d.Release()
	// Truncating into a shared block copies it: a's rows stay intact.
	if err := b.Truncate(6); err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve(2); err != nil {
		t.Fatal(err)
	}
	fill(b, []int32{77, 78})
	check(t, a)
	check(t, b)
	a.Release()
	b.Release()
	st := p.Stats()
	if st.Used != 0 || st.Cached == 0 || st.Free+st.Cached != st.Blocks {
		t.Fatalf("after release: %+v, want cached blocks and none used", st)
	}
	// Cached blocks survive the sequences and are found again.
	e := p.NewSeq(32)
	if got := e.AttachPrefix(prompt); got != 8 {
		t.Fatalf("after release: reused %d, want 8", got)
	}
	check(t, e)
	e.Release()
}

func TestEvictionAndPoolFull(t *testing.T) {
	l := Layout{Layers: 1, KeyWidth: 2}
	p, err := NewPool(l, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	a := p.NewSeq(16)
	if err := a.Reserve(8); err != nil {
		t.Fatal(err)
	}
	fill(a, seqToks(8, 10))
	b := p.NewSeq(16)
	if err := b.Reserve(1); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("full pool: got %v, want ErrPoolFull", err)
	}
	a.Release()
	if st := p.Stats(); st.Cached != 4 {
		t.Fatalf("released full blocks: %+v, want 4 cached", st)
	}
	// New sequences evict cached blocks least recently released first;
	// Release gives back a sequence's last block first, so the leaf goes
	// and the prefix root survives longest.
	if err := b.Reserve(2); err != nil {
		t.Fatal(err)
	}
	fill(b, []int32{1, 2})
	c := p.NewSeq(16)
	if got := c.AttachPrefix(seqToks(8, 10)); got != 6 {
		t.Fatalf("after evicting one leaf: reused %d, want 6", got)
	}
	check(t, c)
}

// TestRandomOps runs random sequences of operations on a small pool and
// audits the block accounting and contents after each.
func TestRandomOps(t *testing.T) {
	l := Layout{Layers: 2, KeyWidth: 3, ValueWidth: 2}
	p, err := NewPool(l, 4, 24)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 9))
	prompts := [][]int32{seqToks(13, 1), seqToks(9, 1), append(seqToks(8, 1), seqToks(7, 40)...), seqToks(20, 300)}
	var live []*Seq
	for range 3000 {
		switch op := rng.IntN(5); {
		case op == 0 || len(live) == 0:
			s := p.NewSeq(40)
			pr := prompts[rng.IntN(len(prompts))]
			n := s.AttachPrefix(pr)
			if err := s.Reserve(len(pr) - n); err != nil {
				s.Release()
				continue
			}
			fill(s, pr[n:])
			live = append(live, s)
		case op == 1:
			i := rng.IntN(len(live))
			live[i].Release()
			live = append(live[:i], live[i+1:]...)
		case op == 2:
			s := live[rng.IntN(len(live))]
			if err := s.Truncate(rng.IntN(s.Len() + 1)); err != nil {
				continue
			}
		default:
			s := live[rng.IntN(len(live))]
			k := 1 + rng.IntN(5)
			if s.Reserve(k) == nil {
				fill(s, seqToks(k, int32(500+rng.IntN(50))))
			}
		}
		for _, s := range live {
			check(t, s)
		}
		refs := 0
		for _, s := range live {
			refs += s.Blocks()
		}
		st := p.Stats()
		if st.Used+st.Cached+st.Free != st.Blocks || st.Used > refs || (refs > 0 && st.Used == 0) {
			t.Fatalf("accounting: %+v with %d block references", st, refs)
		}
	}
	for _, s := range live {
		s.Release()
	}
	if st := p.Stats(); st.Used != 0 || st.Free+st.Cached != st.Blocks {
		t.Fatalf("after releasing everything: %+v", st)
	}
}

// TestAttachPrefixMidway: a sequence that computed its first block itself
// (beside another computing the same prompt) picks up the other's later
// blocks between prefill chunks.
func TestAttachPrefixMidway(t *testing.T) {
	p, err := NewPool(Layout{Layers: 1, KeyWidth: 3, ValueWidth: 2}, 4, 16)
	if err != nil {
		t.Fatal(err)
	}
	prompt := seqToks(14, 1)
	a, b := p.NewSeq(32), p.NewSeq(32)
	if err := a.Reserve(4); err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve(4); err != nil {
		t.Fatal(err)
	}
	fill(a, prompt[:4])
	fill(b, prompt[:4]) // same block content, computed twice
	if err := a.Reserve(10); err != nil {
		t.Fatal(err)
	}
	fill(a, prompt[4:])
	if got := b.AttachPrefix(prompt); got != 8 {
		t.Fatalf("midway: attached %d positions, want 8 (blocks 1 and 2 of a)", got)
	}
	if b.Len() != 12 {
		t.Fatalf("Len %d, want 12", b.Len())
	}
	if err := b.Reserve(1); err != nil {
		t.Fatal(err)
	}
	fill(b, []int32{99})
	check(t, b)
	if got := b.AttachPrefix(prompt); got != 0 {
		t.Fatalf("not block-aligned: attached %d", got)
	}
}
