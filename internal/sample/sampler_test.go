package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var (
	inf  = float32(math.Inf(1))
	ninf = float32(math.Inf(-1))
	nan  = float32(math.NaN())
)

func TestGreedy(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		logits []float32
		hist   []int32
		want   int32
	}{
		{"zero options", Options{}, []float32{0.1, 3, -2, 2.9}, nil, 1},
		{"ties go to the lowest id", Options{}, []float32{1, 5, 2, 5, 5}, nil, 1},
		{"negative logits", Options{}, []float32{-3, -1, -2}, nil, 1},
		{"NaN is -Inf", Options{}, []float32{nan, -100, nan}, nil, 1},
		{"NaN first then equal", Options{}, []float32{nan, 2, 2}, nil, 1},
		{"all -Inf", Options{}, []float32{ninf, ninf, ninf}, nil, 0},
		{"all NaN", Options{}, []float32{nan, nan}, nil, 0},
		{"+Inf wins", Options{}, []float32{1e30, inf, 3}, nil, 1},
		{"single token", Options{}, []float32{-7}, nil, 0},
		{"negative temperature is greedy", Options{Temperature: -1}, []float32{0, 1, 0.5}, nil, 1},
		{"NaN temperature is greedy", Options{Temperature: nan}, []float32{0, 1, 0.5}, nil, 1},
		{"filters ignored at temperature 0", Options{TopK: 1, TopP: 0.1, MinP: 0.9}, []float32{0, 1, 0.5}, nil, 1},
		{"penalty flips the argmax", Options{RepeatPenalty: 1.1}, []float32{5, 4.9}, []int32{0}, 1},
		{"penalty outside the window does not", Options{RepeatPenalty: 1.1, RepeatLastN: 1}, []float32{5, 4.9}, []int32{0, 1}, 0},
		{"presence penalty", Options{PresencePenalty: 0.2}, []float32{5, 4.9}, []int32{0}, 1},
		{"R1 defaults at temp 0", Options{TopP: 0.95}, []float32{0, 0, 9}, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.opts)
			for range 3 {
				if got := s.Sample(tc.logits, tc.hist); got != tc.want {
					t.Fatalf("Sample(%v, %v) = %d, want %d", tc.logits, tc.hist, got, tc.want)
				}
			}
		})
	}
}

func TestEmptyLogits(t *testing.T) {
	for _, o := range []Options{{}, R1Defaults()} {
		if got := New(o).Sample(nil, nil); got != -1 {
			t.Errorf("Sample(nil) with %+v = %d, want -1", o, got)
		}
	}
}

func TestPenalties(t *testing.T) {
	logits := []float32{2, -1, 0.5, 3, 0}
	tests := []struct {
		name string
		opts Options
		hist []int32
		want []float32
	}{
		{
			// token 0: count 2, 2/2 = 1, 1 - (2*0.5 + 1) = -1
			// token 1: count 1, -1*2 = -2, -2 - (0.5 + 1) = -3.5
			// token 3: count 3, 3/2 = 1.5, 1.5 - (1.5 + 1) = -1
			// token 4: count 1, 0*2 = 0, 0 - 1.5 = -1.5
			name: "all three, whole history",
			opts: Options{RepeatPenalty: 2, FrequencyPenalty: 0.5, PresencePenalty: 1},
			hist: []int32{0, 0, 1, 3, 3, 3, 4},
			want: []float32{-1, -3.5, 0.5, -1, -1.5},
		},
		{
			// window [3 3]: token 3 count 2, 1.5 - (1 + 1) = -0.5
			name: "window of 2",
			opts: Options{RepeatPenalty: 2, FrequencyPenalty: 0.5, PresencePenalty: 1, RepeatLastN: 2},
			hist: []int32{0, 0, 1, 3, 3},
			want: []float32{2, -1, 0.5, -0.5, 0},
		},
		{
			name: "repeat only",
			opts: Options{RepeatPenalty: 1.25},
			hist: []int32{0, 1, 1},
			want: []float32{1.6, -1.25, 0.5, 3, 0},
		},
		{
			name: "frequency only, negative encourages",
			opts: Options{FrequencyPenalty: -0.25},
			hist: []int32{2, 2, 2, 2},
			want: []float32{2, -1, 1.5, 3, 0},
		},
		{
			name: "out of range ids ignored",
			opts: Options{PresencePenalty: 1},
			hist: []int32{-1, 5, 1 << 30, 2},
			want: []float32{2, -1, -0.5, 3, 0},
		},
		{
			name: "window longer than history",
			opts: Options{PresencePenalty: 1, RepeatLastN: 100},
			hist: []int32{3},
			want: []float32{2, -1, 0.5, 2, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.opts)
			in := slices.Clone(logits)
			for round := range 2 { // the second round checks counts were cleared
				got := s.applyPenalties(in, tc.hist)
				for i := range got {
					if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
						t.Fatalf("round %d: penalized = %v, want %v", round, got, tc.want)
					}
				}
				if !slices.Equal(in, logits) {
					t.Fatalf("input logits modified: %v", in)
				}
				for id, c := range s.counts {
					if c != 0 {
						t.Fatalf("counts[%d] = %d after the call, want 0", id, c)
					}
				}
			}
		})
	}
}

