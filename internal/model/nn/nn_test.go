package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
)

func TestRopePairing(t *testing.T) {
	for _, neox := range []bool{false, true} {
		r := Rope{Dims: 8, Neox: neox, Base: 10000, FreqScale: 1}
		cos, sin := make([]float32, 4), make([]float32, 4)
		r.Tables(cos, sin, []int32{1})
		x := []float32{1, 0, 0, 0, 0, 0, 0, 0, 7}
		r.Apply(x, 1, 9, cos, sin)
		partner := 1 // adjacent pairs rotate (x0, x1)
		if neox {
			partner = 4 // NeoX pairs rotate (x0, x4)
		}
		for i, v := range x {
			moved := i == 0 || i == partner
			if !moved && i < 8 && v != 0 {
				t.Errorf("neox=%v: element %d changed to %v", neox, i, v)
			}
		}
		if x[8] != 7 {
			t.Errorf("neox=%v: value past Dims changed", neox)
		}
		if math.Abs(float64(x[0])-math.Cos(1)) > 1e-6 || math.Abs(float64(x[partner])-math.Sin(1)) > 1e-6 {
			t.Errorf("neox=%v: got (%v, %v), want (cos 1, sin 1)", neox, x[0], x[partner])
		}
	}
}

// TestYaRNCorrDims checks the correction range of deepseek-v3.md §10.1:
// D = 64, θ = 10000, s = 40, L0 = 4096 gives low 10, high 23.
func TestYaRNCorrDims(t *testing.T) {
	r := Rope{Dims: 64, Base: 10000, FreqScale: 1.0 / 40, ExtFactor: 1, BetaFast: 32, BetaSlow: 1, OrigCtx: 4096}
	low, high := r.corrDims()
	if low != 10 || high != 23 {
		t.Fatalf("got [%v, %v], want [10, 23]", low, high)
	}
	// Below low the angle is extrapolated (unscaled); above high interpolated.
	cos, sin := make([]float32, 32), make([]float32, 32)
	r.AttnFactor = 1 / (1 + 0.1*float32(math.Log(40))) // cancel the magnitude
	r.Tables(cos, sin, []int32{100})
	ang := func(i int) float64 { return math.Atan2(float64(sin[i]), float64(cos[i])) }
	if want := 100.0; math.Abs(ang(0)-math.Remainder(want, 2*math.Pi)) > 1e-4 {
		t.Errorf("pair 0: angle %v, want %v (extrapolated)", ang(0), math.Remainder(want, 2*math.Pi))
	}
	want := 100 * math.Pow(10000, -2*30.0/64) / 40
	if math.Abs(ang(30)-want) > 1e-5 {
		t.Errorf("pair 30: angle %v, want %v (interpolated)", ang(30), want)
	}
	if m := math.Hypot(float64(cos[5]), float64(sin[5])); math.Abs(m-1) > 1e-5 {
		t.Errorf("magnitude %v, want 1 when AttnFactor cancels YaRN's mscale", m)
	}
}

