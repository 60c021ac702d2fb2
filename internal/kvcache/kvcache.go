// Package kvcache stores the attention keys and values of running
// sequences in a paged pool: fixed-size blocks of BlockTokens token
// positions, a block table per sequence, and blocks of identical prompt
// prefixes shared between sequences and kept after a sequence ends
// (reference-counted, evicted least recently used), as vLLM's automatic
// prefix caching does.
//
// Rows are f16, the layout llama.cpp's default f16 cache uses, so attention
// sees the same rounded keys and values. For multi-head attention a key row
// holds every KV head's vector ([nKVHeads][headDim]). For MLA (DeepSeek-V2/
// V3) the key row holds the compressed latent and the rotated rope key
// ([kvLoRARank + ropeDim]) and the value store is empty (ValueWidth 0): the
// latent doubles as the value.
//
// A Pool and its Seqs are owned by one goroutine (the engine loop); they are
// not safe for concurrent use. Models reach rows only through Seq.KeyRow,
// Seq.ValueRow, Seq.KeyPage and Seq.ValuePage.
package kvcache

import (
	"errors"
	"fmt"
	"slices"
)

// ErrContextFull is returned when a sequence would grow past its capacity.
var ErrContextFull = errors.New("kvcache: context is full")

// ErrPoolFull is returned when no free or evictable block is left.
var ErrPoolFull = errors.New("kvcache: no free KV blocks")

// DefaultBlockTokens is the number of token positions per block.
const DefaultBlockTokens = 16

// Layout is the per-token geometry of a model's cache.
type Layout struct {
	Layers     int // number of layers with a cache
	KeyWidth   int // f16 values per token per layer in the key store
	ValueWidth int // f16 values per token per layer in the value store (0 for MLA)
}

// BytesPerToken returns the cache bytes one token occupies over all layers.
func (l Layout) BytesPerToken() int { return 2 * l.Layers * (l.KeyWidth + l.ValueWidth) }

func (l Layout) valid() bool { return l.Layers > 0 && l.KeyWidth > 0 && l.ValueWidth >= 0 }

// Pool is a fixed set of KV blocks shared by many sequences.
type Pool struct {
	layout Layout
	bt     int        // token positions per block
	n      int        // blocks
	k, v   [][]uint16 // per layer: [n][bt][KeyWidth], [n][bt][ValueWidth] f16 bits

	ref  []int32 // [n] sequences holding each block
	free []int32 // blocks holding nothing (stack)

	// Prefix cache: full blocks indexed by the hash of their whole token
	// prefix. A block is registered when it fills; a registered block with
	// no references sits in the LRU list until it is reused or evicted.
	hash      []uint64 // [n] chain hash of the block's prefix (valid if registered)
	parent    []uint64 // [n] chain hash of the prefix before the block
	tokens    []int32  // [n][bt] the block's tokens (registered blocks)
	reg       []bool   // [n] registered in byHash
	byHash    map[uint64]int32
	prev, nxt []int32 // [n] LRU links of unreferenced registered blocks (-1: none)
	head      int32   // least recently released (evicted first)
	tail      int32
	cached    int // registered blocks with no reference (in the LRU list)
}

// NewPool allocates a pool of blocks blocks of blockTokens positions each.
func NewPool(l Layout, blockTokens, blocks int) (*Pool, error) {
	if !l.valid() || blockTokens <= 0 || blocks <= 0 {
		return nil, fmt.Errorf("kvcache: bad layout %+v, %d tokens per block or %d blocks", l, blockTokens, blocks)
	}
	p := &Pool{
		layout: l, bt: blockTokens, n: blocks,
		k: make([][]uint16, l.Layers), v: make([][]uint16, l.Layers),
		ref: make([]int32, blocks), free: make([]int32, blocks),
		hash: make([]uint64, blocks), parent: make([]uint64, blocks),
		tokens: make([]int32, blocks*blockTokens), reg: make([]bool, blocks),
		byHash: map[uint64]int32{},
		prev:   make([]int32, blocks), nxt: make([]int32, blocks), head: -1, tail: -1,
	}
	for i := range p.k {
		p.k[i] = make([]uint16, blocks*blockTokens*l.KeyWidth)
		if l.ValueWidth > 0 {
			p.v[i] = make([]uint16, blocks*blockTokens*l.ValueWidth)
		}
	}
	for i := range p.free {
		p.free[i] = int32(blocks - 1 - i) // pop order 0, 1, 2, …
	}
	return p, nil
}