// chiSquare returns Pearson's statistic for observed counts against
// probabilities, over the categories with p > 0, and whether any count fell
// on a category with p == 0.
func chiSquare(counts []int, probs []float64, n int) (stat float64, impossible bool) {
	for i, p := range probs {
		if p == 0 {
			if counts[i] > 0 {
				impossible = true
			}
			continue
		}
		e := p * float64(n)
		d := float64(counts[i]) - e
		stat += d * d / e
	}
	return stat, impossible
}

func softmaxT(logits []float32, temp float64) []float64 {
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, float64(l))
	}
	p := make([]float64, len(logits))
	z := 0.0
	for i, l := range logits {
		p[i] = math.Exp((float64(l) - m) / temp)
		z += p[i]
	}
	for i := range p {
		p[i] /= z
	}
	return p
}

func draws(s *Sampler, logits []float32, n int) []int {
	counts := make([]int, len(logits))
	for range n {
		counts[s.Sample(logits, nil)]++
	}
	return counts
}

// Critical values of chi-square at p = 0.001, by degrees of freedom.
var chi2Crit = map[int]float64{1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32}

func TestTemperatureDistribution(t *testing.T) {
	logits := []float32{1, 2, 0.5, -1, 3, 0}
	const n = 10000
	for _, temp := range []float32{0.35, 0.7, 1, 2} {
		t.Run(fmt.Sprint("T=", temp), func(t *testing.T) {
			counts := draws(New(Options{Temperature: temp, Seed: 7}), logits, n)
			want := softmaxT(logits, float64(temp))
			stat, _ := chiSquare(counts, want, n)
			t.Logf("chi2 = %.2f (df %d, critical %.2f at p=0.001)", stat, len(logits)-1, chi2Crit[len(logits)-1])
			if crit := chi2Crit[len(logits)-1]; stat > crit {
				t.Errorf("counts %v vs softmax %v: chi2 = %.1f > %.1f", counts, want, stat, crit)
			}
			for i := range counts {
				if f := float64(counts[i]) / n; math.Abs(f-want[i]) > 0.02 {
					t.Errorf("token %d: frequency %.4f, want %.4f ± 0.02", i, f, want[i])
				}
			}
			// The test has power: the wrong temperature is rejected.
			wrong := softmaxT(logits, float64(temp)*1.3)
			if stat, _ := chiSquare(counts, wrong, n); stat < chi2Crit[len(logits)-1] {
				t.Errorf("counts also fit temperature %.2f (chi2 %.1f): test too weak", temp*1.3, stat)
			}
		})
	}
}

