package train

import (
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/kernel"
)

// Backward adds to grad the gradient of Σ_k dlogp[k]·logp[k] with respect
// to every parameter, where logp is what the last Forward computed:
// dlogp has Forward's layout (LogProbs(seqs) values). For cross entropy
// averaged over the predicted tokens, dlogp[k] = −1/count; for a policy
// gradient, the per-token coefficient. grad's previous values are kept
// (gradients of several batches accumulate); its config must be the Net's.
// Backward must follow a Forward on this Net with the same parameter
// values, and may run once per Forward (it consumes the kept
// probabilities); it panics otherwise.
func (n *Net) Backward(dlogp []float32, grad *Params) {
	if !n.ready {
		panic("train: Backward without a Forward before it")
	}
	if grad.Config != n.c {
		panic(fmt.Sprintf("train: Backward: gradient config %+v, Net has %+v", grad.Config, n.c))
	}
	if len(dlogp) < n.n {
		panic(fmt.Sprintf("train: Backward: dlogp has %d values, the batch has %d", len(dlogp), n.n))
	}
	n.ready = false
	c, T := n.c, n.n
	d, ff, vocab := c.Dim, c.FFNDim, c.VocabSize
	if T == 0 {
		return
	}
	// log-softmax: dlogits = dlogp · (onehot(target) − probs), in place
	n.cur.out = dlogp
	n.run(T, (*Net).logSoftmaxBackward)
	// output head
	n.weightGrad(grad.Output.W, n.probs, n.hf, vocab, d)
	n.inputGrad(n.dh, n.probs, n.p.Output.W, vocab, d)
	// final rmsnorm
	clear(n.dx[:T*d])
	n.rmsNormBackward(n.dx, n.dh, n.xf, n.rsf, n.p.OutNorm.W, grad.OutNorm.W)
	for l := c.Layers - 1; l >= 0; l-- {
		a, b, gb := &n.acts[l], &n.p.Blocks[l], &grad.Blocks[l]
		n.cur.l = l
		// SwiGLU feed-forward network
		n.weightGrad(gb.Down.W, n.dx, a.act, d, ff)
		n.inputGrad(n.dact, n.dx, b.Down.W, d, ff)
		n.run(T, (*Net).swigluBackward)
		n.weightGrad(grad.joint(gb.Gate, gb.Up), n.dgu, a.h2, 2*ff, d)
		n.inputGrad(n.dh, n.dgu, n.p.joint(b.Gate, b.Up), 2*ff, d)
		n.rmsNormBackward(n.dx, n.dh, a.xm, a.rs2, b.FFNNorm.W, gb.FFNNorm.W)
		// attention
		n.weightGrad(gb.O.W, n.dx, a.att, d, n.qw)
		n.inputGrad(n.datt, n.dx, b.O.W, d, n.qw)
		n.cur.l = l
		n.run(len(n.spans)*c.KVHeads, (*Net).attnBackward)
		n.run(T, (*Net).ropeGather)
		n.weightGrad(grad.joint(gb.Q, gb.V), n.qkv, a.h1, n.qkvw, d)
		n.inputGrad(n.dh, n.qkv, n.p.joint(b.Q, b.V), n.qkvw, d)
		n.rmsNormBackward(n.dx, n.dh, a.x, a.rs1, b.AttnNorm.W, gb.AttnNorm.W)
	}
	// token embedding: rows add in token order
	e := grad.Embd.W
	for t := range T {
		id := int(n.tokens[t])
		kernel.Axpy(e[id*d:(id+1)*d], 1, n.dx[t*d:(t+1)*d])
	}
	n.cur = args{}
}

// logSoftmaxBackward turns the probabilities of tokens [lo, hi) into the
// gradient of the logits: dlogp·(onehot(target) − p).
func (n *Net) logSoftmaxBackward(lo, hi int) {
	v := n.c.VocabSize
	for t := lo; t < hi; t++ {
		row := n.probs[t*v : (t+1)*v]
		g := n.cur.out[t]
		for i, p := range row {
			row[i] = -g * p
		}
		row[n.targets[t]] += g
	}
}

// inputGrad sets dx ([n][in]) = dy ([n][out]) · w for w [out][in].
func (n *Net) inputGrad(dx, dy, w []float32, out, in int) {
	n.cur.y, n.cur.x, n.cur.rows, n.cur.cols, n.cur.ld = n.wT, w, out, in, out
	n.run((in+7)/8, (*Net).transposeStrips)
	n.matMulTokens(dx, n.wT, in, out, dy)
}

