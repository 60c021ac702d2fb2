// Package rollout samples many completions of many prompts from one model
// at once: the G completions per prompt that GRPO scores against each other
// (DeepSeek-R1 §2.2.1, after DeepSeekMath's GRPO), and the answers an
// evaluation checks. Every step decodes all running sequences in one batch
// (model.Batch over a paged kvcache.Pool), and every token is drawn with
// the engine's own sampler (sample.Sampler), so a rollout samples exactly
// what `sputnik run` and the server would.
//
// A completion's tokens depend only on the model, its prompt, the sampling
// options and MemberSeed(Seed, prompt, member): the kernels are batch
// invariant (the same input gives the same logits whatever else is in the
// batch) and each completion has its own seeded sampler, so how many
// sequences run beside it, and in which order, changes nothing.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/sample"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// Options configures one Run.
type Options struct {
	// Group is the number of completions per prompt (GRPO's G), ≥ 1.
	Group int
	// MaxTokens is the most tokens generated per completion, the
	// end-of-generation token included, ≥ 1.
	MaxTokens int
	// Sample is the sampling configuration of every completion; its Seed
	// is ignored: completion (p, g) is seeded with MemberSeed(Seed, p, g).
	// The zero value is greedy, and then every member of a group is the
	// same.
	Sample sample.Options
	// Seed chooses the random draws of the whole run.
	Seed uint64
}

// Completion is one sampled continuation of a prompt.
type Completion struct {
	Prompt int // index of the prompt in Run's prompts
	Member int // index in the prompt's group, [0, Group)
	// Tokens are the generated ids, the end-of-generation token included
	// when StopReason is "eos". len(Tokens) ≤ MaxTokens.
	Tokens []int32
	// Text is the text of Tokens without the end-of-generation token, as
	// the engine streams it (invalid UTF-8 bytes become U+FFFD).
	Text string
	// StopReason is "eos" (the tokenizer's end-of-generation token was
	// sampled) or "length" (MaxTokens were generated).
	StopReason string
}

// Sampler runs rollouts on one model. It owns everything a rollout
// changes, allocated at New and reused by every Run: the KV pool (sized
// for maxSeqs sequences of capacity positions), the model's working
// state, the batch and the logits. A Sampler is used by one goroutine at a
// time; the model's weights may be shared with other goroutines (a
// trainer, another Sampler).
//
// The pool keeps the full KV blocks of prompts between Runs (prefix
// caching), so a prompt seen before is not computed again; SetModel
// forgets them.
type Sampler struct {
	m        model.Model
	tok      *tokenizer.Tokenizer
	info     model.Info
	capacity int

	pool   *kvcache.Pool
	drain  *kvcache.Seq // takes every block to evict the prefix cache (SetModel)
	st     model.State
	batch  model.Batch
	logits []float32 // [maxSeqs][VocabSize] one row per running sequence
	slots  []slot    // [maxSeqs]
	rows   []int     // [rows with logits] the slot of each logits row
	ids    []int32   // [rows with logits] the token sampled from each row
	draw   drawTask
	text   []byte // scratch: one completion's bytes, then (if not valid UTF-8) its repaired text
}

// slot is one running sequence.
type slot struct {
	seq     *kvcache.Seq
	hist    []int32 // [capacity] prompt, then the generated tokens (the penalties' history)
	out     int     // index of the completion it produces; -1 when free
	sampler *sample.Sampler
}

