package deepseek2

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The worked example of deepseek-v3.md §4.5: 16 experts in 4 groups of 4,
// 2 groups kept, top-4, normalized, scale 2.5.
var (
	exampleLogits = []float32{0.5, -1.0, 2.0, 0.1, 1.5, 1.4, -0.3, 0.0, -2.0, 0.3, 0.9, 1.1, 0.2, -0.5, 1.6, -1.2}
	exampleBias   = []float32{0, 0, -0.3, 0, 0, 0.1, 0, 0, 0, 0, 0.2, 0, 0, 0, 0.15, 0}
)

func TestRouteWorkedExample(t *testing.T) {
	tests := []struct {
		name string
		r    Router
		bias []float32
		ids  []int32
		w    []float64
		wsum float64
		mg   float64 // routing margin, 0: not checked
	}{
		{"v3 group-limited", Router{Experts: 16, Used: 4, Groups: 4, GroupsUsed: 2, Gating: GatingSigmoid, Norm: true, Scale: 2.5},
			// group margin 1.661210 − 1.531852 (groups 2 and 3), below the expert margin .750260 − .574443
			exampleBias, []int32{10, 5, 4, 11}, []float64{0.576888, 0.650919, 0.663407, 0.608786}, 2.5, 0.129358},
		{"v3 no groups", Router{Experts: 16, Used: 4, Gating: GatingSigmoid, Norm: true, Scale: 2.5},
			exampleBias, []int32{14, 10, 5, 4}, nil, 2.5, 0.817574 - 0.750260},
		{"v2-lite greedy softmax", Router{Experts: 16, Used: 4, Gating: GatingSoftmax},
			nil, []int32{2, 14, 4, 5}, []float64{0.212209, 0.142248, 0.128711, 0.116463}, 0, 0},
		{"groups of one", Router{Experts: 16, Used: 4, Groups: 16, GroupsUsed: 4, Gating: GatingSigmoid, Norm: true, Scale: 1},
			exampleBias, []int32{14, 10, 5, 4}, nil, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, w := make([]int32, tc.r.Used), make([]float32, tc.r.Used)
			mg := tc.r.Route(ids, w, exampleLogits, tc.bias, tc.r.newScratch())
			if tc.mg != 0 && math.Abs(float64(mg)-tc.mg) > 2e-6 {
				t.Errorf("routing margin %.7f, want %.6f", mg, tc.mg)
			}
			if !slices.Equal(ids, tc.ids) {
				t.Fatalf("got experts %v, want %v", ids, tc.ids)
			}
			for k := range tc.w {
				if math.Abs(float64(w[k])-tc.w[k]) > 1e-6 {
					t.Errorf("weight %d: got %.7f, want %.6f", k, w[k], tc.w[k])
				}
			}
			if tc.wsum != 0 {
				sum := 0.0
				for _, v := range w {
					sum += float64(v)
				}
				if math.Abs(sum-tc.wsum) > 1e-5 {
					t.Errorf("weights sum to %v, want %v", sum, tc.wsum)
				}
			}
		})
	}
}

// refRoute is a straightforward routing reference: sort-based, float64
// sums, no shared scratch. Ties go to the lower index (stable sorts).
func refRoute(r Router, z, bias []float32) ([]int32, []float64) {
	e := r.Experts
	probs := make([]float32, e)
	switch r.Gating {
	case GatingSigmoid:
		for i, v := range z {
			probs[i] = 1 / (1 + float32(math.Exp(float64(-v))))
		}
	case GatingSoftmax:
		mx := slices.Max(z)
		s := 0.0
		ex := make([]float32, e)
		for i, v := range z {
			ex[i] = float32(math.Exp(float64(v - mx)))
			s += float64(ex[i])
		}
		inv := float32(1 / s)
		for i := range ex {
			probs[i] = ex[i] * inv
		}
	}
	sel := make([]float64, e)
	for i := range sel {
		sel[i] = float64(probs[i])
		if bias != nil {
			sel[i] = float64(probs[i] + bias[i])
		}
	}
	if r.Groups > 1 {
		per := e / r.Groups
		type gs struct {
			g     int
			score float64
		}
		var groups []gs
		for g := range r.Groups {
			v := slices.Clone(sel[g*per : (g+1)*per])
			slices.SortFunc(v, func(a, b float64) int { return cmp.Compare(b, a) })
			s := v[0]
			if per > 1 {
				s = float64(float32(v[0]) + float32(v[1]))
			}
			groups = append(groups, gs{g, s})
		}
		slices.SortStableFunc(groups, func(a, b gs) int { return cmp.Compare(b.score, a.score) })
		for _, g := range groups[r.GroupsUsed:] {
			for i := g.g * per; i < (g.g+1)*per; i++ {
				sel[i] = math.Inf(-1)
			}
		}
	}
	order := make([]int, e)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(sel[b], sel[a]) })
	ids := make([]int32, r.Used)
	w := make([]float64, r.Used)
	sum := 0.0
	for k := range r.Used {
		ids[k] = int32(order[k])
		w[k] = float64(probs[order[k]])
		sum += w[k]
	}
	for k := range w {
		if r.Norm {
			w[k] /= max(sum, 6.103515625e-5)
		}
		if r.Scale != 0 {
			w[k] *= float64(r.Scale)
		}
	}
	return ids, w
}

