package chat

import (
	"fmt"
	"strings"
)

// rewriteStatement wraps, in the tokens of a {% … %} tag, the parts of the
// for, set and call statements whose values the library would use without
// our checks:
//
//	for x in e …            →  for x in __sputnik_iter(e) …
//	set ns.a = e            →  set ns.a = __sputnik_setattr(ns, 'a', e)
//	call(args) f(…)         →  call(args) __sputnik_callout(f)(…)
//
// It returns the new tokens and how many of them, from the start, are the
// statement's names (loop variables, the set target, the caller's
// arguments), which the library parses itself and must be left as they are.
func rewriteStatement(toks []token) ([]token, int, error) {
	first := skipSpaceToks(toks, 0)
	if first == len(toks) {
		return toks, 0, nil
	}
	switch toks[first].text {
	case "for":
		in := keywordAt(toks, first+1, "in")
		if in < 0 {
			return toks, 0, nil // the library reports the missing "in"
		}
		end := len(toks)
		for _, kw := range []string{"if", "recursive"} {
			if k := keywordAt(toks, in+1, kw); k >= 0 && k < end {
				end = k
			}
		}
		return wrap(toks, in+1, end, iterName+"(", ")"), in + 1, nil
	case "set":
		eq := -1
		for i := first; i < len(toks); i++ {
			if toks[i].text == "=" {
				eq = i
				break
			}
		}
		if eq < 0 {
			return toks, len(toks), nil // {% set x %}…{% endset %}: a name only
		}
		var names []string
		dotted := false
		for _, t := range toks[first+1 : eq] {
			switch {
			case t.kind == tokSpace:
			case t.text == ".":
				dotted = true
			case t.kind == tokIdent:
				names = append(names, t.text)
			default:
				return nil, 0, fmt.Errorf("set: unsupported target %q", tokensText(toks[first+1:eq]))
			}
		}
		if !dotted {
			return toks, eq, nil
		}
		if len(names) != 2 {
			return nil, 0, fmt.Errorf("set: unsupported target %q (want namespace.name)", tokensText(toks[first+1:eq]))
		}
		return wrap(toks, eq+1, len(toks), setAttrName+"("+names[0]+", '"+names[1]+"', ", ")"), eq, nil
	case "call":
		start := skipSpaceToks(toks, first+1)
		if start < len(toks) && toks[start].text == "(" { // the caller's arguments: names
			for start < len(toks) && toks[start].text != ")" {
				start++
			}
			start++
		}
		lo, hi := skipSpaceToks(toks, start), len(toks)
		for hi > lo && toks[hi-1].kind == tokSpace {
			hi--
		}
		if hi > lo && toks[hi-1].text == ")" {
			if open := openingOf(toks, hi-1); open > lo {
				return wrap(toks, lo, open, callOutName+"(", ")"), start, nil
			}
		}
		return wrap(toks, lo, hi, callOutName+"(", ")()"), start, nil
	}
	return toks, 0, nil
}

// keywordAt returns the index of the first identifier kw at bracket depth
// 0 in toks[from:], or -1, as the library's findKeyword finds statement
// keywords.
func keywordAt(toks []token, from int, kw string) int {
	depth := 0
	for i := from; i < len(toks); i++ {
		switch t := toks[i]; {
		case isOpener(t):
			depth++
		case t.text == ")" || t.text == "]" || t.text == "}":
			depth--
		case depth == 0 && t.kind == tokIdent && t.text == kw:
			return i
		}
	}
	return -1
}

// openingOf returns the index of the bracket that the closing bracket at
// toks[j] closes, or -1.
func openingOf(toks []token, j int) int {
	depth := 0
	for i := j; i >= 0; i-- {
		switch {
		case toks[i].text == ")" || toks[i].text == "]" || toks[i].text == "}":
			depth++
		case isOpener(toks[i]):
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// wrap returns toks with the significant tokens of toks[lo:hi] enclosed in
// open and close (spaces around them stay outside).
func wrap(toks []token, lo, hi int, open, close string) []token {
	lo = skipSpaceToks(toks, lo)
	for hi > lo && toks[hi-1].kind == tokSpace {
		hi--
	}
	out := make([]token, 0, len(toks)+8)
	out = append(out, toks[:lo]...)
	out = append(out, lexTag(open)...)
	out = append(out, toks[lo:hi]...)
	out = append(out, lexTag(close)...)
	return append(out, toks[hi:]...)
}

func tokensText(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.text)
	}
	return strings.TrimSpace(b.String())
}
