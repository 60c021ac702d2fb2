// Package nn holds the building blocks that architecture packages compose:
// linear layers with optional bias, RMSNorm over rows, rotary position
// embeddings (normal and NeoX pairing, frequency factors, YaRN), grouped-query
// attention over an f16 KV cache, and the SwiGLU feed-forward network.
//
// Activations are row-major float32 buffers; every function documents the
// shapes it expects. Numerics follow llama.cpp's CPU backend (f16 KV cache,
// queries and attention probabilities rounded to f16 for the products with
// it; weight-type-specific activation rounding inside kernel.MatMul) so that
// outputs can be compared with its goldens.
package nn
