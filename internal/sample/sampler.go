package sample

import (
	"math"
	"math/rand/v2"
)

// pcgStream is the second PCG word; fixing it makes Seed alone choose the
// sequence.
const pcgStream = 0x5370_7574_6e69_6b21 // "Sputnik!"

// Sampler draws token ids from logits with fixed Options. It owns scratch
// buffers sized to the vocabulary, grown on the first call for a larger
// vocabulary; later calls do not allocate. A Sampler is not safe for
// concurrent use: give each sequence its own.
type Sampler struct {
	opts Options // normalized
	rng  rand.PCG

	work   []float32   // [vocab] logits after the penalties (only when penalties are on)
	counts []int32     // [vocab] occurrences in the penalty window; all zero between calls
	cands  []candidate // [vocab] candidates; each stage keeps a prefix
}

// New returns a Sampler for opts. Values outside the ranges documented on
// Options are clamped rather than rejected (see Options.Validate).
func New(opts Options) *Sampler {
	s := &Sampler{opts: opts.normalized()}
	s.Reset()
	return s
}

// Options returns the options in effect, after clamping.
func (s *Sampler) Options() Options { return s.opts }

// Reset reseeds the random source with Options.Seed, so the Sampler repeats
// the draws it made since New. Buffers are kept.
func (s *Sampler) Reset() { s.rng.Seed(s.opts.Seed, pcgStream) }

// Sample returns the next token id, in [0, len(logits)), for one row of
// logits (one float32 per vocabulary entry, as the model produced them).
// history holds the sequence's recent token ids, oldest first, for the
// penalties; ids outside [0, len(logits)) are ignored. Sample reads logits and
// history and never modifies or keeps them.
//
// NaN logits count as -Inf. If no token has a logit above -Inf, Sample
// returns 0; if some are +Inf, it chooses among those alone. It returns -1
// only when logits is empty.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	n := len(logits)
	if n == 0 {
		return -1
	}
	src := logits
	if s.opts.penalized() && len(history) > 0 {
		src = s.applyPenalties(logits, history)
	}
	if s.opts.Temperature <= 0 {
		return argmax(src)
	}
	c, total := s.filter(src)
	if c == nil {
		return 0
	}
	return s.draw(c, total)
}

// applyPenalties copies logits into s.work and applies llama.cpp's penalties
// for the tokens in the window: for a token seen count > 0 times,
//
//	logit = logit <= 0 ? logit*repeat : logit/repeat
//	logit -= count*frequency + presence
//
// computed in float32 as llama.cpp does. It returns s.work[:len(logits)].
func (s *Sampler) applyPenalties(logits []float32, history []int32) []float32 {
	n := len(logits)
	if cap(s.work) < n {
		s.work = make([]float32, n)
		s.counts = make([]int32, n)
	}
	work := s.work[:n]
	copy(work, logits)
	counts := s.counts[:n]

	win := history
	if m := s.opts.RepeatLastN; m > 0 && len(win) > m {
		win = win[len(win)-m:]
	}
	for _, t := range win {
		if uint(t) < uint(n) {
			counts[t]++
		}
	}
	o := &s.opts
	for _, t := range win {
		if uint(t) >= uint(n) || counts[t] == 0 {
			continue
		}
		c := counts[t]
		counts[t] = 0 // each token once; leaves counts zeroed for the next call
		l := work[t]
		if l <= 0 {
			l *= o.RepeatPenalty
		} else {
			l /= o.RepeatPenalty
		}
		l -= float32(c)*o.FrequencyPenalty + o.PresencePenalty
		work[t] = l
	}
	return work
}

// argmax returns the index of the largest value, the lowest index among
// equals, skipping NaN; 0 if every value is -Inf or NaN.
func argmax(x []float32) int32 {
	best, bestL := 0, float32(math.Inf(-1))
	for i, l := range x {
		if l > bestL {
			best, bestL = i, l
		}
	}
	return int32(best)
}