// New returns a Sampler for m and its tokenizer that decodes up to maxSeqs
// sequences together, each of up to capacity positions (prompt and
// completion; at most the model's context length when the model states
// one).
func New(m model.Model, tok *tokenizer.Tokenizer, maxSeqs, capacity int) (*Sampler, error) {
	info := m.Info()
	switch {
	case maxSeqs < 1:
		return nil, fmt.Errorf("rollout: %d sequences, want at least 1", maxSeqs)
	case capacity < 2:
		return nil, fmt.Errorf("rollout: capacity %d, want at least 2 positions", capacity)
	case info.ContextLength > 0 && capacity > info.ContextLength:
		return nil, fmt.Errorf("rollout: capacity %d is longer than the model's context %d", capacity, info.ContextLength)
	case tok == nil:
		return nil, errors.New("rollout: no tokenizer")
	case tok.VocabSize() > info.VocabSize:
		return nil, fmt.Errorf("rollout: the tokenizer has %d tokens, the model's vocabulary %d", tok.VocabSize(), info.VocabSize)
	}
	bt := kvcache.DefaultBlockTokens
	blocks := maxSeqs * ((capacity + bt - 1) / bt)
	pool, err := kvcache.NewPool(info.KVLayout, bt, blocks)
	if err != nil {
		return nil, fmt.Errorf("rollout: %w", err)
	}
	s := &Sampler{
		m: m, tok: tok, info: info, capacity: capacity,
		pool: pool, drain: pool.NewSeq(blocks * bt), st: m.NewState(capacity),
		logits: make([]float32, maxSeqs*info.VocabSize),
		slots:  make([]slot, maxSeqs),
		rows:   make([]int, 0, maxSeqs),
		ids:    make([]int32, maxSeqs),
	}
	s.draw.s = s
	for i := range s.slots {
		s.slots[i] = slot{seq: pool.NewSeq(capacity), hist: make([]int32, 0, capacity), out: -1}
	}
	return s, nil
}

// SetModel makes later Runs use m, a model of the same shape (the same
// vocabulary size and KV layout; GRPO's policy after a weight update),
// keeping the KV pool and buffers. The prefix cache is emptied: cached
// keys and values belong to the old weights. It allocates a new working
// state for m.
func (s *Sampler) SetModel(m model.Model) error {
	info := m.Info()
	if info.VocabSize != s.info.VocabSize || info.KVLayout != s.info.KVLayout {
		return fmt.Errorf("rollout: SetModel: vocabulary %d and KV layout %+v differ from the Sampler's %d and %+v",
			info.VocabSize, info.KVLayout, s.info.VocabSize, s.info.KVLayout)
	}
	s.m, s.info, s.st = m, info, m.NewState(s.capacity)
	// Taking every available block evicts (and unregisters) every cached
	// one; releasing them returns them to the free list.
	if err := s.drain.Reserve(s.pool.Available() * s.pool.BlockTokens()); err != nil {
		return fmt.Errorf("rollout: SetModel: emptying the prefix cache: %w", err)
	}
	s.drain.Release()
	return nil
}

// Capacity returns the most positions (prompt and completion) one sequence
// may hold.
func (s *Sampler) Capacity() int { return s.capacity }

// MemberSeed returns the sampler seed of member of prompt's group in a run
// with seed seed (a splitmix64 chain), so a caller can reproduce one
// completion alone, e.g. with engine.Generate.
func MemberSeed(seed uint64, prompt, member int) uint64 {
	return mix64(mix64(mix64(seed)+uint64(prompt)) + uint64(member))
}

