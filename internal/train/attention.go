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
// Every product is a kernel.MatMul on float32 matrices. The query heads
// of one KV head run on one goroutine in head order, so their dK and dV
// contributions add in a fixed order.

// attnBuf is one goroutine's attention scratch.
//
// Key counts e and query counts are padded to multiples of 16 with zero
// probabilities (roundUp16): P and dS of a block are [rows][e16].
type attnBuf struct {
	kvT  []float32 // [hd][e16] transposed keys or values of a block's prefix
	o    []float32 // [attnBlock][hd] a block's output or its gradient
	dp   []float32 // [attnBlock][e16] dP, then dS
	tr   []float32 // [eMax][attnBlock] dSᵀ or Pᵀ
	rT   []float32 // [hd][attnBlock] Qᵀ or dOᵀ of a block
	tmp  []float32 // [eMax][hd] a block's dK or dV contribution
	drow []float32 // [attnBlock] D_i
}

func (n *Net) getAttnBuf() *attnBuf {
	n.attnMu.Lock()
	defer n.attnMu.Unlock()
	if k := len(n.attnFree); k > 0 {
		b := n.attnFree[k-1]
		n.attnFree = n.attnFree[:k-1]
		return b
	}
	hd, e := n.hd, roundUp16(n.eMax)
	return &attnBuf{
		kvT: make([]float32, hd*e), o: make([]float32, attnBlock*hd), dp: make([]float32, attnBlock*e),
		tr: make([]float32, e*attnBlock), rT: make([]float32, hd*attnBlock), tmp: make([]float32, e*hd),
		drow: make([]float32, attnBlock),
	}
}

func (n *Net) putAttnBuf(b *attnBuf) {
	n.attnMu.Lock()
	n.attnFree = append(n.attnFree, b)
	n.attnMu.Unlock()
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
		kPad := a.k[(g*T+sp.off)*hd:] // k and the rows after it
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
				e16 := roundUp16(e)
				p := pb[:nb*e16]
				pb = pb[nb*e16:]
				// scores against e16 keys (the rows past e belong to other
				// sequences or the padding; the mask drops them), causal softmax
				matMul(p, kPad, e16, hd, q[r0*hd:], nb)
				for j := range nb {
					row := p[j*e16 : (j+1)*e16]
					valid := r0 + j + 1
					softmax(row[:valid], n.scale)
					clear(row[valid:])
				}
				// O = P V
				transpose(buf.kvT, e16, v, e, hd, 0, hd, true)
				matMul(buf.o, buf.kvT, hd, e16, p, nb)
				for j := range nb {
					t := sp.off + r0 + j
					copy(a.att[t*n.qw+h*hd:t*n.qw+(h+1)*hd], buf.o[j*hd:(j+1)*hd])
				}
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
		vPad := a.v[(g*T+sp.off)*hd:]                    // v and the rows after it
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
				e16, nb16 := roundUp16(e), roundUp16(nb)
				p := pb[:nb*e16]
				pb = pb[nb*e16:]
				// dO of the block's rows, and D_i = dO_i · O_i
				do := buf.o[:nb*hd]
				for j := range nb {
					t := sp.off + r0 + j
					src := n.datt[t*n.qw+h*hd : t*n.qw+(h+1)*hd]
					copy(do[j*hd:(j+1)*hd], src)
					buf.drow[j] = kernel.Dot(src, a.att[t*n.qw+h*hd:t*n.qw+(h+1)*hd])
				}
				// dP = dO Vᵀ, then dS = P ⊙ (dP − D) · scale (0 where masked)
				ds := buf.dp[:nb*e16]
				matMul(ds, vPad, e16, hd, do, nb)
				for j := range nb {
					valid := r0 + j + 1
					prow, drow := p[j*e16:j*e16+valid], ds[j*e16:(j+1)*e16]
					dj := buf.drow[j]
					for c, pv := range prow {
						drow[c] = pv * (drow[c] - dj) * n.scale
					}
					clear(drow[valid:])
				}
				// dQ = dS K
				transpose(buf.kvT, e16, k, e, hd, 0, hd, true)
				matMul(dq[r0*hd:], buf.kvT, hd, e16, ds, nb)
				// dK += dSᵀ Q
				transpose(buf.tr, nb16, ds, nb, e16, 0, e, true)
				transpose(buf.rT, nb16, q[r0*hd:], nb, hd, 0, hd, true)
				matMul(buf.tmp, buf.rT, hd, nb16, buf.tr, e)
				kernel.Add(dk[:e*hd], dk[:e*hd], buf.tmp[:e*hd])
				// dV += Pᵀ dO
				transpose(buf.tr, nb16, p, nb, e16, 0, e, true)
				transpose(buf.rT, nb16, do, nb, hd, 0, hd, true)
				matMul(buf.tmp, buf.rT, hd, nb16, buf.tr, e)
				kernel.Add(dv[:e*hd], dv[:e*hd], buf.tmp[:e*hd])
			}
		}
	}
	n.putAttnBuf(buf)
}
