package train

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
)

// tinyConfig is a small model with grouped-query attention (2 query heads
// per KV head) and sequences longer than one attention block.
var tinyConfig = Config{VocabSize: 96, Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, FFNDim: 96, Context: 160, RopeTheta: 10000, NormEps: 1e-5}

// sharpen makes p's outputs far from uniform, so that a wrong step shows:
// norm gains 1 + N(0, 0.2²), sharper attention (q and k ×2) and a larger
// output head (×40).
func sharpen(p *Params, seed uint64) {
	r := newRNG(seed, "sharpen")
	for _, t := range p.Tensors {
		switch {
		case len(t.Shape) == 1:
			for i := range t.W {
				t.W[i] = 1 + float32(0.2*r.normal())
			}
		case t == p.Output:
			for i := range t.W {
				t.W[i] *= 40
			}
		}
	}
	for _, b := range p.Blocks {
		for _, t := range []*Param{b.Q, b.K} {
			for i := range t.W {
				t.W[i] *= 2
			}
		}
	}
}

// randomSeqs returns sequences of the given lengths with tokens drawn from
// [0, vocab).
func randomSeqs(seed uint64, vocab int, lens ...int) [][]int32 {
	r := newRNG(seed, "seqs")
	seqs := make([][]int32, len(lens))
	for i, n := range lens {
		seqs[i] = make([]int32, n)
		for j := range seqs[i] {
			seqs[i][j] = int32(r.next() % uint64(vocab))
		}
	}
	return seqs
}

// writeGGUF returns p as a GGUF image with a minimal byte-level gpt2
// vocabulary of p's size.
func writeGGUF(t testing.TB, p *Params) []byte {
	t.Helper()
	w := gguf.NewWriter()
	p.AddTo(w)
	w.AddKV("general.name", "train-test")
	toks := make([]string, p.Config.VocabSize)
	types := make([]int32, len(toks))
	for i := range toks {
		toks[i] = fmt.Sprintf("<%d>", i)
		types[i] = 1
	}
	w.AddKV("tokenizer.ggml.model", "gpt2")
	w.AddKV("tokenizer.ggml.pre", "default")
	w.AddKV("tokenizer.ggml.tokens", toks)
	w.AddKV("tokenizer.ggml.token_type", types)
	w.AddKV("tokenizer.ggml.merges", []string{})
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
