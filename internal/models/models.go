// Package models opens a GGUF file and builds the network its
// general.architecture names: the one switch over architectures.
package models

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/model/deepseek2"
	"github.com/sputnik-llm/sputnik/internal/model/dense"
	"github.com/sputnik-llm/sputnik/internal/sysmem"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Supported lists the architectures Load accepts.
var Supported = []string{"llama", "qwen2", "qwen3", "deepseek2"}

// New builds the network of an open GGUF file. The model's weights alias
// f's mapping: f must stay open while the model is used.
func New(f *gguf.File) (model.Model, error) {
	m, err := build(f, Options{})
	if err != nil {
		return nil, err
	}
	return checked(m), nil
}

// build is New without the invariant checks.
func build(f *gguf.File, o Options) (model.Model, error) {
	arch := f.Architecture()
	if len(f.Tensors) == 0 {
		return nil, fmt.Errorf("models: %s has no tensors: it is a vocabulary-only GGUF, not a model", f.Path)
	}
	var (
		m   model.Model
		err error
	)
	switch arch {
	case "llama":
		m, err = dense.Load(f, dense.Llama)
	case "qwen2":
		m, err = dense.Load(f, dense.Qwen2)
	case "qwen3":
		m, err = dense.Load(f, dense.Qwen3)
	case "deepseek2":
		m, err = deepseek2.Load(f)
	case "":
		return nil, fmt.Errorf("models: %s has no general.architecture", f.Path)
	default:
		return nil, fmt.Errorf("models: architecture %q: %w (supported: %v)", arch, model.ErrUnsupportedArch, Supported)
	}
	if err != nil {
		return nil, fmt.Errorf("models: %s: %w", f.Path, err)
	}
	if budget, ok := interleaveBudget(f); ok {
		if _, err := InterleaveBudget(m, f, budget, o.Progress); err != nil {
			return nil, fmt.Errorf("models: %s: %w", f.Path, err)
		}
	}
	return m, nil
}

// matMulWeighted is a model whose MatMul-only matrices may be replaced
// (dense.Model.MatMulWeights, deepseek2.Model.MatMulWeights).
type matMulWeighted interface{ MatMulWeights() []*tensor.Mat }

// routedWeighted is a mixture-of-experts model that names the matrices of
// its routed experts among its MatMulWeights (deepseek2.Model.RoutedWeights):
// a token reads only those its router picks.
type routedWeighted interface{ RoutedWeights() []*tensor.Mat }

// Interleave is InterleaveBudget without a budget: every MatMul-only
// matrix of m is copied.
func Interleave(m model.Model, f *gguf.File, progress func(done, total int64)) (int64, error) {
	return InterleaveBudget(m, f, -1, progress)
}

