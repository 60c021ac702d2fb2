package grammar

import (
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file compiles regular expressions (JSON Schema's pattern, the
// formats, and numeric ranges written as expressions) into byte-level
// automata. Go's regexp/syntax parses; the supported subset is literals,
// classes, ., concatenation, alternation, groups, *, +, ?, {n,m}, and ^/$
// at the ends. Word boundaries and anchors in the middle are refused.

// maxRepeat bounds {n,m} counts (the automaton unrolls them).
const maxRepeat = 1000

// regexCtx says where the matched text lands.
type regexCtx int

const (
	rawText    regexCtx = iota // outside a JSON string (numbers): bytes as is
	stringText                 // inside a JSON string: '"' and '\' escaped, control characters left out
)

// regex adds states matching the expression expr from from to to. A
// pattern (search semantics, as JSON Schema's) is made to match the whole
// string by adding .* at an end that has no anchor.
func (c *compiler) regex(expr string, from, to int32, ctx regexCtx, search bool) error {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return fmt.Errorf("pattern %q: %v", expr, err)
	}
	startAnchored, endAnchored := false, false
	if search {
		re, startAnchored, endAnchored = stripAnchors(re)
	}
	if n := countRepeats(re); n > maxStates/4 {
		return fmt.Errorf("pattern %q is too large to compile", expr)
	}
	if search && !startAnchored {
		mid := c.b.add()
		c.anyChars(from, mid, ctx)
		from = mid
	}
	end := to
	if search && !endAnchored {
		end = c.b.add()
		c.anyChars(end, to, ctx)
	}
	return c.re(re, from, end, ctx)
}

// stripAnchors removes ^ at the start and $ at the end of re.
func stripAnchors(re *syntax.Regexp) (*syntax.Regexp, bool, bool) {
	isBegin := func(r *syntax.Regexp) bool { return r.Op == syntax.OpBeginText || r.Op == syntax.OpBeginLine }
	isEnd := func(r *syntax.Regexp) bool { return r.Op == syntax.OpEndText || r.Op == syntax.OpEndLine }
	switch {
	case isBegin(re):
		return &syntax.Regexp{Op: syntax.OpEmptyMatch}, true, false
	case isEnd(re):
		return &syntax.Regexp{Op: syntax.OpEmptyMatch}, false, true
	case re.Op != syntax.OpConcat || len(re.Sub) == 0:
		return re, false, false
	}
	subs := re.Sub
	start, end := false, false
	if isBegin(subs[0]) {
		subs, start = subs[1:], true
	}
	if len(subs) > 0 && isEnd(subs[len(subs)-1]) {
		subs, end = subs[:len(subs)-1], true
	}
	return &syntax.Regexp{Op: syntax.OpConcat, Sub: subs}, start, end
}

func countRepeats(re *syntax.Regexp) int {
	n := 1
	for _, s := range re.Sub {
		n += countRepeats(s)
	}
	if re.Op == syntax.OpRepeat {
		n *= max(re.Max, re.Min, 1)
	}
	return n
}

func (c *compiler) re(re *syntax.Regexp, from, to int32, ctx regexCtx) error {
	if len(c.b.states) > maxStates {
		return fmt.Errorf("pattern too large: more than %d states", maxStates)
	}
	b := &c.b
	switch re.Op {
	case syntax.OpNoMatch:
	case syntax.OpEmptyMatch:
		b.eps(from, to)
	case syntax.OpLiteral:
		cur := from
		for i, r := range re.Rune {
			next := to
			if i < len(re.Rune)-1 {
				next = b.add()
			}
			ranges := []rune{r, r}
			if re.Flags&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					ranges = append(ranges, f, f)
				}
			}
			c.runeClass(ranges, cur, next, ctx)
			cur = next
		}
		if len(re.Rune) == 0 {
			b.eps(from, to)
		}
	case syntax.OpCharClass:
		c.runeClass(re.Rune, from, to, ctx)
	case syntax.OpAnyCharNotNL:
		c.runeClass([]rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune}, from, to, ctx)
	case syntax.OpAnyChar:
		c.runeClass([]rune{0, unicode.MaxRune}, from, to, ctx)
	case syntax.OpCapture:
		return c.re(re.Sub[0], from, to, ctx)
	case syntax.OpConcat:
		cur := from
		for i, s := range re.Sub {
			next := to
			if i < len(re.Sub)-1 {
				next = b.add()
			}
			if err := c.re(s, cur, next, ctx); err != nil {
				return err
			}
			cur = next
		}
		if len(re.Sub) == 0 {
			b.eps(from, to)
		}
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if err := c.re(s, from, to, ctx); err != nil {
				return err
			}
		}
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		loop := b.add()
		out := b.add()
		b.eps(from, loop)
		if err := c.re(re.Sub[0], loop, out, ctx); err != nil {
			return err
		}
		if re.Op != syntax.OpQuest {
			b.eps(out, loop)
		}
		if re.Op != syntax.OpPlus {
			b.eps(loop, to)
		}
		b.eps(out, to)
	case syntax.OpRepeat:
		if re.Min > maxRepeat || re.Max > maxRepeat {
			return fmt.Errorf("pattern: repetition {%d,%d} is over %d", re.Min, re.Max, maxRepeat)
		}
		cur := from
		for range re.Min {
			next := b.add()
			if err := c.re(re.Sub[0], cur, next, ctx); err != nil {
				return err
			}
			cur = next
		}
		if re.Max < 0 {
			return c.re(&syntax.Regexp{Op: syntax.OpStar, Sub: re.Sub}, cur, to, ctx)
		}
		b.eps(cur, to)
		for range re.Max - re.Min {
			next := b.add()
			if err := c.re(re.Sub[0], cur, next, ctx); err != nil {
				return err
			}
			b.eps(next, to)
			cur = next
		}
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return fmt.Errorf("pattern: anchors are only supported at the start and end")
	default:
		return fmt.Errorf("pattern: %v is not supported", re.Op)
	}
	return nil
}

