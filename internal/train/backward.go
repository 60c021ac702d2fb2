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
	linearInput(&n.gm, dx, dy, w, n.n, out, in)
}

// weightGrad adds dyᵀ·x to dw ([out][in]) for dy [n][out] and x [n][in].
func (n *Net) weightGrad(dw, dy, x []float32, out, in int) {
	linearWeight(&n.gm, dw, dy, x, n.n, out, in)
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
