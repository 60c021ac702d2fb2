package grammar

import (
	"slices"
	"sync"
	"unsafe"
)

// Grammar is a compiled grammar over bytes. It is immutable and may be
// shared by any number of Matchers on any goroutines.
type Grammar struct {
	st     []state
	start  int32
	caches sync.Map // *Vocab -> *maskCache
}

// States returns the number of automaton states (a size measure).
func (g *Grammar) States() int { return len(g.st) }

// Matcher tracks one generation against a Grammar: which tokens may come
// next (Mask) and the tokens chosen (Accept). A Matcher is used by one
// goroutine; its steady state allocates nothing per token beyond the
// occasional growth of its scratch.
type Matcher struct {
	g      *Grammar
	v      *Vocab
	r      runner
	cur    []config // settled configurations after the accepted bytes
	accept bool     // the accepted bytes form a complete value
	ended  bool     // an end-of-generation token was accepted

	levels [][]config // Mask scratch: configurations at each trie depth
	flen   []int      // Mask scratch: frame arena length at each depth
	path   []byte     // Mask scratch: the trie path being walked
	tmp    []config
	key    []int32
	cache  *maskCache
}

// NewMatcher starts matching g from its beginning, masking over v.
func (g *Grammar) NewMatcher(v *Vocab) *Matcher {
	m := &Matcher{g: g, v: v, r: runner{st: g.st}}
	m.cur, m.accept = m.r.closure(nil, g.start, -1, 0)
	m.levels = make([][]config, v.depth+1)
	m.flen = make([]int, v.depth+1)
	m.path = make([]byte, v.depth+1)
	c, _ := g.caches.LoadOrStore(v, &maskCache{m: map[string]*ciMask{}})
	m.cache = c.(*maskCache)
	return m
}

// Complete reports whether the bytes accepted so far form a complete
// value (an end-of-generation token is allowed).
func (m *Matcher) Complete() bool { return m.accept }

// Done reports whether nothing but the end may follow: the value is
// complete and no byte can extend it, or the end was accepted.
func (m *Matcher) Done() bool { return m.ended || (m.accept && len(m.cur) == 0) }

// Mask sets bit id of allowed (len ≥ (vocab size+63)/64 words) for every
// token that may come next and clears the others.
//
// Most of the answer depends only on the automaton states, not on the
// return stacks: the tokens accepted without returning from the current
// rules. That part is computed once per set of states (a walk over the
// vocabulary trie from an unknown stack) and cached in the Grammar for
// every Matcher on the same Vocab; only the trie subtrees where a walk
// returned into the unknown context are walked again with the real stacks
// (XGrammar's split of context-independent and context-dependent tokens).
func (m *Matcher) Mask(allowed []uint64) {
	clear(allowed)
	if m.ended {
		return
	}
	if m.accept {
		for _, id := range m.v.eog {
			allowed[id/64] |= 1 << (id % 64)
		}
	}
	if len(m.cur) == 0 {
		return
	}
	base := len(m.r.frames)
	defer func() { m.r.frames = m.r.frames[:base] }()
	if m.inString() {
		for i, w := range m.v.strPlain {
			allowed[i] |= w
		}
		for _, id := range m.v.strCheck {
			if m.try(m.v.pieces[id]) {
				allowed[id/64] |= 1 << (id % 64)
			}
			m.r.frames = m.r.frames[:base]
		}
		return
	}
	ci := m.independent()
	for i, w := range ci.allowed {
		allowed[i] |= w
	}
	nodes := m.v.nodes
	for j, u := range ci.uncertain {
		path := ci.paths[j]
		m.levels[0] = append(m.levels[0][:0], m.cur...)
		m.flen[0] = base
		live := true
		for d, b := range path {
			m.r.frames = m.r.frames[:m.flen[d]]
			m.levels[d+1], _ = m.r.step(m.levels[d+1][:0], m.levels[d], b)
			m.flen[d+1] = len(m.r.frames)
			if len(m.levels[d+1]) == 0 {
				live = false
				break
			}
		}
		if live {
			m.walk(allowed, u, nodes[u].end, nil)
		}
	}
}

// ciMask is the context-independent part of a mask: the tokens allowed
// without returning from the current rules, and the trie nodes (with the
// bytes leading to their parents) below which a return happens.
type ciMask struct {
	allowed   []uint64
	uncertain []int32
	paths     [][]byte
}

// maskCache holds the ciMasks of one Grammar on one Vocab, by state set.
type maskCache struct {
	mu sync.Mutex // guards m
	m  map[string]*ciMask
}

// maxCached bounds the state sets cached per Grammar and Vocab.
const maxCached = 1 << 12

