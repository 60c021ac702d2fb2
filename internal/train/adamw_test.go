package train

import (
	"math"
	"testing"
)

// TestAdamWStep checks two AdamW steps on every value against the update
// rule evaluated in float64, with weight decay on matrices only.
func TestAdamWStep(t *testing.T) {
	cfg := Config{VocabSize: 8, Dim: 4, Layers: 1, Heads: 2, KVHeads: 1, FFNDim: 6, Context: 8, RopeTheta: 10000, NormEps: 1e-5}
	p := NewParams(cfg, 1)
	ref := p.Clone()
	g := NewParams(cfg, 2)
	o := NewAdamW(p, AdamWOptions{WeightDecay: 0.1})
	b1, b2, eps, wd := 0.9, 0.95, 1e-8, 0.1
	m := make([]float64, p.Count())
	v := make([]float64, p.Count())
	lrs := []float64{1e-2, 3e-3}
	for step, lr := range lrs {
		o.Step(p, g, lr)
		k := 0
		for ti, tt := range ref.Tensors {
			decay := 0.0
			if len(tt.Shape) == 2 {
				decay = wd
			}
			for i := range tt.W {
				gi := float64(g.Tensors[ti].W[i])
				m[k] = b1*m[k] + (1-b1)*gi
				v[k] = b2*v[k] + (1-b2)*gi*gi
				mh := m[k] / (1 - math.Pow(b1, float64(step+1)))
				vh := v[k] / (1 - math.Pow(b2, float64(step+1)))
				w := float64(tt.W[i])
				tt.W[i] = float32(w - lr*(mh/(math.Sqrt(vh)+eps)+decay*w))
				k++
			}
		}
	}
	if o.Steps() != 2 {
		t.Errorf("Steps() = %d, want 2", o.Steps())
	}
	for ti, tt := range ref.Tensors {
		for i, want := range tt.W {
			got := p.Tensors[ti].W[i]
			if math.Abs(float64(got-want)) > 1e-6*max(1, math.Abs(float64(want))) {
				t.Fatalf("%s[%d] = %v, want %v", tt.Name, i, got, want)
			}
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	cfg := tinyConfig
	g := NewParams(cfg, 3)
	want := 0.0
	for _, tt := range g.Tensors {
		for _, x := range tt.W {
			want += float64(x) * float64(x)
		}
	}
	want = math.Sqrt(want)
	if got := ClipGradNorm(g, 0); math.Abs(got-want) > 1e-9*want {
		t.Fatalf("norm %v, want %v", got, want)
	}
	if got := ClipGradNorm(g, 2*want); math.Abs(got-want) > 1e-9*want {
		t.Fatalf("norm %v, want %v (no clipping)", got, want)
	}
	before := g.Clone()
	if got := ClipGradNorm(g, want/4); math.Abs(got-want) > 1e-9*want {
		t.Fatalf("norm %v, want %v (before clipping)", got, want)
	}
	if after := ClipGradNorm(g, 0); math.Abs(after-want/4) > 1e-5*want {
		t.Errorf("norm after clipping to %v: %v", want/4, after)
	}
	if r := g.Embd.W[5] / before.Embd.W[5]; math.Abs(float64(r)-0.25) > 1e-5 {
		t.Errorf("clipping scaled a value by %v, want 0.25", r)
	}
}

func TestCosine(t *testing.T) {
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 0.25}, {1, 0.5}, {3, 1}, // warm-up over 4 steps to the peak 1
		{4, 1}, {54, 0.55}, {104, 0.1}, {200, 0.1}, // cosine to 0.1 at step 104
	} {
		if got := Cosine(tc.step, 4, 104, 1, 0.1); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Cosine(%d) = %v, want %v", tc.step, got, tc.want)
		}
	}
	for s := 4; s < 104; s++ {
		if Cosine(s+1, 4, 104, 1, 0.1) > Cosine(s, 4, 104, 1, 0.1) {
			t.Fatalf("Cosine rises at step %d", s)
		}
	}
}
