package testutil

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// TinyLlama describes a tiny random-weight model of GGUF architecture
// "llama" with a small SentencePiece vocabulary built here (TinySPMVocab).
// Every 2-D weight matrix (token_embd, output and the layer matrices) is
// stored in Type; the RMSNorm gains stay F32, as llama.cpp's converter and
// quantizer keep them. The embeddings are untied (output.weight is present).
//
// The weights are a pure function of Seed and the tensor name, so files that
// differ only in Type are quantizations of the same float32 weights, and
// WriteTo produces the same bytes on every platform: the random
// numbers come from integer arithmetic (splitmix64, a sum of 12 uniforms for
// a normal deviate) and every floating-point step rounds explicitly, so no
// fused multiply-add can change a bit; tensor.Quantize is written the same
// way. (Checked on amd64 only: the goldens in testdata/quant record the
// SHA-256 of the amd64 output.)
//
// Weight scales follow ../shared/testdata/golden/README.md: matrices
// N(0, 1/fan_in), ×1.2 on attn_q/attn_k and ×3 on output.weight; untied
// embeddings N(0, 1); RMSNorm gains 1 + N(0, 0.1²).
type TinyLlama struct {
	Type    tensor.DType // type of every 2-D weight matrix
	Seed    uint64
	Dim     int // llama.embedding_length
	Layers  int // llama.block_count
	FFN     int // llama.feed_forward_length
	Heads   int // llama.attention.head_count
	KVHeads int // llama.attention.head_count_kv
}

// QuantFixture returns the shape used for the per-weight-type fixtures
// (testdata/quant): d 256, 2 layers, 4 heads / 2 KV heads of 64, FFN 512, so
// every matrix row is a multiple of 256 values, as the K-quants need.
func QuantFixture(t tensor.DType) TinyLlama {
	return TinyLlama{Type: t, Seed: 20240601, Dim: 256, Layers: 2, FFN: 512, Heads: 4, KVHeads: 2}
}

// Name returns the fixture's file base name without extension,
// "tiny-llama-" followed by the lower-case type name ("tiny-llama-q4_k").
func (c TinyLlama) Name() string { return "tiny-llama-" + strings.ToLower(c.Type.String()) }

// WriteFile writes the model to path (see WriteTo).
func (c TinyLlama) WriteFile(path string) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("testutil: %w", err)
	}
	if _, err := c.WriteTo(fh); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// WriteTo writes the model as a GGUF v3 file to w and returns the number of
// bytes written. It fails if tensor.Quantize cannot produce c.Type or a row
// length is not a whole number of c.Type's blocks.
func (c TinyLlama) WriteTo(w io.Writer) (int64, error) {
	if c.Dim <= 0 || c.Layers <= 0 || c.FFN <= 0 || c.Heads <= 0 || c.KVHeads <= 0 ||
		c.Dim%c.Heads != 0 || c.Heads%c.KVHeads != 0 {
		return 0, fmt.Errorf("testutil: bad tiny llama shape %+v", c)
	}
	if !tensor.CanQuantize(c.Type) {
		return 0, fmt.Errorf("testutil: cannot quantize to %s", c.Type)
	}
	headDim := c.Dim / c.Heads
	kvDim := c.KVHeads * headDim
	tokens, scores, types := TinySPMVocab()
	vocab := len(tokens)

	gw := gguf.NewWriter()
	gw.AddKV("general.architecture", "llama")
	gw.AddKV("general.type", "model")
	gw.AddKV("general.name", c.Name())
	gw.AddKV("general.description", fmt.Sprintf("random weights (seed %d), test model written by sputnik internal/testutil TinyLlama", c.Seed))
	gw.AddKV("llama.vocab_size", uint32(vocab))
	gw.AddKV("llama.context_length", uint32(2048))
	gw.AddKV("llama.embedding_length", uint32(c.Dim))
	gw.AddKV("llama.block_count", uint32(c.Layers))
	gw.AddKV("llama.feed_forward_length", uint32(c.FFN))
	gw.AddKV("llama.attention.head_count", uint32(c.Heads))
	gw.AddKV("llama.attention.head_count_kv", uint32(c.KVHeads))
	gw.AddKV("llama.rope.freq_base", float32(10000))
	gw.AddKV("llama.rope.dimension_count", uint32(headDim))
	gw.AddKV("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	gw.AddKV("tokenizer.ggml.model", "llama")
	gw.AddKV("tokenizer.ggml.pre", "default")
	gw.AddKV("tokenizer.ggml.tokens", tokens)
	gw.AddKV("tokenizer.ggml.scores", scores)
	gw.AddKV("tokenizer.ggml.token_type", types)
	gw.AddKV("tokenizer.ggml.bos_token_id", uint32(1))
	gw.AddKV("tokenizer.ggml.eos_token_id", uint32(2))
	gw.AddKV("tokenizer.ggml.unknown_token_id", uint32(0))
	gw.AddKV("tokenizer.ggml.add_bos_token", true)
	gw.AddKV("tokenizer.ggml.add_eos_token", false)

	var err error
	// mat adds a [rows][cols] matrix of N(0, std²) values in c.Type.
	mat := func(name string, rows, cols int, std float64) {
		if err != nil {
			return
		}
		x := make([]float32, rows*cols)
		r := newTinyRand(c.Seed, name)
		for i := range x {
			x[i] = float32(r.normal() * std)
		}
		rb, e := tensor.RowBytes(c.Type, cols)
		if e != nil {
			err = fmt.Errorf("testutil: tensor %s: %w", name, e)
			return
		}
		data := make([]byte, rows*rb)
		for i := 0; i < rows; i++ {
			if e := tensor.Quantize(c.Type, data[i*rb:(i+1)*rb], x[i*cols:(i+1)*cols]); e != nil {
				err = fmt.Errorf("testutil: tensor %s: %w", name, e)
				return
			}
		}
		gw.AddTensor(name, c.Type, []uint64{uint64(cols), uint64(rows)}, data)
	}
	// gain adds an F32 RMSNorm gain vector 1 + N(0, 0.1²).
	gain := func(name string, n int) {
		r := newTinyRand(c.Seed, name)
		data := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			g := float32(1 + float64(r.normal()*0.1))
			putF32(data[4*i:], g)
		}
		gw.AddTensor(name, tensor.F32, []uint64{uint64(n)}, data)
	}

	d, ff := float64(c.Dim), float64(c.FFN)
	mat("token_embd.weight", vocab, c.Dim, 1)
	for l := 0; l < c.Layers; l++ {
		blk := func(s string) string { return fmt.Sprintf("blk.%d.%s", l, s) }
		gain(blk("attn_norm.weight"), c.Dim)
		mat(blk("attn_q.weight"), c.Dim, c.Dim, 1.2/math.Sqrt(d))
		mat(blk("attn_k.weight"), kvDim, c.Dim, 1.2/math.Sqrt(d))
		mat(blk("attn_v.weight"), kvDim, c.Dim, 1/math.Sqrt(d))
		mat(blk("attn_output.weight"), c.Dim, c.Dim, 1/math.Sqrt(d))
		gain(blk("ffn_norm.weight"), c.Dim)
		mat(blk("ffn_gate.weight"), c.FFN, c.Dim, 1/math.Sqrt(d))
		mat(blk("ffn_up.weight"), c.FFN, c.Dim, 1/math.Sqrt(d))
		mat(blk("ffn_down.weight"), c.Dim, c.FFN, 1/math.Sqrt(ff))
	}
	gain("output_norm.weight", c.Dim)
	mat("output.weight", vocab, c.Dim, 3/math.Sqrt(d))
	if err != nil {
		return 0, err
	}
	return gw.WriteTo(w)
}

