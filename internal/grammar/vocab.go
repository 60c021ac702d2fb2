package grammar

import (
	"bytes"
	"slices"
)

// Vocab is a tokenizer's vocabulary prepared for masking, built once per
// tokenizer and shared (read-only) by every Matcher: a byte trie of the
// token pieces in preorder, so that one walk with pruning finds every
// token the grammar allows (XGrammar's and llguidance's idea), and the
// tables of the unconstrained-string fast path.
type Vocab struct {
	n      int
	pieces [][]byte // by id; nil for tokens that never match text
	eog    []int32
	nodes  []tnode // preorder; nodes[0] is the root
	toks   []int32 // ids ending at a node: toks[nodes[i].tok0:nodes[i].tok1]
	depth  int     // deepest node

	// The fast path for an unconstrained string at a character boundary:
	// strPlain holds the tokens that only add characters (or start a
	// multi-byte one) and so keep the string open whatever the context;
	// strCheck the tokens with a quote or a backslash after a plain prefix,
	// whose fate depends on the grammar and which are checked one by one.
	strPlain []uint64
	strCheck []int32
}

// tnode is one trie node: the byte on the edge from its parent, its depth,
// the end of its subtree (preorder index) and its tokens.
type tnode struct {
	b          byte
	depth      uint16
	end        int32
	tok0, tok1 int32
}

// maxPiece bounds the token length the trie holds; longer tokens (none in
// real vocabularies) are never allowed under a grammar.
const maxPiece = 1 << 10

// NewVocab prepares a vocabulary of len(pieces) tokens: pieces[id] is the
// bytes token id stands for, text[id] says whether it is ordinary text
// (false for control tokens such as BOS, <think> or <|im_end|>, which a
// grammar never allows), and eog lists the end-of-generation tokens, which
// a Matcher allows exactly when the value is complete.
func NewVocab(pieces []string, text []bool, eog []int32) *Vocab {
	v := &Vocab{n: len(pieces), pieces: make([][]byte, len(pieces)), eog: slices.Clone(eog)}
	ids := make([]int32, 0, len(pieces))
	for id, p := range pieces {
		if text[id] && p != "" && len(p) <= maxPiece && !slices.Contains(eog, int32(id)) {
			v.pieces[id] = []byte(p)
			ids = append(ids, int32(id))
		}
	}
	slices.SortFunc(ids, func(a, b int32) int {
		if c := bytes.Compare(v.pieces[a], v.pieces[b]); c != 0 {
			return c
		}
		return int(a - b)
	})
	// Build the preorder trie from the sorted pieces: path holds the node
	// index at each depth of the previous piece.
	v.nodes = append(v.nodes, tnode{})
	path := []int32{0}
	var prev []byte
	closeTo := func(d int) {
		for len(path) > d+1 {
			v.nodes[path[len(path)-1]].end = int32(len(v.nodes))
			path = path[:len(path)-1]
		}
	}
	for _, id := range ids {
		p := v.pieces[id]
		common := 0
		for common < len(p) && common < len(prev) && p[common] == prev[common] {
			common++
		}
		closeTo(common)
		for d := common; d < len(p); d++ {
			v.nodes = append(v.nodes, tnode{b: p[d], depth: uint16(d + 1)})
			path = append(path, int32(len(v.nodes)-1))
		}
		nd := &v.nodes[path[len(path)-1]]
		if nd.tok1 == 0 {
			nd.tok0 = int32(len(v.toks))
		}
		v.toks = append(v.toks, id)
		nd.tok1 = int32(len(v.toks))
		v.depth = max(v.depth, len(p))
		prev = p
	}
	closeTo(0)
	v.nodes[0].end = int32(len(v.nodes))
	v.initString()
	return v
}

// Size returns the vocabulary size (the length of the masks).
func (v *Vocab) Size() int { return v.n }

// initString classifies every token for the unconstrained-string fast
// path by running it through the same construction stringBody compiles.
func (v *Vocab) initString() {
	c := &compiler{}
	ready := c.b.add()
	quote := c.b.add()
	c.stringBody(ready)
	c.b.edge(ready, quote, '"', '"')
	c.b.edge(quote, quote, 0, 0xFF) // stands for "anything may follow"
	r := runner{st: c.b.states}
	v.strPlain = make([]uint64, (v.n+63)/64)
	var cur, next []config
	for id, p := range v.pieces {
		if p == nil {
			continue
		}
		cur = append(cur[:0], config{ready, -1})
		special := false
		for _, b := range p {
			if b == '"' || b == '\\' {
				special = true
				break
			}
			next, _ = r.step(next[:0], cur, b)
			cur, next = next, cur
			if len(cur) == 0 {
				break
			}
		}
		switch {
		case special && len(cur) > 0 && cur[0].s == ready:
			v.strCheck = append(v.strCheck, int32(id))
		case !special && len(cur) > 0:
			v.strPlain[id/64] |= 1 << (id % 64)
		}
	}
}