func TestFilteredDistribution(t *testing.T) {
	logits := []float32{1, 2, 0.5, -1, 3, 0, 2.5, ninf, nan, 1.5}
	const n = 10000
	tests := []struct {
		name string
		opts Options
		keep []int // the tokens that may appear, best first
	}{
		{"top-k 2", Options{Temperature: 1.5, TopK: 2}, []int{4, 6}},
		{"top-k 1", Options{Temperature: 1.5, TopK: 1}, []int{4}},
		// p at T=1: 3→.403 2.5→.244 2→.148 1.5→.090 1→.054 …
		// cumulative .403 .647 .795: three tokens reach 0.75.
		{"top-p 0.75", Options{Temperature: 1, TopP: 0.75}, []int{4, 6, 1}},
		// logit >= 3 + ln 0.3 = 1.796
		{"min-p 0.3", Options{Temperature: 0.8, MinP: 0.3}, []int{4, 6, 1}},
		// over the top 5, p = .429 .260 …: two tokens reach 0.6.
		{"top-k 5 then top-p 0.6", Options{Temperature: 1, TopK: 5, TopP: 0.6}, []int{4, 6}},
		// top-k 4 leaves 3 2.5 2 1.5; their p = .455 .276 .167 .102, cumulative
		// .898 < 0.9 keeps all four; min-p: logit >= 3 + ln 0.25 = 1.614 drops 1.5.
		{"everything", Options{Temperature: 0.6, TopK: 4, TopP: 0.9, MinP: 0.25}, []int{4, 6, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counts := draws(New(tc.opts), logits, n)
			kept := make([]float32, len(logits))
			for i := range kept {
				kept[i] = ninf
			}
			for _, id := range tc.keep {
				kept[id] = logits[id]
			}
			want := softmaxT(kept, float64(tc.opts.Temperature))
			stat, impossible := chiSquare(counts, want, n)
			if impossible {
				t.Fatalf("counts %v: a token outside %v was drawn", counts, tc.keep)
			}
			t.Logf("counts %v, chi2 = %.2f (df %d)", counts, stat, len(tc.keep)-1)
			if df := len(tc.keep) - 1; df > 0 && stat > chi2Crit[df] {
				t.Errorf("counts %v vs %v: chi2 = %.1f > %.1f", counts, want, stat, chi2Crit[df])
			}
			for _, id := range tc.keep {
				if counts[id] == 0 {
					t.Errorf("token %d never drawn; counts %v", id, counts)
				}
			}
		})
	}
}

func TestEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		logits []float32
		want   map[int32]float64
	}{
		{"top-p 1 keeps all", Options{Temperature: 1, TopP: 1}, []float32{0, 0, 0, 0}, map[int32]float64{0: .25, 1: .25, 2: .25, 3: .25}},
		{"top-p equal logits keeps the lower half", Options{Temperature: 1, TopP: 0.5}, []float32{3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
			map[int32]float64{0: .2, 1: .2, 2: .2, 3: .2, 4: .2}},
		{"top-p tiny keeps one", Options{Temperature: 1, TopP: 1e-6}, []float32{3, 3, 3}, map[int32]float64{0: 1}},
		{"top-p dominant token", Options{Temperature: 1, TopP: 0.95}, []float32{0, 20, 0, 0}, map[int32]float64{1: 1}},
		{"top-p skips -Inf", Options{Temperature: 1, TopP: 0.9}, []float32{ninf, 1, ninf, 1}, map[int32]float64{1: .5, 3: .5}},
		{"NaN is never drawn", Options{Temperature: 1}, []float32{nan, 2, nan}, map[int32]float64{1: 1}},
		{"NaN with filters", Options{Temperature: 1, TopK: 2, TopP: 0.5, MinP: 0.5}, []float32{nan, nan, nan, 1}, map[int32]float64{3: 1}},
		{"all NaN", Options{Temperature: 1, TopP: 0.9}, []float32{nan, nan}, map[int32]float64{0: 1}},
		{"all -Inf", Options{Temperature: 1, MinP: 0.1}, []float32{ninf, ninf, ninf}, map[int32]float64{0: 1}},
		{"+Inf share", Options{Temperature: 1, TopP: 0.9}, []float32{1, inf, 3, inf}, map[int32]float64{1: .5, 3: .5}},
		{"min-p 1 keeps the tied top", Options{Temperature: 1, MinP: 1}, []float32{2, 1, 2}, map[int32]float64{0: .5, 2: .5}},
		{"min-p boundary", Options{Temperature: 1, MinP: 0.5}, []float32{1, 1 - 0.69, 1 - 0.70}, map[int32]float64{0: 1 / (1 + math.Exp(-0.69)), 1: math.Exp(-0.69) / (1 + math.Exp(-0.69))}},
		{"top-k beyond vocab", Options{Temperature: 1, TopK: 99}, []float32{0, 0}, map[int32]float64{0: .5, 1: .5}},
		{"top-k ties by id", Options{Temperature: 1, TopK: 2}, []float32{1, 2, 2, 2}, map[int32]float64{1: .5, 2: .5}},
		{"huge temperature is uniform", Options{Temperature: inf}, []float32{0, 10, ninf}, map[int32]float64{0: .5, 1: .5}},
		{"tiny temperature is greedy", Options{Temperature: 1e-30}, []float32{0, 10, 9.999}, map[int32]float64{1: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := samplerProbs(New(tc.opts), tc.logits, nil)
			if !probsClose(got, tc.want, 1e-5) {
				t.Errorf("distribution = %v, want %v", got, tc.want)
			}
			ref := referenceProbs(tc.opts, tc.logits, nil)
			if !probsClose(ref, tc.want, 1e-5) {
				t.Errorf("reference distribution = %v, want %v", ref, tc.want)
			}
			s := New(tc.opts)
			for range 200 {
				if id := s.Sample(tc.logits, nil); tc.want[id] == 0 {
					t.Fatalf("Sample = %d, outside %v", id, tc.want)
				}
			}
		})
	}
}

