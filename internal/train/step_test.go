package train

import (
	"math"
	"slices"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// trainer is a minimal SFT step: mean next-token cross entropy over every
// predicted token, clipping at 1, AdamW.
type trainer struct {
	p, g  *Params
	net   *Net
	opt   *AdamW
	logp  []float32
	dlogp []float32
}

func newTrainer(cfg Config, seed uint64, maxTokens int) *trainer {
	p := NewParams(cfg, seed)
	return &trainer{
		p: p, g: NewParams(cfg, 0), net: NewNet(p, maxTokens),
		opt:  NewAdamW(p, AdamWOptions{WeightDecay: 0.1}),
		logp: make([]float32, maxTokens), dlogp: make([]float32, maxTokens),
	}
}

// step runs one update and returns the mean loss before it.
func (tr *trainer) step(seqs [][]int32, lr float64) float64 {
	k := LogProbs(seqs)
	tr.net.Forward(seqs, tr.logp[:k])
	loss := 0.0
	for i := range k {
		loss -= float64(tr.logp[i])
		tr.dlogp[i] = -1 / float32(k)
	}
	tr.g.Zero()
	tr.net.Backward(tr.dlogp[:k], tr.g)
	ClipGradNorm(tr.g, 1)
	tr.opt.Step(tr.p, tr.g, lr)
	return loss / float64(k)
}

// TestDeterminism checks that three training steps give bit-identical
// parameters with 1, 2 and 3 threads (the pool's chunks, and so which
// goroutine computes what, differ), and on a second run.
func TestDeterminism(t *testing.T) {
	defer parallel.SetThreads(0)
	seqs := randomSeqs(1, tinyConfig.VocabSize, 150, 70, 3, 129)
	var first []float32
	for _, threads := range []int{1, 2, 3, 2} {
		parallel.SetThreads(threads)
		tr := newTrainer(tinyConfig, 42, 400)
		for range 3 {
			tr.step(seqs, 1e-3)
		}
		if first == nil {
			first = slices.Clone(tr.p.data)
			continue
		}
		if i := firstDiff(first, tr.p.data); i >= 0 {
			t.Fatalf("%d threads: parameter %d is %v, with 1 thread %v", threads, i, tr.p.data[i], first[i])
		}
	}
}

func firstDiff(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestStepAllocs checks that a training step allocates nothing once warm.
func TestStepAllocs(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	seqs := randomSeqs(1, tinyConfig.VocabSize, 150, 70, 3, 129)
	tr := newTrainer(tinyConfig, 42, 400)
	tr.step(seqs, 1e-3)
	if n := testing.AllocsPerRun(5, func() { tr.step(seqs, 1e-3) }); n != 0 {
		t.Errorf("a step made %v allocations, want 0", n)
	}
}

// TestLearns checks that training fits a fixed small batch: the mean loss
// falls from about ln(vocab) to well below it within 60 steps.
func TestLearns(t *testing.T) {
	cfg := Config{VocabSize: 32, Dim: 32, Layers: 2, Heads: 4, KVHeads: 2, FFNDim: 64, Context: 64, RopeTheta: 10000, NormEps: 1e-5}
	// A repeated pattern with a random part: the model must use the
	// context (attention) to predict the repeat.
	seqs := randomSeqs(2, cfg.VocabSize, 16, 16, 16, 16)
	for i, s := range seqs {
		seqs[i] = append(s, s...)
	}
	tr := newTrainer(cfg, 1, 256)
	first := tr.step(seqs, 3e-3)
	var last float64
	for range 60 {
		last = tr.step(seqs, 3e-3)
	}
	t.Logf("loss %.3f → %.3f (ln %d = %.3f)", first, last, cfg.VocabSize, math.Log(float64(cfg.VocabSize)))
	if math.Abs(first-math.Log(float64(cfg.VocabSize))) > 0.2 {
		t.Errorf("first loss %.3f, want about ln %d = %.3f", first, cfg.VocabSize, math.Log(float64(cfg.VocabSize)))
	}
	if last > first/2 {
		t.Errorf("loss fell from %.3f to only %.3f", first, last)
	}
}