// BlocksFor returns the blocks needed to hold tokens positions.
func (p *Pool) BlocksFor(tokens int) int { return (tokens + p.bt - 1) / p.bt }

// Layout returns the pool's geometry.
func (p *Pool) Layout() Layout { return p.layout }

// BlockTokens returns the token positions per block.
func (p *Pool) BlockTokens() int { return p.bt }

// Stats counts the pool's blocks.
type Stats struct {
	Blocks int // all blocks
	Used   int // blocks held by at least one sequence
	Cached int // unreferenced blocks kept for prefix reuse (evictable)
	Free   int // blocks holding nothing
}

// Stats returns the block counts.
func (p *Pool) Stats() Stats {
	return Stats{Blocks: p.n, Used: p.n - len(p.free) - p.cached, Cached: p.cached, Free: len(p.free)}
}

// Available returns how many blocks an allocation may take now: free blocks
// plus evictable cached ones.
func (p *Pool) Available() int { return len(p.free) + p.cached }

// alloc takes a free block, else evicts the least recently released cached
// block. The block comes back with one reference.
func (p *Pool) alloc() (int32, error) {
	var b int32
	switch {
	case len(p.free) > 0:
		b = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
	case p.head >= 0:
		b = p.head
		p.unlink(b)
		p.unregister(b)
	default:
		return -1, ErrPoolFull
	}
	p.ref[b] = 1
	return b, nil
}

// release drops one reference to b; an unreferenced block is cached when it
// is registered, else freed.
func (p *Pool) release(b int32) {
	p.ref[b]--
	switch {
	case p.ref[b] > 0:
	case p.reg[b]:
		p.pushLRU(b)
	default:
		p.free = append(p.free, b)
	}
}

// retain adds a reference to a registered block found in the prefix cache.
func (p *Pool) retain(b int32) {
	if p.ref[b] == 0 {
		p.unlink(b)
	}
	p.ref[b]++
}

func (p *Pool) pushLRU(b int32) {
	p.prev[b], p.nxt[b] = p.tail, -1
	if p.tail >= 0 {
		p.nxt[p.tail] = b
	} else {
		p.head = b
	}
	p.tail = b
	p.cached++
}

func (p *Pool) unlink(b int32) {
	if p.prev[b] >= 0 {
		p.nxt[p.prev[b]] = p.nxt[b]
	} else {
		p.head = p.nxt[b]
	}
	if p.nxt[b] >= 0 {
		p.prev[p.nxt[b]] = p.prev[b]
	} else {
		p.tail = p.prev[b]
	}
	p.prev[b], p.nxt[b] = -1, -1
	p.cached--
}

// register makes the full block b, holding toks after the prefix whose
// chain hash is parent, findable by later sequences. A block whose prefix
// is already cached elsewhere stays unregistered (the first copy wins).
func (p *Pool) register(b int32, parent uint64, toks []int32) uint64 {
	h := chainHash(parent, toks)
	if _, dup := p.byHash[h]; dup {
		return h
	}
	p.byHash[h] = b
	p.hash[b], p.parent[b], p.reg[b] = h, parent, true
	copy(p.tokens[int(b)*p.bt:], toks)
	return h
}

func (p *Pool) unregister(b int32) {
	if p.reg[b] {
		delete(p.byHash, p.hash[b])
		p.reg[b] = false
	}
}

// lookup returns the registered block that holds toks after the prefix with
// chain hash parent, or -1.
func (p *Pool) lookup(parent uint64, toks []int32) (int32, uint64) {
	h := chainHash(parent, toks)
	b, ok := p.byHash[h]
	if !ok || p.parent[b] != parent || !slices.Equal(p.tokens[int(b)*p.bt:int(b+1)*p.bt], toks) {
		return -1, h
	}
	return b, h
}

// chainHash extends the hash of a prefix by one block of tokens (FNV-1a
// over the parent hash and the token bytes).
func chainHash(parent uint64, toks []int32) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < 8; i++ {
		h = (h ^ (parent >> (8 * i) & 0xff)) * prime
	}
	for _, t := range toks {
		u := uint32(t)
		for i := 0; i < 4; i++ {
			h = (h ^ uint64(u>>(8*i)&0xff)) * prime
		}
	}
	return h
}