func probsClose(a, b map[int32]float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for id, p := range a {
		q, ok := b[id]
		if !ok || math.Abs(p-q) > tol*math.Max(1e-3, q) {
			return false
		}
	}
	return true
}

// randomLogits returns n logits of one of several shapes, seeded.
func randomLogits(r *rand.Rand, n int) []float32 {
	l := make([]float32, n)
	shape := r.IntN(6)
	sigma := []float64{0.3, 1, 3, 8}[r.IntN(4)]
	for i := range l {
		l[i] = float32(r.NormFloat64() * sigma)
		switch shape {
		case 1: // many ties
			l[i] = float32(math.Round(float64(l[i])))
		case 2: // all equal
			l[i] = 1.5
		case 3: // some impossible or broken
			switch r.IntN(8) {
			case 0:
				l[i] = ninf
			case 1:
				l[i] = nan
			}
		case 4: // peaked, like a trained model
			if r.IntN(50) == 0 {
				l[i] += 12
			}
		}
	}
	if shape == 5 && n > 1 && r.IntN(3) == 0 {
		l[r.IntN(n)] = inf
	}
	return l
}

func randomOptions(r *rand.Rand, n int) Options {
	pick := func(xs ...float32) float32 { return xs[r.IntN(len(xs))] }
	return Options{
		Temperature:      pick(0.1, 0.6, 1, 1.7),
		TopK:             []int{0, 0, 1, 2, 3, 10, n - 1, n, n + 5}[r.IntN(9)],
		TopP:             pick(0, 0, 0.05, 0.5, 0.9, 0.95, 0.999, 1),
		MinP:             pick(0, 0, 0.01, 0.1, 0.5, 0.9, 1),
		RepeatPenalty:    pick(0, 1, 1.1, 1.5, 0.8),
		FrequencyPenalty: pick(0, 0.3, -0.2),
		PresencePenalty:  pick(0, 0.5),
		RepeatLastN:      []int{0, 3, 16}[r.IntN(3)],
		Seed:             r.Uint64(),
	}
}

