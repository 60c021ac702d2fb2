package nn

import (
	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Linear is y = W·x (+ b): W is [out][in] in any supported weight type,
// B is [out] or nil.
type Linear struct {
	W tensor.Mat
	B []float32
}

// Forward computes y ([n][W.Rows]) from x ([n][W.Cols]).
func (l *Linear) Forward(y, x []float32, n int) {
	kernel.MatMul(y[:n*l.W.Rows], l.W, x[:n*l.W.Cols], n)
	if l.B != nil {
		out := l.W.Rows
		for t := range n {
			kernel.Add(y[t*out:(t+1)*out], y[t*out:(t+1)*out], l.B)
		}
	}
}

// RMSNorm normalizes each of the n rows of x ([n][len(w)]) into y:
// y = w ⊙ x / sqrt(mean(x²) + eps). y may alias x. Rows are split across
// threads when there are several.
func RMSNorm(y, x, w []float32, eps float32, n int) {
	runRows(&rowsJob{op: opNorm, y: y, x: x, w: w, eps: eps, d: len(w)}, n)
}

// FFN is the SwiGLU feed-forward block: Down · (silu(Gate·x) ⊙ (Up·x)).
type FFN struct {
	Gate, Up, Down tensor.Mat // [ff][d], [ff][d], [d][ff]
}

// Forward computes y ([n][d]) from x ([n][d]) using gate and up as scratch
// ([n][ff] each). y must not alias x.
func (f *FFN) Forward(y, x, gate, up []float32, n int) {
	ff := f.Gate.Rows
	kernel.MatMul(gate[:n*ff], f.Gate, x[:n*f.Gate.Cols], n)
	kernel.MatMul(up[:n*ff], f.Up, x[:n*f.Up.Cols], n)
	kernel.SwiGLU(gate[:n*ff], gate[:n*ff], up[:n*ff])
	kernel.MatMul(y[:n*f.Down.Rows], f.Down, gate[:n*ff], n)
}
