package train

import "fmt"

// Config holds a llama model's hyperparameters, named after the GGUF keys
// they are written to (llama.…). The head dim is Dim/Heads and the rotary
// embedding turns the whole head (rope.dimension_count = head dim).
type Config struct {
	VocabSize int     // llama.vocab_size (and the number of tokenizer.ggml.tokens)
	Dim       int     // llama.embedding_length
	Layers    int     // llama.block_count
	Heads     int     // llama.attention.head_count
	KVHeads   int     // llama.attention.head_count_kv
	FFNDim    int     // llama.feed_forward_length
	Context   int     // llama.context_length: the longest sequence Forward accepts
	RopeTheta float32 // llama.rope.freq_base
	NormEps   float32 // llama.attention.layer_norm_rms_epsilon
}

// HeadDim returns the width of one attention head, Dim/Heads.
func (c Config) HeadDim() int { return c.Dim / c.Heads }

// Validate reports whether c describes a model this package can build:
// positive sizes, Dim a multiple of Heads with an even head dim, Heads a
// multiple of KVHeads, and positive RopeTheta and NormEps.
func (c Config) Validate() error {
	switch {
	case c.VocabSize <= 0 || c.Dim <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.FFNDim <= 0 || c.Context <= 0:
		return fmt.Errorf("train: config %+v: every size must be positive", c)
	case c.Dim%c.Heads != 0 || (c.Dim/c.Heads)%2 != 0:
		return fmt.Errorf("train: config: dim %d is not %d heads of an even width", c.Dim, c.Heads)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("train: config: %d heads is not a multiple of %d KV heads", c.Heads, c.KVHeads)
	case !(c.RopeTheta > 0) || !(c.NormEps > 0):
		return fmt.Errorf("train: config: rope theta %v and norm eps %v must be positive", c.RopeTheta, c.NormEps)
	}
	return nil
}