// TestMatchesReference compares the partial-selection sampler with the
// full-sort reference on random logits and options.
func TestMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	iters := 3000
	if testing.Short() {
		iters = 500
	}
	for it := range iters {
		n := []int{1, 2, 3, 7, 64, 1000, 5000}[r.IntN(7)]
		logits := randomLogits(r, n)
		opts := randomOptions(r, n)
		hist := make([]int32, r.IntN(40))
		for i := range hist {
			hist[i] = int32(r.IntN(n+4)) - 2
		}
		s := New(opts)
		got := samplerProbs(s, logits, hist)
		want := referenceProbs(opts, logits, hist)
		if !probsClose(got, want, 1e-5) {
			t.Fatalf("iteration %d: n=%d opts=%+v\n got  %d tokens %v\n want %d tokens %v", it, n, opts, len(got), head(got), len(want), head(want))
		}
		if id := s.Sample(logits, hist); want[id] == 0 {
			t.Fatalf("iteration %d: Sample = %d, not in the reference support", it, id)
		}
	}
}

func head(m map[int32]float64) string {
	ids := make([]int32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) > 8 {
		ids = ids[:8]
	}
	s := ""
	for _, id := range ids {
		s += fmt.Sprintf("%d:%.6g ", id, m[id])
	}
	return s
}

// TestSelectionFallback checks quickselect and the top-p cut with every
// partition budget, including 0 (sort at once), against a full sort.
func TestSelectionFallback(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for it := range 300 {
		n := 2 + r.IntN(300)
		logits := randomLogits(r, n)
		base := make([]candidate, n)
		for i, l := range logits {
			if l != l {
				l = ninf
			}
			base[i] = candidate{logit: l, id: int32(i), p: float32(r.Float64())}
		}
		sorted := slices.Clone(base)
		slices.SortFunc(sorted, compare)
		for _, rounds := range []int{0, 1, 2, 3, budget(n)} {
			k := 1 + r.IntN(n-1)
			c := slices.Clone(base)
			selectTop(c, k, rounds)
			if !sameIDs(c[:k], sorted[:k]) {
				t.Fatalf("iteration %d rounds %d: selectTop(k=%d) chose a different set", it, rounds, k)
			}
			total := 0.0
			for _, x := range base {
				total += float64(x.p)
			}
			target := total * (0.01 + 0.98*r.Float64())
			want, acc := n, 0.0
			for i, x := range sorted {
				if acc += float64(x.p); acc >= target {
					want = i + 1
					break
				}
			}
			c = slices.Clone(base)
			if got := cutMass(c, target, rounds); got != want || !sameIDs(c[:got], sorted[:want]) {
				t.Fatalf("iteration %d rounds %d: cutMass = %d, want %d (or different set)", it, rounds, got, want)
			}
		}
	}
}

func sameIDs(a, b []candidate) bool {
	x := make([]int32, len(a))
	y := make([]int32, len(b))
	for i := range a {
		x[i] = a[i].id
	}
	for i := range b {
		y[i] = b[i].id
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func TestSeed(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const vocab, steps = 500, 200
	rows := make([][]float32, steps)
	for i := range rows {
		rows[i] = randomLogits(r, vocab)
	}
	run := func(s *Sampler) []int32 {
		var out []int32
		for _, row := range rows {
			out = append(out, s.Sample(row, out))
		}
		return out
	}
	opts := Options{Temperature: 1.2, TopP: 0.99, RepeatPenalty: 1.1, Seed: 42}
	a := run(New(opts))
	b := run(New(opts))
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different tokens:\n%v\n%v", a, b)
	}
	s := New(opts)
	run(s)
	s.Reset()
	if c := run(s); !slices.Equal(a, c) {
		t.Fatalf("after Reset, different tokens:\n%v\n%v", a, c)
	}
	opts.Seed = 43
	if d := run(New(opts)); slices.Equal(a, d) {
		t.Fatalf("seeds 42 and 43 gave the same %d tokens", steps)
	}
}

func TestAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	logits := randomLogits(r, 4096)
	hist := []int32{1, 5, 5, 9, 4000, 12}
	for _, o := range []Options{
		{},
		{RepeatPenalty: 1.3},
		R1Defaults(),
		{Temperature: 0.8, TopK: 40, TopP: 0.9, MinP: 0.05, RepeatPenalty: 1.1, FrequencyPenalty: 0.1, PresencePenalty: 0.1, RepeatLastN: 64},
	} {
		s := New(o)
		s.Sample(logits, hist) // first call sizes the buffers
		if n := testing.AllocsPerRun(100, func() { s.Sample(logits, hist) }); n != 0 {
			t.Errorf("%+v: %v allocations per Sample, want 0", o, n)
		}
		// A smaller vocabulary reuses the buffers.
		if n := testing.AllocsPerRun(10, func() { s.Sample(logits[:100], hist) }); n != 0 {
			t.Errorf("%+v: %v allocations per Sample on a smaller vocabulary, want 0", o, n)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		opts Options
		ok   bool
	}{
		{Options{}, true},
		{R1Defaults(), true},
		{Options{Temperature: 2, TopK: 5, TopP: 1, MinP: 1, RepeatPenalty: 1.2, FrequencyPenalty: -2, PresencePenalty: 2, RepeatLastN: 64}, true},
		{Options{Temperature: -0.1}, false},
		{Options{Temperature: nan}, false},
		{Options{Temperature: inf}, false},
		{Options{TopK: -1}, false},
		{Options{TopP: 1.01}, false},
		{Options{TopP: nan}, false},
		{Options{MinP: -0.1}, false},
		{Options{RepeatPenalty: -1}, false},
		{Options{FrequencyPenalty: inf}, false},
		{Options{PresencePenalty: nan}, false},
		{Options{RepeatLastN: -1}, false},
	}
	for _, tc := range tests {
		err := tc.opts.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.opts, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("Validate(%+v) = %v, not wrapping ErrInvalidOptions", tc.opts, err)
		}
	}
}