// mix64 is splitmix64's finalizer (Steele, Lea and Flood, 2014), a
// bijection on 64-bit words that spreads every input bit.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Run samples o.Group completions of every prompt (token ids, used
// verbatim: BOS and chat template already applied) and returns them in
// order: completion p·Group+g is member g of prompt p. Each prompt must be
// non-empty, within the vocabulary, and leave room for MaxTokens:
// len(prompt) + MaxTokens ≤ Capacity().
//
// Up to maxSeqs sequences run at once; a finished one is replaced by the
// next waiting completion at the next step. The first member of a prompt
// computes the prompt; the others reuse its full KV blocks.
//
// Run checks ctx before every step (and the model between chunks of a
// long prefill) and returns ctx.Err() promptly when it is done. On any
// error it returns no completions; the Sampler stays usable.
//
// Allocations: the result (one token array for all completions, and each
// completion's text) and a sample.Sampler per completion; a decode step
// allocates nothing once the buffers have grown to the run's size.
func (s *Sampler) Run(ctx context.Context, prompts [][]int32, o Options) ([]Completion, error) {
	if err := s.validate(prompts, o); err != nil {
		return nil, err
	}
	defer s.releaseAll()
	total := len(prompts) * o.Group
	out := make([]Completion, total)
	toks := make([]int32, total*o.MaxTokens) // [completions][MaxTokens] backing of every Tokens
	for i := range out {
		lo := i * o.MaxTokens
		out[i] = Completion{Prompt: i / o.Group, Member: i % o.Group, Tokens: toks[lo:lo:(lo + o.MaxTokens)]}
	}
	// Admission state per prompt: the next member to start, and whether
	// the prompt's full blocks are in the prefix cache (a member has been
	// computed) or do not matter (the prompt is shorter than one block
	// plus a token).
	next := make([]int, len(prompts))
	warm := make([]bool, len(prompts))
	for p, pr := range prompts {
		warm[p] = len(pr) <= s.pool.BlockTokens()
	}
	first, done := 0, 0 // first prompt with members to start; completions finished
	for done < total {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		first = s.admit(prompts, o, next, warm, first)
		b := &s.batch
		b.Reset()
		s.rows = s.rows[:0]
		for i := range s.slots {
			sl := &s.slots[i]
			if sl.out < 0 {
				continue
			}
			from, to := sl.seq.Len(), len(sl.hist)
			for k := from; k < to; k++ {
				b.Add(sl.seq, sl.hist[k], k == to-1)
			}
			s.rows = append(s.rows, i)
		}
		if b.Len() == 0 {
			// Not reached: a waiting member's prompt has a member
			// running, or was computed.
			return nil, errors.New("rollout: no sequence to run with completions left (a scheduling bug)")
		}
		if err := s.m.Forward(ctx, s.st, b, s.logits); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("rollout: forward pass: %w", err)
		}
		// Each row's draw depends on its own sampler alone, so the rows
		// are sampled in parallel.
		parallel.Run(len(s.rows), &s.draw)
		for r, i := range s.rows {
			sl := &s.slots[i]
			c := &out[sl.out]
			if !warm[c.Prompt] {
				warm[c.Prompt] = true // its prompt's blocks were just computed
			}
			id := s.ids[r]
			c.Tokens = append(c.Tokens, id)
			sl.hist = append(sl.hist, id)
			switch {
			case s.tok.IsEOG(id):
				c.StopReason = "eos"
			case len(c.Tokens) >= o.MaxTokens:
				c.StopReason = "length"
			default:
				continue
			}
			c.Text = s.decode(c.Tokens)
			sl.seq.Release()
			sl.out, sl.sampler = -1, nil
			done++
		}
	}
	return out, nil
}

// drawTask samples the next token of every row of a step: s.ids[r] from
// logits row r with the sampler of slot s.rows[r].
type drawTask struct{ s *Sampler }

func (d *drawTask) Run(lo, hi int) {
	s, vocab := d.s, d.s.info.VocabSize
	for r := lo; r < hi; r++ {
		sl := &s.slots[s.rows[r]]
		s.ids[r] = sl.sampler.Sample(s.logits[r*vocab:(r+1)*vocab], sl.hist) // the sampler applies RepeatLastN
	}
}