// anyChars adds a loop of any characters from from to to.
func (c *compiler) anyChars(from, to int32, ctx regexCtx) {
	loop := c.b.add()
	c.b.eps(from, loop)
	c.runeClass([]rune{0, unicode.MaxRune}, loop, loop, ctx)
	c.b.eps(loop, to)
}

// runeClass adds transitions from from to to over the characters in
// ranges (pairs lo, hi), as UTF-8; inside a JSON string, '"' and '\' are
// written escaped and control characters are left out.
func (c *compiler) runeClass(ranges []rune, from, to int32, ctx regexCtx) {
	b := &c.b
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if ctx == stringText {
			for _, esc := range []rune{'"', '\\'} {
				if lo <= esc && esc <= hi {
					b.eps(b.lit(from, `\`+string(esc)), to)
				}
			}
			c.utf8Ranges(from, to, max(lo, 0x20), min(hi, '"'-1))
			c.utf8Ranges(from, to, max(lo, '"'+1), min(hi, '\\'-1))
			c.utf8Ranges(from, to, max(lo, '\\'+1), hi)
			continue
		}
		c.utf8Ranges(from, to, lo, hi)
	}
}

// utf8Ranges adds byte paths from from to to spelling every scalar value
// in [lo, hi] (surrogates left out) in UTF-8; the split into runs whose
// bytes vary independently is the one RE2 and Rust's regex-syntax use.
func (c *compiler) utf8Ranges(from, to int32, lo, hi rune) {
	if lo > hi {
		return
	}
	if lo <= 0xDFFF && hi >= 0xD800 {
		c.utf8Ranges(from, to, lo, 0xD7FF)
		c.utf8Ranges(from, to, 0xE000, hi)
		return
	}
	for _, bound := range []rune{0x7F, 0x7FF, 0xFFFF} {
		if lo <= bound && hi > bound {
			c.utf8Ranges(from, to, lo, bound)
			c.utf8Ranges(from, to, bound+1, hi)
			return
		}
	}
	n := utf8.RuneLen(lo)
	for i := 1; i < n; i++ {
		m := rune(1)<<(6*i) - 1
		if lo&^m != hi&^m {
			if lo&m != 0 {
				c.utf8Ranges(from, to, lo, lo|m)
				c.utf8Ranges(from, to, (lo|m)+1, hi)
				return
			}
			if hi&m != m {
				c.utf8Ranges(from, to, lo, hi&^m-1)
				c.utf8Ranges(from, to, hi&^m, hi)
				return
			}
		}
	}
	var a, z [4]byte
	utf8.EncodeRune(a[:], lo)
	utf8.EncodeRune(z[:], hi)
	cur := from
	for i := range n {
		next := to
		if i < n-1 {
			next = c.b.add()
		}
		c.b.edge(cur, next, a[i], z[i])
		cur = next
	}
}

// Formats are compiled from these expressions. They are stricter than
// the RFCs (no leap seconds, no February 29, ASCII e-mail addresses and
// host names of at most five labels), so what they produce is valid.
var formats = map[string]string{
	"date":      dateRE,
	"time":      timeRE,
	"date-time": dateRE + "T" + timeRE,
	"email":     `[a-zA-Z0-9_+-]{1,16}(?:\.[a-zA-Z0-9_+-]{1,16}){0,2}@` + hostRE,
	"hostname":  hostRE,
	"uuid":      `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`,
	"ipv4":      `(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`,
}

const (
	dateRE = `[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))`
	timeRE = `(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])`
	label  = `[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?`
	hostRE = label + `(?:\.` + label + `){0,3}\.[a-zA-Z]{2,10}`
)

// intRangeRE returns an expression for the decimal integers in [lo, hi]
// (0 ≤ lo ≤ hi), without leading zeros.
func intRangeRE(lo, hi uint64) string {
	var alts []string
	for lo <= hi {
		n := len(strconv.FormatUint(lo, 10))
		top := uint64(1)
		for range n {
			top *= 10
		}
		end := min(hi, top-1)
		alts = append(alts, sameLenRE(strconv.FormatUint(lo, 10), strconv.FormatUint(end, 10)))
		if end == hi || end+1 == 0 {
			break
		}
		lo = end + 1
	}
	return "(?:" + strings.Join(alts, "|") + ")"
}

// sameLenRE matches the digit strings of length len(a) in [a, b].
func sameLenRE(a, b string) string {
	if a == "" {
		return ""
	}
	if a[0] == b[0] {
		return a[:1] + sameLenRE(a[1:], b[1:])
	}
	rest := len(a) - 1
	if strings.Trim(a[1:], "0") == "" && strings.Trim(b[1:], "9") == "" {
		return fmt.Sprintf("[%c-%c]%s", a[0], b[0], digits(rest))
	}
	alts := []string{a[:1] + sameLenRE(a[1:], strings.Repeat("9", rest))}
	if b[0]-a[0] > 1 {
		alts = append(alts, fmt.Sprintf("[%c-%c]%s", a[0]+1, b[0]-1, digits(rest)))
	}
	alts = append(alts, b[:1]+sameLenRE(strings.Repeat("0", rest), b[1:]))
	return "(?:" + strings.Join(alts, "|") + ")"
}

func digits(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("[0-9]{%d}", n)
}

// atLeastRE matches the decimal integers ≥ lo (lo ≥ 0), no leading zeros.
func atLeastRE(lo uint64) string {
	n := len(strconv.FormatUint(lo, 10))
	top := uint64(1)
	for range n {
		top *= 10
	}
	return fmt.Sprintf("(?:%s|[1-9][0-9]{%d,})", intRangeRE(lo, top-1), n)
}

// bound is one side of a numeric range; inf means none.
type bound struct {
	v   int64
	inf bool
}

// intSetRE matches the integers in [lo, hi] (either side may be infinite).
func intSetRE(lo, hi bound) string {
	var alts []string
	// non-negative part
	if hi.inf || hi.v >= 0 {
		a := uint64(max(lo.v, 0))
		if lo.inf {
			a = 0
		}
		if hi.inf {
			alts = append(alts, atLeastRE(a))
		} else if a <= uint64(hi.v) {
			alts = append(alts, intRangeRE(a, uint64(hi.v)))
		}
	}
	// negative part: -x for x in [max(1, -hi), -lo]
	if lo.inf || lo.v < 0 {
		x1 := uint64(1)
		if !hi.inf && hi.v < 0 {
			x1 = uint64(-hi.v)
		}
		if lo.inf {
			alts = append(alts, "-"+atLeastRE(x1))
		} else if x2 := uint64(-lo.v); x1 <= x2 {
			alts = append(alts, "-"+intRangeRE(x1, x2))
		}
	}
	if len(alts) == 0 {
		return ""
	}
	return "(?:" + strings.Join(alts, "|") + ")"
}
