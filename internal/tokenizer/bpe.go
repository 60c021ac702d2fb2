package tokenizer

import (
	"fmt"
	"math"
)

// Byte-level BPE (GGUF "gpt2"). Each pre-tokenized piece starts as one symbol
// per byte; then the adjacent pair with the lowest merge rank (leftmost on
// ties) is merged until no pair has a merge. This is the order of llama.cpp's
// llm_tokenizer_bpe_session and Hugging Face's BPE model.
//
// Symbols are token ids. A merge whose product is not a token (possible in a
// hand-made vocabulary) gets a virtual id past the vocabulary, so that later
// merges can still use it; a virtual symbol left at the end is written as
// its byte tokens, as llama.cpp does.

const noMerge = math.MaxInt32

// smallWord is the piece length (in bytes) up to which the quadratic
// rank-array merge loop is used; longer pieces use the heap.
var smallWord = 48

func (t *Tokenizer) initBPE(spec Spec, ids map[string]int32) error {
	n := int32(len(spec.Tokens))
	t.toID = make(map[string]int32, len(ids))
	for id, text := range t.tokens {
		if raw, ok := byteLevelDecode(text); ok {
			if _, dup := t.toID[raw]; !dup {
				t.toID[raw] = int32(id)
			}
		}
	}
	idFor := func(enc string) int32 {
		if id, ok := ids[enc]; ok {
			return id
		}
		raw, _ := byteLevelDecode(enc)
		id := n + int32(len(t.virt))
		t.virt = append(t.virt, raw)
		ids[enc] = id
		return id
	}
	for b := 0; b < 256; b++ {
		t.byteTok[b] = idFor(string(byteToRune[b]))
	}
	t.merges = newMergeTable(len(spec.Merges))
	for rank, m := range spec.Merges {
		if m[0] == "" || m[1] == "" {
			return fmt.Errorf("tokenizer: merge %d (%q %q) has an empty side", rank, m[0], m[1])
		}
		l, r := idFor(m[0]), idFor(m[1])
		res := idFor(m[0] + m[1])
		key := uint64(uint32(l))<<32 | uint64(uint32(r))
		t.merges.insert(key, uint64(rank)<<32|uint64(uint32(res)))
	}
	// The ids map now also holds virtual entries; it is not kept.
	for k, id := range ids {
		if id >= n {
			delete(ids, k)
		}
	}
	pre, err := compilePre(spec.PreExprs, false)
	if err != nil {
		return err
	}
	t.pre = pre
	t.cache = newWordCache()
	return nil
}

// lookup returns the rank and product of merging symbols l and r (rank noMerge if none).
func (t *Tokenizer) lookup(l, r int32) (rank, res int32) {
	v, ok := t.merges.get(uint64(uint32(l))<<32 | uint64(uint32(r)))
	if !ok {
		return noMerge, -1
	}
	return int32(v >> 32), int32(uint32(v))
}

// encodeWord appends the tokens of one pre-tokenized piece w (raw bytes).
func (t *Tokenizer) encodeWord(out []int32, w string, st *encodeState) []int32 {
	if len(w) == 0 {
		return out
	}
	if t.ignoreMerges {
		if id, ok := t.toID[w]; ok {
			return append(out, id)
		}
	}
	var sh *cacheShard
	if t.cache != nil && len(w) > 1 && len(w) <= cacheMaxLen {
		sh = t.cache.shard(w)
		if ids, ok := t.cache.get(sh, w); ok {
			return append(out, ids...)
		}
	}
	n0 := len(out)
	ids := st.ids[:0]
	for i := 0; i < len(w); i++ {
		ids = append(ids, t.byteTok[w[i]])
	}
	if len(ids) <= smallWord {
		ids = t.mergeSmall(ids, st)
	} else {
		ids = t.mergeHeap(ids, st)
	}
	st.ids = ids
	for _, id := range ids {
		out = t.appendSymbol(out, id)
	}
	if sh != nil {
		t.cache.put(sh, w, out[n0:])
	}
	return out
}

// appendSymbol appends a final symbol: a token, or the byte tokens of a virtual one.
func (t *Tokenizer) appendSymbol(out []int32, id int32) []int32 {
	if int(id) < len(t.tokens) {
		return append(out, id)
	}
	raw := t.virt[int(id)-len(t.tokens)]
	for i := 0; i < len(raw); i++ {
		if b := t.byteTok[raw[i]]; int(b) < len(t.tokens) {
			out = append(out, b)
		}
	}
	return out
}

// mergeSmall merges with an array of pair ranks: O(n²) comparisons but only
// O(n) map lookups, the fastest for the short pieces of ordinary text.
func (t *Tokenizer) mergeSmall(ids []int32, st *encodeState) []int32 {
	ranks, res := st.ranks[:0], st.results[:0]
	for i := 0; i+1 < len(ids); i++ {
		rk, rs := t.lookup(ids[i], ids[i+1])
		ranks = append(ranks, rk)
		res = append(res, rs)
	}
	for {
		best, bestRank := -1, int32(noMerge)
		for i, rk := range ranks {
			if rk < bestRank {
				best, bestRank = i, rk
			}
		}
		if best < 0 {
			break
		}
		ids[best] = res[best]
		ids = append(ids[:best+1], ids[best+2:]...)
		ranks = append(ranks[:best], ranks[best+1:]...)
		res = append(res[:best], res[best+1:]...)
		if best > 0 {
			ranks[best-1], res[best-1] = t.lookup(ids[best-1], ids[best])
		}
		if best < len(ids)-1 {
			ranks[best], res[best] = t.lookup(ids[best], ids[best+1])
		}
	}
	st.ranks, st.results = ranks, res
	return ids
}

// mergeEntry is a candidate merge of the symbols at positions left and right.
type mergeEntry struct {
	rank, left, right int32
	lid, rid, res     int32
}

func (a mergeEntry) less(b mergeEntry) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

// mergeHeap merges with a doubly linked list of symbols and a binary heap of
// candidate pairs, O(n log n), for long pieces (runs of CJK, long numbers
// under some vocabularies, whitespace runs).
func (t *Tokenizer) mergeHeap(ids []int32, st *encodeState) []int32 {
	n := len(ids)
	next, prev := st.next[:0], st.prev[:0]
	for i := 0; i < n; i++ {
		next = append(next, int32(i+1))
		prev = append(prev, int32(i-1))
	}
	next[n-1] = -1
	h := st.heap[:0]
	push := func(l, r int32) {
		rk, rs := t.lookup(ids[l], ids[r])
		if rk == noMerge {
			return
		}
		h = append(h, mergeEntry{rk, l, r, ids[l], ids[r], rs})
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !h[i].less(h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	}
	pop := func() mergeEntry {
		top := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && h[l].less(h[m]) {
				m = l
			}
			if r < len(h) && h[r].less(h[m]) {
				m = r
			}
			if m == i {
				break
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
		return top
	}
	for i := 0; i+1 < n; i++ {
		push(int32(i), int32(i+1))
	}
	for len(h) > 0 {
		e := pop()
		if ids[e.left] != e.lid || next[e.left] != e.right || ids[e.right] != e.rid {
			continue // stale: one side was merged since
		}
		ids[e.left] = e.res
		ids[e.right] = -1
		nx := next[e.right]
		next[e.left] = nx
		if nx >= 0 {
			prev[nx] = e.left
		}
		if p := prev[e.left]; p >= 0 {
			push(p, e.left)
		}
		if nx >= 0 {
			push(e.left, nx)
		}
	}
	st.next, st.prev, st.heap = next, prev, h
	out := ids[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}