// TestRouteRandom compares Route with the reference on random logits and
// biases, including exact ties (logits on a coarse grid) and negative
// biased scores (biases down to −1.5).
func TestRouteRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	configs := []Router{
		{Experts: 16, Used: 4, Groups: 4, GroupsUsed: 2, Gating: GatingSigmoid, Norm: true, Scale: 2.5},
		{Experts: 256, Used: 8, Groups: 8, GroupsUsed: 4, Gating: GatingSigmoid, Norm: true, Scale: 2.5},
		{Experts: 64, Used: 6, Gating: GatingSoftmax},
		{Experts: 160, Used: 6, Groups: 8, GroupsUsed: 3, Gating: GatingSoftmax, Scale: 16},
		{Experts: 32, Used: 6, Groups: 8, GroupsUsed: 3, Gating: GatingSigmoid, Norm: true, Scale: 1.5},
		{Experts: 12, Used: 12, Gating: GatingSigmoid, Norm: true},
		{Experts: 8, Used: 2, Groups: 8, GroupsUsed: 2, Gating: GatingSigmoid},
	}
	for ci, r := range configs {
		sc := r.newScratch()
		ids, w := make([]int32, r.Used), make([]float32, r.Used)
		for trial := range 400 {
			z := make([]float32, r.Experts)
			var bias []float32
			if trial%3 != 0 {
				bias = make([]float32, r.Experts)
			}
			coarse := trial%2 == 0 // many exact ties
			for i := range z {
				if coarse {
					z[i] = float32(rng.IntN(7)-3) / 2
				} else {
					z[i] = float32(rng.NormFloat64() * 2)
				}
				if bias != nil {
					if coarse {
						bias[i] = float32(rng.IntN(4)) * -0.5 // negative biased scores
					} else {
						bias[i] = float32(rng.NormFloat64() * 0.6)
					}
				}
			}
			r.Route(ids, w, z, bias, sc)
			wantIDs, wantW := refRoute(r, z, bias)
			if !slices.Equal(ids, wantIDs) {
				t.Fatalf("config %d trial %d: got experts %v, want %v (z %v bias %v)", ci, trial, ids, wantIDs, z, bias)
			}
			for k := range w {
				if d := math.Abs(float64(w[k]) - wantW[k]); d > 1e-6*max(1, math.Abs(wantW[k])) {
					t.Fatalf("config %d trial %d: weight %d = %v, want %v", ci, trial, k, w[k], wantW[k])
				}
			}
		}
	}
}

// TestRouteNoAlloc checks that routing does not allocate.
func TestRouteNoAlloc(t *testing.T) {
	r := Router{Experts: 16, Used: 4, Groups: 4, GroupsUsed: 2, Gating: GatingSigmoid, Norm: true, Scale: 2.5}
	sc := r.newScratch()
	ids, w := make([]int32, 4), make([]float32, 4)
	if a := testing.AllocsPerRun(100, func() { r.Route(ids, w, exampleLogits, exampleBias, sc) }); a != 0 {
		t.Errorf("Route allocates %v times per call", a)
	}
}
