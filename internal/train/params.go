package train

import (
	"fmt"
	"math"
)

// Param is one weight tensor: its GGUF name, its shape row-major with the
// outermost dimension first ([out][in] for a matrix, [n] for a norm gain)
// and its values in that order.
type Param struct {
	Name  string
	Shape []int
	W     []float32 // [Shape[0]]…[Shape[len-1]]
	off   int       // offset of W in its Params' backing array
}

// Block holds one decoder layer's tensors (the blk.N.* names).
type Block struct {
	AttnNorm *Param // attn_norm.weight   [Dim]
	Q        *Param // attn_q.weight      [Heads·HeadDim][Dim]
	K        *Param // attn_k.weight      [KVHeads·HeadDim][Dim]
	V        *Param // attn_v.weight      [KVHeads·HeadDim][Dim]
	O        *Param // attn_output.weight [Dim][Heads·HeadDim]
	FFNNorm  *Param // ffn_norm.weight    [Dim]
	Gate     *Param // ffn_gate.weight    [FFNDim][Dim]
	Up       *Param // ffn_up.weight      [FFNDim][Dim]
	Down     *Param // ffn_down.weight    [Dim][FFNDim]
}

// Params is a full set of weights of a Config: the model itself, or a
// gradient, or an optimizer moment of the same shape.
//
// Tensors lists every tensor in a fixed order: token_embd.weight; per
// layer attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
// ffn_up, ffn_down; output_norm.weight; output.weight. The W slices of all
// tensors are consecutive pieces of one backing array in that order (so
// attn_q, attn_k and attn_v form one [(Heads+2·KVHeads)·HeadDim][Dim]
// matrix, and ffn_gate and ffn_up one [2·FFNDim][Dim] matrix, which Net
// relies on). Embd, Blocks, OutNorm and Output point into Tensors.
type Params struct {
	Config  Config
	Tensors []*Param

	Embd    *Param  // token_embd.weight  [VocabSize][Dim]
	Blocks  []Block // [Layers]
	OutNorm *Param  // output_norm.weight [Dim]
	Output  *Param  // output.weight      [VocabSize][Dim]

	data []float32 // every tensor's values, back to back in Tensors order
	clip clipJob   // ClipGradNorm's task, kept so that it does not allocate
}

// newParams returns zeroed Params of cfg. It panics if cfg is invalid.
func newParams(cfg Config) *Params {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	p := &Params{Config: cfg}
	names, shapes := layout(cfg)
	total := 0
	for _, s := range shapes {
		total += elems(s)
	}
	p.data = make([]float32, total)
	off := 0
	for i, s := range shapes {
		n := elems(s)
		p.Tensors = append(p.Tensors, &Param{Name: names[i], Shape: s, W: p.data[off : off+n : off+n], off: off})
		off += n
	}
	t := p.Tensors
	p.Embd = t[0]
	p.Blocks = make([]Block, cfg.Layers)
	for i := range p.Blocks {
		b := t[1+9*i:]
		p.Blocks[i] = Block{AttnNorm: b[0], Q: b[1], K: b[2], V: b[3], O: b[4], FFNNorm: b[5], Gate: b[6], Up: b[7], Down: b[8]}
	}
	p.OutNorm, p.Output = t[len(t)-2], t[len(t)-1]
	return p
}

// layout returns the names and row-major shapes of cfg's tensors in
// Params order.
func layout(cfg Config) (names []string, shapes [][]int) {
	d, hd, ff, v := cfg.Dim, cfg.HeadDim(), cfg.FFNDim, cfg.VocabSize
	add := func(name string, shape ...int) {
		names = append(names, name)
		shapes = append(shapes, shape)
	}
	add("token_embd.weight", v, d)
	for i := range cfg.Layers {
		blk := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		add(blk("attn_norm.weight"), d)
		add(blk("attn_q.weight"), cfg.Heads*hd, d)
		add(blk("attn_k.weight"), cfg.KVHeads*hd, d)
		add(blk("attn_v.weight"), cfg.KVHeads*hd, d)
		add(blk("attn_output.weight"), d, cfg.Heads*hd)
		add(blk("ffn_norm.weight"), d)
		add(blk("ffn_gate.weight"), ff, d)
		add(blk("ffn_up.weight"), ff, d)
		add(blk("ffn_down.weight"), d, ff)
	}
	add("output_norm.weight", d)
	add("output.weight", v, d)
	return names, shapes
}

