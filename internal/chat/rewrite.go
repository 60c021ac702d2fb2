package chat

import "strings"

// rewriteTag rewrites the inside of one {{ … }} or {% … %} tag, token by
// token, where the library (github.com/ardanlabs/jinja v1.8.0) reads valid
// Jinja differently from Jinja2. Each rewrite keeps the meaning:
//
//   - a filter named in renames is called under its new name (our
//     replacement for the library's built-in, which cannot be overridden);
//   - x.0 (integer attribute) becomes x[0], as Jinja2 reads it;
//   - f(*args) becomes __sputnik_apply(f, args);
//   - adjacent string literals 'a' 'b' become ('a' ~ 'b');
//   - "}}" that closes nested braces gets a space, so the library's tag
//     scanner does not end the tag there;
//   - in "for k, v in items if cond", the library binds only the pair to v
//     while testing cond, so k and v in cond become v[0] and v[1].
//
// Line breaks inside the tag are kept, so lines do not move.
func rewriteTag(kind byte, inner string, renames map[string]string) string {
	toks := lexTag(inner)
	if kind == kindBlock {
		fixForFilter(toks)
	}
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokIdent && renames[t.text] != "" && prevSignificant(out).text == "|":
			t.text = renames[t.text]
		case t.text == "." && i+1 < len(toks) && toks[i+1].kind == tokInt && operandEnd(out):
			out = append(out, token{tokPunct, "["}, toks[i+1], token{tokPunct, "]"})
			i++
			continue
		case t.text == "(" && starArg(toks, i+1) >= 0:
			j := starArg(toks, i+1)
			start := calleeStart(out)
			callee := append([]token(nil), out[start:]...)
			out = append(out[:start], token{tokIdent, applyName}, token{tokPunct, "("})
			out = append(out, callee...)
			out = append(out, token{tokPunct, ","}, token{tokSpace, " "})
			i = j // skip the '*'
			continue
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
	return b.String()
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

// lexTag splits a tag's inside into tokens. It is lenient: anything it does
// not know becomes one-byte punctuation, and the library reports errors.
func lexTag(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
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
		}
		toks = append(toks, token{kind, s[i:j]})
		i = j
	}
	return toks
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
			if i > 0 && out[i-1].text == "." {
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
