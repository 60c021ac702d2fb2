package train

import (
	"fmt"
	"math"
)

// Example is one training sequence: the model learns to predict
// Tokens[Start:] from the tokens before each of them (the prompt,
// Tokens[:Start], is context only). 1 <= Start < len(Tokens).
type Example struct {
	Tokens []int32
	Start  int
}

// targets returns how many tokens of e carry a loss.
func (e Example) targets() int { return len(e.Tokens) - e.Start }

// TrainerOptions configures a Trainer.
type TrainerOptions struct {
	// MaxTokens is the most tokens one forward/backward pass holds; a step's
	// batch is split into passes of at most this many tokens whose
	// gradients add up (gradient accumulation). No single example may be
	// longer.
	MaxTokens int
	AdamW     AdamWOptions
	// Clip is the largest global gradient norm; larger gradients are scaled
	// down to it. 0 disables clipping.
	Clip float64
}

// Trainer owns one model being trained: its parameters, gradient, AdamW
// state and scratch. Its methods are not safe for concurrent use.
type Trainer struct {
	Params *Params
	opt    *AdamW
	grad   *Params
	net    *Net
	o      TrainerOptions

	logp  []float32 // [MaxTokens] log-probabilities of one pass
	dlogp []float32 // [MaxTokens] loss gradient with respect to logp
	seqs  [][]int32 // the sequences of one pass

	// GRPO state, reused across steps.
	act     []grpoSample
	oldLogp []float32 // [rows of act] log π_old of each row, from the first update
	refLogp []float32 // [rows of act] log π_ref of each row
}

// NewTrainer returns a trainer that updates p in place.
func NewTrainer(p *Params, o TrainerOptions) *Trainer {
	return &Trainer{
		Params: p,
		opt:    NewAdamW(p, o.AdamW),
		grad:   p.Clone(),
		net:    NewNet(p, o.MaxTokens),
		o:      o,
		logp:   make([]float32, o.MaxTokens),
		dlogp:  make([]float32, o.MaxTokens),
	}
}

// Optimizer returns the trainer's AdamW state (for checkpoints).
func (t *Trainer) Optimizer() *AdamW { return t.opt }

// StepStats reports one optimizer step.
type StepStats struct {
	Loss     float64 // mean loss per target token (SFT: cross-entropy in nats)
	GradNorm float64 // global gradient norm before clipping
	Tokens   int     // tokens run through the network
}

// passes splits n examples, whose lengths are given by length, into runs
// of consecutive examples holding at most maxTokens tokens each, calling
// fn(lo, hi) for each. It fails if one example alone is too long.
func passes(n, maxTokens int, length func(i int) int, fn func(lo, hi int)) error {
	for lo := 0; lo < n; {
		hi, tokens := lo, 0
		for hi < n && tokens+length(hi) <= maxTokens {
			tokens += length(hi)
			hi++
		}
		if hi == lo {
			return fmt.Errorf("train: example %d has %d tokens, more than a pass holds (%d)", lo, length(lo), maxTokens)
		}
		fn(lo, hi)
		lo = hi
	}
	return nil
}

// SFTStep takes one supervised step on batch at learning rate lr: the loss
// is the cross-entropy of the target tokens, averaged over all target
// tokens of the batch.
func (t *Trainer) SFTStep(batch []Example, lr float64) (StepStats, error) {
	var st StepStats
	total := 0
	for _, e := range batch {
		if e.Start < 1 || e.Start >= len(e.Tokens) {
			return st, fmt.Errorf("train: example with %d tokens has target start %d", len(e.Tokens), e.Start)
		}
		total += e.targets()
	}
	t.grad.Zero()
	inv := 1 / float64(total)
	var loss float64
	err := passes(len(batch), t.o.MaxTokens, func(i int) int { return len(batch[i].Tokens) }, func(lo, hi int) {
		t.seqs = t.seqs[:0]
		for _, e := range batch[lo:hi] {
			t.seqs = append(t.seqs, e.Tokens)
			st.Tokens += len(e.Tokens)
		}
		t.net.Forward(t.seqs, t.logp)
		off := 0
		for _, e := range batch[lo:hi] {
			n := len(e.Tokens) - 1 // logp rows of this sequence
			for r := range n {
				// Row r predicts token r+1; the targets are tokens Start.. .
				d := float32(0)
				if r+1 >= e.Start {
					loss -= float64(t.logp[off+r])
					d = float32(-inv)
				}
				t.dlogp[off+r] = d
			}
			off += n
		}
		t.net.Backward(t.dlogp[:off], t.grad)
	})
	if err != nil {
		return st, err
	}
	st.Loss = loss * inv
	st.GradNorm = t.update(lr)
	return st, nil
}

// update clips the gradient, takes the AdamW step and returns the norm
// before clipping.
func (t *Trainer) update(lr float64) float64 {
	norm := ClipGradNorm(t.grad, t.clipOrInf())
	t.opt.Step(t.Params, t.grad, lr)
	return norm
}

func (t *Trainer) clipOrInf() float64 {
	if t.o.Clip <= 0 {
		return math.Inf(1)
	}
	return t.o.Clip
}
