package sample

import (
	"math"
	"slices"
)

// referenceProbs is the sampler chain written the obvious way — penalties
// through a map, then one full sort, then prefix cuts — for differential
// tests of the partial-selection code. It returns the probability of every
// token that can be drawn. Weights are rounded to float32 as Sampler rounds
// them, so the two agree even on top-p boundaries.
func referenceProbs(o Options, logits []float32, history []int32) map[int32]float64 {
	o = o.normalized()
	n := len(logits)
	work := slices.Clone(logits)
	if o.penalized() {
		win := history
		if o.RepeatLastN > 0 && len(win) > o.RepeatLastN {
			win = win[len(win)-o.RepeatLastN:]
		}
		count := map[int32]int{}
		for _, t := range win {
			if t >= 0 && int(t) < n {
				count[t]++
			}
		}
		for t, c := range count {
			l := work[t]
			if l <= 0 {
				l *= o.RepeatPenalty
			} else {
				l /= o.RepeatPenalty
			}
			l -= float32(c)*o.FrequencyPenalty + o.PresencePenalty
			work[t] = l
		}
	}
	type tok struct {
		id int32
		l  float32
	}
	toks := make([]tok, n)
	for i, l := range work {
		if math.IsNaN(float64(l)) {
			l = float32(math.Inf(-1))
		}
		toks[i] = tok{int32(i), l}
	}
	slices.SortStableFunc(toks, func(a, b tok) int {
		switch {
		case a.l > b.l:
			return -1
		case a.l < b.l:
			return 1
		}
		return 0
	})
	if math.IsInf(float64(toks[0].l), -1) || o.Temperature <= 0 {
		return map[int32]float64{toks[0].id: 1}
	}
	if o.TopK > 0 && o.TopK < len(toks) {
		toks = toks[:o.TopK]
	}
	maxL := toks[0].l
	w := func(l float32, invT float64) float64 {
		if math.IsInf(float64(maxL), 1) {
			if l == maxL {
				return 1
			}
			return 0
		}
		return float64(float32(math.Exp((float64(l) - float64(maxL)) * invT)))
	}
	if o.TopP > 0 {
		z := 0.0
		for _, t := range toks {
			z += w(t.l, 1)
		}
		cum := 0.0
		for i, t := range toks {
			cum += w(t.l, 1)
			if cum >= float64(o.TopP)*z {
				toks = toks[:i+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		thr := maxL + float32(math.Log(float64(o.MinP)))
		i := 1
		for i < len(toks) && toks[i].l >= thr {
			i++
		}
		toks = toks[:i]
	}
	probs := map[int32]float64{}
	total := 0.0
	for _, t := range toks {
		p := w(t.l, 1/float64(o.Temperature))
		if p > 0 {
			probs[t.id] = p
			total += p
		}
	}
	for id := range probs {
		probs[id] /= total
	}
	return probs
}

// samplerProbs returns the distribution Sampler.Sample draws from, built from
// the same internal steps Sample uses.
func samplerProbs(s *Sampler, logits []float32, history []int32) map[int32]float64 {
	src := logits
	if s.opts.penalized() && len(history) > 0 {
		src = s.applyPenalties(logits, history)
	}
	if s.opts.Temperature <= 0 {
		return map[int32]float64{argmax(src): 1}
	}
	c, total := s.filter(src)
	if c == nil {
		return map[int32]float64{0: 1}
	}
	probs := map[int32]float64{}
	for _, x := range c {
		if x.p > 0 {
			probs[x.id] = float64(x.p) / total
		}
	}
	return probs
}
