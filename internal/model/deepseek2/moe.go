package deepseek2

import (
	"math"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
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
// ([Experts]) and the optional selection bias ([Experts] or nil). It
// returns the routing margin: how far the choice is from flipping, the
// smaller of the gap between the last kept and the best dropped group score
// and the gap between the last chosen and the best unchosen selection
// score (+Inf when nothing was dropped). It does not allocate.
func (r *Router) Route(ids []int32, w []float32, z, bias []float32, sc *routeScratch) (margin float32) {
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
	margin = float32(math.Inf(1))
	if r.Groups > 1 {
		margin = r.limitGroups(sel, sc)
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
	if last := sel[ids[r.Used-1]]; r.Used < r.Experts {
		for i, v := range sel {
			if !taken[i] && v > float32(math.Inf(-1)) {
				margin = min(margin, last-v)
			}
		}
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
	return margin
}

// limitGroups masks to −∞ the selection scores of every expert outside the
// GroupsUsed groups with the largest top-two sums, and returns the gap
// between the last kept and the best dropped group score.
func (r *Router) limitGroups(sel []float32, sc *routeScratch) float32 {
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
	last := -1
	for range r.GroupsUsed {
		best := -1
		for g, v := range groups {
			if !keep[g] && (best < 0 || v > groups[best]) {
				best = g
			}
		}
		keep[best] = true
		last = best
	}
	margin := float32(math.Inf(1))
	inf := float32(math.Inf(-1))
	for g, k := range keep {
		if !k {
			margin = min(margin, groups[last]-groups[g])
			for i := g * per; i < (g+1)*per; i++ {
				sel[i] = inf
			}
		}
	}
	return margin
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
	yslot  []float32 // [maxBatch][Used][Dim] each token's weighted expert outputs, in routing order
	shared []float32 // [maxBatch][Dim] shared-expert output
	route  *routeScratch
	margin float32 // smallest routing margin since the last reset
	// willNeed, if set, asks the OS to read the chosen experts' weights
	// ahead (see Model.SetExpertPrefetch).
	willNeed func([]byte)
	dec      decodeExperts
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
		yslot: make([]float32, maxBatch*c.ExpertsUsed*c.Dim),
		route: r.newScratch(),
		dec: decodeExperts{
			gate: make([]float32, (c.ExpertsUsed+1)*ff), up: make([]float32, (c.ExpertsUsed+1)*ff),
			out: make([]float32, (c.ExpertsUsed+1)*c.Dim),
			w:   make([]tensor.Mat, 3*(c.ExpertsUsed+1)),
		},
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
// Only the chosen experts run: for one token see decode, for a batch see
// batched.
func (m *MoE) forward(y, x []float32, n int, c *Config, r *Router, s *moeScratch) {
	d, k := c.Dim, c.ExpertsUsed
	// router logits and expert choice
	kernel.MatMul(s.logits[:n*c.Experts], m.Router, x[:n*d], n)
	for t := range n {
		mg := r.Route(s.ids[t*k:(t+1)*k], s.w[t*k:(t+1)*k], s.logits[t*c.Experts:(t+1)*c.Experts], m.ProbsBias, s.route)
		s.margin = min(s.margin, mg)
	}
	if s.willNeed != nil {
		m.prefetch(s.ids[:n*k], s.willNeed, s.count)
	}
	if n == 1 {
		m.decode(y[:d], x[:d], c, s)
	} else {
		m.batched(y, x, n, c, s)
	}
}

// prefetch calls willNeed on the weights of the experts ids (repeats
// allowed), before the first of them is used. When the model does not fit
// in memory this turns a chain of page faults, each waiting for its own
// read, into reads that proceed together. seen ([Experts]) is scratch.
func (m *MoE) prefetch(ids []int32, willNeed func([]byte), seen []int32) {
	clear(seen)
	for _, e := range ids {
		if seen[e] != 0 {
			continue
		}
		seen[e] = 1
		willNeed(m.Gate[e].Data)
		willNeed(m.Up[e].Data)
		willNeed(m.Down[e].Data)
	}
}

// batched computes the MoE output of n > 1 routed tokens: the rows routed
// to one expert are gathered and multiplied together, one MatMul per
// expert and projection, and each weighted output is kept in its routing
// slot; then every token sums its slots in routing order and adds the
// shared experts, the order decode uses, so that a token's output does not
// depend on the tokens it shares a batch with.
func (m *MoE) batched(y, x []float32, n int, c *Config, s *moeScratch) {
	d, k, ff := c.Dim, c.ExpertsUsed, c.ExpertFFN
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
		for i := range rows {
			sl := int(s.slot[lo+i])
			ys := s.yslot[sl*d : (sl+1)*d]
			copy(ys, s.ye[i*d:(i+1)*d])
			kernel.Scale(ys, s.w[sl])
		}
	}
	// per token: weighted experts in routing order
	for t := range n {
		yt := y[t*d : (t+1)*d]
		copy(yt, s.yslot[t*k*d:(t*k+1)*d])
		for j := 1; j < k; j++ {
			kernel.Add(yt, yt, s.yslot[(t*k+j)*d:(t*k+j+1)*d])
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

// decodeExperts runs the chosen experts and the shared experts of one token
// as two parallel tasks, gate/up projections then down projections, instead
// of one MatMul dispatch per expert and projection. Each work item is a
// row range of one matrix; its MatMul runs inline on the worker (nested
// parallel calls do not fan out again).
type decodeExperts struct {
	w        []tensor.Mat // [3·nMat] gate, up and down of each expert (routed in order, then shared)
	nMat     int          // experts to run, the shared block counting as one
	gate, up []float32    // [nMat][width] (width ExpertFFN, or the shared width)
	out      []float32    // [nMat][Dim] down projections
	x        []float32    // [Dim] the token's normalized input
	width    int          // row stride of gate/up
	dim      int
	splits   int  // row ranges per matrix
	down     bool // phase: false gate/up, true down
}

// Run computes work items [lo, hi): phase 1 items are (matrix, gate or up,
// row range), phase 2 items are (matrix, row range) of the down projection.
func (t *decodeExperts) Run(lo, hi int) {
	for it := lo; it < hi; it++ {
		part := it % t.splits
		if !t.down {
			j, which := it/t.splits/2, it/t.splits%2
			w := t.w[3*j+which]
			r0, r1 := splitRows(w.Rows, part, t.splits)
			dst := t.gate
			if which == 1 {
				dst = t.up
			}
			kernel.MatMul(dst[j*t.width+r0:j*t.width+r1], w.Slice(r0, r1), t.x, 1)
			continue
		}
		j := it / t.splits
		w := t.w[3*j+2]
		r0, r1 := splitRows(w.Rows, part, t.splits)
		kernel.MatMul(t.out[j*t.dim+r0:j*t.dim+r1], w.Slice(r0, r1), t.gate[j*t.width:j*t.width+w.Cols], 1)
	}
}

// splitRows returns the rows [r0, r1) of part of splits of a matrix of rows
// rows, cut at multiples of tensor.InterleaveRows so that the parts of an
// interleaved matrix are whole groups (some parts may be empty).
func splitRows(rows, part, splits int) (r0, r1 int) {
	g := tensor.InterleaveRows
	r0 = part * rows / splits / g * g
	r1 = rows
	if part+1 < splits {
		r1 = (part + 1) * rows / splits / g * g
	}
	return r0, r1
}

// decode computes the MoE output y ([Dim]) of one token x ([Dim]) whose
// experts are already routed (s.ids[:Used], s.w[:Used]): the weighted
// expert outputs summed in routing order, then the shared experts added,
// as llama.cpp orders the sums.
func (m *MoE) decode(y, x []float32, c *Config, s *moeScratch) {
	t := &s.dec
	k := c.ExpertsUsed
	t.nMat = k
	for j, e := range s.ids[:k] {
		t.w[3*j], t.w[3*j+1], t.w[3*j+2] = m.Gate[e], m.Up[e], m.Down[e]
	}
	if c.SharedExperts > 0 {
		t.w[3*k], t.w[3*k+1], t.w[3*k+2] = m.Shared.Gate, m.Shared.Up, m.Shared.Down
		t.nMat++
	}
	t.width = max(c.ExpertFFN, c.SharedExperts*c.ExpertFFN)
	t.dim, t.x = c.Dim, x
	// Enough row ranges that every thread gets several items.
	t.splits = max(1, (4*parallel.Threads()+2*t.nMat-1)/(2*t.nMat))
	t.down = false
	parallel.Run(2*t.nMat*t.splits, t)
	for j := range t.nMat {
		w := t.w[3*j].Rows
		kernel.SwiGLU(t.gate[j*t.width:j*t.width+w], t.gate[j*t.width:j*t.width+w], t.up[j*t.width:j*t.width+w])
	}
	t.down = true
	parallel.Run(t.nMat*t.splits, t)
	t.x = nil
	d := c.Dim
	for j := range k {
		o := t.out[j*d : (j+1)*d]
		kernel.Scale(o, s.w[j])
		if j == 0 {
			copy(y, o)
		} else {
			kernel.Add(y, y, o)
		}
	}
	if c.SharedExperts > 0 {
		kernel.Add(y, y, t.out[k*d:(k+1)*d])
	}
}
