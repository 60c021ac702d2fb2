package tokenizer

import "strings"

// SentencePiece-style BPE (GGUF "llama"), as llama.cpp's
// llm_tokenizer_spm_session: spaces become U+2581, the text starts as one
// symbol per UTF-8 character, and the adjacent pair whose concatenation is the
// token with the highest score (leftmost on ties) is merged until no
// concatenation is a token. A final symbol that is not a token is written as
// its <0xXX> byte tokens.

type spmSymbol struct {
	start, end int32 // byte range in the escaped text; end == start once merged away
	prev, next int32
}

type spmBigram struct {
	score       float32
	left, right int32
	size        int32 // byte length of the pair when pushed, to detect stale entries
}

func (a spmBigram) before(b spmBigram) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

const spaceMark = "\u2581" // ▁

// encodeSPM appends the tokens of raw text s, prefixed by a space when prefix is set.
func (t *Tokenizer) encodeSPM(out []int32, s string, prefix bool, st *encodeState) []int32 {
	buf := st.buf[:0]
	if prefix {
		buf = append(buf, spaceMark...)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			buf = append(buf, spaceMark...)
		} else {
			buf = append(buf, s[i])
		}
	}
	st.buf = buf
	if len(buf) == 0 {
		return out
	}
	text := string(buf)
	if !t.spmSplit {
		return t.spmSegment(out, text, st)
	}
	// No token contains a U+2581 after another character, so no merge can
	// cross the start of a U+2581 run: the runs' chunks are segmented apart
	// (and, being words, are mostly found in the cache).
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == spaceMark[0] && strings.HasPrefix(text[i:], spaceMark) && !strings.HasSuffix(text[:i], spaceMark) {
			out = t.spmCachedSegment(out, text[start:i], st)
			start = i
		}
	}
	return t.spmCachedSegment(out, text[start:], st)
}

func (t *Tokenizer) spmCachedSegment(out []int32, chunk string, st *encodeState) []int32 {
	if t.cache == nil || len(chunk) > cacheMaxLen {
		return t.spmSegment(out, chunk, st)
	}
	sh := t.cache.shard(chunk)
	if ids, ok := t.cache.get(sh, chunk); ok {
		return append(out, ids...)
	}
	n0 := len(out)
	out = t.spmSegment(out, chunk, st)
	t.cache.put(sh, chunk, out[n0:])
	return out
}

// spmSegment appends the tokens of escaped text by score-ordered merges.
func (t *Tokenizer) spmSegment(out []int32, text string, st *encodeState) []int32 {
	syms := st.syms[:0]
	for i := 0; i < len(text); {
		// One symbol per UTF-8 character. llama.cpp takes the length from the
		// first byte alone; the two agree on valid UTF-8, and decoding keeps
		// an invalid byte from swallowing the characters after it.
		_, w := next(text, i, len(text))
		k := int32(len(syms))
		syms = append(syms, spmSymbol{int32(i), int32(i + w), k - 1, k + 1})
		i += w
	}
	syms[len(syms)-1].next = -1

	h := st.spmHeap[:0]
	tryAdd := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		sub := text[syms[l].start:syms[r].end]
		id, ok := t.toID[sub]
		if !ok {
			return
		}
		var score float32
		if t.scores != nil {
			score = t.scores[id]
		}
		h = append(h, spmBigram{score, l, r, int32(len(sub))})
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !h[i].before(h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	}
	for i := int32(1); i < int32(len(syms)); i++ {
		tryAdd(i-1, i)
	}
	for len(h) > 0 {
		b := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && h[l].before(h[m]) {
				m = l
			}
			if r < len(h) && h[r].before(h[m]) {
				m = r
			}
			if m == i {
				break
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
		ls, rs := &syms[b.left], &syms[b.right]
		if ls.start == ls.end || rs.start == rs.end || (ls.end-ls.start)+(rs.end-rs.start) != b.size {
			continue
		}
		ls.end = rs.end
		rs.end = rs.start
		ls.next = rs.next
		if rs.next >= 0 {
			syms[rs.next].prev = b.left
		}
		tryAdd(ls.prev, b.left)
		tryAdd(b.left, ls.next)
	}
	st.syms, st.spmHeap = syms, h

	for i := int32(0); i >= 0; i = syms[i].next {
		sub := text[syms[i].start:syms[i].end]
		if id, ok := t.toID[sub]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(sub); j++ {
			if id := t.spmByte[sub[j]]; id != None {
				out = append(out, id)
			} else if t.unk != None {
				out = append(out, t.unk)
			}
		}
	}
	return out
}
