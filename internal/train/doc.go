// Package train trains the llama architecture that model/dense runs
// (Variant llama): the forward pass again, this time keeping what the
// backward pass needs, the backward pass itself, the AdamW optimizer,
// gradient-norm clipping and a cosine learning-rate schedule, and
// checkpoints as GGUF files that the engine loads unchanged (with the
// optimizer state in a small file beside them).
//
// Place in the layout: train imports model/nn (the engine's RoPE tables),
// model (the GGUF loader helpers), kernel (Gemm, the vector kernels),
// tensor, parallel and gguf. The SFT and GRPO loops, the task, the tokenizer and the CLI are
// its callers.
//
// # Main types
//
//   - Config: the hyperparameters, named after their GGUF keys.
//   - Params: every weight as a float32 tensor with its GGUF name and
//     row-major shape, in one fixed order; gradients and optimizer moments
//     are Params too.
//   - Net: the activation memory of one forward and backward pass over a
//     batch of sequences, reused every step. Forward writes per-token log
//     probabilities of the next token; Backward adds ∂(Σ dlogp·logp)/∂θ to
//     a gradient. A cross-entropy loss (SFT) and a policy-gradient loss
//     (GRPO) are both a choice of dlogp.
//   - AdamW, ClipGradNorm, Cosine: the update.
//
// # The network
//
// Exactly the engine's llama decoder: token embedding; per layer an
// attention RMSNorm, q/k/v projections without biases, rotary embeddings on
// adjacent pairs (x[2i], x[2i+1]) over the whole head with the engine's own
// angle tables (nn.Rope), causal grouped-query softmax attention scaled by
// 1/sqrt(head dim), the output projection and a residual; an FFN RMSNorm, a
// SwiGLU feed-forward network (down(silu(gate·x) ⊙ up·x)) and a residual;
// the final RMSNorm and an untied output head. Every sequence starts at
// position 0. The engine differs only in keeping keys, values, queries and
// attention probabilities at f16 precision in its KV cache; the test
// TestEngineLogProbs bounds the difference.
//
// # Arithmetic and determinism
//
// All matrix products go through kernel.Gemm, where every output element is
// one chain of fused multiply-adds in the order of the summed index (for
// weight gradients, the token order), fixed by the data.
// Every other reduction (norm-gain gradients, embedding gradients, the
// gradient norm) adds in an order fixed by the token index, never by the
// thread split: the same parameters and inputs give bit-identical results
// whatever parallel.Threads() is.
package train