// independent returns the ciMask of the current states, computing and
// caching it on first use.
func (m *Matcher) independent() *ciMask {
	states := m.key[:0]
	for _, c := range m.cur {
		states = append(states, c.s)
	}
	slices.Sort(states)
	states = slices.Compact(states)
	m.key = states
	kb := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(states))), len(states)*4)
	m.cache.mu.Lock()
	ci := m.cache.m[string(kb)]
	m.cache.mu.Unlock()
	if ci != nil {
		return ci
	}
	ci = &ciMask{allowed: make([]uint64, (m.v.n+63)/64)}
	m.levels[0] = m.levels[0][:0]
	for _, s := range states {
		m.levels[0] = append(m.levels[0], config{s, unknownStack})
	}
	m.flen[0] = len(m.r.frames)
	m.walk(ci.allowed, 1, int32(len(m.v.nodes)), ci)
	m.cache.mu.Lock()
	if len(m.cache.m) < maxCached {
		m.cache.m[string(kb)] = ci
	}
	m.cache.mu.Unlock()
	return ci
}

// walk visits trie nodes [lo, hi) in preorder, a node's configurations
// coming from its parent's (m.levels[depth-1], still current) by its byte;
// an empty set skips the subtree. With ci set, the walk records where it
// returned into the unknown stack instead of following.
func (m *Matcher) walk(allowed []uint64, lo, hi int32, ci *ciMask) {
	nodes := m.v.nodes
	for i := lo; i < hi; {
		nd := &nodes[i]
		d := nd.depth
		m.r.frames = m.r.frames[:m.flen[d-1]]
		m.r.popUnknown = false
		lv, acc := m.r.step(m.levels[d][:0], m.levels[d-1], nd.b)
		m.levels[d] = lv
		m.path[d] = nd.b
		if ci != nil && m.r.popUnknown {
			ci.uncertain = append(ci.uncertain, i)
			ci.paths = append(ci.paths, slices.Clone(m.path[1:d]))
			i = nd.end
			continue
		}
		if len(lv) == 0 && !acc {
			i = nd.end
			continue
		}
		for _, id := range m.v.toks[nd.tok0:nd.tok1] {
			allowed[id/64] |= 1 << (id % 64)
		}
		if len(lv) == 0 {
			i = nd.end
			continue
		}
		m.flen[d] = len(m.r.frames)
		i++
	}
}

// inString reports whether every configuration is at the character
// boundary of an unconstrained string.
func (m *Matcher) inString() bool {
	for _, c := range m.cur {
		if !m.g.st[c.s].str {
			return false
		}
	}
	return true
}

// try reports whether p may follow the accepted bytes (without accepting
// it).
func (m *Matcher) try(p []byte) bool {
	cur := append(m.tmp[:0], m.cur...)
	next := m.levels[0][:0]
	acc := false
	for _, b := range p {
		next, acc = m.r.step(next[:0], cur, b)
		cur, next = next, cur
		if len(cur) == 0 {
			break
		}
	}
	m.tmp, m.levels[0] = cur[:0], next[:0]
	return len(cur) > 0 || acc
}

// Accept advances past token id and reports whether it was allowed; a
// refused token leaves the Matcher unchanged. An end-of-generation token
// is allowed exactly when the value is complete.
func (m *Matcher) Accept(id int32) bool {
	if m.ended || id < 0 || int(id) >= m.v.n {
		return false
	}
	for _, e := range m.v.eog {
		if e == id {
			if m.accept {
				m.ended = true
			}
			return m.accept
		}
	}
	p := m.v.pieces[id]
	if p == nil {
		return false
	}
	return m.AcceptBytes(p)
}

// AcceptBytes advances past p (which need not be one token) and reports
// whether it was allowed; refused bytes leave the Matcher unchanged.
func (m *Matcher) AcceptBytes(p []byte) bool {
	base := len(m.r.frames)
	cur := append([]config(nil), m.cur...)
	var next []config
	acc := m.accept
	for _, b := range p {
		next, acc = m.r.step(next[:0], cur, b)
		cur, next = next, cur
		if len(cur) == 0 && !acc {
			m.r.frames = m.r.frames[:base]
			return false
		}
	}
	m.cur = append(m.cur[:0], cur...)
	m.accept = acc
	m.compact()
	return true
}

// compact rebuilds the frame arena with only the frames the current
// configurations reach, once it has grown (popped frames stay behind).
func (m *Matcher) compact() {
	if len(m.r.frames) < 4096 {
		return
	}
	old := m.r.frames
	m.r.frames = make([]frame, 0, 256)
	moved := map[int32]int32{-1: -1}
	var move func(k int32) int32
	move = func(k int32) int32 {
		if n, ok := moved[k]; ok {
			return n
		}
		next := move(old[k].next)
		m.r.frames = append(m.r.frames, frame{old[k].ret, next})
		n := int32(len(m.r.frames) - 1)
		moved[k] = n
		return n
	}
	for i := range m.cur {
		m.cur[i].k = move(m.cur[i].k)
	}
}