// Seq is the cache of one sequence: token positions [0, Len()) are filled.
type Seq struct {
	pool   *Pool
	cap    int
	n      int
	blocks []int32  // block table: position p lives in blocks[p/bt] at row p%bt
	toks   []int32  // [n] the tokens at each filled position
	hashes []uint64 // chain hash of each full block's prefix
	owned  bool     // the pool was made for this sequence alone (NewSeq)
}

// NewSeq returns a sequence over a private pool that holds exactly capacity
// positions, for one-sequence use (tests, benchmarks, the CLI).
func NewSeq(l Layout, capacity int) (*Seq, error) {
	if capacity <= 0 {
		return nil, fmt.Errorf("kvcache: capacity %d", capacity)
	}
	p, err := NewPool(l, DefaultBlockTokens, (capacity+DefaultBlockTokens-1)/DefaultBlockTokens)
	if err != nil {
		return nil, err
	}
	s := p.NewSeq(capacity)
	s.owned = true
	return s, nil
}

// NewSeq returns an empty sequence of up to capacity positions. It holds
// no blocks until Reserve or AttachPrefix.
func (p *Pool) NewSeq(capacity int) *Seq { return &Seq{pool: p, cap: capacity} }

// Layout returns the sequence's geometry.
func (s *Seq) Layout() Layout { return s.pool.layout }

// Pool returns the pool the sequence's blocks come from.
func (s *Seq) Pool() *Pool { return s.pool }

// Len returns the number of filled positions.
func (s *Seq) Len() int { return s.n }

// Cap returns the maximum number of positions.
func (s *Seq) Cap() int { return s.cap }

// Tokens returns the tokens at positions [0, Len()); the slice is owned by
// the sequence and valid until it changes.
func (s *Seq) Tokens() []int32 { return s.toks }

// Blocks returns the number of blocks the sequence holds.
func (s *Seq) Blocks() int { return len(s.blocks) }

// PageTokens returns the positions per page (block) of KeyPage/ValuePage.
func (s *Seq) PageTokens() int { return s.pool.bt }

// KeyRow returns layer's key row at position pos ([KeyWidth] f16 bits).
// pos must be below Len() plus what was reserved.
func (s *Seq) KeyRow(layer, pos int) []uint16 {
	p, w := s.pool, s.pool.layout.KeyWidth
	o := (int(s.blocks[pos/p.bt])*p.bt + pos%p.bt) * w
	return p.k[layer][o : o+w : o+w]
}

// ValueRow returns layer's value row at position pos ([ValueWidth] f16
// bits; empty when ValueWidth is 0).
func (s *Seq) ValueRow(layer, pos int) []uint16 {
	p, w := s.pool, s.pool.layout.ValueWidth
	o := (int(s.blocks[pos/p.bt])*p.bt + pos%p.bt) * w
	return p.v[layer][o : o+w : o+w]
}

// KeyPage returns layer's keys of page i, positions [i·PageTokens,
// (i+1)·PageTokens): [PageTokens][KeyWidth] f16 bits, contiguous. Rows past
// the filled and reserved positions hold stale data.
func (s *Seq) KeyPage(layer, i int) []uint16 {
	p, w := s.pool, s.pool.bt*s.pool.layout.KeyWidth
	o := int(s.blocks[i]) * w
	return p.k[layer][o : o+w : o+w]
}

// ValuePage is KeyPage for the value store ([PageTokens][ValueWidth]).
func (s *Seq) ValuePage(layer, i int) []uint16 {
	p, w := s.pool, s.pool.bt*s.pool.layout.ValueWidth
	o := int(s.blocks[i]) * w
	return p.v[layer][o : o+w : o+w]
}

// Reserve makes sure positions [Len(), Len()+n) have blocks, allocating
// (and, if needed, evicting cached blocks) as required. It fails with
// ErrContextFull past the capacity and ErrPoolFull when the pool has no
// block left; on failure nothing is allocated.
func (s *Seq) Reserve(n int) error {
	if s.n+n > s.cap {
		return fmt.Errorf("%w: %d positions used + %d new > %d", ErrContextFull, s.n, n, s.cap)
	}
	need := s.pool.BlocksFor(s.n+n) - len(s.blocks)
	if need <= 0 {
		return nil
	}
	if need > s.pool.Available() {
		return fmt.Errorf("%w: need %d more, %d free or evictable", ErrPoolFull, need, s.pool.Available())
	}
	for range need {
		b, err := s.pool.alloc()
		if err != nil {
			return err // unreachable: Available counted them
		}
		s.blocks = append(s.blocks, b)
	}
	return nil
}

