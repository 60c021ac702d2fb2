package sample

import (
	"math"
	"slices"
)

// TokenLogprob is one token id with its natural-log probability.
type TokenLogprob struct {
	ID      int32
	Logprob float32 // ln p, in (-Inf, 0]; -Inf for an impossible token
}

// logNorm describes the normalizer of a softmax over a row of logits.
type logNorm struct {
	lse  float64 // ln Σ exp(logit), accumulated in float64
	nInf int     // number of +Inf logits; when > 0 they share all the mass
	none bool    // every logit is -Inf or NaN: no token is possible
}

// normalizer computes ln Σ_i exp(logits[i]) stably (the max is factored out
// and the sum is accumulated in float64). NaN counts as -Inf.
func normalizer(logits []float32) logNorm {
	maxL := math.Inf(-1)
	nInf := 0
	for _, l := range logits {
		if float64(l) > maxL {
			maxL = float64(l)
		}
		if math.IsInf(float64(l), 1) {
			nInf++
		}
	}
	switch {
	case nInf > 0:
		return logNorm{nInf: nInf}
	case math.IsInf(maxL, -1):
		return logNorm{none: true}
	}
	sum := 0.0
	for _, l := range logits {
		if l == l { // NaN counts as -Inf: adds nothing
			sum += expNeg(float64(l) - maxL)
		}
	}
	return logNorm{lse: maxL + math.Log(sum)}
}

// logprob returns ln softmax for one logit under n.
func (n *logNorm) logprob(l float32) float32 {
	switch {
	case l != l || n.none:
		return float32(math.Inf(-1))
	case n.nInf > 0:
		if math.IsInf(float64(l), 1) {
			return float32(-math.Log(float64(n.nInf)))
		}
		return float32(math.Inf(-1))
	}
	return float32(float64(l) - n.lse)
}

// LogSoftmax writes the natural-log softmax of logits over the whole row into
// dst: dst[i] = logits[i] - ln Σ_j exp(logits[j]), with the sum accumulated in
// float64. dst may be logits itself. NaN logits count as -Inf; if some logits
// are +Inf they share probability 1 equally; if every logit is -Inf or NaN,
// every dst[i] is -Inf. It panics if len(dst) != len(logits).
func LogSoftmax(dst, logits []float32) {
	if len(dst) != len(logits) {
		panic("sample: LogSoftmax: len(dst) != len(logits)")
	}
	n := normalizer(logits)
	for i, l := range logits {
		dst[i] = n.logprob(l)
	}
}

// TopLogprobs returns the min(k, len(logits)) most likely tokens of the raw
// logits with their natural-log softmax probabilities (as LogSoftmax computes
// them), most likely first, lower id first among equal logits. It appends to
// dst[:0] and returns the result, so passing a dst with capacity >= k makes
// it allocation-free. k <= 0 gives an empty result. Time O(n log k).
func TopLogprobs(logits []float32, k int, dst []TokenLogprob) []TokenLogprob {
	dst = dst[:0]
	if k <= 0 || len(logits) == 0 {
		return dst
	}
	k = min(k, len(logits))
	// A min-heap in dst of the best k seen so far, the worst at dst[0];
	// Logprob temporarily holds the sanitized logit.
	worse := func(a, b TokenLogprob) bool {
		return a.Logprob < b.Logprob || (a.Logprob == b.Logprob && a.ID > b.ID)
	}
	down := func(h []TokenLogprob, i int) {
		for {
			w := i
			if l := 2*i + 1; l < len(h) && worse(h[l], h[w]) {
				w = l
			}
			if r := 2*i + 2; r < len(h) && worse(h[r], h[w]) {
				w = r
			}
			if w == i {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	for i, l := range logits {
		if l != l {
			l = float32(math.Inf(-1))
		}
		t := TokenLogprob{ID: int32(i), Logprob: l}
		if len(dst) < k {
			dst = append(dst, t)
			for j := len(dst) - 1; j > 0; { // sift up
				parent := (j - 1) / 2
				if !worse(dst[j], dst[parent]) {
					break
				}
				dst[j], dst[parent] = dst[parent], dst[j]
				j = parent
			}
			continue
		}
		if worse(dst[0], t) {
			dst[0] = t
			down(dst, 0)
		}
	}
	slices.SortFunc(dst, func(a, b TokenLogprob) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	n := normalizer(logits)
	for i := range dst {
		dst[i].Logprob = n.logprob(dst[i].Logprob)
	}
	return dst
}

// Logprob returns the natural-log softmax probability of token id under the
// raw logits, as LogSoftmax computes it, without writing the whole row.
func Logprob(logits []float32, id int32) float32 {
	n := normalizer(logits)
	return n.logprob(logits[id])
}
