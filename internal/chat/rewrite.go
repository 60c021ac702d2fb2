package chat

import "strings"

// rewriteTag rewrites the inside of one {{ … }} or {% … %} tag, token by
// token, where the library (github.com/ardanlabs/jinja v1.8.0) reads valid
// Jinja differently from Jinja2, and so that every operation that could
// build without bound runs through our own, checked code (see Limits).
// Each rewrite keeps the meaning:
//
//   - a filter named in renames is called under its new name (our
//     replacement for the library's built-in, which cannot be overridden);
//   - x.m, for m one of the library's method names, becomes
//     x|__sputnik_attr('m'), and x.0 (integer attribute) x|__sputnik_item(0);
//     a filter binds like an attribute (both are postfix in the library's
//     parser), so the object is whatever the attribute applied to;
//   - x[k] becomes x|__sputnik_item(k) and x[a:b:c]
//     x|__sputnik_slice(a, b, c) (none for a missing part);
//   - list, tuple and dict literals become __sputnik_lit(…), with every
//     dict key as __sputnik_key(k);
//   - f(*args) becomes __sputnik_apply(f, args);
//   - adjacent string literals 'a' 'b' become ('a' ~ 'b');
//   - "}}" that closes nested braces gets a space, so the library's tag
//     scanner does not end the tag there;
//   - in "for k, v in items if cond", the library binds only the pair to v
//     while testing cond, so k and v in cond become v[0] and v[1];
//   - the statements for, set ns.a = … and call get their iterable, value
//     and callee wrapped (rewriteStatement).
//
// A set tag's target and a call tag's caller arguments are names, not
// expressions, and are copied as they are. Line breaks inside the tag are
// kept, so lines do not move.
func rewriteTag(kind byte, inner string, renames map[string]string) (string, error) {
	toks := lexTag(inner)
	raw := 0 // toks[:raw] are copied unchanged
	if kind == kindBlock {
		fixForFilter(toks)
		var err error
		if toks, raw, err = rewriteStatement(toks); err != nil {
			return "", err
		}
	}
	out := append([]token(nil), toks[:raw]...)
	var frames []frame
	top := func() *frame {
		if len(frames) == 0 {
			return nil
		}
		return &frames[len(frames)-1]
	}
	emit := func(ts ...token) { out = append(out, ts...) }
	for i := raw; i < len(toks); i++ {
		t := toks[i]
		if f := top(); f != nil && t.kind != tokSpace {
			switch {
			case f.kind == frameDict && f.expectKey && t.text != "}":
				emit(token{tokIdent, keyName}, token{tokPunct, "("})
				f.expectKey, f.inKey = false, true
			case f.kind == frameSlice && t.text != ":" && t.text != "]":
				f.filled = true
			}
		}
		switch {
		case t.kind == tokIdent && renames[t.text] != "" && prevSignificant(out).text == "|":
			t.text = renames[t.text]
		case t.text == "." && i+1 < len(toks) && toks[i+1].kind == tokInt && operandEnd(out):
			emit(token{tokPunct, "|"}, token{tokIdent, itemName}, token{tokPunct, "("}, toks[i+1], token{tokPunct, ")"})
			i++
			continue
		case t.text == "." && nextSignificant(toks, i+1).kind == tokIdent && methodNames[nextSignificant(toks, i+1).text]:
			j := i + 1
			for toks[j].kind == tokSpace {
				j++
			}
			emit(token{tokPunct, "|"}, token{tokIdent, attrName}, token{tokPunct, "("},
				token{tokStr, "'" + toks[j].text + "'"}, token{tokPunct, ")"})
			i = j
			continue
		case t.text == "(" && starArg(toks, i+1) >= 0:
			j := starArg(toks, i+1)
			start := calleeStart(out)
			callee := append([]token(nil), out[start:]...)
			out = append(out[:start], token{tokIdent, applyName}, token{tokPunct, "("})
			out = append(out, callee...)
			out = append(out, token{tokPunct, ","}, token{tokSpace, " "})
			frames = append(frames, frame{kind: frameGroup})
			i = j // skip the '*'
			continue
		case isOpener(t):
			f, open := openFrame(toks, i, isOperandEnd(prevSignificant(out)))
			frames = append(frames, f)
			emit(open...)
			continue
		case t.text == ")" || t.text == "]" || t.text == "}":
			if f := top(); f != nil {
				frames = frames[:len(frames)-1]
				emit(f.close(t)...)
				continue
			}
		case t.text == ":" && top() != nil && top().kind == frameSlice:
			f := top()
			if !f.filled {
				emit(token{tokIdent, "none"})
			}
			emit(token{tokPunct, ","}, token{tokSpace, " "})
			f.parts++
			f.filled = false
			continue
		case t.text == ":" && top() != nil && top().kind == frameDict && top().inKey:
			emit(token{tokPunct, ")"})
			top().inKey = false
		case t.text == "," && top() != nil && top().kind == frameDict:
			top().expectKey = true
		case t.text == "}" && len(out) > 0 && out[len(out)-1].text == "}":
			out = append(out, token{tokSpace, " "})
		case t.kind == tokStr && nextSignificant(toks, i+1).kind == tokStr:
			// 'a' 'b' is one literal in Jinja2; the library rejects it.
			out = append(out, token{tokPunct, "("}, t)
			for nextSignificant(toks, i+1).kind == tokStr {
				out = append(out, token{tokPunct, " ~ "})
				for toks[i+1].kind == tokSpace { // keep line breaks
					i++
					out = append(out, toks[i])
				}
				i++
				out = append(out, toks[i])
			}
			out = append(out, token{tokPunct, ")"})
			continue
		}
		out = append(out, t)
	}
	var b strings.Builder
	for _, t := range out {
		b.WriteString(t.text)
	}
	return b.String(), nil
}

