package model

import (
	"context"
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
)

// DefaultMaxBatch is the number of tokens a forward pass computes at once;
// longer batches are split into chunks of this size (llama.cpp's ubatch).
const DefaultMaxBatch = 512

// RunBatch validates b, computes its positions, and calls fn on chunks of
// at most info.MaxBatch tokens in order, each with its share of logits.
// Positions must be below capacity (the State's). ctx is checked before
// each chunk; after the last chunk it advances every sequence's cache. On
// an error the caches' lengths are unchanged.
func RunBatch(ctx context.Context, b *Batch, logits []float32, info Info, capacity int, fn func(ch nn.Chunk)) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	for i, id := range b.Tokens {
		if id < 0 || int(id) >= info.VocabSize {
			return fmt.Errorf("model: token %d at batch row %d is outside the vocabulary [0, %d)", id, i, info.VocabSize)
		}
	}
	rows := b.LogitRows()
	if len(logits) < rows*info.VocabSize {
		return fmt.Errorf("model: logits buffer holds %d values, need %d rows × %d", len(logits), rows, info.VocabSize)
	}
	pos, err := b.Positions()
	if err != nil {
		return err
	}
	for i, p := range pos {
		if int(p) >= capacity {
			return fmt.Errorf("model: batch row %d is at position %d, past the state's capacity %d", i, p, capacity)
		}
	}
	off := 0
	for lo := 0; lo < n; lo += info.MaxBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(n, lo+info.MaxBatch)
		k := 0
		for _, w := range b.Logits[lo:hi] {
			if w {
				k++
			}
		}
		fn(nn.Chunk{
			Tokens: b.Tokens[lo:hi], Pos: pos[lo:hi], Seqs: b.Seqs[lo:hi], Want: b.Logits[lo:hi],
			Logits: logits[off*info.VocabSize : (off+k)*info.VocabSize],
		})
		off += k
	}
	b.Commit()
	return nil
}

// VocabSize returns the number of tokens: the length of
// tokenizer.ggml.tokens, else {arch}.vocab_size.
func VocabSize(ld *Loader) int {
	if v, ok := ld.F.Get("tokenizer.ggml.tokens"); ok {
		if v.Len() == 0 {
			ld.Failf("model: tokenizer.ggml.tokens is empty")
		}
		return v.Len()
	}
	n := ld.IntOr("vocab_size", 0)
	if n <= 0 {
		ld.Failf("model: the file has neither tokenizer.ggml.tokens nor %s.vocab_size", ld.Arch)
	}
	return n
}

// CheckHeads validates attention head counts read from metadata.
func CheckHeads(ld *Loader, nHeads, nKVHeads, headDim, ropeDims int) error {
	if ld.Err() != nil {
		return ld.Err()
	}
	switch {
	case nHeads <= 0 || nKVHeads <= 0 || headDim <= 0:
		ld.Failf("model: %[1]s.attention.head_count %[2]d, %[1]s.attention.head_count_kv %[3]d and head dim %[4]d must be positive", ld.Arch, nHeads, nKVHeads, headDim)
	case nHeads%nKVHeads != 0:
		ld.Failf("model: %[1]s.attention.head_count %[2]d is not a multiple of %[1]s.attention.head_count_kv %[3]d", ld.Arch, nHeads, nKVHeads)
	case ropeDims > headDim:
		ld.Failf("model: %s.rope.dimension_count %d is larger than the head dim %d", ld.Arch, ropeDims, headDim)
	}
	return ld.Err()
}

// Name returns general.name, or "".
func Name(f *gguf.File) string {
	s, _ := f.String("general.name")
	return s
}

// CountParams returns the number of elements over all tensors of f.
func CountParams(f *gguf.File) uint64 {
	var n uint64
	for i := range f.Tensors {
		n += f.Tensors[i].Elements()
	}
	return n
}