// filter runs top-k, top-p and min-p over src and weighs the survivors for
// the draw: p = exp((logit-max)/T). It returns the survivors, in no
// particular but deterministic order, and the sum of their weights; nil if
// every logit is -Inf or NaN.
func (s *Sampler) filter(src []float32) ([]candidate, float64) {
	c, maxL := s.candidates(src)
	if math.IsInf(float64(maxL), -1) {
		return nil, 0
	}
	o := &s.opts

	// top-p: probabilities at temperature 1 over what top-k left.
	if o.TopP > 0 && len(c) > 1 {
		z := 0.0
		for i := range c {
			c[i].p = weight(c[i].logit, maxL, 1)
			z += float64(c[i].p)
		}
		// A token lighter than (1-TopP)*z/len(c) is never in the nucleus: the
		// tokens at or below it weigh less than (1-TopP)*z, so the ones above
		// it already weigh more than TopP*z. Dropping those first (with a
		// factor 2 of slack for rounding) leaves cutMass little to do on a
		// trained model's logits.
		floor := float32((1 - float64(o.TopP)) * z / float64(2*len(c)))
		kept := 0
		for i := range c {
			if c[i].p >= floor {
				c[kept] = c[i]
				kept++
			}
		}
		c = c[:kept]
		c = c[:cutMass(c, float64(o.TopP)*z, budget(len(c)))]
	}

	// min-p: p_i >= MinP*p_max  <=>  logit_i >= max + ln(MinP), in float32 as
	// llama.cpp computes it. The token holding maxL always passes.
	if o.MinP > 0 {
		thr := maxL + float32(math.Log(float64(o.MinP)))
		kept := 0
		for i := range c {
			if c[i].logit >= thr {
				c[kept] = c[i]
				kept++
			}
		}
		c = c[:kept]
	}

	// temperature: weights of the survivors.
	invT := 1 / float64(o.Temperature)
	total := 0.0
	for i := range c {
		c[i].p = weight(c[i].logit, maxL, invT)
		total += float64(c[i].p)
	}
	return c, total
}

// heapTopK is the largest top-k that candidates selects with a heap while
// reading the logits; larger ones use quickselect.
const heapTopK = 512

// candidates returns the candidates left after top-k (all tokens when top-k
// is off), with NaN replaced by -Inf, and the largest logit. It fills s.cands.
func (s *Sampler) candidates(src []float32) ([]candidate, float32) {
	n := len(src)
	if cap(s.cands) < n {
		s.cands = make([]candidate, n)
	}
	maxL := float32(math.Inf(-1))
	k := s.opts.TopK
	if k > 0 && k < n && k <= heapTopK {
		// A min-heap of the k best seen so far, the worst at c[0]: most
		// tokens cost one comparison with it.
		c := s.cands[:0]
		for i, l := range src {
			if l != l {
				l = float32(math.Inf(-1)) // NaN counts as -Inf
			}
			if l > maxL {
				maxL = l
			}
			x := candidate{logit: l, id: int32(i)}
			if len(c) < k {
				c = append(c, x)
				heapUp(c, len(c)-1)
			} else if better(&x, &c[0]) {
				c[0] = x
				heapDown(c, 0)
			}
		}
		return c, maxL
	}
	c := s.cands[:n]
	for i, l := range src {
		if l != l {
			l = float32(math.Inf(-1)) // NaN counts as -Inf
		}
		c[i] = candidate{logit: l, id: int32(i)}
		if l > maxL {
			maxL = l
		}
	}
	if k > 0 && k < n {
		selectTop(c, k, budget(n)) // maxL stays among the k best
		c = c[:k]
	}
	return c, maxL
}

// draw picks one candidate with probability p/total.
func (s *Sampler) draw(c []candidate, total float64) int32 {
	r := float64(s.rng.Uint64()>>11) * 0x1p-53 * total // uniform in [0, total)
	acc := 0.0
	last := c[0].id
	for i := range c {
		if c[i].p == 0 {
			continue
		}
		acc += float64(c[i].p)
		last = c[i].id
		if r < acc {
			return c[i].id
		}
	}
	return last // r within rounding of total
}

// weight returns exp((l-maxL)*invT), the unnormalized probability of a logit
// l at temperature 1/invT. When maxL is +Inf the tokens at +Inf share all the
// mass.
func weight(l, maxL float32, invT float64) float32 {
	if math.IsInf(float64(maxL), 1) {
		if l == maxL {
			return 1
		}
		return 0
	}
	return float32(expNeg((float64(l) - float64(maxL)) * invT))
}
