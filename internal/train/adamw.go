package train

import (
	"fmt"
	"math"

	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// AdamWOptions are AdamW's hyperparameters. A zero field takes the default
// given with it.
type AdamWOptions struct {
	Beta1       float64 // first-moment decay (0.9)
	Beta2       float64 // second-moment decay (0.95)
	Eps         float64 // added to the root of the second moment (1e-8)
	WeightDecay float64 // decoupled weight decay per unit of learning rate, on matrices only (0)
}

func (o AdamWOptions) withDefaults() AdamWOptions {
	if o.Beta1 == 0 {
		o.Beta1 = 0.9
	}
	if o.Beta2 == 0 {
		o.Beta2 = 0.95
	}
	if o.Eps == 0 {
		o.Eps = 1e-8
	}
	return o
}

// AdamW is the Adam optimizer with decoupled weight decay (Loshchilov and
// Hutter, "Decoupled Weight Decay Regularization", 2019) for one set of
// Params: its moments and step count.
type AdamW struct {
	Opts AdamWOptions
	step int64   // updates done
	m, v *Params // first and second moments
	job  adamJob
}

// NewAdamW returns an optimizer for parameters shaped like p, with zero
// moments at step 0.
func NewAdamW(p *Params, o AdamWOptions) *AdamW {
	a := &AdamW{Opts: o.withDefaults(), m: newParams(p.Config), v: newParams(p.Config)}
	a.job.decay = make([]bool, len(p.Tensors))
	for i, t := range p.Tensors {
		a.job.decay[i] = len(t.Shape) == 2
	}
	return a
}

// Steps returns the number of updates Step has made (restored by
// ReadFrom).
func (o *AdamW) Steps() int64 { return o.step }

// Step updates p in place from its gradient g with learning rate lr:
//
//	m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
//	θ ← θ − lr·(m/(1−β1ᵗ) / (sqrt(v/(1−β2ᵗ)) + ε) + λ·θ)
//
// with t the step number (from 1) and the decay λ applied to matrices
// (embeddings, projections, output head) but not to norm gains. Each value
// is updated on its own, so the result does not depend on the thread
// count. It panics if p or g does not have the optimizer's config.
func (o *AdamW) Step(p, g *Params, lr float64) {
	if p.Config != o.m.Config || g.Config != o.m.Config {
		panic(fmt.Sprintf("train: AdamW.Step: configs %+v and %+v, optimizer has %+v", p.Config, g.Config, o.m.Config))
	}
	o.step++
	t := float64(o.step)
	j := &o.job
	j.p, j.g, j.m, j.v = p, g, o.m, o.v
	j.b1, j.b2 = float32(o.Opts.Beta1), float32(o.Opts.Beta2)
	j.lrc1 = float32(lr / (1 - math.Pow(o.Opts.Beta1, t)))
	j.c2 = float32(1 / (1 - math.Pow(o.Opts.Beta2, t)))
	j.eps = float32(o.Opts.Eps)
	j.lrwd = float32(lr * o.Opts.WeightDecay)
	parallel.Run(len(p.Tensors), j)
	j.p, j.g, j.m, j.v = nil, nil, nil, nil
}

// adamJob is one Step as a parallel.Task over tensors.
type adamJob struct {
	p, g, m, v *Params
	decay      []bool // per tensor: apply weight decay
	b1, b2     float32
	lrc1, c2   float32 // lr/(1−β1ᵗ), 1/(1−β2ᵗ)
	eps, lrwd  float32
}

func (j *adamJob) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		w, g, m, v := j.p.Tensors[i].W, j.g.Tensors[i].W, j.m.Tensors[i].W, j.v.Tensors[i].W
		wd := float32(0)
		if j.decay[i] {
			wd = j.lrwd
		}
		for k, gk := range g {
			mk := j.b1*m[k] + (1-j.b1)*gk
			vk := j.b2*v[k] + (1-j.b2)*gk*gk
			m[k], v[k] = mk, vk
			w[k] -= j.lrc1*mk/(float32(math.Sqrt(float64(vk*j.c2)))+j.eps) + wd*w[k]
		}
	}
}

// ClipGradNorm scales g so that its global L2 norm is at most max (when
// max > 0) and returns the norm before clipping. The sum of squares is
// taken in float64 per tensor, then over the tensors in order, so the
// result does not depend on the thread count.
func ClipGradNorm(g *Params, max float64) (norm float64) {
	j := &g.clip
	if len(j.sums) != len(g.Tensors) {
		j.sums = make([]float64, len(g.Tensors))
	}
	j.g, j.phase = g, 0
	parallel.Run(len(g.Tensors), j)
	s := 0.0
	for _, x := range j.sums {
		s += x
	}
	norm = math.Sqrt(s)
	if max > 0 && norm > max {
		j.scale = float32(max / norm)
		j.phase = 1
		parallel.Run(len(g.Tensors), j)
	}
	j.g = nil
	return norm
}

// clipJob is ClipGradNorm's parallel.Task over tensors: sums of squares
// (phase 0), then scaling (phase 1).
type clipJob struct {
	g     *Params
	sums  []float64
	phase int
	scale float32
}

func (j *clipJob) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		w := j.g.Tensors[i].W
		if j.phase == 1 {
			for k := range w {
				w[k] *= j.scale
			}
			continue
		}
		s := 0.0
		for _, x := range w {
			s += float64(x) * float64(x)
		}
		j.sums[i] = s
	}
}

// Cosine returns the learning rate at step (from 0) of a run of total
// steps: a linear warm-up from peak/warmup to peak over the first warmup
// steps, then a cosine decay from peak to floor at step total (and floor
// after it).
func Cosine(step, warmup, total int, peak, floor float64) float64 {
	if step < warmup {
		return peak * float64(step+1) / float64(warmup)
	}
	if step >= total || total <= warmup {
		return floor
	}
	f := float64(step-warmup) / float64(total-warmup)
	return floor + (peak-floor)*0.5*(1+math.Cos(math.Pi*f))
}
