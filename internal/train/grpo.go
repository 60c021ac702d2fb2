package train

import (
	"fmt"
	"math"
)

// Sample is one sampled completion for GRPO: the prompt and completion
// tokens (Example.Start is where the completion begins) and the reward a
// rule gave the completion.
type Sample struct {
	Example
	Reward float64
}

// GRPOOptions are the hyperparameters of Group Relative Policy Optimization
// (Shao et al. 2024, DeepSeekMath §4.1; used for DeepSeek-R1).
type GRPOOptions struct {
	// Epsilon is the clip range ε of the probability ratio (0.2 in the
	// papers).
	Epsilon float64
	// Beta is the weight β of the KL penalty against the reference policy
	// (0.04 in DeepSeekMath). 0 skips the reference model entirely.
	Beta float64
	// Iterations is μ, the number of policy updates made from one batch of
	// samples (>= 1). With μ = 1 the ratio is 1 at the only update and the
	// clip never binds; with more, the later updates are clipped.
	Iterations int
}

// GRPOStats reports one GRPO step (one batch of groups, μ updates).
type GRPOStats struct {
	StepStats
	Reward   float64 // mean reward over all samples
	KL       float64 // mean per-token KL estimate against the reference (first update)
	ClipFrac float64 // fraction of target tokens whose ratio was clipped (all updates)
	Groups   int     // groups with differing rewards (the others carry no advantage)
}

// grpoSample is a sample with its group-normalized advantage and where its
// rows sit in the flat per-token buffers.
type grpoSample struct {
	Example
	adv  float64 // (reward - group mean) / group std
	coef float64 // 1 / (active groups × group size × completion length)
	off  int     // first row in oldLogp/refLogp
}

// GRPOStep takes one GRPO step on groups (each the completions sampled for
// one prompt) at learning rate lr, with ref the frozen reference policy
// (nil when o.Beta is 0). For completion i of a group with advantage
// A_i = (r_i - mean r) / std r, it maximizes
//
//	1/G Σ_i 1/|o_i| Σ_t [ min(ρ_t A_i, clip(ρ_t, 1-ε, 1+ε) A_i) - β KL_t ]
//
// averaged over the groups, where ρ_t = π_θ(o_t)/π_old(o_t) and KL_t is the
// unbiased estimator π_ref/π_θ - log(π_ref/π_θ) - 1 (DeepSeekMath eq. 4).
// Groups whose rewards are all equal have no advantage and are left out
// (their KL term too).
func (t *Trainer) GRPOStep(groups [][]Sample, ref *Net, o GRPOOptions, lr float64) (GRPOStats, error) {
	var st GRPOStats
	if o.Iterations < 1 {
		return st, fmt.Errorf("train: GRPO needs at least one iteration, have %d", o.Iterations)
	}
	if o.Beta > 0 && ref == nil {
		return st, fmt.Errorf("train: GRPO with a KL penalty needs a reference model")
	}
	// Group-relative advantages.
	t.act = t.act[:0]
	n, active := 0, 0
	for _, g := range groups {
		mean, sd := meanStd(g)
		for _, s := range g {
			st.Reward += s.Reward
			n++
		}
		if sd == 0 {
			continue
		}
		active++
		for _, s := range g {
			if s.Start < 1 || s.Start >= len(s.Tokens) {
				return st, fmt.Errorf("train: sample with %d tokens has completion start %d", len(s.Tokens), s.Start)
			}
			t.act = append(t.act, grpoSample{Example: s.Example, adv: (s.Reward - mean) / sd, coef: 1 / float64(len(g)*s.targets())})
		}
	}
	if n > 0 {
		st.Reward /= float64(n)
	}
	st.Groups = active
	if active == 0 {
		return st, nil
	}
	rows := 0
	for i := range t.act {
		t.act[i].coef /= float64(active)
		t.act[i].off = rows
		rows += len(t.act[i].Tokens) - 1
	}
	t.oldLogp = grow(t.oldLogp, rows)
	t.refLogp = grow(t.refLogp, rows)
	length := func(i int) int { return len(t.act[i].Tokens) }
	if o.Beta > 0 {
		err := passes(len(t.act), t.o.MaxTokens, length, func(lo, hi int) {
			ref.Forward(t.passSeqs(lo, hi, &st.StepStats), t.refLogp[t.act[lo].off:])
		})
		if err != nil {
			return st, err
		}
	}
	var klSum float64
	clipped, targets := 0, 0
	for it := range o.Iterations {
		t.grad.Zero()
		err := passes(len(t.act), t.o.MaxTokens, length, func(lo, hi int) {
			t.net.Forward(t.passSeqs(lo, hi, &st.StepStats), t.logp)
			base := t.act[lo].off
			for _, s := range t.act[lo:hi] {
				for r := range len(s.Tokens) - 1 {
					i := s.off - base + r // row in this pass
					if r+1 < s.Start {
						t.dlogp[i] = 0
						continue
					}
					l := float64(t.logp[i])
					if it == 0 {
						t.oldLogp[s.off+r] = t.logp[i]
					}
					// Surrogate: the unclipped branch carries the gradient
					// ρA while it is the smaller one.
					rho := math.Exp(l - float64(t.oldLogp[s.off+r]))
					var ds float64
					if s.adv >= 0 && rho <= 1+o.Epsilon || s.adv < 0 && rho >= 1-o.Epsilon {
						ds = rho * s.adv
					} else {
						clipped++
					}
					targets++
					// KL estimator and its derivative in log π_θ.
					var dkl float64
					if o.Beta > 0 {
						d := float64(t.refLogp[s.off+r]) - l
						e := math.Exp(d)
						if it == 0 {
							klSum += e - d - 1
						}
						dkl = 1 - e
					}
					// Minimize the negated objective.
					t.dlogp[i] = float32(-s.coef * (ds - o.Beta*dkl))
				}
			}
			t.net.Backward(t.dlogp[:t.passRows(lo, hi)], t.grad)
		})
		if err != nil {
			return st, err
		}
		st.GradNorm = t.update(lr)
	}
	st.ClipFrac = float64(clipped) / float64(targets)
	st.KL = klSum / float64(targets/o.Iterations)
	return st, nil
}

// passSeqs collects the token sequences of active samples [lo, hi).
func (t *Trainer) passSeqs(lo, hi int, st *StepStats) [][]int32 {
	t.seqs = t.seqs[:0]
	for _, s := range t.act[lo:hi] {
		t.seqs = append(t.seqs, s.Tokens)
		st.Tokens += len(s.Tokens)
	}
	return t.seqs
}

// passRows returns the logp rows of active samples [lo, hi).
func (t *Trainer) passRows(lo, hi int) int {
	n := 0
	for _, s := range t.act[lo:hi] {
		n += len(s.Tokens) - 1
	}
	return n
}

// meanStd returns the mean and the population standard deviation of the
// group's rewards.
func meanStd(g []Sample) (mean, sd float64) {
	if len(g) == 0 {
		return 0, 0
	}
	for _, s := range g {
		mean += s.Reward
	}
	mean /= float64(len(g))
	for _, s := range g {
		d := s.Reward - mean
		sd += d * d
	}
	return mean, math.Sqrt(sd / float64(len(g)))
}

// grow returns s with length n, reusing its storage when it is big enough.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
