package train

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// AddTo adds p to a GGUF being written: general.architecture "llama", the
// llama.* hyperparameters of p.Config (vocab_size, context_length,
// embedding_length, block_count, feed_forward_length, attention.head_count,
// attention.head_count_kv, attention.layer_norm_rms_epsilon,
// rope.freq_base, rope.dimension_count = head dim) and general.file_type 0
// (all F32), then every tensor as F32 in Params order. The caller adds
// general.name and the tokenizer.* keys (whose token count must equal
// VocabSize). The tensors are read when w writes the file: p must not
// change until then.
func (p *Params) AddTo(w *gguf.Writer) {
	c := p.Config
	w.AddKV("general.architecture", "llama")
	w.AddKV("general.file_type", uint32(0))
	w.AddKV("llama.vocab_size", uint32(c.VocabSize))
	w.AddKV("llama.context_length", uint32(c.Context))
	w.AddKV("llama.embedding_length", uint32(c.Dim))
	w.AddKV("llama.block_count", uint32(c.Layers))
	w.AddKV("llama.feed_forward_length", uint32(c.FFNDim))
	w.AddKV("llama.attention.head_count", uint32(c.Heads))
	w.AddKV("llama.attention.head_count_kv", uint32(c.KVHeads))
	w.AddKV("llama.attention.layer_norm_rms_epsilon", c.NormEps)
	w.AddKV("llama.rope.freq_base", c.RopeTheta)
	w.AddKV("llama.rope.dimension_count", uint32(c.HeadDim()))
	for _, t := range p.Tensors {
		shape := make([]uint64, len(t.Shape)) // GGUF order: innermost first
		for i, d := range t.Shape {
			shape[len(shape)-1-i] = uint64(d)
		}
		w.AddTensorFunc(t.Name, tensor.F32, shape, func(dst io.Writer) error { return writeF32(dst, t.W) })
	}
}

// writeF32 writes x as little-endian float32 values.
func writeF32(dst io.Writer, x []float32) error {
	var buf [4096]byte
	for len(x) > 0 {
		n := min(len(x), len(buf)/4)
		for i, v := range x[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := dst.Write(buf[:4*n]); err != nil {
			return err
		}
		x = x[n:]
	}
	return nil
}

// LoadParams reads the weights of a llama GGUF with the layout AddTo
// writes: every tensor of Params present as F32 with its exact shape,
// untied output.weight, rotary embeddings over the whole head without
// scaling, and no tensors beyond those. The values are copied: f may be
// closed afterwards. Anything else (another architecture, quantized or
// missing tensors, rope scaling, a vocabulary that disagrees with
// llama.vocab_size) is an error naming the problem; sizes are checked
// against the file before anything is allocated.
func LoadParams(f *gguf.File) (*Params, error) {
	if a := f.Architecture(); a != "llama" {
		return nil, fmt.Errorf("train: architecture %q, want llama", a)
	}
	ld := model.NewLoader(f, "llama")
	c := Config{
		Dim:       ld.Int("embedding_length"),
		Layers:    ld.Int("block_count"),
		FFNDim:    ld.Int("feed_forward_length"),
		Heads:     ld.Int("attention.head_count"),
		Context:   ld.Int("context_length"),
		RopeTheta: ld.FloatOr("rope.freq_base", 10000),
		NormEps:   ld.FloatOr("attention.layer_norm_rms_epsilon", 1e-5),
	}
	c.KVHeads = ld.IntOr("attention.head_count_kv", c.Heads)
	ld.CheckBlocks(c.Layers, 9)
	c.VocabSize = model.VocabSize(ld)
	if n := ld.IntOr("vocab_size", c.VocabSize); ld.Err() == nil && n != c.VocabSize {
		ld.Failf("train: llama.vocab_size %d disagrees with %d tokenizer tokens", n, c.VocabSize)
	}
	if err := ld.Err(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if d := ld.IntOr("rope.dimension_count", c.HeadDim()); d != c.HeadDim() {
		return nil, fmt.Errorf("train: llama.rope.dimension_count %d: only rotation of the whole head (%d) is supported", d, c.HeadDim())
	}
	for _, k := range []string{"rope.scaling.type", "rope.scaling.factor", "rope.scale_linear", "attention.key_length", "attention.value_length"} {
		if f.Has("llama." + k) {
			return nil, fmt.Errorf("train: llama.%s is not supported", k)
		}
	}
	names, shapes := layout(c)
	infos := make([]*gguf.TensorInfo, len(names))
	for i, name := range names {
		t, ok := f.Tensor(name)
		if !ok {
			return nil, fmt.Errorf("train: missing tensor %s", name)
		}
		if t.Type != tensor.F32 {
			return nil, fmt.Errorf("train: tensor %s is %s, want F32", name, t.Type)
		}
		got := make([]int, len(t.Shape))
		for j, d := range t.Shape {
			got[len(got)-1-j] = int(min(d, math.MaxInt32))
		}
		if !slices.Equal(got, shapes[i]) {
			return nil, fmt.Errorf("train: tensor %s has shape %v, want %v (row-major)", name, got, shapes[i])
		}
		infos[i] = t
	}
	if len(f.Tensors) != len(names) {
		return nil, fmt.Errorf("train: the file has %d tensors, want %d for %d layers", len(f.Tensors), len(names), c.Layers)
	}
	p := newParams(c)
	for i, t := range p.Tensors {
		data := f.TensorData(infos[i])
		if len(data) != 4*len(t.W) {
			return nil, fmt.Errorf("train: tensor %s has %d bytes, want %d", t.Name, len(data), 4*len(t.W))
		}
		for j := range t.W {
			t.W[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*j:]))
		}
	}
	return p, nil
}