// transposeStrips transposes the source columns [8·lo, 8·hi) of cur.x
// ([rows][cols]) into cur.y ([cols][ld]).
func (n *Net) transposeStrips(lo, hi int) {
	transpose(n.cur.y, n.cur.ld, n.cur.x, n.cur.rows, n.cur.cols, lo*8, min(hi*8, n.cur.cols), false)
}

// matMulTokens is matMul over the batch's tokens, split across the pool by
// runs of 64 tokens (one dispatch; each run multiplies on its own
// goroutine). Each output is the same dot product either way.
func (n *Net) matMulTokens(out, w []float32, rows, cols int, x []float32) {
	n.cur.out, n.cur.w, n.cur.x, n.cur.rows, n.cur.cols = out, w, x, rows, cols
	n.run((n.n+63)/64, (*Net).matMulRuns)
}

func (n *Net) matMulRuns(lo, hi int) {
	t0, t1 := lo*64, min(hi*64, n.n)
	c := &n.cur
	matMul(c.out[t0*c.rows:], c.w, c.rows, c.cols, c.x[t0*c.cols:], t1-t0)
}

// weightGrad adds dyᵀ·x to dw ([out][in]) for dy [n][out] and x [n][in].
// The tokens are cut into blocks of gradBlock; each block's product is
// one dot product over the block per element (kernel.MatMul on the
// transposed, zero-padded blocks), and the blocks' products are added to
// dw in block order, so the sums are fixed by the data.
func (n *Net) weightGrad(dw, dy, x []float32, out, in int) {
	blocks := (n.n + gradBlock - 1) / gradBlock
	c := &n.cur
	c.out, c.y, c.x, c.rows, c.cols = dw, dy, x, out, in
	// transpose the blocks of x ([nb][in] → [in][nb16]) and of dy
	c.strips = (in + 63) / 64
	n.run(blocks*(c.strips+(out+63)/64), (*Net).gradTransposes)
	// one product per block and 64 rows of dw
	c.strips = (out + 63) / 64
	n.run(blocks*c.strips, (*Net).gradProducts)
	// dw += Σ_blocks, in block order
	n.run((out*in+addChunk-1)/addChunk, (*Net).gradSum)
}

// gradBlockSpan returns block b's first token, its token count and its
// padded width.
func (n *Net) gradBlockSpan(b int) (t0, nb, nb16 int) {
	t0 = b * gradBlock
	nb = min(gradBlock, n.n-t0)
	return t0, nb, roundUp16(nb)
}

// gradTransposes runs weightGrad's transposes [lo, hi): for each block,
// cur.strips tasks over 64 columns of x, then tasks over 64 columns of dy.
func (n *Net) gradTransposes(lo, hi int) {
	c := &n.cur
	out, in := c.rows, c.cols
	per := c.strips + (out+63)/64
	for i := lo; i < hi; i++ {
		b, s := i/per, i%per
		t0, nb, nb16 := n.gradBlockSpan(b)
		if s < c.strips {
			transpose(n.xT[t0*in:], nb16, c.x[t0*in:], nb, in, s*64, min(s*64+64, in), true)
		} else {
			s -= c.strips
			transpose(n.dyT[t0*out:], nb16, c.y[t0*out:], nb, out, s*64, min(s*64+64, out), true)
		}
	}
}

// gradProducts computes block products [lo, hi): task i is block
// i/cur.strips and the 64 rows of dw from (i%cur.strips)·64, written to
// that block's slice of n.dw.
func (n *Net) gradProducts(lo, hi int) {
	c := &n.cur
	out, in := c.rows, c.cols
	for i := lo; i < hi; i++ {
		b, s := i/c.strips, i%c.strips
		t0, _, nb16 := n.gradBlockSpan(b)
		r0, r1 := s*64, min(s*64+64, out)
		xT := n.xT[t0*in:]    // [in][nb16]
		dyT := n.dyT[t0*out:] // [out][nb16]
		matMul(n.dw[b*out*in+r0*in:], xT, in, nb16, dyT[r0*nb16:], r1-r0)
	}
}

// addChunk is the number of values one work item of gradSum adds.
const addChunk = 4096

// gradSum adds the blocks' products to cur.out for the chunks [lo, hi) of
// addChunk values, block after block.
func (n *Net) gradSum(lo, hi int) {
	c := &n.cur
	size := c.rows * c.cols
	a, e := lo*addChunk, min(hi*addChunk, size)
	for b := range (n.n + gradBlock - 1) / gradBlock {
		kernel.Add(c.out[a:e], c.out[a:e], n.dw[b*size+a:b*size+e])
	}
}

