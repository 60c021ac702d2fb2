package deepseek2

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// randMat returns a rows×cols F32 matrix of N(0, gain²/cols) values.
func randMat(rng *rand.Rand, rows, cols int, gain float64) tensor.Mat {
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * gain / math.Sqrt(float64(cols)))
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
	return tensor.Mat{Type: tensor.F32, Rows: rows, Cols: cols, Data: b}
}

func randVec(rng *rand.Rand, n int, mean, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(mean + std*rng.NormFloat64())
	}
	return x
}

// at reads element (r, c) of an F32 matrix.
func at(m tensor.Mat, r, c int) float64 {
	return float64(*(*float32)(unsafe.Pointer(&m.Data[4*(r*m.Cols+c)])))
}

// mlaFixture is a random MLA layer with every width different, so that a
// swapped dimension cannot cancel out.
func mlaFixture(t *testing.T, lowRankQ bool) (*Config, *Attn) {
	c := &Config{Dim: 40, NHeads: 3, KVLoRARank: 28, QKDim: 22, RopeDim: 6, NopeDim: 16, VDim: 12, Eps: 1e-6}
	if lowRankQ {
		c.QLoRARank = 20
	}
	return mlaLayer(c)
}

// mlaLayer fills in c's rotary settings and returns a random MLA layer of
// its shape (a low-rank query when c.QLoRARank > 0).
func mlaLayer(c *Config) (*Config, *Attn) {
	rng := rand.New(rand.NewPCG(7, 8))
	lowRankQ := c.QLoRARank > 0
	c.Rope = nn.Rope{Dims: c.RopeDim, Base: 10000, FreqScale: 1.0 / 4, ExtFactor: 1, BetaFast: 32, BetaSlow: 1, OrigCtx: 32,
		AttnFactor: float32(1 / (1 + 0.1*math.Log(4)))}
	c.KQScale = float32(math.Pow(1+0.1*math.Log(4), 2) / math.Sqrt(float64(c.QKDim)))
	a := &Attn{}
	h := c.NHeads
	if lowRankQ {
		a.QA = randMat(rng, c.QLoRARank, c.Dim, 1)
		a.QANorm = randVec(rng, c.QLoRARank, 1, 0.1)
		a.QB = randMat(rng, h*c.QKDim, c.QLoRARank, 1.5)
	} else {
		a.Q = randMat(rng, h*c.QKDim, c.Dim, 1.5)
	}
	a.KVA = randMat(rng, c.KVLoRARank+c.RopeDim, c.Dim, 1.5)
	a.KVNorm = randVec(rng, c.KVLoRARank, 1, 0.1)
	for range h {
		a.KB = append(a.KB, randMat(rng, c.KVLoRARank, c.NopeDim, 1.5))
		a.VB = append(a.VB, randMat(rng, c.VDim, c.KVLoRARank, 1))
	}
	a.O = randMat(rng, c.Dim, h*c.VDim, 1)
	return c, a
}

func matVec64(m tensor.Mat, x []float64) []float64 {
	y := make([]float64, m.Rows)
	for r := range y {
		for k, v := range x {
			y[r] += at(m, r, k) * v
		}
	}
	return y
}

func rmsNorm64(x []float64, w []float32, eps float64) []float64 {
	ss := 0.0
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+eps)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v * s * float64(w[i])
	}
	return y
}

// rotate64 applies the consecutive-pair rotation of position p (tables from
// the float32 Rope, which nn tests separately) to x in place.
func rotate64(r *nn.Rope, x []float64, p int32) {
	half := r.Dims / 2
	cos, sin := make([]float32, half), make([]float32, half)
	r.Tables(cos, sin, []int32{p})
	for i := range half {
		a, b := x[2*i], x[2*i+1]
		x[2*i] = a*float64(cos[i]) - b*float64(sin[i])
		x[2*i+1] = a*float64(sin[i]) + b*float64(cos[i])
	}
}

