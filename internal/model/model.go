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
	"context"
	"errors"
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
)

// ErrUnsupportedArch is wrapped by load errors for architectures Sputnik
// does not implement.
var ErrUnsupportedArch = errors.New("unsupported architecture")

// Model is a loaded network. Its weights are immutable after load and may
// be read by many goroutines at once; everything a forward pass changes is
// in a State (working memory) and the sequences' KV caches, both owned by
// the caller. Forward may run concurrently on different States.
type Model interface {
	// Info returns the model's static facts.
	Info() Info
	// NewState returns working memory for forward passes over sequences of
	// up to capacity positions. A State is used by one goroutine at a time.
	NewState(capacity int) State
	// Forward runs the batch through the network using st, appending every
	// token to its sequence's cache, and writes the logits of the rows that
	// asked for them to logits ([rows with Logits set][VocabSize], in batch
	// order). It checks ctx between chunks of MaxBatch tokens and returns
	// ctx.Err() when it is done; the caches are then unchanged.
	Forward(ctx context.Context, st State, b *Batch, logits []float32) error
}

// State is a model's working memory for forward passes (llama2.c's
// RunState), made by Model.NewState.
type State interface {
	// Capacity returns the longest sequence, in positions, the state serves.
	Capacity() int
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
// length and reserves the cache blocks every sequence needs. It must be
// called before any cache is advanced; the returned slice is owned by the
// batch. A sequence that does not fit fails the call (the engine reserves
// ahead, so that it can treat each sequence on its own).
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
	for i, s := range b.Seqs {
		s.Append(b.Tokens[i])
	}
}
