package tokenizer

import "sort"

// fragment is a piece of the input after the special-token partition: either
// raw text s[start:end] (id < 0) or one special token (id >= 0).
type fragment struct {
	start, end int
	id         int32
}

// specialMatcher finds special tokens in text, leftmost first and, at one
// position, longest first.
//
// llama.cpp instead cuts the text token by token, longest token first, over the
// whole text; the two agree unless a longer special token overlaps a shorter
// one that starts earlier, which no shipped vocabulary has.
type specialMatcher struct {
	ids    map[string]int32 // token text -> id
	lens   [256][]int       // distinct text lengths by first byte, longest first
	parsed []bool           // by id: matched only when parsing special tokens (control, unknown)
	lstrip []bool           // by id: eat whitespace to the left of a match
	rstrip []bool           // by id: eat whitespace to the right of a match
}

// newSpecialMatcher indexes the tokens whose types make them special:
// control and unknown (only with ParseSpecial) and user-defined (always).
func newSpecialMatcher(tokens []string, attrs []attr) *specialMatcher {
	m := &specialMatcher{
		ids:    map[string]int32{},
		parsed: make([]bool, len(tokens)),
		lstrip: make([]bool, len(tokens)),
		rstrip: make([]bool, len(tokens)),
	}
	for id, a := range attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) == 0 || tokens[id] == "" {
			continue
		}
		text := tokens[id]
		if old, dup := m.ids[text]; dup && old < int32(id) {
			continue
		}
		m.ids[text] = int32(id)
		m.parsed[id] = a&(attrControl|attrUnknown) != 0
		m.lstrip[id] = a&attrLStrip != 0
		m.rstrip[id] = a&attrRStrip != 0
		b := text[0]
		if !containsInt(m.lens[b], len(text)) {
			m.lens[b] = append(m.lens[b], len(text))
		}
	}
	for b := range m.lens {
		sort.Sort(sort.Reverse(sort.IntSlice(m.lens[b])))
	}
	return m
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// isSpaceASCII is C's isspace, which llama.cpp uses for lstrip/rstrip.
func isSpaceASCII(b byte) bool {
	return b == ' ' || ('\t' <= b && b <= '\r')
}

// partition appends to dst the fragments of s: special tokens found in it and
// the raw text between them.
func (m *specialMatcher) partition(dst []fragment, s string, parseSpecial bool) []fragment {
	textStart := 0
	for i := 0; i < len(s); i++ {
		lens := m.lens[s[i]]
		if len(lens) == 0 {
			continue
		}
		id := int32(-1)
		n := 0
		for _, l := range lens {
			if i+l > len(s) {
				continue
			}
			if cand, ok := m.ids[s[i:i+l]]; ok && (parseSpecial || !m.parsed[cand]) {
				id, n = cand, l
				break
			}
		}
		if id < 0 {
			continue
		}
		left := i
		if m.lstrip[id] {
			for left > textStart && isSpaceASCII(s[left-1]) {
				left--
			}
		}
		if left > textStart {
			dst = append(dst, fragment{textStart, left, -1})
		}
		dst = append(dst, fragment{i, i + n, id})
		textStart = i + n
		if m.rstrip[id] {
			for textStart < len(s) && isSpaceASCII(s[textStart]) {
				textStart++
			}
		}
		i = textStart - 1
	}
	if textStart < len(s) {
		dst = append(dst, fragment{textStart, len(s), -1})
	}
	return dst
}