// rmsNormBackward adds to dx the gradient through y = x·s·w (s the kept
// 1/rms) given dy, and adds the gain gradient Σ_t dy·x·s to dw:
//
//	dx_j += s·w_j·dy_j − (s³/Dim)·x_j·Σ_i dy_i·w_i·x_i
//
// The gain gradient is summed per normBlock tokens, then over the blocks in
// order.
func (n *Net) rmsNormBackward(dx, dy, x, rs, w, dw []float32) {
	n.cur.out, n.cur.y, n.cur.x, n.cur.rs, n.cur.w = dx, dy, x, rs, w
	blocks := (n.n + normBlock - 1) / normBlock
	n.run(blocks, (*Net).rmsNormBackwardBlocks)
	d := n.c.Dim
	for b := range blocks {
		kernel.Add(dw, dw, n.part[b*d:(b+1)*d])
	}
}

func (n *Net) rmsNormBackwardBlocks(lo, hi int) {
	d := n.c.Dim
	dx, dy, x, rs, w := n.cur.out, n.cur.y, n.cur.x, n.cur.rs, n.cur.w
	for b := lo; b < hi; b++ {
		part := n.part[b*d : (b+1)*d]
		clear(part)
		for t := b * normBlock; t < min((b+1)*normBlock, n.n); t++ {
			xt, dyt, dxt := x[t*d:(t+1)*d], dy[t*d:(t+1)*d], dx[t*d:(t+1)*d]
			s := rs[t]
			var dot float32
			for i, g := range dyt {
				dot += g * w[i] * xt[i]
				part[i] += g * xt[i] * s
			}
			k := s * s * s / float32(d) * dot
			for i, g := range dyt {
				dxt[i] += s*w[i]*g - k*xt[i]
			}
		}
	}
}

// swigluBackward computes dgu (the gradients of the gate and up
// projections) of tokens [lo, hi) of layer cur.l from dact:
// act = g·σ(g)·u, so ∂/∂u = g·σ(g) and ∂/∂g = u·σ(g)·(1 + g·(1 − σ(g))).
func (n *Net) swigluBackward(lo, hi int) {
	a := &n.acts[n.cur.l]
	ff := n.c.FFNDim
	for t := lo; t < hi; t++ {
		gu, dgu := a.gu[t*2*ff:(t+1)*2*ff], n.dgu[t*2*ff:(t+1)*2*ff]
		g, u := gu[:ff], gu[ff:]
		dg, du := dgu[:ff], dgu[ff:]
		sig, da := a.sig[t*ff:(t+1)*ff], n.dact[t*ff:(t+1)*ff]
		for i, x := range g {
			s := sig[i]
			du[i] = da[i] * x * s
			dg[i] = da[i] * u[i] * s * (1 + x*(1-s))
		}
	}
}

// ropeGather writes the gradients of tokens [lo, hi) with respect to the
// q, k and v projections into n.qkv (token-major), undoing the rotation
// of dq and dk (the transpose of a rotation turns by the opposite angle).
func (n *Net) ropeGather(lo, hi int) {
	hd, half, T := n.hd, n.hd/2, n.n
	for t := lo; t < hi; t++ {
		row := n.qkv[t*n.qkvw : (t+1)*n.qkvw]
		p := int(n.pos[t])
		cos, sin := n.cos[p*half:(p+1)*half], n.sin[p*half:(p+1)*half]
		for h := range n.c.Heads {
			unrotate(row[h*hd:(h+1)*hd], n.dq[(h*T+t)*hd:(h*T+t+1)*hd], cos, sin)
		}
		for g := range n.c.KVHeads {
			unrotate(row[n.qw+g*hd:n.qw+(g+1)*hd], n.dk[(g*T+t)*hd:(g*T+t+1)*hd], cos, sin)
			copy(row[n.qw+n.kvw+g*hd:n.qw+n.kvw+(g+1)*hd], n.dv[(g*T+t)*hd:(g*T+t+1)*hd])
		}
	}
}

// unrotate sets dst to the gradient with respect to rotate's src given the
// gradient src of its dst.
func unrotate(dst, src, cos, sin []float32) {
	for i := range cos {
		a, b := src[2*i], src[2*i+1]
		dst[2*i] = a*cos[i] + b*sin[i]
		dst[2*i+1] = b*cos[i] - a*sin[i]
	}
}
