package deepseek2

import (
	"math"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
)

// Router chooses the routed experts of one token (DeepSeekMoE; DeepSeek-V3
// report §2.1.2, llama.cpp's build_moe_ffn):
//
//  1. scores s = sigmoid(z) or softmax(z) of the router logits z;
//  2. selection scores b = s + bias (the bias only steers the choice);
//  3. with Groups > 1, the experts form Groups contiguous groups; a group
//     scores the sum of its two largest b; all but the best GroupsUsed
//     groups are masked to −∞;
//  4. the Used experts with the largest b are chosen (ties: lower id);
//  5. their weights are the unbiased s, divided by their sum if Norm (the
//     sum clamped below at 2⁻¹⁴), times Scale unless Scale is 0 or 1.
//
// With GatingSoftmaxWeight, s = z and the chosen weights are the softmax of
// the chosen z.
type Router struct {
	Experts, Used      int
	Groups, GroupsUsed int
	Gating             int
	Norm               bool
	Scale              float32
}

// routeScratch is Router.Route's working memory.
type routeScratch struct {
	probs  []float32 // [Experts] s
	sel    []float32 // [Experts] b, masked
	groups []float32 // [Groups] group scores
	keep   []bool    // [Groups]
	taken  []bool    // [Experts]
}

func (r *Router) newScratch() *routeScratch {
	return &routeScratch{
		probs: make([]float32, r.Experts), sel: make([]float32, r.Experts),
		groups: make([]float32, max(r.Groups, 1)), keep: make([]bool, max(r.Groups, 1)),
		taken: make([]bool, r.Experts),
	}
}

// Route writes the chosen expert ids (by decreasing selection score) into
// ids ([Used]) and their weights into w ([Used]), from the router logits z
// ([Experts]) and the optional selection bias ([Experts] or nil). It does
// not allocate.
func (r *Router) Route(ids []int32, w []float32, z, bias []float32, sc *routeScratch) {
	e := r.Experts
	probs, sel := sc.probs[:e], sc.sel[:e]
	switch r.Gating {
	case GatingSigmoid:
		for i, v := range z[:e] {
			probs[i] = 1 / (1 + float32(math.Exp(float64(-v))))
		}
	case GatingSoftmaxWeight:
		copy(probs, z[:e])
	default:
		copy(probs, z[:e])
		kernel.Softmax(probs)
	}
	copy(sel, probs)
	if bias != nil {
		kernel.Add(sel, sel, bias[:e])
	}
	if r.Groups > 1 {
		r.limitGroups(sel, sc)
	}
	// Top-Used by selection score. A NaN never wins a comparison, so it is
	// chosen only when nothing else is left.
	taken := sc.taken[:e]
	clear(taken)
	for k := range r.Used {
		best := -1
		for i, v := range sel {
			if !taken[i] && (best < 0 || v > sel[best]) {
				best = i
			}
		}
		taken[best] = true
		ids[k] = int32(best)
		w[k] = probs[best]
	}
	w = w[:r.Used]
	if r.Gating == GatingSoftmaxWeight {
		kernel.Softmax(w)
	}
	if r.Norm {
		sum := 0.0
		for _, v := range w {
			sum += float64(v)
		}
		s := max(float32(sum), 6.103515625e-5)
		for k := range w {
			w[k] /= s
		}
	}
	if r.Scale != 0 && r.Scale != 1 {
		for k := range w {
			w[k] *= r.Scale
		}
	}
}

// limitGroups masks to −∞ the selection scores of every expert outside the
// GroupsUsed groups with the largest top-two sums.
func (r *Router) limitGroups(sel []float32, sc *routeScratch) {
	per := r.Experts / r.Groups
	groups, keep := sc.groups[:r.Groups], sc.keep[:r.Groups]
	for g := range groups {
		top1, top2 := float32(math.Inf(-1)), float32(math.Inf(-1))
		for _, v := range sel[g*per : (g+1)*per] {
			if v > top1 {
				top1, top2 = v, top1
			} else if v > top2 {
				top2 = v
			}
		}
		if per == 1 {
			top2 = 0
		}
		groups[g] = top1 + top2
		keep[g] = false
	}
	for range r.GroupsUsed {
		best := -1
		for g, v := range groups {
			if !keep[g] && (best < 0 || v > groups[best]) {
				best = g
			}
		}
		keep[best] = true
	}
	inf := float32(math.Inf(-1))
	for g, k := range keep {
		if !k {
			for i := g * per; i < (g+1)*per; i++ {
				sel[i] = inf
			}
		}
	}
}

// moeScratch is the MoE block's working memory for a chunk of up to
// maxBatch tokens.
type moeScratch struct {
	logits []float32 // [maxBatch][Experts] router logits
	ids    []int32   // [maxBatch][Used] chosen experts per token
	w      []float32 // [maxBatch][Used] their weights
	count  []int32   // [Experts] tokens routed to each expert in the chunk
	start  []int32   // [Experts+1] offsets of each expert's rows in rows/slot
	rows   []int32   // [maxBatch·Used] token of each routed row, grouped by expert
	slot   []int32   // [maxBatch·Used] index into ids/w of each routed row
	xe     []float32 // [maxBatch][Dim] gathered inputs of one expert
	gate   []float32 // [maxBatch][max(ExpertFFN, shared width)]
	up     []float32 // [maxBatch][max(ExpertFFN, shared width)]
	ye     []float32 // [maxBatch][Dim] one expert's outputs
	shared []float32 // [maxBatch][Dim] shared-expert output
	route  *routeScratch
}

