// Package tokenizer turns text into model token ids and back, exactly as the
// model was trained: SentencePiece-style BPE over scores with <0xXX> byte
// fallback (GGUF tokenizer.ggml.model = "llama"), byte-level BPE over merges
// ("gpt2"), and WordPiece ("bert").
//
// It sits between the GGUF reader (internal/gguf, which supplies the
// tokenizer.ggml.* metadata) and the engine and server, which encode prompts
// and stream generated text. The behaviour follows llama.cpp's llama-vocab.cpp
// so that the ids equal the reference implementation's:
//
//   - Special-token partition: control, user-defined and unknown-type tokens
//     are cut out of the text before any pre-tokenization (user-defined ones
//     always, control/unknown ones only when EncodeOptions.ParseSpecial is set).
//   - Pre-tokenization (byte-level BPE only): the text between special tokens
//     is split by the ordered list of regular expressions registered for the
//     tokenizer.ggml.pre name (see preTypes); each expression splits every
//     piece of the previous step, keeping both matches and the text between
//     them. The common expressions run as hand-written scanners; the rest run
//     through github.com/dlclark/regexp2.
//   - BPE: merges by rank over the raw bytes of each piece (byte-level) or by
//     score over UTF-8 characters (SentencePiece). Merge lookups go through an
//     open-addressing table keyed by the pair of symbol ids; short pieces use
//     a quadratic rank-array loop, long ones a heap over a linked list; short
//     pieces' results are memoized in a bounded, sharded cache.
//
// Beyond the vectors of llama.cpp and Hugging Face, the ids were compared with
// llama.cpp (release v0.4.0, through node-llama-cpp) on ≈230 kB of English and
// ≈256 kB of CJK text for nine vocabularies, and agreed exactly (a one-off
// check: it needs node-llama-cpp, so it is not a test here). Known
// differences: special
// tokens are matched leftmost-longest (llama.cpp: longest token first over the
// whole text; they differ only when a longer special token overlaps a shorter
// one that starts earlier); Decode does not apply llama.cpp's
// clean_up_tokenization_spaces rules, so that Decode inverts Encode; invalid
// UTF-8 keeps its bytes (llama.cpp replaces each invalid byte by U+FFFD before
// byte-level BPE).
//
// Main types: Tokenizer (read-only after construction apart from its
// internal cache; safe for concurrent use), Spec (everything a Tokenizer is built from; FromGGUF and the hf
// subpackage fill it), StreamDecoder (UTF-8-safe incremental detokenizer).
package tokenizer
