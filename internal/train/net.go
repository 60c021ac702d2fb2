package train

import (
	"fmt"
	"math"
	"sync"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/model/nn"
	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// attnBlock is the number of queries whose scores one attention step
// computes together: a block of rows attends to the keys up to its last
// row, so the causal mask wastes at most attnBlock−1 columns per row.
const attnBlock = 64

// normBlock is the number of tokens whose norm-gain gradients are summed
// into one partial sum; the partial sums are then added in block order, so
// the result does not depend on the thread split.
const normBlock = 64

// Net is the working memory of forward and backward passes of one model
// over batches of up to MaxTokens tokens: the activations Forward keeps for
// Backward, and the scratch both use. It is reused for every step and
// allocates nothing after its first pass. A Net is used by one goroutine at
// a time; its methods parallelize internally on the parallel package's
// worker pool.
type Net struct {
	p         *Params
	c         Config
	maxTokens int

	hd, qw, kvw, qkvw int       // head dim; query, key and q+k+v widths
	group             int       // query heads per KV head
	scale             float32   // 1/sqrt(head dim), as the engine's nn.DefaultScale
	cos, sin          []float32 // [Context][hd/2] the engine's rotary tables
	eMax              int       // most keys one query attends to

	// The batch of the last Forward.
	n       int     // tokens run: every token that has a successor
	tokens  []int32 // [n] input tokens
	targets []int32 // [n] the token each position predicts
	pos     []int32 // [n] position in its sequence
	spans   []span  // one per sequence with at least two tokens
	pHead   int     // attention probabilities per head (Σ over spans)
	ready   bool    // Forward ran and Backward may follow

	acts  []layerActs // [Layers]
	xf    []float32   // [n][Dim] output of the last layer
	rsf   []float32   // [n] its 1/rms
	hf    []float32   // [n][Dim] output_norm output
	probs []float32   // [n][Vocab] softmax of the logits (Backward: their gradient)

	// Scratch.
	qkv  []float32 // [n][qkvw] q, k, v projections; Backward: their gradient
	y    []float32 // [n][Dim] a residual branch's output
	dx   []float32 // [n][Dim] gradient of the residual stream
	dh   []float32 // [n][Dim] gradient of a norm's output
	datt []float32 // [n][qw] gradient of the attention output
	dq   []float32 // [Heads][n][hd]
	dk   []float32 // [KVHeads][n][hd]
	dv   []float32 // [KVHeads][n][hd]
	dgu  []float32 // [n][2·FFNDim]
	dact []float32 // [n][FFNDim]
	part []float32 // [⌈maxTokens/normBlock⌉][Dim] norm-gain partial sums

	attnMu   sync.Mutex
	attnFree []*attnBuf // per-goroutine attention scratch not in use

	task task
	cur  args
	gm   kernel.GemmArgs // the operands of the current matrix product

	// engineArith makes Forward compute attention and SwiGLU with the
	// engine's own kernels and its f16 KV-cache precision (queries, keys,
	// values and probabilities rounded to f16), so that its logits equal
	// the engine's bit for bit. Only the engine-equivalence test sets it;
	// Backward does not match such a Forward.
	engineArith bool
}

// span is one sequence of the batch: its tokens [off, off+n) and the
// offset of its attention probabilities within each head's.
type span struct {
	off, n int
	pOff   int
}

// layerActs are the activations of one layer that Backward reads.
type layerActs struct {
	x   []float32 // [n][Dim] the layer's input (residual stream)
	rs1 []float32 // [n] 1/rms of x
	h1  []float32 // [n][Dim] attn_norm output
	q   []float32 // [Heads][n][hd] rotated queries
	k   []float32 // [KVHeads][n][hd] rotated keys
	v   []float32 // [KVHeads][n][hd] values
	p   []float32 // [Heads][pHead] attention probabilities, per span in causal blocks
	att []float32 // [n][Heads·hd] attention output
	xm  []float32 // [n][Dim] residual stream after attention
	rs2 []float32 // [n] 1/rms of xm
	h2  []float32 // [n][Dim] ffn_norm output
	gu  []float32 // [n][2·FFNDim] gate and up projections
	sig []float32 // [n][FFNDim] sigmoid(gate)
	act []float32 // [n][FFNDim] silu(gate)·up
}

// pLen returns the number of attention probabilities a sequence of n
// tokens keeps per head: each block of attnBlock queries stores scores for
// the keys up to its last query.
func pLen(n int) int {
	s := 0
	for r0 := 0; r0 < n; r0 += attnBlock {
		r1 := min(r0+attnBlock, n)
		s += (r1 - r0) * r1
	}
	return s
}

// NewNet returns the working memory for passes of p's model over batches of
// up to maxTokens tokens in total (Σ len(seqs[s]) per call). The Net reads
// p's current values at every Forward and Backward. Its memory grows with
// maxTokens·(Layers·(8·Dim + 4·FFNDim) + Vocab) and, for attention, with
// maxTokens·min(Context, maxTokens)/2 per head and layer.
func NewNet(p *Params, maxTokens int) *Net {
	if maxTokens <= 0 {
		panic(fmt.Sprintf("train: NewNet: maxTokens %d", maxTokens))
	}
	c := p.Config
	hd := c.HeadDim()
	n := &Net{
		p: p, c: c, maxTokens: maxTokens,
		hd: hd, qw: c.Heads * hd, kvw: c.KVHeads * hd, qkvw: (c.Heads + 2*c.KVHeads) * hd,
		group: c.Heads / c.KVHeads, scale: nn.DefaultScale(hd),
		eMax: min(c.Context, maxTokens),
	}
	n.task.n = n
	// The engine's rotary tables, for every position of the context.
	r := nn.Rope{Dims: hd, Base: c.RopeTheta, FreqScale: 1}
	pos := make([]int32, c.Context)
	for i := range pos {
		pos[i] = int32(i)
	}
	n.cos, n.sin = make([]float32, c.Context*hd/2), make([]float32, c.Context*hd/2)
	r.Tables(n.cos, n.sin, pos)

	T, d, ff := maxTokens, c.Dim, c.FFNDim
	// Per head, no batch keeps more probabilities than T·pLen(C)/C: a
	// sequence's pLen(n)/n grows with n (later rows see more keys).
	pMax := (T*pLen(n.eMax) + n.eMax - 1) / n.eMax
	f := func(k int) []float32 { return make([]float32, k) }
	n.tokens, n.targets, n.pos = make([]int32, T), make([]int32, T), make([]int32, T)
	n.acts = make([]layerActs, c.Layers)
	for i := range n.acts {
		n.acts[i] = layerActs{
			x: f(T * d), rs1: f(T), h1: f(T * d),
			q: f(T * n.qw), k: f(T * n.kvw), v: f(T * n.kvw), p: f(c.Heads * pMax),
			att: f(T * n.qw), xm: f(T * d), rs2: f(T), h2: f(T * d),
			gu: f(T * 2 * ff), sig: f(T * ff), act: f(T * ff),
		}
	}
	n.xf, n.rsf, n.hf, n.probs = f(T*d), f(T), f(T*d), f(T*c.VocabSize)
	n.qkv, n.y, n.dx, n.dh, n.datt = f(T*n.qkvw), f(T*d), f(T*d), f(T*d), f(T*n.qw)
	n.dq, n.dk, n.dv = f(T*n.qw), f(T*n.kvw), f(T*n.kvw)
	n.dgu, n.dact = f(T*2*ff), f(T*ff)
	n.part = f((T + normBlock - 1) / normBlock * d)
	return n
}

// SetParams makes the Net read q's weights from now on (e.g. to run a
// reference model through the same memory). It panics if q's config
// differs from the Net's.
func (n *Net) SetParams(q *Params) {
	if q.Config != n.c {
		panic(fmt.Sprintf("train: SetParams: config %+v, Net has %+v", q.Config, n.c))
	}
	n.p = q
	n.ready = false
}

// MaxTokens returns the most tokens (Σ len(seqs[s])) one call accepts.
func (n *Net) MaxTokens() int { return n.maxTokens }

// LogProbs returns the number of log probabilities Forward writes for
// seqs: Σ max(len(seqs[s])−1, 0).
func LogProbs(seqs [][]int32) int {
	k := 0
	for _, s := range seqs {
		k += max(len(s)-1, 0)
	}
	return k
}

// Forward runs the model over every sequence of seqs (each from position
// 0, independently of the others) and writes the log probability the model
// gives each next token: for each sequence s in order and t in [0,
// len(seqs[s])−1), logp[k] = log P(seqs[s][t+1] | seqs[s][:t+1]), k
// counting on across sequences (LogProbs(seqs) values in all). Sequences
// shorter than two tokens contribute nothing. Forward keeps the
// activations Backward needs; seqs is not retained.
//
// It panics (a programming error, not bad input: the caller builds the
// batch) if the batch holds more than MaxTokens tokens, a sequence is
// longer than Config.Context, a token is outside [0, VocabSize), or logp is
// shorter than LogProbs(seqs).
func (n *Net) Forward(seqs [][]int32, logp []float32) {
	n.setBatch(seqs, len(logp))
	c, T := n.c, n.n
	d, ff := c.Dim, c.FFNDim
	if T == 0 {
		return
	}
	n.run(T, (*Net).embed)
	for l := range c.Layers {
		a, b := &n.acts[l], &n.p.Blocks[l]
		x := a.x
		// attention rmsnorm
		n.rmsNorm(a.h1, a.rs1, x, b.AttnNorm.W)
		// q, k, v projections (one matrix: the three are consecutive)
		n.linear(n.qkv, a.h1, n.p.joint(b.Q, b.V), n.qkvw, d)
		// rotary embedding, heads to head-major order
		n.cur.l = l
		n.run(T, (*Net).ropeScatter)
		// causal attention, output projection, residual
		n.run(len(n.spans)*c.KVHeads, (*Net).attnForward)
		n.linear(n.y, a.att, b.O.W, d, n.qw)
		n.add(a.xm, x, n.y)
		// ffn rmsnorm, SwiGLU, residual
		n.rmsNorm(a.h2, a.rs2, a.xm, b.FFNNorm.W)
		n.linear(a.gu, a.h2, n.p.joint(b.Gate, b.Up), 2*ff, d)
		n.run(T, (*Net).swigluForward)
		n.linear(n.y, a.act, b.Down.W, d, ff)
		next := n.xf
		if l+1 < c.Layers {
			next = n.acts[l+1].x
		}
		n.add(next, a.xm, n.y)
	}
	// final rmsnorm, output head, log-softmax
	n.rmsNorm(n.hf, n.rsf, n.xf, n.p.OutNorm.W)
	n.linear(n.probs, n.hf, n.p.Output.W, c.VocabSize, d)
	n.cur.out = logp
	n.run(T, (*Net).logSoftmax)
	n.cur = args{}
	n.ready = true
}

// setBatch checks seqs and lays the batch out.
func (n *Net) setBatch(seqs [][]int32, nLogp int) {
	total, k := 0, 0
	n.spans = n.spans[:0]
	n.pHead = 0
	for i, s := range seqs {
		total += len(s)
		if total > n.maxTokens {
			panic(fmt.Sprintf("train: Forward: the batch has more than %d tokens", n.maxTokens))
		}
		if len(s) > n.c.Context {
			panic(fmt.Sprintf("train: Forward: sequence %d has %d tokens, the context is %d", i, len(s), n.c.Context))
		}
		if len(s) < 2 {
			continue
		}
		m := len(s) - 1
		n.spans = append(n.spans, span{off: k, n: m, pOff: n.pHead})
		n.pHead += pLen(m)
		for t := range m {
			if uint32(s[t]) >= uint32(n.c.VocabSize) || uint32(s[t+1]) >= uint32(n.c.VocabSize) {
				panic(fmt.Sprintf("train: Forward: sequence %d has token %d outside [0, %d)", i, max(s[t], s[t+1]), n.c.VocabSize))
			}
			n.tokens[k+t], n.targets[k+t], n.pos[k+t] = s[t], s[t+1], int32(t)
		}
		k += m
	}
	if nLogp < k {
		panic(fmt.Sprintf("train: Forward: logp has %d values, the batch needs %d", nLogp, k))
	}
	n.n = k
	n.ready = false
}

// args are the operands of the step the pool is running.
type args struct {
	l       int
	y, x, w []float32
	rs, out []float32
}

// task is the parallel.Task of every step: fn on the range, with the Net
// (whose cur field holds the step's operands).
type task struct {
	n  *Net
	fn func(n *Net, lo, hi int)
}

func (t *task) Run(lo, hi int) { t.fn(t.n, lo, hi) }

// run runs fn over [0, count) on the worker pool.
func (n *Net) run(count int, fn func(n *Net, lo, hi int)) {
	n.task.fn = fn
	parallel.Run(count, &n.task)
	n.task.fn = nil
}

// embed copies the embedding rows of tokens [lo, hi) into layer 0's input.
func (n *Net) embed(lo, hi int) {
	d, e, x := n.c.Dim, n.p.Embd.W, n.acts[0].x
	for t := lo; t < hi; t++ {
		id := int(n.tokens[t])
		copy(x[t*d:(t+1)*d], e[id*d:(id+1)*d])
	}
}

// rmsNorm sets y[t] = x[t]·s·w with s = 1/sqrt(mean(x[t]²)+eps) for every
// token, in the engine's arithmetic (kernel.RMSNorm), keeping rs[t] = s.
func (n *Net) rmsNorm(y, rs, x, w []float32) {
	n.cur.y, n.cur.rs, n.cur.x, n.cur.w = y, rs, x, w
	n.run(n.n, (*Net).rmsNormRows)
}

func (n *Net) rmsNormRows(lo, hi int) {
	d, eps := n.c.Dim, n.c.NormEps
	y, rs, x, w := n.cur.y, n.cur.rs, n.cur.x, n.cur.w
	for t := lo; t < hi; t++ {
		xt, yt := x[t*d:(t+1)*d], y[t*d:(t+1)*d]
		sum := 0.0
		for _, v := range xt {
			sum += float64(v * v)
		}
		mean := float32(sum / float64(d))
		s := 1 / float32(math.Sqrt(float64(mean+eps)))
		rs[t] = s
		for i, v := range xt {
			yt[i] = (v * s) * w[i]
		}
	}
}

// add sets dst = a + b over the batch's [n][Dim] rows.
func (n *Net) add(dst, a, b []float32) {
	n.cur.out, n.cur.x, n.cur.y = dst, a, b
	n.run(n.n, (*Net).addRows)
}

func (n *Net) addRows(lo, hi int) {
	d := n.c.Dim
	kernel.Add(n.cur.out[lo*d:hi*d], n.cur.x[lo*d:hi*d], n.cur.y[lo*d:hi*d])
}

// ropeScatter rotates the queries and keys of tokens [lo, hi) in n.qkv
// and writes queries, keys and values head-major into layer cur.l.
func (n *Net) ropeScatter(lo, hi int) {
	a := &n.acts[n.cur.l]
	hd, half, T := n.hd, n.hd/2, n.n
	for t := lo; t < hi; t++ {
		row := n.qkv[t*n.qkvw : (t+1)*n.qkvw]
		p := int(n.pos[t])
		cos, sin := n.cos[p*half:(p+1)*half], n.sin[p*half:(p+1)*half]
		for h := range n.c.Heads {
			rotate(a.q[(h*T+t)*hd:(h*T+t+1)*hd], row[h*hd:(h+1)*hd], cos, sin)
		}
		for g := range n.c.KVHeads {
			rotate(a.k[(g*T+t)*hd:(g*T+t+1)*hd], row[n.qw+g*hd:n.qw+(g+1)*hd], cos, sin)
			copy(a.v[(g*T+t)*hd:(g*T+t+1)*hd], row[n.qw+n.kvw+g*hd:n.qw+n.kvw+(g+1)*hd])
		}
	}
}

// rotate sets dst to src rotated as the engine's llama RoPE does: pair i is
// (src[2i], src[2i+1]), turned by the angle whose cos and sin are cos[i]
// and sin[i].
func rotate(dst, src, cos, sin []float32) {
	for i := range cos {
		a, b := src[2*i], src[2*i+1]
		dst[2*i] = a*cos[i] - b*sin[i]
		dst[2*i+1] = a*sin[i] + b*cos[i]
	}
}

// swigluForward computes sig = σ(gate) and act = gate·sig·up for tokens
// [lo, hi) of layer cur.l.
func (n *Net) swigluForward(lo, hi int) {
	a := &n.acts[n.cur.l]
	ff := n.c.FFNDim
	for t := lo; t < hi; t++ {
		gu := a.gu[t*2*ff : (t+1)*2*ff]
		g, u := gu[:ff], gu[ff:]
		sig, act := a.sig[t*ff:(t+1)*ff], a.act[t*ff:(t+1)*ff]
		if n.engineArith {
			kernel.SwiGLU(act, g, u)
			continue
		}
		for i, x := range g {
			s := 1 / (1 + expf(-x))
			sig[i] = s
			act[i] = x * s * u[i]
		}
	}
}

// logSoftmax turns the logits of tokens [lo, hi) into probabilities and
// writes each token's target log probability, logit − log Σ exp(logits),
// to cur.out.
func (n *Net) logSoftmax(lo, hi int) {
	v := n.c.VocabSize
	for t := lo; t < hi; t++ {
		row := n.probs[t*v : (t+1)*v]
		lt := row[n.targets[t]]
		m := row[0]
		for _, x := range row {
			m = max(m, x)
		}
		sum := 0.0
		for i, x := range row {
			e := expf(x - m)
			row[i] = e
			sum += float64(e)
		}
		n.cur.out[t] = float32(float64(lt-m) - math.Log(sum))
		inv := float32(1 / sum)
		for i := range row {
			row[i] *= inv
		}
	}
}
