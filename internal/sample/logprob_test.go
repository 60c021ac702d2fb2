package sample

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveLogSoftmax is the textbook formula in float64 over sanitized logits.
func naiveLogSoftmax(logits []float32) []float64 {
	m := math.Inf(-1)
	for _, l := range logits {
		if l == l {
			m = math.Max(m, float64(l))
		}
	}
	z := 0.0
	for _, l := range logits {
		if l == l {
			z += math.Exp(float64(l) - m)
		}
	}
	out := make([]float64, len(logits))
	for i, l := range logits {
		if l != l {
			out[i] = math.Inf(-1)
			continue
		}
		out[i] = float64(l) - m - math.Log(z)
	}
	return out
}

func TestLogSoftmax(t *testing.T) {
	tests := []struct {
		name   string
		logits []float32
		want   []float64 // nil: compare with naiveLogSoftmax
	}{
		{"two equal", []float32{0, 0}, []float64{-math.Ln2, -math.Ln2}},
		{"one", []float32{42}, []float64{0}},
		{"large offset", []float32{1e4, 1e4 + 1, 1e4 - 1}, nil},
		{"very negative", []float32{-1e4, -1e4 - 2}, nil},
		{"NaN is -Inf", []float32{nan, 0, 0}, []float64{math.Inf(-1), -math.Ln2, -math.Ln2}},
		{"-Inf", []float32{ninf, 1, 1, 1, 1}, []float64{math.Inf(-1), -2 * math.Ln2, -2 * math.Ln2, -2 * math.Ln2, -2 * math.Ln2}},
		{"+Inf shares", []float32{inf, 5, inf}, []float64{-math.Ln2, math.Inf(-1), -math.Ln2}},
		{"all -Inf", []float32{ninf, nan}, []float64{math.Inf(-1), math.Inf(-1)}},
		{"random", randomLogits(rand.New(rand.NewPCG(9, 9)), 1000), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = naiveLogSoftmax(tc.logits)
			}
			got := make([]float32, len(tc.logits))
			LogSoftmax(got, tc.logits)
			for i := range got {
				if !closeLogprob(got[i], want[i]) {
					t.Fatalf("logprob[%d] = %v, want %v", i, got[i], want[i])
				}
			}
			alias := slices.Clone(tc.logits)
			LogSoftmax(alias, alias)
			if !slices.EqualFunc(alias, got, func(a, b float32) bool { return a == b || (a != a && b != b) }) {
				t.Fatalf("in place = %v, want %v", alias, got)
			}
		})
	}
}

func closeLogprob(got float32, want float64) bool {
	if math.IsInf(want, -1) {
		return math.IsInf(float64(got), -1)
	}
	return math.Abs(float64(got)-want) <= 1e-6*math.Max(1, math.Abs(want))
}

func TestLogSoftmaxNormalized(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	for range 50 {
		logits := randomLogits(r, 1+r.IntN(2000))
		dst := make([]float32, len(logits))
		LogSoftmax(dst, logits)
		sum := 0.0
		for _, lp := range dst {
			sum += math.Exp(float64(lp))
		}
		if math.Abs(sum-1) > 1e-5 && !allImpossible(logits) {
			t.Fatalf("Σ exp(logprob) = %v, want 1", sum)
		}
	}
}

func allImpossible(l []float32) bool {
	for _, x := range l {
		if x == x && !math.IsInf(float64(x), -1) {
			return false
		}
	}
	return true
}

func TestLogSoftmaxPanicsOnLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("LogSoftmax with mismatched lengths did not panic")
		}
	}()
	LogSoftmax(make([]float32, 2), make([]float32, 3))
}

func TestTopLogprobs(t *testing.T) {
	tests := []struct {
		name   string
		logits []float32
		k      int
		want   []int32
	}{
		{"k 0", []float32{1, 2}, 0, nil},
		{"k negative", []float32{1, 2}, -3, nil},
		{"empty", nil, 3, nil},
		{"k beyond vocab", []float32{1, 3, 2}, 5, []int32{1, 2, 0}},
		{"ties by lower id", []float32{2, 5, 2, 5, 2}, 4, []int32{1, 3, 0, 2}},
		{"all equal", []float32{0, 0, 0, 0, 0, 0}, 3, []int32{0, 1, 2}},
		{"NaN last", []float32{nan, -1, nan, -2}, 4, []int32{1, 3, 0, 2}},
		{"+Inf first", []float32{1, inf, 2}, 2, []int32{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TopLogprobs(tc.logits, tc.k, nil)
			ids := make([]int32, len(got))
			for i, g := range got {
				ids[i] = g.ID
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("ids = %v, want %v", ids, tc.want)
			}
			if len(tc.logits) == 0 {
				return
			}
			full := make([]float32, len(tc.logits))
			LogSoftmax(full, tc.logits)
			for _, g := range got {
				if w := full[g.ID]; g.Logprob != w && !(math.IsInf(float64(w), -1) && math.IsInf(float64(g.Logprob), -1)) {
					t.Errorf("id %d: logprob %v, LogSoftmax says %v", g.ID, g.Logprob, w)
				}
			}
		})
	}
}

// TestTopLogprobsMatchesSort compares the heap selection with a full sort.
func TestTopLogprobsMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	var dst []TokenLogprob
	for it := range 300 {
		n := 1 + r.IntN(3000)
		logits := randomLogits(r, n)
		k := r.IntN(40)
		dst = TopLogprobs(logits, k, dst)

		full := make([]float32, n)
		LogSoftmax(full, logits)
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = int32(i)
		}
		key := func(id int32) float32 {
			if l := logits[id]; l == l {
				return l
			}
			return ninf
		}
		slices.SortStableFunc(ids, func(a, b int32) int {
			switch ka, kb := key(a), key(b); {
			case ka > kb:
				return -1
			case ka < kb:
				return 1
			}
			return 0
		})
		if len(dst) != min(k, n) {
			t.Fatalf("iteration %d: %d results, want %d", it, len(dst), min(k, n))
		}
		for i, d := range dst {
			if d.ID != ids[i] || !(d.Logprob == full[d.ID] || math.IsInf(float64(d.Logprob), -1) && math.IsInf(float64(full[d.ID]), -1)) {
				t.Fatalf("iteration %d: result %d = %+v, want id %d logprob %v", it, i, d, ids[i], full[ids[i]])
			}
		}
	}
}

func TestTopLogprobsAllocs(t *testing.T) {
	logits := randomLogits(rand.New(rand.NewPCG(12, 12)), 10000)
	dst := make([]TokenLogprob, 0, 5)
	if n := testing.AllocsPerRun(50, func() { dst = TopLogprobs(logits, 5, dst) }); n != 0 {
		t.Errorf("TopLogprobs with capacity: %v allocations, want 0", n)
	}
}
