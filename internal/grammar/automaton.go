package grammar

// The compiled form of a grammar is a recursive transition network: a set
// of rules, each a small byte-level NFA whose states move on a byte range
// (edges), on nothing (eps), or into another rule (calls, which push the
// state to return to). A rule ends in its final state, which pops. A
// matcher's configuration is a state plus a return stack; stacks are
// persistent linked frames in an arena, so copying a configuration is
// copying two integers.

// state is one node of the network.
type state struct {
	edges []edge  // byte transitions
	eps   []int32 // transitions that consume nothing
	calls []call  // enter rule start, come back to ret
	final bool    // the rule ends here: pop
	// str marks the character boundary inside an unconstrained JSON string
	// (the stringBody construction): Vocab's fast path knows which tokens
	// keep such a state where it is.
	str bool
}

type edge struct {
	lo, hi byte
	to     int32
}

type call struct{ start, ret int32 }

// builder accumulates states.
type builder struct {
	states []state
}

// maxStates bounds a compiled grammar (unrolled repetitions and counted
// lengths grow it); beyond it compilation fails rather than eating memory.
const maxStates = 1 << 20

func (b *builder) add() int32 {
	b.states = append(b.states, state{})
	return int32(len(b.states) - 1)
}

func (b *builder) edge(from, to int32, lo, hi byte) {
	b.states[from].edges = append(b.states[from].edges, edge{lo, hi, to})
}

func (b *builder) eps(from, to int32) {
	b.states[from].eps = append(b.states[from].eps, to)
}

func (b *builder) call(from, start, ret int32) {
	b.states[from].calls = append(b.states[from].calls, call{start, ret})
}

// lit adds the chain of states matching s after from and returns its end.
func (b *builder) lit(from int32, s string) int32 {
	for i := 0; i < len(s); i++ {
		to := b.add()
		b.edge(from, to, s[i], s[i])
		from = to
	}
	return from
}

// config is a matcher configuration: a state and the arena index of the
// top return frame (-1: empty stack).
type config struct {
	s, k int32
}

// frame is one return address on a persistent stack.
type frame struct {
	ret, next int32
}

// maxClosureDepth bounds the nested calls and pops one closure follows;
// compiled grammars never come near it (left recursion is refused at
// compile time), so it only guards against a bug looping forever.
const maxClosureDepth = 512

// maxConfigs bounds the configurations a matcher tracks at once (an
// ambiguous anyOf multiplies them); beyond it the newest are dropped, which
// only narrows what may be generated.
const maxConfigs = 256

// runner steps configurations over a grammar; it holds the frame arena.
type runner struct {
	st     []state
	frames []frame
	seen   []config // states visited by the current closure
	// overflow is set when a closure went deeper than maxClosureDepth (a
	// left-recursive grammar; compilation checks for it).
	overflow bool
	// popUnknown is set when a closure popped the unknown stack (see
	// unknownStack): what follows depends on the context.
	popUnknown bool
}

// unknownStack stands for a stack that is not known: the walks that
// compute context-independent masks start from it, and popping it sets
// runner.popUnknown instead of continuing.
const unknownStack = -2

// closure adds to dst the settled configurations (states with byte edges)
// reachable from (s, k) without consuming input, and reports whether the
// whole grammar can end there (a final state with an empty stack).
func (r *runner) closure(dst []config, s, k int32, depth int) ([]config, bool) {
	if depth > maxClosureDepth {
		r.overflow = true
		return dst, false
	}
	if depth == 0 {
		r.seen = r.seen[:0]
	}
	for _, c := range r.seen {
		if c.s == s && sameStack(r.frames, c.k, k) {
			return dst, false
		}
	}
	r.seen = append(r.seen, config{s, k})
	st := &r.st[s]
	accept := false
	if len(st.edges) > 0 {
		dup := false
		for _, c := range dst {
			if c.s == s && sameStack(r.frames, c.k, k) {
				dup = true
				break
			}
		}
		if !dup && len(dst) < maxConfigs {
			dst = append(dst, config{s, k})
		}
	}
	var a bool
	for _, e := range st.eps {
		dst, a = r.closure(dst, e, k, depth+1)
		accept = accept || a
	}
	for _, c := range st.calls {
		r.frames = append(r.frames, frame{c.ret, k})
		dst, a = r.closure(dst, c.start, int32(len(r.frames)-1), depth+1)
		accept = accept || a
	}
	if st.final {
		switch {
		case k == unknownStack:
			r.popUnknown = true
		case k < 0:
			accept = true
		default:
			f := r.frames[k]
			dst, a = r.closure(dst, f.ret, f.next, depth+1)
			accept = accept || a
		}
	}
	return dst, accept
}

// sameStack reports whether stacks a and b hold the same return states.
func sameStack(frames []frame, a, b int32) bool {
	for a != b {
		if a < 0 || b < 0 || frames[a].ret != frames[b].ret {
			return false
		}
		a, b = frames[a].next, frames[b].next
	}
	return true
}

// step appends to dst the configurations src reaches on byte c and
// reports whether the grammar can end after it.
func (r *runner) step(dst, src []config, c byte) ([]config, bool) {
	accept := false
	for _, cf := range src {
		for _, e := range r.st[cf.s].edges {
			if e.lo <= c && c <= e.hi {
				var a bool
				dst, a = r.closure(dst, e.to, cf.k, 0)
				accept = accept || a
			}
		}
	}
	return dst, accept
}