// naiveMLA is deepseek-v3.md §3.1 in float64: decompress every position's
// keys and values per head (k_h = [W_UK,h c ; k_rope], v_h = W_UV,h c),
// then ordinary causal multi-head attention. inputs is [n][Dim]; it returns
// the attention output after W_O for every position, [n][Dim].
func naiveMLA(c *Config, a *Attn, inputs [][]float32) [][]float64 {
	h, dn, rkv := c.NHeads, c.NopeDim, c.KVLoRARank
	n := len(inputs)
	qs := make([][]float64, n)     // [t][h·qk]
	keys := make([][][]float64, n) // [t][h][qk]
	vals := make([][][]float64, n) // [t][h][dv]
	for t, x32 := range inputs {
		x := make([]float64, len(x32))
		for i, v := range x32 {
			x[i] = float64(v)
		}
		var q []float64
		if a.QA.Rows > 0 {
			q = matVec64(a.QB, rmsNorm64(matVec64(a.QA, x), a.QANorm, float64(c.Eps)))
		} else {
			q = matVec64(a.Q, x)
		}
		kv := matVec64(a.KVA, x)
		lat := rmsNorm64(kv[:rkv], a.KVNorm, float64(c.Eps))
		kr := kv[rkv:]
		rotate64(&c.Rope, kr, int32(t))
		for hh := range h {
			rotate64(&c.Rope, q[hh*c.QKDim+dn:(hh+1)*c.QKDim], int32(t))
		}
		qs[t] = q
		keys[t], vals[t] = make([][]float64, h), make([][]float64, h)
		for hh := range h {
			k := make([]float64, 0, c.QKDim)
			for j := range dn { // W_UK,h[j][:] = KB[h][:][j]
				s := 0.0
				for ci := range rkv {
					s += at(a.KB[hh], ci, j) * lat[ci]
				}
				k = append(k, s)
			}
			keys[t][hh] = append(k, kr...)
			vals[t][hh] = matVec64(a.VB[hh], lat)
		}
	}
	out := make([][]float64, n)
	for t := range n {
		concat := make([]float64, 0, h*c.VDim)
		for hh := range h {
			q := qs[t][hh*c.QKDim : (hh+1)*c.QKDim]
			s := make([]float64, t+1)
			mx := math.Inf(-1)
			for j := range s {
				for i, v := range q {
					s[j] += v * keys[j][hh][i]
				}
				s[j] *= float64(c.KQScale)
				mx = max(mx, s[j])
			}
			sum := 0.0
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			o := make([]float64, c.VDim)
			for j := range s {
				for i := range o {
					o[i] += s[j] / sum * vals[j][hh][i]
				}
			}
			concat = append(concat, o...)
		}
		out[t] = matVec64(a.O, concat)
	}
	return out
}

// runMLA runs the production (absorbed, f16-cache) attention over inputs,
// either one token per call (decode) or all in one chunk (prefill).
func runMLA(t *testing.T, c *Config, a *Attn, inputs [][]float32, prefill bool) [][]float32 {
	return runMLACap(t, c, a, inputs, prefill, len(inputs))
}

// runMLACap is runMLA with scratch for sequences of up to capacity
// positions.
func runMLACap(t *testing.T, c *Config, a *Attn, inputs [][]float32, prefill bool, capacity int) [][]float32 {
	n := len(inputs)
	seq, err := kvcache.NewSeq(KVLayout(&Config{Layers: 1, KVLoRARank: c.KVLoRARank, RopeDim: c.RopeDim}), n)
	if err != nil {
		t.Fatal(err)
	}
	if err := seq.Reserve(n); err != nil {
		t.Fatal(err)
	}
	s := newAttnScratch(c, n, capacity)
	out := make([][]float32, n)
	run := func(lo, hi int) {
		m := hi - lo
		x := make([]float32, 0, m*c.Dim)
		ch := nn.Chunk{Tokens: make([]int32, m)}
		for i := lo; i < hi; i++ {
			x = append(x, inputs[i]...)
			ch.Pos = append(ch.Pos, int32(i))
			ch.Seqs = append(ch.Seqs, seq)
		}
		c.Rope.Tables(s.cos, s.sin, ch.Pos)
		y := make([]float32, m*c.Dim)
		a.forward(y, x, 0, &ch, c, s, nil)
		for i := lo; i < hi; i++ {
			out[i] = y[(i-lo)*c.Dim : (i-lo+1)*c.Dim]
		}
	}
	if prefill {
		run(0, n)
	} else {
		for i := range n {
			run(i, i+1)
		}
	}
	return out
}

