package train

import (
	"testing"
)

// recipeConfig is the r1-tiny recipe's shape (plan12: vocab 512, dim 192,
// 4 layers, 6 heads of 32, FFN 512, context 512).
var recipeConfig = Config{VocabSize: 512, Dim: 192, Layers: 4, Heads: 6, KVHeads: 6, FFNDim: 512, Context: 512, RopeTheta: 10000, NormEps: 1e-5}

// BenchmarkTrainStep times one full training step on the recipe shape —
// forward, backward, gradient clipping and an AdamW update — over a batch
// of 16 sequences of 256 tokens, and reports the tokens per second (16·256
// per step, as scripts/train-bench-torch.py counts them).
func BenchmarkTrainStep(b *testing.B) {
	const batch, seqLen = 16, 256
	seqs := randomSeqs(1, recipeConfig.VocabSize, make([]int, batch)...)
	for i := range seqs {
		seqs[i] = randomSeqs(uint64(i+1), recipeConfig.VocabSize, seqLen)[0]
	}
	tr := newTrainer(recipeConfig, 1, batch*seqLen)
	tr.step(seqs, 1e-3)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tr.step(seqs, 1e-3)
	}
	b.ReportMetric(float64(batch*seqLen)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