func newMoEScratch(c *Config, maxBatch int) *moeScratch {
	r := c.router()
	ff := max(c.ExpertFFN, c.SharedExperts*c.ExpertFFN)
	return &moeScratch{
		logits: make([]float32, maxBatch*c.Experts),
		ids:    make([]int32, maxBatch*c.ExpertsUsed), w: make([]float32, maxBatch*c.ExpertsUsed),
		count: make([]int32, c.Experts), start: make([]int32, c.Experts+1),
		rows: make([]int32, maxBatch*c.ExpertsUsed), slot: make([]int32, maxBatch*c.ExpertsUsed),
		xe: make([]float32, maxBatch*c.Dim), gate: make([]float32, maxBatch*ff), up: make([]float32, maxBatch*ff),
		ye: make([]float32, maxBatch*c.Dim), shared: make([]float32, maxBatch*c.Dim),
		route: r.newScratch(),
	}
}

func (c *Config) router() Router {
	return Router{Experts: c.Experts, Used: c.ExpertsUsed, Groups: c.Groups, GroupsUsed: c.GroupsUsed,
		Gating: c.Gating, Norm: c.WeightsNorm, Scale: c.WeightsScale}
}

// forward computes the MoE block's output y ([n][Dim]) for the normalized
// inputs x ([n][Dim]): routed experts weighted by the router, plus the
// shared experts. y must not alias x.
//
// Only the chosen experts run. For one token they run in routing order and
// their weighted outputs are summed in that order (llama.cpp's order); for
// a batch, the tokens routed to one expert are gathered and multiplied
// together, one MatMul per expert and projection, and scatter-added.
func (m *MoE) forward(y, x []float32, n int, c *Config, r *Router, s *moeScratch) {
	d, k, ff := c.Dim, c.ExpertsUsed, c.ExpertFFN
	// router logits and expert choice
	kernel.MatMul(s.logits[:n*c.Experts], m.Router, x[:n*d], n)
	for t := range n {
		r.Route(s.ids[t*k:(t+1)*k], s.w[t*k:(t+1)*k], s.logits[t*c.Experts:(t+1)*c.Experts], m.ProbsBias, s.route)
	}
	if n == 1 {
		for j := range k {
			e := s.ids[j]
			m.expert(s.ye[:d], x[:d], int(e), 1, ff, s)
			kernel.Scale(s.ye[:d], s.w[j])
			if j == 0 {
				copy(y[:d], s.ye[:d])
			} else {
				kernel.Add(y[:d], y[:d], s.ye[:d])
			}
		}
	} else {
		// group the routed rows by expert (counting sort, stable in token order)
		clear(s.count)
		for _, e := range s.ids[:n*k] {
			s.count[e]++
		}
		s.start[0] = 0
		for e := range c.Experts {
			s.start[e+1] = s.start[e] + s.count[e]
		}
		copy(s.count, s.start[:c.Experts]) // next free row per expert
		for i, e := range s.ids[:n*k] {
			p := s.count[e]
			s.rows[p], s.slot[p] = int32(i/k), int32(i)
			s.count[e]++
		}
		clear(y[:n*d])
		for e := range c.Experts {
			lo, hi := int(s.start[e]), int(s.start[e+1])
			if lo == hi {
				continue
			}
			rows := hi - lo
			for i, t := range s.rows[lo:hi] {
				copy(s.xe[i*d:(i+1)*d], x[int(t)*d:(int(t)+1)*d])
			}
			m.expert(s.ye[:rows*d], s.xe[:rows*d], e, rows, ff, s)
			for i, t := range s.rows[lo:hi] {
				ye, yt := s.ye[i*d:(i+1)*d], y[int(t)*d:(int(t)+1)*d]
				kernel.Scale(ye, s.w[s.slot[lo+i]])
				kernel.Add(yt, yt, ye)
			}
		}
	}
	// shared experts, always on
	if c.SharedExperts > 0 {
		fs := c.SharedExperts * ff
		m.Shared.Forward(s.shared[:n*d], x[:n*d], s.gate[:n*fs], s.up[:n*fs], n)
		kernel.Add(y[:n*d], y[:n*d], s.shared[:n*d])
	}
}

// expert runs routed expert e, a SwiGLU of width ff, on rows inputs x
// ([rows][Dim]) into y ([rows][Dim]).
func (m *MoE) expert(y, x []float32, e, rows, ff int, s *moeScratch) {
	f := nn.FFN{Gate: m.Gate[e], Up: m.Up[e], Down: m.Down[e]}
	f.Forward(y, x, s.gate[:rows*ff], s.up[:rows*ff], rows)
}
