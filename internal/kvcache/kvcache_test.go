package kvcache

import (
	"errors"
	"testing"
)

func TestSeq(t *testing.T) {
	l := Layout{Layers: 2, KeyWidth: 576, ValueWidth: 0}
	if got := l.BytesPerToken(); got != 2*2*576 {
		t.Fatalf("BytesPerToken: got %d, want %d", got, 2*2*576)
	}
	// DeepSeek-V3: 61 layers × 576 f16 values = 70272 bytes per token.
	if got := (Layout{Layers: 61, KeyWidth: 576}).BytesPerToken(); got != 70272 {
		t.Fatalf("V3 bytes per token: got %d, want 70272", got)
	}
	s, err := NewSeq(l, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Keys(1)) != 4*576 || s.Values(0) != nil {
		t.Fatalf("got key store %d, value store %v", len(s.Keys(1)), s.Values(0))
	}
	if err := s.Reserve(4); err != nil {
		t.Fatal(err)
	}
	s.Advance(3)
	if err := s.Reserve(2); !errors.Is(err, ErrContextFull) {
		t.Fatalf("got %v, want ErrContextFull", err)
	}
	s.Truncate(1)
	if s.Len() != 1 {
		t.Fatalf("Len after Truncate: got %d, want 1", s.Len())
	}
	if _, err := NewSeq(Layout{}, 4); err == nil {
		t.Fatal("empty layout: no error")
	}
}