// TestMLANaiveVsAbsorbed checks the absorbed decode/prefill path against
// the naive decompressed form (§10.1). The absorbed path rounds the cached
// latent and rope key, the query and the attention probabilities to f16 as
// llama.cpp does, so the stated tolerance is 4e-3 of the output's largest
// magnitude (f16 has a relative precision of 4.9e-4); a transposed attn_k_b,
// swapped K/V rows, a normalized rope key or a missing mscale² gives errors
// of order 1. Prefill (one chunk) and decode (one token per call) must
// agree to 1e-5.
func TestMLANaiveVsAbsorbed(t *testing.T) {
	for _, lowRank := range []bool{true, false} {
		name := map[bool]string{true: "q_lora", false: "plain_q"}[lowRank]
		t.Run(name, func(t *testing.T) {
			c, a := mlaFixture(t, lowRank)
			rng := rand.New(rand.NewPCG(3, 4))
			const n = 9
			inputs := make([][]float32, n)
			for i := range inputs {
				inputs[i] = randVec(rng, c.Dim, 0, 1)
			}
			want := naiveMLA(c, a, inputs)
			dec := runMLA(t, c, a, inputs, false)
			pre := runMLA(t, c, a, inputs, true)
			scale, worst, worstPD := 0.0, 0.0, 0.0
			for i := range want {
				for j, v := range want[i] {
					scale = max(scale, math.Abs(v))
					worst = max(worst, math.Abs(float64(dec[i][j])-v))
					worstPD = max(worstPD, math.Abs(float64(dec[i][j]-pre[i][j])))
				}
			}
			t.Logf("max |out| %.3f, max |absorbed − naive| %.2e (%.2e relative), max |prefill − decode| %.2e", scale, worst, worst/scale, worstPD)
			if worst > 4e-3*scale {
				t.Errorf("absorbed form differs from the naive form by %.3e (> 4e-3 × %.3f)", worst, scale)
			}
			if worstPD > 1e-5*scale {
				t.Errorf("prefill and decode differ by %.3e", worstPD)
			}
		})
	}
}

// TestMLAPrefillDecodeSameBits checks that absorbed attention gives a
// token bit for bit the same output in a prefill chunk (all heads of a
// token in one task, the cache read across page boundaries) as decoded
// alone (heads split across tasks), also with scratch for long contexts
// (fewer heads per task), on widths the SIMD kernels step through.
func TestMLAPrefillDecodeSameBits(t *testing.T) {
	c, a := mlaLayer(&Config{Dim: 64, NHeads: 9, QLoRARank: 32, KVLoRARank: 48, QKDim: 40, RopeDim: 16, NopeDim: 24, VDim: 16, Eps: 1e-6})
	rng := rand.New(rand.NewPCG(9, 10))
	const n = 37
	inputs := make([][]float32, n)
	for i := range inputs {
		inputs[i] = randVec(rng, c.Dim, 0, 1)
	}
	want := runMLA(t, c, a, inputs, false)
	for _, run := range []struct {
		name     string
		prefill  bool
		capacity int
	}{{"prefill", true, n}, {"prefill long scratch", true, 1 << 17}, {"decode long scratch", false, 1 << 17}} {
		got := runMLACap(t, c, a, inputs, run.prefill, run.capacity)
		for i := range want {
			for j := range want[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("%s: token %d [%d] = %v, want %v (decode)", run.name, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}

// TestSplitKVB checks that the matrices derived from a legacy attn_kv_b are
// the transposed W_UK and the W_UV rows of each head.
func TestSplitKVB(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	h, dn, dv, rkv := 3, 5, 4, 7
	kvb := randMat(rng, h*(dn+dv), rkv, 1)
	kb, vb, err := splitKVB(kvb, h, dn, dv)
	if err != nil {
		t.Fatal(err)
	}
	for hh := range h {
		for j := range dn {
			for ci := range rkv {
				if got, want := at(kb[hh], ci, j), at(kvb, hh*(dn+dv)+j, ci); got != want {
					t.Fatalf("KB[%d][%d][%d] = %v, want %v", hh, ci, j, got, want)
				}
			}
		}
		for j := range dv {
			for ci := range rkv {
				if got, want := at(vb[hh], j, ci), at(kvb, hh*(dn+dv)+dn+j, ci); got != want {
					t.Fatalf("VB[%d][%d][%d] = %v, want %v", hh, j, ci, got, want)
				}
			}
		}
	}
}