func putF32(b []byte, f float32) {
	u := math.Float32bits(f)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

// tinyRand is splitmix64 seeded from a seed and a tensor name (FNV-1a), so
// each tensor's values depend on nothing else.
type tinyRand struct{ s uint64 }

func newTinyRand(seed uint64, name string) *tinyRand {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return &tinyRand{s: seed ^ h}
}

func (r *tinyRand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// normal returns an approximately standard normal deviate: the sum of 12
// uniform [0,1) values (24 bits each, summed exactly as integers) minus 6,
// which has mean 0 and variance 1 and lies in (-6, 6).
func (r *tinyRand) normal() float64 {
	var s uint64
	for i := 0; i < 12; i++ {
		s += r.next() >> 40
	}
	// Both operations are exact (a power-of-two scale of a 28-bit integer,
	// then a subtraction of numbers within 2^3 of each other at 2^-24
	// resolution), so the result does not depend on instruction selection.
	return float64(s)/(1<<24) - 6
}

// tinyCorpus supplies the words of TinySPMVocab: the default golden prompts
// (golden.mjs) and a short story, so that the prompts tokenize into pieces
// longer than one character.
const tinyCorpus = `Once upon a time there was a little girl named Lily. She loved to play
outside in the park with her friends. One day she saw a big red ball in the tree and wanted to
get it, but it was too high. The capital of France is Paris, and the capital of Germany is
Berlin. def fibonacci(n): if n < 2: return n return fibonacci(n - 1) + fibonacci(n - 2)
print the result of the function for every number from one to ten. Unicode facade Tokyo and
emoji numbers: 12345 + 678 = 13023. The quick brown fox jumps over the lazy dog while the
small cat sleeps in the warm sun. They went home happy and had dinner together.`

// TinySPMVocab returns a small SentencePiece ("llama") vocabulary as the
// parallel arrays tokenizer.ggml.tokens, .scores and .token_type: <unk> (0,
// type 2), <s> (1) and </s> (2) (type 3), the 256 byte tokens <0x00>…<0xFF>
// (type 6), then normal pieces (type 1) with strictly decreasing scores: "▁",
// runs of two to four "▁", every printable ASCII character, and every prefix
// of two or more characters of each word of a small built-in English text,
// with and without the "▁" word-start marker. The result is the same on every
// call (913 tokens).
func TinySPMVocab() (tokens []string, scores []float32, types []int32) {
	const (
		typeNormal  = 1
		typeUnknown = 2
		typeControl = 3
		typeByte    = 6
	)
	seen := map[string]bool{}
	add := func(s string, score float32, typ int32) {
		if seen[s] {
			return
		}
		seen[s] = true
		tokens = append(tokens, s)
		scores = append(scores, score)
		types = append(types, typ)
	}
	add("<unk>", 0, typeUnknown)
	add("<s>", 0, typeControl)
	add("</s>", 0, typeControl)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, typeByte)
	}
	piece := func(s string) { add(s, -float32(len(tokens)), typeNormal) }
	for i := 1; i <= 4; i++ {
		piece(strings.Repeat("▁", i))
	}
	for ch := byte('!'); ch <= '~'; ch++ {
		piece(string(ch))
	}
	prefixes := func(w string) {
		for n, i := 0, 0; i < len(w); n++ {
			_, sz := utf8.DecodeRuneInString(w[i:])
			i += sz
			if n >= 1 {
				piece(w[:i])
			}
		}
	}
	for _, w := range strings.FieldsFunc(tinyCorpus, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		prefixes("▁" + w)
		prefixes(w)
	}
	return tokens, scores, types
}
