// Package model defines what every architecture package provides (Model),
// the batch of tokens a forward pass consumes (Batch), and the helpers that
// load hyperparameters and weights from a GGUF file with their expected
// shapes (Loader).
//
// Architectures live in subpackages — model/dense (the llama, qwen2 and
// qwen3 decoders, one implementation with a Variant per architecture) and
// model/deepseek2 — share building blocks through model/nn, and are chosen by
// internal/models.
package model

import (
	"errors"
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
)

// ErrUnsupportedArch is wrapped by load errors for architectures Sputnik
// does not implement.
var ErrUnsupportedArch = errors.New("unsupported architecture")

// Model is a loaded network. Forward must not be called concurrently: one
// goroutine (the engine loop, or a command) owns a Model's scratch space.
type Model interface {
	// Info returns the model's static facts.
	Info() Info
	// NewSeq returns an empty cache for one sequence of up to capacity tokens.
	NewSeq(capacity int) (*kvcache.Seq, error)
	// Forward runs the batch through the network, appending every token to
	// its sequence's cache, and writes the logits of the rows that asked for
	// them to logits ([rows with Logits set][VocabSize], in batch order).
	Forward(b *Batch, logits []float32) error
}

// Info holds a model's static facts.
type Info struct {
	Arch          string // GGUF architecture name
	Name          string // general.name
	VocabSize     int    // logits per row
	ContextLength int    // trained context ({arch}.context_length)
	Layers        int
	KVLayout      kvcache.Layout
	Params        uint64 // parameters in the file
	ActiveParams  uint64 // parameters used per token (differs for MoE)
	MaxBatch      int    // tokens per internal forward chunk
}

// Batch is a set of tokens to run through the network together. Tokens of
// one sequence must appear in order; token i of a sequence s is placed at
// position s.Len() + (number of earlier tokens of s in the batch).
type Batch struct {
	Tokens []int32        // [n] token ids
	Seqs   []*kvcache.Seq // [n] the sequence each token extends
	Logits []bool         // [n] whether to compute logits for the row
	pos    []int32        // [n] filled by Positions
	starts map[*kvcache.Seq]int32
}

// Reset empties the batch, keeping its buffers.
func (b *Batch) Reset() {
	b.Tokens, b.Seqs, b.Logits, b.pos = b.Tokens[:0], b.Seqs[:0], b.Logits[:0], b.pos[:0]
}

// Add appends one token of seq.
func (b *Batch) Add(seq *kvcache.Seq, token int32, logits bool) {
	b.Tokens = append(b.Tokens, token)
	b.Seqs = append(b.Seqs, seq)
	b.Logits = append(b.Logits, logits)
}

// Len returns the number of tokens in the batch.
func (b *Batch) Len() int { return len(b.Tokens) }

// LogitRows returns how many rows want logits.
func (b *Batch) LogitRows() int {
	n := 0
	for _, l := range b.Logits {
		if l {
			n++
		}
	}
	return n
}

// Positions computes each token's position from its sequence's current
// length and checks that every sequence has room. It must be called before
// any cache is advanced; the returned slice is owned by the batch.
func (b *Batch) Positions() ([]int32, error) {
	if len(b.Seqs) != len(b.Tokens) || len(b.Logits) != len(b.Tokens) {
		return nil, fmt.Errorf("model: batch has %d tokens, %d sequences, %d logit flags", len(b.Tokens), len(b.Seqs), len(b.Logits))
	}
	if b.starts == nil {
		b.starts = map[*kvcache.Seq]int32{}
	}
	clear(b.starts)
	b.pos = b.pos[:0]
	for _, s := range b.Seqs {
		if s == nil {
			return nil, fmt.Errorf("model: batch token without a sequence")
		}
		p, ok := b.starts[s]
		if !ok {
			p = int32(s.Len())
		}
		b.pos = append(b.pos, p)
		b.starts[s] = p + 1
	}
	for s, end := range b.starts {
		if err := s.Reserve(int(end) - s.Len()); err != nil {
			return nil, err
		}
	}
	return b.pos, nil
}

// Commit advances every sequence of the batch past its tokens, after the
// forward pass has written their cache rows.
func (b *Batch) Commit() {
	for s, end := range b.starts {
		s.Advance(int(end) - s.Len())
	}
}