// A frame is an open bracket of the tag being rewritten.
type frame struct {
	kind      frameKind
	parts     int  // frameSlice: colons seen
	filled    bool // frameSlice: the current part has a token
	expectKey bool // frameDict: the next token starts a key
	inKey     bool // frameDict: inside a key, before its colon
}

type frameKind uint8

const (
	frameGroup frameKind = iota // a parenthesized expression or call arguments
	frameItem                   // x[k]
	frameSlice                  // x[a:b:c]
	frameList                   // [a, b]
	frameTuple                  // (a, b)
	frameDict                   // {k: v}
)

// openFrame returns the frame that toks[i], an opening bracket, starts and
// the tokens to write for it; postfix tells whether it follows an operand
// (a subscript or call rather than a literal or group).
func openFrame(toks []token, i int, postfix bool) (frame, []token) {
	lit := func(open string) []token {
		return []token{{tokIdent, litName}, {tokPunct, "("}, {tokPunct, open}}
	}
	j := closing(toks, i)
	switch toks[i].text {
	case "[":
		switch {
		case !postfix:
			return frame{kind: frameList}, lit("[")
		case j > 0 && topLevel(toks[i+1:j], ":"):
			return frame{kind: frameSlice}, []token{{tokPunct, "|"}, {tokIdent, sliceName}, {tokPunct, "("}}
		}
		return frame{kind: frameItem}, []token{{tokPunct, "|"}, {tokIdent, itemName}, {tokPunct, "("}}
	case "{":
		return frame{kind: frameDict, expectKey: true}, lit("{")
	}
	if !postfix && j > 0 && (topLevel(toks[i+1:j], ",") || nextSignificant(toks[:j], i+1).text == "") {
		return frame{kind: frameTuple}, lit("(")
	}
	return frame{kind: frameGroup}, []token{toks[i]}
}

// close returns the tokens that end f, whose closing bracket is t.
func (f *frame) close(t token) []token {
	switch f.kind {
	case frameItem:
		return []token{{tokPunct, ")"}}
	case frameSlice:
		var out []token
		if !f.filled {
			out = append(out, token{tokIdent, "none"})
		}
		for ; f.parts < 2; f.parts++ {
			out = append(out, token{tokPunct, ","}, token{tokSpace, " "}, token{tokIdent, "none"})
		}
		return append(out, token{tokPunct, ")"})
	case frameList, frameTuple:
		return []token{t, {tokPunct, ")"}}
	case frameDict:
		if f.inKey { // a key without a value: let the library report it
			return []token{{tokPunct, ")"}, t, {tokPunct, ")"}}
		}
		return []token{t, {tokPunct, ")"}}
	}
	return []token{t}
}

// topLevel reports whether toks has the punctuation p outside brackets.
func topLevel(toks []token, p string) bool {
	depth := 0
	for _, t := range toks {
		switch {
		case isOpener(t):
			depth++
		case t.text == ")" || t.text == "]" || t.text == "}":
			depth--
		case depth == 0 && t.text == p:
			return true
		}
	}
	return false
}

// isOperandEnd reports whether t, the last significant token before a
// bracket, ends an operand in the library's parser, making the bracket a
// subscript or call: a name (not an operator or statement keyword), a
// literal, or a closing bracket.
func isOperandEnd(t token) bool {
	switch t.kind {
	case tokIdent:
		return !opKeywords[t.text]
	case tokInt, tokNum, tokStr:
		return true
	case tokPunct:
		return t.text == ")" || t.text == "]" || t.text == "}"
	}
	return false
}

// applyName is the global that calls a function with a list of arguments.
const applyName = "__sputnik_apply"

type tokKind uint8

const (
	tokSpace tokKind = iota
	tokIdent
	tokInt   // digits only
	tokNum   // other number literals
	tokStr   // quoted string, quotes included
	tokPunct // one byte, or "**"
)

type token struct {
	kind tokKind
	text string
}

// libraryPunct is the punctuation the library's expression tokenizer knows.
const libraryPunct = ",.:()[]{}|~+-*/%<>="

// lexTag splits a tag's inside into tokens. It is lenient: bytes the
// library's tokenizer skips are space to it too, anything else it does not
// know becomes one-byte punctuation, and the library reports errors.
func lexTag(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		kind, j := lexOne(s, i)
		toks = append(toks, token{kind, s[i:j]})
		i = j
	}
	return toks
}

