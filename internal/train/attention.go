package train

import "github.com/sputnik-llm/sputnik/internal/kernel"

// Causal softmax attention per (sequence, KV head), in blocks of attnBlock
// queries. For a block of queries [r0, r1) of a sequence, against its keys
// [0, e) with e = r1:
//
//	S = scale · Q Kᵀ           [r1−r0][e], masked to key ≤ query
//	P = softmax(S) by rows     kept for Backward
//	O = P V                    [r1−r0][hd]
//
// and backward, with dO the gradient of O and D_i = Σ_d dO[i][d]·O[i][d]:
//
//	dP = dO Vᵀ,  dS = P ⊙ (dP − D) · scale
//	dQ = dS K,   dK += dSᵀ Q,   dV += Pᵀ dO
//
// Every product is a kernel.Gemm (run on the task's goroutine: the tasks
// are the parallel split). The query heads of one KV head run on one
// goroutine in head order, so their dK and dV contributions add in a
// fixed order.

// attnBuf is one goroutine's attention scratch.
type attnBuf struct {
	o    []float32 // [attnBlock][hd] a block's output or its gradient
	dp   []float32 // [attnBlock][eMax] dP, then dS
	drow []float32 // [attnBlock] D_i
	gm   kernel.GemmArgs
}

func (n *Net) getAttnBuf() *attnBuf {
	n.attnMu.Lock()
	defer n.attnMu.Unlock()
	if k := len(n.attnFree); k > 0 {
		b := n.attnFree[k-1]
		n.attnFree = n.attnFree[:k-1]
		return b
	}
	hd, e := n.hd, n.eMax
	return &attnBuf{o: make([]float32, attnBlock*hd), dp: make([]float32, attnBlock*e), drow: make([]float32, attnBlock)}
}

func (n *Net) putAttnBuf(b *attnBuf) {
	b.gm = kernel.GemmArgs{}
	n.attnMu.Lock()
	n.attnFree = append(n.attnFree, b)
	n.attnMu.Unlock()
}

// gemm runs buf.gm = args.
func (b *attnBuf) gemm(args kernel.GemmArgs) {
	b.gm = args
	kernel.Gemm(&b.gm)
}

// attnForward runs the (sequence, KV head) pairs [lo, hi) of layer cur.l:
// pair i is span i/KVHeads and KV head i%KVHeads.
func (n *Net) attnForward(lo, hi int) {
	a := &n.acts[n.cur.l]
	buf := n.getAttnBuf()
	hd, T := n.hd, n.n
	for i := lo; i < hi; i++ {
		sp, g := n.spans[i/n.c.KVHeads], i%n.c.KVHeads
		k := a.k[(g*T+sp.off)*hd : (g*T+sp.off+sp.n)*hd] // [sp.n][hd]
		v := a.v[(g*T+sp.off)*hd : (g*T+sp.off+sp.n)*hd]
		if n.engineArith {
			n.attnEngine(buf, sp, g, k, v)
			continue
		}
		for h := g * n.group; h < (g+1)*n.group; h++ {
			q := a.q[(h*T+sp.off)*hd : (h*T+sp.off+sp.n)*hd]
			pb := a.p[h*n.pHead+sp.pOff:]
			for r0 := 0; r0 < sp.n; r0 += attnBlock {
				r1 := min(r0+attnBlock, sp.n)
				nb, e := r1-r0, r1
				p := pb[:nb*e]
				pb = pb[nb*e:]
				// scores Q Kᵀ, causal softmax
				buf.gemm(kernel.GemmArgs{M: nb, N: e, K: hd, A: q[r0*hd:], LDA: hd, B: k, LDB: hd, TransB: true, C: p, LDC: e})
				for j := range nb {
					row := p[j*e : (j+1)*e]
					valid := r0 + j + 1
					softmax(row[:valid], n.scale)
					clear(row[valid:])
				}
				// O = P V, into the token-major output
				t := sp.off + r0
				buf.gemm(kernel.GemmArgs{M: nb, N: hd, K: e, A: p, LDA: e, B: v, LDB: hd, C: a.att[t*n.qw+h*hd:], LDC: n.qw})
			}
		}
	}
	n.putAttnBuf(buf)
}