// Append marks the next len(toks) positions as filled with the tokens
// toks. The caller has reserved them and written their rows in every
// layer. Blocks that become full are registered for prefix reuse.
func (s *Seq) Append(toks ...int32) {
	if s.n+len(toks) > len(s.blocks)*s.pool.bt {
		panic("kvcache: Append past the reserved blocks") // callers Reserve first
	}
	s.toks = append(s.toks, toks...)
	s.n += len(toks)
	bt := s.pool.bt
	for full := s.n / bt; len(s.hashes) < full; {
		i := len(s.hashes)
		parent := uint64(0)
		if i > 0 {
			parent = s.hashes[i-1]
		}
		s.hashes = append(s.hashes, s.pool.register(s.blocks[i], parent, s.toks[i*bt:(i+1)*bt]))
	}
}

// AttachPrefix extends the sequence with the cached blocks that hold the
// next whole blocks of prompt (whose first Len() tokens the sequence must
// already hold), keeping at least one prompt token to compute, and
// returns the number of positions added. It does nothing unless Len() is
// a whole number of blocks with no block reserved beyond it: at
// admission, or between prefill chunks, so that a prompt whose prefix
// another sequence has just computed need not compute it again.
func (s *Seq) AttachPrefix(prompt []int32) int {
	bt := s.pool.bt
	if s.n%bt != 0 || len(s.blocks) != s.n/bt || len(s.hashes) != s.n/bt {
		return 0
	}
	start := s.n
	parent := uint64(0)
	if len(s.hashes) > 0 {
		parent = s.hashes[len(s.hashes)-1]
	}
	for i := s.n / bt; (i+1)*bt < len(prompt) && (i+1)*bt <= s.cap; i++ {
		toks := prompt[i*bt : (i+1)*bt]
		b, h := s.pool.lookup(parent, toks)
		if b < 0 {
			break
		}
		s.pool.retain(b)
		s.blocks = append(s.blocks, b)
		s.hashes = append(s.hashes, h)
		s.toks = append(s.toks, toks...)
		s.n += bt
		parent = h
	}
	return s.n - start
}

// Truncate forgets every position at or after n (n ≤ Len()), e.g. to
// rewind to a shared prompt prefix. A partly kept block that other
// sequences share is copied first, so they never see the change.
func (s *Seq) Truncate(n int) error {
	if n < 0 || n > s.n {
		panic(fmt.Sprintf("kvcache: Truncate(%d) with Len %d", n, s.n))
	}
	p, bt := s.pool, s.pool.bt
	keep := p.BlocksFor(n)
	for _, b := range s.blocks[keep:] {
		p.release(b)
	}
	s.blocks = s.blocks[:keep]
	s.hashes = s.hashes[:min(len(s.hashes), n/bt)]
	if n%bt != 0 {
		// The last kept block will be written again: it must be ours alone
		// and no longer stand for its old full content.
		i := keep - 1
		b := s.blocks[i]
		if p.ref[b] == 1 {
			p.unregister(b)
		} else {
			nb, err := p.alloc()
			if err != nil {
				return err
			}
			p.copyBlock(nb, b, n%bt)
			p.release(b)
			s.blocks[i] = nb
		}
	}
	s.toks = s.toks[:n]
	s.n = n
	return nil
}

// copyBlock copies the first rows rows of block src to dst in every layer.
func (p *Pool) copyBlock(dst, src int32, rows int) {
	kw, vw := p.layout.KeyWidth, p.layout.ValueWidth
	for l := range p.k {
		copy(p.k[l][int(dst)*p.bt*kw:], p.k[l][int(src)*p.bt*kw:(int(src)*p.bt+rows)*kw])
		if vw > 0 {
			copy(p.v[l][int(dst)*p.bt*vw:], p.v[l][int(src)*p.bt*vw:(int(src)*p.bt+rows)*vw])
		}
	}
}

// Release gives every block back to the pool (full blocks stay cached for
// prefix reuse) and empties the sequence. The sequence may be reused.
func (s *Seq) Release() {
	// Release the last blocks first, so that the least recently used end
	// of the LRU list holds leaves, which are evicted before their parents.
	for i := len(s.blocks) - 1; i >= 0; i-- {
		s.pool.release(s.blocks[i])
	}
	s.blocks, s.hashes, s.toks = s.blocks[:0], s.hashes[:0], s.toks[:0]
	s.n = 0
}