// countTokens returns how many tokens lexTag would return, counting at
// most to limit+1, without allocating.
func countTokens(s string, limit int) int {
	n := 0
	for i := 0; i < len(s) && n <= limit; n++ {
		_, i = lexOne(s, i)
	}
	return n
}

// lexOne returns the kind and end of the token starting at s[i].
func lexOne(s string, i int) (tokKind, int) {
	c := s[i]
	j := i + 1
	kind := tokPunct
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
			j++
		}
		kind = tokSpace
	case c == '\'' || c == '"':
		j = skipString(s, i)
		kind = tokStr
	case isIdentStart(c):
		for j < len(s) && isIdentPart(s[j]) {
			j++
		}
		kind = tokIdent
	case '0' <= c && c <= '9':
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		kind = tokInt
		// After a dot this is an attribute index (x.0.1), as in Jinja2's
		// lexer, not the start of a float.
		if i == 0 || s[i-1] != '.' {
			if j+1 < len(s) && s[j] == '.' && '0' <= s[j+1] && s[j+1] <= '9' {
				j++
				for j < len(s) && '0' <= s[j] && s[j] <= '9' {
					j++
				}
				kind = tokNum
			}
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && '0' <= s[k] && s[k] <= '9' {
					for k < len(s) && '0' <= s[k] && s[k] <= '9' {
						k++
					}
					j, kind = k, tokNum
				}
			}
		}
	case c == '*' && j < len(s) && s[j] == '*':
		j++
	case !strings.ContainsRune(libraryPunct, rune(c)) && !(c == '!' && j < len(s) && s[j] == '='):
		// The library's tokenizer skips bytes it does not know (@, $, a
		// lone !, non-ASCII …); so do we, or an attribute could hide from
		// the rewrites behind one.
		kind = tokSpace
	}
	return kind, j
}

// prevSignificant returns the last non-space token of out, or a zero token.
func prevSignificant(out []token) token {
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].kind != tokSpace {
			return out[i]
		}
	}
	return token{}
}

// nextSignificant returns the first non-space token of toks[i:], or a zero
// token.
func nextSignificant(toks []token, i int) token {
	for ; i < len(toks); i++ {
		if toks[i].kind != tokSpace {
			return toks[i]
		}
	}
	return token{}
}

// operandEnd reports whether out ends, with no space, in something a
// subscript can follow: a name, ")" or "]".
func operandEnd(out []token) bool {
	if len(out) == 0 {
		return false
	}
	t := out[len(out)-1]
	return t.kind == tokIdent || t.text == ")" || t.text == "]"
}

// starArg returns the index of the "*" if toks[i:] starts, after optional
// space, with a single-star argument; otherwise -1.
func starArg(toks []token, i int) int {
	for i < len(toks) && toks[i].kind == tokSpace {
		i++
	}
	if i < len(toks) && toks[i].text == "*" {
		return i
	}
	return -1
}

// calleeStart returns the index in out where the postfix expression that
// out ends with begins: a name followed by any .attr, [index] and (call)
// parts.
func calleeStart(out []token) int {
	i := len(out)
	for i > 0 {
		t := out[i-1]
		switch {
		case t.text == ")" || t.text == "]":
			open := "("
			if t.text == "]" {
				open = "["
			}
			depth := 0
		group:
			for i > 0 {
				i--
				switch out[i].text {
				case t.text:
					depth++
				case open:
					depth--
				}
				if depth == 0 {
					break group
				}
			}
		case t.kind == tokIdent:
			i--
			if i > 0 && (out[i-1].text == "." || out[i-1].text == "|") {
				i--
				continue
			}
			return i
		default:
			return i
		}
	}
	return i
}

// fixForFilter rewrites, in place, the condition of
// "for k, v in items if cond" so that k and v read v[0] and v[1].
func fixForFilter(toks []token) {
	var sig []int // indexes of non-space tokens
	for i, t := range toks {
		if t.kind != tokSpace {
			sig = append(sig, i)
		}
	}
	if len(sig) < 6 || toks[sig[0]].text != "for" || toks[sig[1]].kind != tokIdent ||
		toks[sig[2]].text != "," || toks[sig[3]].kind != tokIdent || toks[sig[4]].text != "in" {
		return
	}
	key, val := toks[sig[1]].text, toks[sig[3]].text
	depth := 0
	cond := -1
	for _, i := range sig[5:] {
		switch t := toks[i]; {
		case t.text == "(" || t.text == "[" || t.text == "{":
			depth++
		case t.text == ")" || t.text == "]" || t.text == "}":
			depth--
		case depth == 0 && t.text == "if" && cond < 0:
			cond = i + 1
		case depth == 0 && t.text == "recursive" && cond >= 0:
			return
		}
	}
	if cond < 0 {
		return
	}
	for i := cond; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tokIdent || (t.text != key && t.text != val) || prevSignificant(toks[:i]).text == "." {
			continue
		}
		if t.text == key {
			toks[i].text = "(" + val + "[0])"
		} else {
			toks[i].text = "(" + val + "[1])"
		}
	}
}
