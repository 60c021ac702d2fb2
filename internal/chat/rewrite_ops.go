package chat

import "strings"

// rewriteOps rewrites the inside of one tag (after rewriteTag) so that
// every binary ~, + and * checks the size of what it is about to build:
//
//	L ~ R  →  __sputnik_lc(L) ~ __sputnik_rc(R)
//	L + R  →  __sputnik_l(L) + __sputnik_r(R)
//	L * R  →  __sputnik_l(L) * __sputnik_rm(R)
//
// The library evaluates a binary operator's left operand, then its right
// one, then applies it, so __sputnik_l records the left value's size and
// the right call checks the result's size before the library allocates it;
// both return their argument unchanged, so the output is the same. The
// operands are found with the library's own precedence (~ below + and -,
// below *, /, // and %, below **, unary signs and postfix .attr, [i], (…)
// and |filter); anything this small parser does not recognize is left as
// it was (and is then not bounded beyond the output and step limits).
func rewriteOps(inner string) string {
	var b strings.Builder
	writeSeq(&b, lexTag(inner))
	return b.String()
}

// opKeywords end an arithmetic run: they belong to lower-precedence
// grammar (comparisons, boolean logic, tests, the conditional expression)
// or to tag syntax.
var opKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "is": true, "if": true, "elif": true,
	"else": true, "for": true, "endfor": true, "set": true, "endset": true, "macro": true,
	"endmacro": true, "call": true, "endcall": true, "filter": true, "endfilter": true,
	"recursive": true, "import": true, "from": true, "as": true, "with": true,
	"without": true, "context": true, "include": true, "block": true, "endblock": true,
	"extends": true, "endif": true, "break": true, "continue": true, "do": true,
}

// isBoundary reports whether t separates arithmetic runs at its level.
func isBoundary(t token) bool {
	switch t.kind {
	case tokIdent:
		return opKeywords[t.text]
	case tokPunct:
		switch t.text {
		case ",", ":", "=", "!", "<", ">", ";":
			return true
		}
	}
	return false
}