// admit starts waiting completions in free slots, from prompt first on,
// and returns the first prompt that still has members to start. A member
// of a prompt not computed yet waits for the step that computes its first
// member, so that it reuses those KV blocks instead of computing them too.
func (s *Sampler) admit(prompts [][]int32, o Options, next []int, warm []bool, first int) int {
	for first < len(prompts) && next[first] == o.Group {
		first++
	}
	p := first
	for i := range s.slots {
		sl := &s.slots[i]
		if sl.out >= 0 {
			continue
		}
		for p < len(prompts) && (next[p] == o.Group || (!warm[p] && next[p] > 0)) {
			p++
		}
		if p == len(prompts) {
			break
		}
		g := next[p]
		next[p]++
		so := o.Sample
		so.Seed = MemberSeed(o.Seed, p, g)
		sl.out, sl.sampler = p*o.Group+g, sample.New(so)
		sl.hist = append(sl.hist[:0], prompts[p]...)
		sl.seq.AttachPrefix(sl.hist)
	}
	for first < len(prompts) && next[first] == o.Group {
		first++
	}
	return first
}

// validate checks a Run's arguments.
func (s *Sampler) validate(prompts [][]int32, o Options) error {
	switch {
	case o.Group < 1:
		return fmt.Errorf("rollout: group %d, want at least 1", o.Group)
	case o.MaxTokens < 1:
		return fmt.Errorf("rollout: max tokens %d, want at least 1", o.MaxTokens)
	}
	if err := o.Sample.Validate(); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	for p, pr := range prompts {
		if len(pr) == 0 {
			return fmt.Errorf("rollout: prompt %d is empty", p)
		}
		if len(pr)+o.MaxTokens > s.capacity {
			return fmt.Errorf("rollout: prompt %d has %d tokens; with %d to generate it needs %d positions, the Sampler holds %d",
				p, len(pr), o.MaxTokens, len(pr)+o.MaxTokens, s.capacity)
		}
		for k, id := range pr {
			if id < 0 || int(id) >= s.info.VocabSize {
				return fmt.Errorf("rollout: prompt %d token %d is %d, outside the vocabulary [0, %d)", p, k, id, s.info.VocabSize)
			}
		}
	}
	return nil
}

// releaseAll frees every slot (the end of a Run, or an error).
func (s *Sampler) releaseAll() {
	for i := range s.slots {
		sl := &s.slots[i]
		sl.seq.Release()
		sl.out, sl.sampler = -1, nil
	}
}

// decode returns the text of ids without a final end-of-generation token,
// as the engine's streaming decoder gives it: the tokens' bytes, each byte
// that does not belong to a valid UTF-8 sequence replaced by U+FFFD.
func (s *Sampler) decode(ids []int32) string {
	if n := len(ids); n > 0 && s.tok.IsEOG(ids[n-1]) {
		ids = ids[:n-1]
	}
	b := s.text[:0]
	for _, id := range ids {
		b = append(b, s.tok.Piece(id)...)
	}
	valid := len(b)
	if !utf8.Valid(b) {
		for i := 0; i < valid; {
			r, w := utf8.DecodeRune(b[i:valid])
			if r == utf8.RuneError && w == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, b[i:i+w]...)
			}
			i += w
		}
	}
	s.text = b
	if valid == len(b) {
		return string(b)
	}
	return string(b[valid:])
}

// Load builds a model and its tokenizer from a GGUF image in memory (no
// file is written): GRPO rebuilds its policy from the current weights this
// way. The model's weights may alias b, which must not change while the
// model is in use. An image that does not start at a 32-byte boundary (as
// a file mapping does, and F32 weights used in place need) is copied first.
func Load(b []byte) (model.Model, *tokenizer.Tokenizer, error) {
	if len(b) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b)))%32 != 0 {
		b = alignedCopy(b)
	}
	f, err := gguf.ParseBytes(b)
	if err != nil {
		return nil, nil, fmt.Errorf("rollout: load: %w", err)
	}
	m, err := models.New(f)
	if err != nil {
		return nil, nil, fmt.Errorf("rollout: load: %w", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, nil, fmt.Errorf("rollout: load: %w", err)
	}
	return m, tok, nil
}

// alignedCopy returns a copy of b that starts at a 32-byte boundary.
func alignedCopy(b []byte) []byte {
	buf := make([]byte, len(b)+31)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & 31)
	c := buf[off : off+len(b) : off+len(b)]
	copy(c, b)
	return c
}