// TestAttentionReference compares Attention with a float64 computation of
// causal GQA softmax attention on random data (the f16 cache and rounding
// bound the difference).
func TestAttentionReference(t *testing.T) {
	const nHeads, nKV, hd, n = 4, 2, 16, 5
	a := Attention{NHeads: nHeads, NKVHeads: nKV, HeadDim: hd, ValueDim: hd, Scale: DefaultScale(hd)}
	seq, err := kvcache.NewSeq(kvcache.Layout{Layers: 1, KeyWidth: nKV * hd, ValueWidth: nKV * hd}, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := seq.Reserve(n); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	q, k, v := fill(n*nHeads*hd), fill(n*nKV*hd), fill(n*nKV*hd)
	pos := []int32{0, 1, 2, 3, 4}
	seqs := []*kvcache.Seq{seq, seq, seq, seq, seq}
	a.Store(0, k, v, pos, seqs)
	out := make([]float32, n*nHeads*hd)
	a.Forward(out, q, 0, pos, seqs, a.NewAttnScratch(8))
	worst := 0.0
	for ti := range n {
		for h := range nHeads {
			kvh := h / (nHeads / nKV)
			scores := make([]float64, ti+1)
			maxS := math.Inf(-1)
			for j := range scores {
				s := 0.0
				for d := range hd {
					s += float64(q[(ti*nHeads+h)*hd+d]) * float64(k[(j*nKV+kvh)*hd+d])
				}
				scores[j] = s * float64(a.Scale)
				maxS = math.Max(maxS, scores[j])
			}
			sum := 0.0
			for j := range scores {
				scores[j] = math.Exp(scores[j] - maxS)
				sum += scores[j]
			}
			for d := range hd {
				want := 0.0
				for j := range scores {
					want += scores[j] / sum * float64(v[(j*nKV+kvh)*hd+d])
				}
				worst = math.Max(worst, math.Abs(want-float64(out[(ti*nHeads+h)*hd+d])))
			}
		}
	}
	if worst > 5e-3 {
		t.Fatalf("max |Δ| %v vs float64 reference, want ≤ 5e-3 (f16 cache rounding)", worst)
	}
	t.Logf("max |Δ| vs float64 reference: %.2e", worst)
}

// TestRowsParallel checks that the row-parallel steps (RMSNorm, AddRows,
// RotateQK) give, bit for bit, what the row-by-row kernels give, on row
// counts below and above parallelRows.
func TestRowsParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	const d = 40
	for _, n := range []int{1, parallelRows - 1, parallelRows, 37} {
		x, w := fill(n*d), fill(d)
		got := make([]float32, n*d)
		RMSNorm(got, x, w, 1e-6, n)
		for tk := range n {
			want := make([]float32, d)
			kernel.RMSNorm(want, x[tk*d:(tk+1)*d], w, 1e-6)
			for i := range want {
				if got[tk*d+i] != want[i] {
					t.Fatalf("RMSNorm n=%d: [%d][%d] = %v, want %v", n, tk, i, got[tk*d+i], want[i])
				}
			}
		}

		m := n*d + 3*addChunk + 5
		a, b := fill(m), fill(m)
		want := make([]float32, m)
		kernel.Add(want, a, b)
		AddRows(a, b, m)
		for i := range want {
			if a[i] != want[i] {
				t.Fatalf("AddRows %d: [%d] = %v, want %v", m, i, a[i], want[i])
			}
		}

		const nHeads, nKV, hd = 3, 1, 8
		r := Rope{Dims: hd, Neox: true, Base: 10000, FreqScale: 1}
		s := NewScratch(ScratchShape{Dim: d, Q: nHeads * hd, KV: nKV * hd, V: nKV * hd, Att: nHeads * hd, FFN: d, RopeDims: hd, MaxBatch: n,
			Attn: &Attention{NHeads: nHeads, NKVHeads: nKV, HeadDim: hd, ValueDim: hd}}, 1)
		pos := make([]int32, n)
		for i := range pos {
			pos[i] = int32(3 * i)
		}
		r.Tables(s.Cos, s.Sin, pos)
		copy(s.Q, fill(len(s.Q)))
		copy(s.K, fill(len(s.K)))
		wq, wk := append([]float32(nil), s.Q...), append([]float32(nil), s.K...)
		half := hd / 2
		for tk := range n {
			r.Apply(wq[tk*nHeads*hd:], nHeads, hd, s.Cos[tk*half:(tk+1)*half], s.Sin[tk*half:(tk+1)*half])
			r.Apply(wk[tk*nKV*hd:], nKV, hd, s.Cos[tk*half:(tk+1)*half], s.Sin[tk*half:(tk+1)*half])
		}
		s.RotateQK(&r, nHeads, nKV, hd, n)
		for i := range wq {
			if s.Q[i] != wq[i] {
				t.Fatalf("RotateQK n=%d: q[%d] = %v, want %v", n, i, s.Q[i], wq[i])
			}
		}
		for i := range wk {
			if s.K[i] != wk[i] {
				t.Fatalf("RotateQK n=%d: k[%d] = %v, want %v", n, i, s.K[i], wk[i])
			}
		}
	}
}
