package nn

import (
	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Chunk is a slice of a batch that one forward pass computes at once.
type Chunk struct {
	Tokens []int32        // [n]
	Pos    []int32        // [n] position of each token in its sequence
	Seqs   []*kvcache.Seq // [n]
	Want   []bool         // [n] rows whose logits are wanted
	Logits []float32      // [rows wanted][vocab] destination
}

// ScratchShape gives the widths of a dense decoder's activations.
type ScratchShape struct {
	Dim      int // hidden size
	Q        int // query width (heads × head dim)
	KV       int // key width (KV heads × head dim)
	V        int // value width (KV heads × value dim)
	Att      int // attention output width (heads × value dim)
	FFN      int // feed-forward width
	RopeDims int // rotated dims per head
	MaxBatch int // tokens per chunk
	Attn     *Attention
}

// Scratch is the per-model activation memory, reused by every forward pass
// (llama2.c's RunState). Buffers hold MaxBatch rows.
type Scratch struct {
	X, XB, XB2  []float32 // [MaxBatch][Dim] residual stream and normalized copies
	Q           []float32 // [MaxBatch][Q]
	K           []float32 // [MaxBatch][KV]
	V           []float32 // [MaxBatch][V]
	Att         []float32 // [MaxBatch][Att]
	Gate, Up    []float32 // [MaxBatch][FFN]
	Cos, Sin    []float32 // [MaxBatch][RopeDims/2]
	AttnScratch *AttnScratch
	shape       ScratchShape
	capacity    int
}

// NewScratch allocates activations for chunks of shape.MaxBatch tokens and
// attention over sequences of up to capacity positions.
func NewScratch(shape ScratchShape, capacity int) *Scratch {
	b := shape.MaxBatch
	return &Scratch{
		X: make([]float32, b*shape.Dim), XB: make([]float32, b*shape.Dim), XB2: make([]float32, b*shape.Dim),
		Q: make([]float32, b*shape.Q), K: make([]float32, b*shape.KV), V: make([]float32, b*shape.V),
		Att: make([]float32, b*shape.Att), Gate: make([]float32, b*shape.FFN), Up: make([]float32, b*shape.FFN),
		Cos: make([]float32, b*shape.RopeDims/2), Sin: make([]float32, b*shape.RopeDims/2),
		AttnScratch: shape.Attn.NewAttnScratch(capacity),
		shape:       shape, capacity: capacity,
	}
}

// Shape returns the activation widths the scratch was made for.
func (s *Scratch) Shape() ScratchShape { return s.shape }

// Capacity returns the longest sequence the scratch serves (model.State).
func (s *Scratch) Capacity() int { return s.capacity }

// RotateQK applies the rotary embedding to the n rows of s.Q
// ([n][nHeads][headDim]) and s.K ([n][nKVHeads][headDim]) using the tables
// in s.Cos and s.Sin.
func (s *Scratch) RotateQK(r *Rope, nHeads, nKVHeads, headDim, n int) {
	runRows(&rowsJob{op: opRope, s: s, r: r, nHeads: nHeads, nKVHeads: nKVHeads, headDim: headDim}, n)
}

// Head computes the logits of the chunk's wanted rows: the final RMSNorm of
// those rows of x ([n][Dim]) with weight norm, times output ([vocab][Dim]),
// into ch.Logits.
func (s *Scratch) Head(x, norm []float32, eps float32, output tensor.Mat, ch Chunk) {
	d := len(norm)
	k := 0
	for t, want := range ch.Want {
		if want {
			copy(s.XB[k*d:(k+1)*d], x[t*d:(t+1)*d])
			k++
		}
	}
	if k == 0 {
		return
	}
	RMSNorm(s.XB, s.XB, norm, eps, k)
	kernel.MatMul(ch.Logits[:k*output.Rows], output, s.XB[:k*d], k)
}

// Embed writes the embedding rows of tokens into x ([len(tokens)][emb.Cols]).
// Token ids must be in [0, emb.Rows).
func Embed(x []float32, emb tensor.Mat, tokens []int32) {
	d := emb.Cols
	for t, id := range tokens {
		if err := tensor.Dequantize(emb.Type, x[t*d:(t+1)*d], emb.Row(int(id))); err != nil {
			panic(err) // the loader checked the type
		}
	}
}

// AddRows adds y to x element-wise over the first n values (residual add).
// Long vectors are split across threads in pieces of addChunk values.
func AddRows(x, y []float32, n int) {
	runRows(&rowsJob{op: opAdd, x: x[:n], y: y[:n], d: addChunk}, n/addChunk)
	if r := n % addChunk; r > 0 {
		kernel.Add(x[n-r:n], x[n-r:n], y[n-r:n])
	}
}

// addChunk is the piece of a residual add that one work item takes.
const addChunk = 1024