func TestR1Defaults(t *testing.T) {
	got := R1Defaults()
	if want := (Options{Temperature: 0.6, TopP: 0.95}); got != want {
		t.Errorf("R1Defaults() = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}

// FuzzSample: any logits and options give a token in range that the
// reference could have drawn, and never panic.
func FuzzSample(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64}, uint8(3), uint8(1), uint8(2), uint64(1), []byte{1})
	f.Add([]byte{0, 0, 192, 127, 0, 0, 128, 255, 0, 0, 128, 127}, uint8(0), uint8(0), uint8(0), uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, raw []byte, temp, topk, topp uint8, seed uint64, hist []byte) {
		n := len(raw) / 4
		if n == 0 || n > 4096 {
			return
		}
		logits := make([]float32, n)
		for i := range logits {
			logits[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		h := make([]int32, len(hist))
		for i, b := range hist {
			h[i] = int32(b) - 4
		}
		opts := Options{
			Temperature:      float32(temp) / 64,
			TopK:             int(topk % 16),
			TopP:             float32(topp) / 255,
			MinP:             float32(topp%7) / 7,
			RepeatPenalty:    float32(seed%5) / 2,
			FrequencyPenalty: float32(seed%3) - 1,
			Seed:             seed,
		}
		s := New(opts)
		id := s.Sample(logits, h)
		if id < 0 || int(id) >= n {
			t.Fatalf("Sample = %d, want [0, %d)", id, n)
		}
		if ref := referenceProbs(opts, logits, h); ref[id] == 0 {
			t.Fatalf("Sample = %d, outside the reference support %v", id, head(ref))
		}
	})
}

// TestCutMassExactBoundary: with equal weights the running mass hits the
// target exactly, and the cut must stop there (cum >= p, as llama.cpp).
func TestCutMassExactBoundary(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for m := 1; m <= n; m++ {
			for _, rounds := range []int{0, 1, 2, budget(n)} {
				c := make([]candidate, n)
				for i := range c {
					c[i] = candidate{logit: 0, id: int32(n - 1 - i), p: 1}
				}
				got := cutMass(c, float64(m), rounds)
				if got != m {
					t.Fatalf("n=%d target=%d rounds=%d: cut = %d, want %d", n, m, rounds, got, m)
				}
				for _, x := range c[:got] {
					if int(x.id) >= m {
						t.Fatalf("n=%d target=%d rounds=%d: kept id %d, want ids < %d", n, m, rounds, x.id, m)
					}
				}
			}
		}
	}
}