func elems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// NewParams returns freshly initialized weights for cfg, a pure function of
// cfg and seed (the same on every platform: the random numbers come from
// integer arithmetic). Norm gains are 1; token_embd is N(0, 1);
// attn_q/k/v and ffn_gate/up are N(0, 1/Dim); the projections back into
// the residual stream, attn_output and ffn_down, are N(0, 1/(fan_in ·
// 2·Layers)) (GPT-2's scaling of residual branches); output.weight is
// N(0, 0.01/Dim), so the first logits have a standard deviation of about
// 0.1 and the first loss is close to ln VocabSize. Each tensor draws from
// its own stream, seeded from seed and its name. It panics if cfg is
// invalid (see Config.Validate).
func NewParams(cfg Config, seed uint64) *Params {
	p := newParams(cfg)
	d, ff, l2 := float64(cfg.Dim), float64(cfg.FFNDim), 2*float64(cfg.Layers)
	fill := func(q *Param, std float64) {
		r := newRNG(seed, q.Name)
		for i := range q.W {
			q.W[i] = float32(r.normal() * std)
		}
	}
	ones := func(q *Param) {
		for i := range q.W {
			q.W[i] = 1
		}
	}
	fill(p.Embd, 1)
	for _, b := range p.Blocks {
		ones(b.AttnNorm)
		fill(b.Q, 1/math.Sqrt(d))
		fill(b.K, 1/math.Sqrt(d))
		fill(b.V, 1/math.Sqrt(d))
		fill(b.O, 1/math.Sqrt(d*l2))
		ones(b.FFNNorm)
		fill(b.Gate, 1/math.Sqrt(d))
		fill(b.Up, 1/math.Sqrt(d))
		fill(b.Down, 1/math.Sqrt(ff*l2))
	}
	ones(p.OutNorm)
	fill(p.Output, 0.1/math.Sqrt(d))
	return p
}

// Clone returns a deep copy of p (same config, own backing array).
func (p *Params) Clone() *Params {
	q := newParams(p.Config)
	copy(q.data, p.data)
	return q
}

// Zero sets every value of p to 0 (e.g. a gradient before accumulation).
func (p *Params) Zero() { clear(p.data) }

// CopyFrom sets p's values to q's. It panics if their configs differ.
func (p *Params) CopyFrom(q *Params) {
	if p.Config != q.Config {
		panic(fmt.Sprintf("train: CopyFrom: config %+v into %+v", q.Config, p.Config))
	}
	copy(p.data, q.data)
}

// Count returns the number of parameters (scalars) in p.
func (p *Params) Count() int { return len(p.data) }

// joint returns the values of the consecutive tensors first … last as
// one slice.
func (p *Params) joint(first, last *Param) []float32 {
	return p.data[first.off : last.off+len(last.W)]
}

// Tensor returns the tensor named name, or nil.
func (p *Params) Tensor(name string) *Param {
	for _, t := range p.Tensors {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// rng is splitmix64, seeded from a seed and a tensor name (FNV-1a), so each
// tensor's values depend on nothing else.
type rng struct{ s uint64 }

func newRNG(seed uint64, name string) *rng {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return &rng{s: seed ^ h}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// normal returns an approximately standard normal deviate: the sum of 12
// uniform 24-bit values, summed exactly as integers, scaled to mean 0 and
// variance 1 (it lies in (−6, 6)).
func (r *rng) normal() float64 {
	var s uint64
	for range 12 {
		s += r.next() >> 40
	}
	return float64(s)/(1<<24) - 6
}