// closing returns the index of the token closing the group opened at
// toks[i], or -1.
func closing(toks []token, i int) int {
	open := toks[i].text
	var cl string
	switch open {
	case "(":
		cl = ")"
	case "[":
		cl = "]"
	case "{":
		cl = "}"
	default:
		return -1
	}
	depth := 0
	for j := i; j < len(toks); j++ {
		switch toks[j].text {
		case open:
			depth++
		case cl:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

func isOpener(t token) bool {
	return t.kind == tokPunct && (t.text == "(" || t.text == "[" || t.text == "{")
}

// writeSeq writes toks, rewriting each arithmetic run between boundaries.
func writeSeq(b *strings.Builder, toks []token) {
	start := 0
	for i := 0; i < len(toks); i++ {
		if isOpener(toks[i]) {
			j := closing(toks, i)
			if j < 0 { // unbalanced: leave the rest alone
				writeRun(b, toks[start:i])
				writeRaw(b, toks[i:])
				return
			}
			i = j
			continue
		}
		if isBoundary(toks[i]) {
			writeRun(b, toks[start:i])
			b.WriteString(toks[i].text)
			start = i + 1
		}
	}
	writeRun(b, toks[start:])
}

// writeRaw writes toks unchanged.
func writeRaw(b *strings.Builder, toks []token) {
	for _, t := range toks {
		b.WriteString(t.text)
	}
}

// writeLeaf writes an operand, rewriting the insides of its groups.
func writeLeaf(b *strings.Builder, toks []token) {
	for i := 0; i < len(toks); i++ {
		if isOpener(toks[i]) {
			if j := closing(toks, i); j > 0 {
				b.WriteString(toks[i].text)
				writeSeq(b, toks[i+1:j])
				b.WriteString(toks[j].text)
				i = j
				continue
			}
		}
		b.WriteString(toks[i].text)
	}
}

func skipSpaceToks(toks []token, i int) int {
	for i < len(toks) && toks[i].kind == tokSpace {
		i++
	}
	return i
}

// operandEndAt returns the end of the unary/postfix/power operand starting
// at toks[i] (after optional space), or -1.
func operandEndAt(toks []token, i int) int {
	i = skipSpaceToks(toks, i)
	for i < len(toks) && (toks[i].text == "-" || toks[i].text == "+") {
		i = skipSpaceToks(toks, i+1)
	}
	if i >= len(toks) {
		return -1
	}
	switch t := toks[i]; {
	case t.kind == tokIdent || t.kind == tokInt || t.kind == tokNum || t.kind == tokStr:
		i++
	case isOpener(t):
		j := closing(toks, i)
		if j < 0 {
			return -1
		}
		i = j + 1
	default:
		return -1
	}
	for {
		k := skipSpaceToks(toks, i)
		if k >= len(toks) {
			return i
		}
		switch t := toks[k]; {
		case t.text == ".":
			m := skipSpaceToks(toks, k+1)
			if m >= len(toks) || (toks[m].kind != tokIdent && toks[m].kind != tokInt) {
				return -1
			}
			i = m + 1
		case t.text == "(" || t.text == "[":
			j := closing(toks, k)
			if j < 0 {
				return -1
			}
			i = j + 1
		case t.text == "|":
			m := skipSpaceToks(toks, k+1)
			if m >= len(toks) || toks[m].kind != tokIdent {
				return -1
			}
			i = m + 1
			if i < len(toks) && toks[i].text == "(" {
				j := closing(toks, i)
				if j < 0 {
					return -1
				}
				i = j + 1
			}
		case t.text == "**":
			j := operandEndAt(toks, k+1)
			if j < 0 {
				return -1
			}
			i = j
		default:
			return i
		}
	}
}

// opNode is an operand (op == "") or a binary operation in a run.
type opNode struct {
	op          string
	lo, hi      int // operand token range
	left, right *opNode
}

func precedence(op string) int {
	switch op {
	case "~":
		return 1
	case "+", "-":
		return 2
	}
	return 3 // * / // %
}

// writeRun writes one run of operands and arithmetic operators with ~, +
// and * bounded, or unchanged (groups still rewritten) when it is not one.
func writeRun(b *strings.Builder, toks []token) {
	// Spaces around the run stay outside the inserted calls.
	lo, hi := 0, len(toks)
	for lo < hi && toks[lo].kind == tokSpace {
		lo++
	}
	for hi > lo && toks[hi-1].kind == tokSpace {
		hi--
	}
	if lo > 0 || hi < len(toks) {
		writeRaw(b, toks[:lo])
		writeRun(b, toks[lo:hi])
		writeRaw(b, toks[hi:])
		return
	}
	if len(toks) == 0 {
		return
	}
	var (
		operands []*opNode
		ops      []string
		bounded  bool
	)
	i := 0
	for {
		end := operandEndAt(toks, i)
		if end < 0 {
			writeLeaf(b, toks)
			return
		}
		k := skipSpaceToks(toks, end)
		operands = append(operands, &opNode{lo: i, hi: k})
		if k >= len(toks) {
			break
		}
		op := toks[k].text
		switch op {
		case "~", "+", "*":
			bounded = true
		case "-", "%":
		case "/":
			if k+1 < len(toks) && toks[k+1].text == "/" {
				op = "//"
				k++
			}
		default:
			writeLeaf(b, toks)
			return
		}
		ops = append(ops, op)
		i = k + 1
	}
	if !bounded {
		writeLeaf(b, toks)
		return
	}
	// Precedence climbing, left-associative at every level: ops[i] sits
	// between operands[i] and operands[i+1], and next is the operand to take.
	next := 0
	var parseExpr func(minPrec int) *opNode
	parseExpr = func(minPrec int) *opNode {
		left := operands[next]
		next++
		for next-1 < len(ops) && precedence(ops[next-1]) >= minPrec {
			op := ops[next-1]
			right := parseExpr(precedence(op) + 1)
			left = &opNode{op: op, left: left, right: right}
		}
		return left
	}
	emitOps(b, toks, parseExpr(1))
}

// emitOps writes the tree n over toks.
func emitOps(b *strings.Builder, toks []token, n *opNode) {
	if n.op == "" {
		writeLeaf(b, toks[n.lo:n.hi])
		return
	}
	right := ""
	switch n.op {
	case "~":
		right = rightCName
	case "+":
		right = rightName
	case "*":
		right = rightMName
	}
	if right == "" {
		emitOps(b, toks, n.left)
		b.WriteString(" " + n.op + " ")
		emitOps(b, toks, n.right)
		return
	}
	left := leftName
	if n.op == "~" {
		left = leftCName
	}
	b.WriteString(left + "(")
	emitOps(b, toks, n.left)
	b.WriteString(") " + n.op + " " + right + "(")
	emitOps(b, toks, n.right)
	b.WriteString(")")
}