// attnEngine is attnForward for one (span, KV head) in the engine's
// arithmetic (nn.Attention over an f16 cache): keys and values rounded to
// f16, each query rounded to f16, scores by kernel.DotsF16, probabilities
// by kernel.SoftmaxF16, outputs by kernel.WeightedSumF16. It allocates and
// is only used with engineArith.
func (n *Net) attnEngine(buf *attnBuf, sp span, g int, k, v []float32) {
	a := &n.acts[n.cur.l]
	hd, T := n.hd, n.n
	kh, vh := make([]uint16, len(k)), make([]uint16, len(v))
	kernel.ToF16(kh, k)
	kernel.ToF16(vh, v)
	qh, scores := make([]float32, hd), make([]float32, sp.n)
	for h := g * n.group; h < (g+1)*n.group; h++ {
		q := a.q[(h*T+sp.off)*hd : (h*T+sp.off+sp.n)*hd]
		for j := range sp.n {
			copy(qh, q[j*hd:(j+1)*hd])
			kernel.RoundF16(qh)
			s := scores[:j+1]
			kernel.DotsF16(s, qh, kh, hd, n.scale)
			kernel.SoftmaxF16(s)
			t := sp.off + j
			kernel.WeightedSumF16(a.att[t*n.qw+h*hd:t*n.qw+(h+1)*hd], s, vh, hd)
		}
	}
}

// softmax replaces x by softmax(scale·x).
func softmax(x []float32, scale float32) {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	var sum float32
	for i, v := range x {
		e := expf((v - m) * scale) // inlined
		x[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}

// attnBackward computes dq, dk and dv of the (sequence, KV head) pairs
// [lo, hi) of layer cur.l from datt.
func (n *Net) attnBackward(lo, hi int) {
	a := &n.acts[n.cur.l]
	buf := n.getAttnBuf()
	hd, T := n.hd, n.n
	for i := lo; i < hi; i++ {
		sp, g := n.spans[i/n.c.KVHeads], i%n.c.KVHeads
		k := a.k[(g*T+sp.off)*hd : (g*T+sp.off+sp.n)*hd] // [sp.n][hd]
		v := a.v[(g*T+sp.off)*hd : (g*T+sp.off+sp.n)*hd]
		dk := n.dk[(g*T+sp.off)*hd : (g*T+sp.off+sp.n)*hd]
		dv := n.dv[(g*T+sp.off)*hd : (g*T+sp.off+sp.n)*hd]
		clear(dk)
		clear(dv)
		for h := g * n.group; h < (g+1)*n.group; h++ {
			q := a.q[(h*T+sp.off)*hd : (h*T+sp.off+sp.n)*hd]
			dq := n.dq[(h*T+sp.off)*hd : (h*T+sp.off+sp.n)*hd]
			pb := a.p[h*n.pHead+sp.pOff:]
			for r0 := 0; r0 < sp.n; r0 += attnBlock {
				r1 := min(r0+attnBlock, sp.n)
				nb, e := r1-r0, r1
				p := pb[:nb*e]
				pb = pb[nb*e:]
				t0 := sp.off + r0
				datt := n.datt[t0*n.qw+h*hd:] // the block's dO rows, qw apart
				// D_i = dO_i · O_i
				for j := range nb {
					t := t0 + j
					buf.drow[j] = kernel.Dot(n.datt[t*n.qw+h*hd:t*n.qw+(h+1)*hd], a.att[t*n.qw+h*hd:t*n.qw+(h+1)*hd])
				}
				// dP = dO Vᵀ, then dS = P ⊙ (dP − D) · scale (0 where masked)
				ds := buf.dp[:nb*e]
				buf.gemm(kernel.GemmArgs{M: nb, N: e, K: hd, A: datt, LDA: n.qw, B: v, LDB: hd, TransB: true, C: ds, LDC: e})
				for j := range nb {
					valid := r0 + j + 1
					prow, drow := p[j*e:j*e+valid], ds[j*e:(j+1)*e]
					dj := buf.drow[j]
					for c, pv := range prow {
						drow[c] = pv * (drow[c] - dj) * n.scale
					}
					clear(drow[valid:])
				}
				// dQ = dS K
				buf.gemm(kernel.GemmArgs{M: nb, N: hd, K: e, A: ds, LDA: e, B: k, LDB: hd, C: dq[r0*hd:], LDC: hd})
				// dK += dSᵀ Q, dV += Pᵀ dO
				buf.gemm(kernel.GemmArgs{M: e, N: hd, K: nb, A: ds, LDA: e, TransA: true, B: q[r0*hd:], LDB: hd, C: dk, LDC: hd, Acc: true})
				buf.gemm(kernel.GemmArgs{M: e, N: hd, K: nb, A: p, LDA: e, TransA: true, B: datt, LDB: n.qw, C: dv, LDC: hd, Acc: true})
			}
		}
	}
	n.putAttnBuf(buf)
}