// InterleaveBudget replaces MatMul-only matrices of m with copies in
// memory the process holds — in the interleaved layout the kernels read
// fastest where they have one (kernel.InterleaveInto), else the same
// bytes (only with f: row-major matrices still in f's data) — and returns
// the bytes copied. Results stay the same bits; decode
// and small batches get faster (README, Performance).
//
// budget < 0 copies every such matrix. budget ≥ 0 copies at most budget
// bytes, for a model larger than the memory it may use: the matrices every
// token reads, in the model's order, each one that still fits; never a
// routed expert, whose use the page cache follows better than a fixed
// choice could. The matrices copied are read from memory at every token,
// and the rest still from the file, so that a dense model whose file the
// OS cannot keep reads only that rest from disk per token instead of all
// of it (the page cache, least recently used first, keeps nothing of a
// file read cyclically end to end that is larger than it).
//
// With f (the file m was built from; nil in tests), the copies live in
// one sysmem.AllocHuge arena that f.Close releases — the model must not
// be used after it, as for f's own mapping — and the file's pages of each
// replaced matrix are let go (f.DontNeed); without f they are on the Go
// heap. progress, if not nil, is called after each matrix with the bytes
// copied so far and in all. It must run before m's first Forward, and
// fails only if the memory cannot be had.
func InterleaveBudget(m model.Model, f *gguf.File, budget int64, progress func(done, total int64)) (int64, error) {
	if u, ok := m.(interface{ Unwrap() model.Model }); ok {
		m = u.Unwrap() // the invariant checks' wrapper
	}
	mw, ok := m.(matMulWeighted)
	if !ok {
		return 0, nil
	}
	routed := map[*tensor.Mat]bool{}
	if rw, ok := m.(routedWeighted); ok && budget >= 0 {
		for _, w := range rw.RoutedWeights() {
			routed[w] = true
		}
	}
	// Each copy starts on a 4 KiB boundary of the arena, so that the
	// kernels' vectors are aligned as the layouts intend.
	const align = 4096
	size := func(w *tensor.Mat) int {
		n := len(w.Data)
		if kernel.CanInterleave(w.Type) {
			n = kernel.InterleavedBytes(*w)
		}
		return (n + align - 1) &^ (align - 1)
	}
	var todo []*tensor.Mat
	var total int
	for _, w := range mw.MatMulWeights() {
		if len(w.Data) == 0 || w.Layout != tensor.RowMajor || routed[w] {
			continue
		}
		if !kernel.CanInterleave(w.Type) && (f == nil || !f.Holds(w.Data)) {
			continue // already a copy (or, without f, nowhere better to put one)
		}
		if n := size(w); budget < 0 || int64(total+n) <= budget {
			todo = append(todo, w)
			total += n
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	var arena []byte
	if f != nil {
		a, free, err := sysmem.AllocHuge(total)
		if err != nil {
			return 0, fmt.Errorf("models: memory for the weights' copies: %w", err)
		}
		f.OnClose(free)
		arena = a
	} else {
		arena = make([]byte, total)
	}
	off, copied := 0, 0
	for _, w := range todo {
		old := w.Data
		n := size(w)
		dst := arena[off : off+n : off+n]
		if kernel.CanInterleave(w.Type) {
			copied += kernel.InterleavedBytes(*w)
			*w, _ = kernel.InterleaveInto(dst, *w)
		} else {
			w.Data = dst[:copy(dst, old):len(old)]
			copied += len(old)
		}
		off += n
		if f != nil {
			f.DontNeed(old)
		}
		if progress != nil {
			progress(int64(off), int64(total))
		}
	}
	return int64(copied), nil
}

// InterleaveEnv is the environment variable that overrides how much of a
// model is copied into memory at load (InterleaveBudget): "on" (all of
// it), "off" (none), a size such as "6G" or "512M" (a budget), or "auto"
// (the default): all of it when the file is at most 80% of the memory this
// process may use (sysmem.Limit), else a budget of half that memory. The
// copies are anonymous memory, which the OS cannot drop and read back as
// it can the file's pages, so the margin matters: the 1.0 GB Q4_0
// benchmark file under a 1,200 MiB cgroup limit decoded 32.6 tokens/s
// copied and 22.4 mapped with 128 MiB of other memory in use, but 2.96
// copied with 256 MiB in use (its embeddings and the rest then paged from
// disk at every token).
const InterleaveEnv = "SPUTNIK_INTERLEAVE"

// interleaveBudget returns the budget OpenWith gives InterleaveBudget for
// f (< 0: everything), and false when nothing is to be copied.
func interleaveBudget(f *gguf.File) (int64, bool) {
	switch v := os.Getenv(InterleaveEnv); v {
	case "on", "1":
		return -1, true
	case "off", "0":
		return 0, false
	case "", "auto":
	default:
		if n, err := parseSize(v); err == nil {
			return n, n > 0
		}
		// An unreadable value falls back to auto; Open has no channel for
		// warnings, and the choice only affects speed.
	}
	limit, _ := sysmem.Limit()
	if limit <= 0 || f.Size <= limit/5*4 {
		return -1, true
	}
	return limit / 2, true
}

// parseSize reads a byte count with an optional K, M, G or T suffix
// (powers of 1024, an optional trailing "B" or "iB").
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mul := int64(1)
	if n := len(t); n > 0 {
		if k := strings.IndexByte("KMGT", t[n-1]); k >= 0 {
			mul = 1 << (10 * (k + 1))
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v >= 0 && v*float64(mul) <= 1<<62) { // also NaN
		return 0, fmt.Errorf("models: %q is not a size", s)
	}
	return int64(v * float64(mul)), nil
}

// Options are OpenWith's choices beyond the path.
type Options struct {
	// Progress, if not nil, is called from the loading goroutine as the
	// weights are interleaved (Interleave): bytes done so far and in all.
	Progress func(done, total int64)
}

// Open opens the GGUF file at path and builds its network. The caller
// closes the returned file when done with the model.
func Open(path string) (model.Model, *gguf.File, error) { return OpenWith(path, Options{}) }

// OpenWith is Open with options.
func OpenWith(path string, o Options) (model.Model, *gguf.File, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := build(f, o)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if p, ok := m.(expertPrefetcher); ok && wantPrefetch(f) {
		p.SetExpertPrefetch(f.WillNeed)
	}
	return checked(m), f, nil
}

// expertPrefetcher is a mixture-of-experts model that can ask for its
// chosen experts' weights ahead (deepseek2.Model.SetExpertPrefetch).
type expertPrefetcher interface{ SetExpertPrefetch(willNeed func([]byte)) }

// PrefetchEnv is the environment variable that overrides when Open turns
// on expert read-ahead: "on", "off", or "auto" (the default: on when the
// file is larger than MemoryLimit).
const PrefetchEnv = "SPUTNIK_EXPERT_PREFETCH"

func wantPrefetch(f *gguf.File) bool {
	switch os.Getenv(PrefetchEnv) {
	case "on", "1":
		return true
	case "off", "0":
		return false
	}
	fits, _, _ := Fits(f)
	return !fits
}

// Fits reports whether the file f fits in the memory this process may use
// (sysmem.Limit: RAM or a cgroup limit), keeping a tenth of it for
// everything else. When it does not, the OS keeps only part of the weights
// in memory and reads the rest from disk as they are used. limit and
// source say what the limit is (0, "" if unknown, and then fits is true).
func Fits(f *gguf.File) (fits bool, limit int64, source string) {
	limit, source = sysmem.Limit()
	if limit <= 0 {
		return true, 0, ""
	}
	return f.Size <= limit-limit/10, limit, source
}

// IsR1 reports whether f holds a DeepSeek-R1-family model (R1 itself or a
// distill, or a model trained in R1's format such as the built-in r1-tiny),
// whose prompts open the <think> block and whose recommended sampling
// settings differ from greedy: its general.name (or file name) mentions
// "R1" together with DeepSeek, its chat template opens a <think> block for
// the assistant, or its chat template is Sputnik's own "deepseek-r1" one.
func IsR1(f *gguf.File) bool {
	name, _ := f.String("general.name")
	s := strings.ToLower(name + " " + filepath.Base(f.Path))
	if strings.Contains(s, "r1") && strings.Contains(s, "deepseek") {
		return true
	}
	tmpl, _ := f.String("tokenizer.chat_template")
	if builtin, err := chat.BuiltinSource("deepseek-r1"); err == nil && tmpl == builtin {
		return true
	}
	return strings.Contains(tmpl, "<think>")
}
