package sample

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// benchVocab is the Qwen2 / R1-Distill-Qwen vocabulary size.
const benchVocab = 151936

// benchLogits returns a row shaped like a trained model's ("peaked": a few
// dozen plausible tokens well above a broad normal background) or a flat
// one (the worst case for top-p: the nucleus is most of the vocabulary).
func benchLogits(peaked bool) []float32 {
	r := rand.New(rand.NewPCG(99, 1))
	l := make([]float32, benchVocab)
	for i := range l {
		l[i] = float32(r.NormFloat64() * 2)
	}
	if peaked {
		for range 30 {
			l[r.IntN(benchVocab)] += float32(12 + 10*r.Float64())
		}
	}
	return l
}

func BenchmarkSample(b *testing.B) {
	peaked, flat := benchLogits(true), benchLogits(false)
	hist := make([]int32, 64)
	for i := range hist {
		hist[i] = int32(i * 2311 % benchVocab)
	}
	cases := []struct {
		name   string
		opts   Options
		logits []float32
		hist   []int32
	}{
		{"greedy", Options{}, peaked, nil},
		{"greedy+penalties", Options{RepeatPenalty: 1.1, RepeatLastN: 64}, peaked, hist},
		{"temp=0.8", Options{Temperature: 0.8}, peaked, nil},
		{"R1/peaked", R1Defaults(), peaked, nil},
		{"R1/flat", R1Defaults(), flat, nil},
		{"R1+penalties/peaked", Options{Temperature: 0.6, TopP: 0.95, RepeatPenalty: 1.1, FrequencyPenalty: 0.1, PresencePenalty: 0.1, RepeatLastN: 64}, peaked, hist},
		{"topk=40/peaked", Options{Temperature: 0.8, TopK: 40}, peaked, nil},
		{"topk=40+topp=0.95+minp=0.05/peaked", Options{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05}, peaked, nil},
		{"minp=0.05/flat", Options{Temperature: 0.8, MinP: 0.05}, flat, nil},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s := New(tc.opts)
			b.ReportAllocs()
			for b.Loop() {
				s.Sample(tc.logits, tc.hist)
			}
		})
	}
	// The same top-p cut done by sorting the whole vocabulary, for comparison.
	for _, c := range []struct {
		name   string
		logits []float32
	}{{"R1/peaked/fullsort", peaked}, {"R1/flat/fullsort", flat}} {
		b.Run(c.name, func(b *testing.B) {
			s := New(R1Defaults())
			b.ReportAllocs()
			for b.Loop() {
				fullSortSample(s, c.logits)
			}
		})
	}
}

// fullSortSample is Sample for temperature and top-p only, with the nucleus
// found by sorting every candidate: the baseline partial selection replaces.
func fullSortSample(s *Sampler, logits []float32) int32 {
	n := len(logits)
	if cap(s.cands) < n {
		s.cands = make([]candidate, n)
	}
	c := s.cands[:n]
	for i, l := range logits {
		c[i] = candidate{logit: l, id: int32(i)}
	}
	slices.SortFunc(c, compare)
	maxL := c[0].logit
	z := 0.0
	for i := range c {
		c[i].p = weight(c[i].logit, maxL, 1)
		z += float64(c[i].p)
	}
	acc, target := 0.0, float64(s.opts.TopP)*z
	for i := range c {
		if acc += float64(c[i].p); acc >= target {
			c = c[:i+1]
			break
		}
	}
	invT, total := 1/float64(s.opts.Temperature), 0.0
	for i := range c {
		c[i].p = weight(c[i].logit, maxL, invT)
		total += float64(c[i].p)
	}
	return s.draw(c, total)
}

func BenchmarkLogprobs(b *testing.B) {
	logits := benchLogits(true)
	b.Run("LogSoftmax", func(b *testing.B) {
		dst := make([]float32, len(logits))
		b.ReportAllocs()
		for b.Loop() {
			LogSoftmax(dst, logits)
		}
	})
	b.Run("TopLogprobs/k=5", func(b *testing.B) {
		dst := make([]TokenLogprob, 0, 5)
		b.ReportAllocs()
		for b.Loop() {
			dst = TopLogprobs(logits, 5, dst)
		}
	})
}
