// Package kvcache stores the attention keys and values of running
// sequences. Each sequence owns, per layer, a key store and a value store
// of f16 rows (one row per token position), the layout llama.cpp's default
// f16 cache uses, so attention sees the same rounded keys and values.
//
// For multi-head attention a row holds every KV head's vector
// ([nKVHeads][headDim]). For MLA (DeepSeek-V2/V3) the key row holds the
// compressed latent and the rotated rope key ([kvLoRARank + ropeDim]) and
// the value store is empty (ValueWidth 0): the latent doubles as the value.
package kvcache

import (
	"errors"
	"fmt"
)

// ErrContextFull is returned when a sequence would grow past its capacity.
var ErrContextFull = errors.New("kvcache: context is full")

// Layout is the per-token geometry of a model's cache.
type Layout struct {
	Layers     int // number of layers with a cache
	KeyWidth   int // f16 values per token per layer in the key store
	ValueWidth int // f16 values per token per layer in the value store (0 for MLA)
}

// BytesPerToken returns the cache bytes one token occupies over all layers.
func (l Layout) BytesPerToken() int { return 2 * l.Layers * (l.KeyWidth + l.ValueWidth) }

// Seq is the cache of one sequence: token positions [0, Len()) are filled.
// A Seq is owned by one goroutine at a time (the engine loop); it is not
// safe for concurrent use.
type Seq struct {
	layout Layout
	cap    int
	n      int
	k, v   [][]uint16 // per layer: [cap][KeyWidth], [cap][ValueWidth] f16 bits
}

// NewSeq allocates a sequence cache for up to capacity positions.
func NewSeq(l Layout, capacity int) (*Seq, error) {
	if l.Layers <= 0 || l.KeyWidth <= 0 || l.ValueWidth < 0 || capacity <= 0 {
		return nil, fmt.Errorf("kvcache: bad layout %+v or capacity %d", l, capacity)
	}
	s := &Seq{layout: l, cap: capacity, k: make([][]uint16, l.Layers), v: make([][]uint16, l.Layers)}
	for i := range s.k {
		s.k[i] = make([]uint16, capacity*l.KeyWidth)
		if l.ValueWidth > 0 {
			s.v[i] = make([]uint16, capacity*l.ValueWidth)
		}
	}
	return s, nil
}

// Layout returns the sequence's geometry.
func (s *Seq) Layout() Layout { return s.layout }

// Len returns the number of filled positions.
func (s *Seq) Len() int { return s.n }

// Cap returns the maximum number of positions.
func (s *Seq) Cap() int { return s.cap }

// Keys returns layer's key store, [Cap()][KeyWidth] f16 bits. Rows at and
// beyond Len() hold stale or zero data until written.
func (s *Seq) Keys(layer int) []uint16 { return s.k[layer] }

// Values returns layer's value store, [Cap()][ValueWidth] f16 bits (nil when
// ValueWidth is 0).
func (s *Seq) Values(layer int) []uint16 { return s.v[layer] }

// Reserve checks that n more positions fit.
func (s *Seq) Reserve(n int) error {
	if s.n+n > s.cap {
		return fmt.Errorf("%w: %d positions used + %d new > %d", ErrContextFull, s.n, n, s.cap)
	}
	return nil
}

// Advance marks n more positions as filled. The caller has written their
// rows in every layer.
func (s *Seq) Advance(n int) {
	if s.n+n > s.cap {
		panic("kvcache: Advance past capacity") // callers Reserve first
	}
	s.n += n
}

// Truncate forgets every position at or after n (n ≤ Len()), e.g. to
// rewind to a shared prompt prefix.
func (s *Seq) Truncate(n int) {
	if n < 0 || n > s.n {
		panic(fmt.Sprintf("kvcache: Truncate(%d) with Len %d", n, s.n))
	}
	s.n = n
}
