// Package sample turns a row of logits into the next token id.
//
// It sits between the model (which produces logits, one float32 per vocabulary
// entry) and the engine or command that drives generation. Its parts:
//
//   - Options and Sampler: the llama.cpp sampler chain — penalties, top-k,
//     top-p, min-p, temperature, then a seeded draw — with greedy decoding as
//     the zero value. A Sampler reuses its buffers, so after the first call for
//     a vocabulary size Sample does not allocate.
//   - LogSoftmax and TopLogprobs: natural-log probabilities of the raw logits,
//     as reported by `sputnik generate --top-logprobs`.
//   - StopMatcher: finds stop strings in streamed text, holding back only what
//     could still turn into one.
//   - R1Defaults: the settings DeepSeek recommends for the R1 family.
//
// The package imports only the standard library and never logs.
package sample
