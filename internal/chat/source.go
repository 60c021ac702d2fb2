package chat

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the lexer-level half of our Jinja support: it applies Jinja2's
// whitespace control to a template source and hands the library an
// equivalent template in which no whitespace decision is left.
//
// Why: github.com/ardanlabs/jinja always applies trim_blocks/lstrip_blocks
// (there is no option to turn them off), and it applies them, and the "-"
// markers, to the nearest *text* segment even when an expression tag sits in
// between (so "<|{{ r }}|>\n {{ c }}{% else %}" loses the space before c).
// Jinja2 decides all of this in its lexer, so we do the same here, following
// jinja2/lexer.py (3.x):
//
//   - newlines (\r\n, \r, \n) are normalized to \n and, unless
//     keep_trailing_newline, one trailing newline is dropped;
//   - "{%-", "{{-", "{#-" strip all whitespace before the tag, and "-%}",
//     "-}}", "-#}" all whitespace after it;
//   - trim_blocks removes one newline after a block or comment tag unless
//     the tag ends with "+%}" / "+#}";
//   - lstrip_blocks removes the spaces and tabs between the start of a line
//     and a block or comment tag unless it starts with "{%+" / "{#+";
//   - {% raw %}…{% endraw %} content is literal text.
//
// The output turns every piece of literal text into a string-literal
// expression {{ '…' }}, so the library sees no text segments and its own
// trimming has nothing to act on; tags are passed through with their
// whitespace markers removed. Dropped regions (comments, stripped whitespace)
// leave their newlines behind in an empty comment so that every tag starts
// on the same line as in the original source and the library's parse errors
// name the right line.

// prepOptions selects the whitespace rules and rewrites of prepare.
type prepOptions struct {
	trimBlocks, lstripBlocks bool
	// markLines puts {{ lineMarker(N) }} before every tag, N being the tag's
	// 1-based line in the source, and {{ macroEnter() }} / {{ macroLeave() }}
	// at the start and end of every macro body (see renderState).
	markLines bool
	// boundOps rewrites ~, + and * to check sizes (rewriteOps) and routes
	// every output through the output counter (see Limits).
	boundOps bool
	// renameFilters maps a filter name, as written after "|", to the name the
	// library should call instead (our replacements for built-in filters).
	renameFilters map[string]string
	// blocks, if not nil, receives the keyword and line of every block tag.
	blocks *[]blockTag
}

// blockTag is a {% … %} tag's first word and 1-based line.
type blockTag struct {
	keyword string
	line    int
}

// lineMarker is the name of the callable that records the line reached.
const lineMarker = "__sputnik_line"

// maxTemplateBytes bounds the template sources we accept (the largest real
// chat templates are around 20 KB). Parsing costs up to about 520 bytes
// per source byte (a source of nothing but tiny tags; TestParseAllocation),
// so this also bounds what loading a template may allocate: about 130 MiB.
const maxTemplateBytes = 256 << 10

// maxNesting bounds how deeply brackets in a tag, and blocks (if, for,
// macro, …), may nest, and maxTagTokens how long one tag may be, so that
// neither the library's recursive parser nor the evaluation of what it
// parses can recurse without end (real templates nest a few levels and
// their longest tags have a few hundred tokens).
const (
	maxNesting   = 64
	maxTagTokens = 4096
)

// srcError is a lexing failure at a 1-based line.
type srcError struct {
	line int
	msg  string
}

func (e *srcError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// prepare rewrites src as described above.
func prepare(src string, o prepOptions) (string, error) {
	if len(src) > maxTemplateBytes {
		return "", fmt.Errorf("template is %d bytes, more than the limit of %d", len(src), maxTemplateBytes)
	}
	src = normalizeNewlines(src)
	p := prepper{src: src, o: o, line: 1, lineStarting: true}
	if err := p.run(); err != nil {
		return "", err
	}
	return p.out.String(), nil
}

func normalizeNewlines(s string) string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return strings.TrimSuffix(s, "\n") // keep_trailing_newline=False
}

type prepper struct {
	src string
	o   prepOptions
	out strings.Builder
	// outLines counts the newlines written to out.
	outLines int
	pos      int // next unread byte of src
	// line is the 1-based source line of pos.
	line int
	// lineStarting is Jinja2's flag: the previous tag's match (with any
	// whitespace it swallowed) ended in a newline, or we are at the start.
	lineStarting bool
	// nesting counts the blocks open at pos.
	nesting int
	// filters holds the expressions of the open {% filter %} blocks (see
	// emitTag).
	filters []string
}

// tag kinds, by their opening delimiter.
const (
	kindVar     = '{'
	kindBlock   = '%'
	kindComment = '#'
)

// write appends s to the output.
func (p *prepper) write(s string) {
	p.outLines += strings.Count(s, "\n")
	p.out.WriteString(s)
}

func (p *prepper) run() error {
	for p.pos < len(p.src) {
		start, kind := nextTag(p.src, p.pos)
		if start < 0 {
			p.text(p.src[p.pos:])
			p.advance(len(p.src))
			break
		}
		text := p.src[p.pos:start]
		sign := byte(0)
		if start+2 < len(p.src) && (p.src[start+2] == '-' || p.src[start+2] == '+') {
			sign = p.src[start+2]
		}
		if raw, ok := p.rawBegin(start, sign); ok {
			text = p.leftStrip(text, sign, kindBlock)
			p.text(text)
			p.advanceDropping(raw)
			p.lineStarting = p.src[raw-1] == '\n'
			if err := p.raw(raw); err != nil {
				return err
			}
			continue
		}
		text = p.leftStrip(text, sign, kind)
		p.text(text)
		p.advanceDropping(start)
		var err error
		body := start + 2
		if sign != 0 {
			body++
		}
		switch kind {
		case kindComment:
			err = p.comment(body)
		default:
			err = p.tag(kind, body)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// nextTag returns the offset and kind of the next "{{", "{%" or "{#" at or
// after pos, or -1.
func nextTag(s string, pos int) (int, byte) {
	for {
		i := strings.IndexByte(s[pos:], '{')
		if i < 0 || pos+i+1 >= len(s) {
			return -1, 0
		}
		pos += i
		switch c := s[pos+1]; c {
		case '{', '%', '#':
			return pos, c
		}
		pos++
	}
}

// leftStrip applies "-" (strip all whitespace) or lstrip_blocks to the text
// before a tag of the given kind whose opener has the given sign.
func (p *prepper) leftStrip(text string, sign, kind byte) string {
	if sign == '-' {
		return strings.TrimRightFunc(text, isPySpace)
	}
	if sign == '+' || !p.o.lstripBlocks || kind == kindVar {
		return text
	}
	lpos := strings.LastIndexByte(text, '\n') + 1
	if lpos > 0 || p.lineStarting {
		rest := text[lpos:]
		if rest != "" && strings.TrimLeftFunc(rest, isPySpace) == "" {
			return text[:lpos]
		}
	}
	return text
}

// text emits literal text as a string-literal expression.
func (p *prepper) text(s string) {
	if s == "" {
		return
	}
	if p.o.boundOps {
		p.write("{{ " + outName + "('")
	} else {
		p.write("{{ '")
	}
	p.outLines += strings.Count(s, "\n")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			p.out.WriteByte('\\')
			p.out.WriteByte(c)
		default:
			p.out.WriteByte(c)
		}
	}
	if p.o.boundOps {
		p.write("') }}")
	} else {
		p.write("' }}")
	}
}

// advance moves pos to end, counting lines. The bytes in between have been
// emitted (as text or tag), so their newlines are already in the output.
func (p *prepper) advance(end int) {
	p.line += strings.Count(p.src[p.pos:end], "\n")
	p.pos = end
}

// advanceDropping moves pos to end over bytes that were emitted or dropped,
// then restores the line count (see syncLines).
func (p *prepper) advanceDropping(end int) {
	p.advance(end)
	p.syncLines()
}

// syncLines writes the newlines of dropped source (comments, stripped
// whitespace) as an empty comment, so that output and source are on the
// same line again.
func (p *prepper) syncLines() {
	if missing := p.line - 1 - p.outLines; missing > 0 {
		p.write("{#" + strings.Repeat("\n", missing) + "#}")
	}
}

// afterTag consumes what follows a tag's closing delimiter: all whitespace
// after "-", one newline under trim_blocks unless "+" (blocks and comments
// only), and sets lineStarting from what the tag's match ended with.
func (p *prepper) afterTag(closeEnd int, sign byte, kind byte) {
	end := closeEnd
	switch {
	case sign == '-':
		for end < len(p.src) {
			r, n := utf8.DecodeRuneInString(p.src[end:])
			if !isPySpace(r) {
				break
			}
			end += n
		}
	case sign == '+' || kind == kindVar:
	case p.o.trimBlocks && end < len(p.src) && p.src[end] == '\n':
		end++
	}
	p.lineStarting = end > 0 && p.src[end-1] == '\n'
	p.advance(end)
	p.syncLines()
}

// comment skips a {# … #} comment starting at pos whose text starts at body.
func (p *prepper) comment(body int) error {
	i := strings.Index(p.src[body:], "#}")
	if i < 0 {
		return &srcError{p.line, "unclosed comment"}
	}
	closeAt := body + i
	sign := byte(0)
	if closeAt > body && (p.src[closeAt-1] == '-' || p.src[closeAt-1] == '+') {
		sign = p.src[closeAt-1]
	}
	p.afterTag(closeAt+2, sign, kindComment)
	return nil
}

// tag copies a {{ … }} or {% … %} tag starting at pos, without its whitespace
// markers and rewritten by rewriteTag. Like Jinja2's lexer, it skips string
// literals and does not end the tag inside brackets.
func (p *prepper) tag(kind byte, body int) error {
	closer := "}}"
	if kind == kindBlock {
		closer = "%}"
	}
	startLine := p.line
	var inner strings.Builder
	depth := 0
	i := body
	for {
		if i >= len(p.src) {
			return &srcError{startLine, "unclosed " + tagName(kind) + " tag"}
		}
		c := p.src[i]
		switch {
		case c == '\'' || c == '"':
			j := skipString(p.src, i)
			inner.WriteString(p.src[i:j])
			i = j
			continue
		case depth == 0 && strings.HasPrefix(p.src[i:], closer):
			if err := p.emitTag(kind, inner.String(), startLine); err != nil {
				return err
			}
			p.afterTag(i+2, 0, kind)
			return nil
		case depth == 0 && (c == '-' || c == '+') && strings.HasPrefix(p.src[i+1:], closer) &&
			(c == '-' || kind != kindVar):
			if err := p.emitTag(kind, inner.String(), startLine); err != nil {
				return err
			}
			p.afterTag(i+3, c, kind)
			return nil
		case c == '(' || c == '[' || c == '{':
			if depth++; depth > maxNesting {
				return &srcError{startLine, fmt.Sprintf("brackets nested more than %d deep", maxNesting)}
			}
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		}
		inner.WriteByte(c)
		i++
	}
}

func (p *prepper) emitTag(kind byte, inner string, line int) error {
	if countTokens(inner, maxTagTokens) > maxTagTokens {
		return &srcError{line, fmt.Sprintf("tag has more than %d tokens", maxTagTokens)}
	}
	keyword := ""
	if f := strings.Fields(inner); kind == kindBlock && len(f) > 0 {
		keyword = f[0]
		if p.o.blocks != nil {
			kw := keyword
			if kw == "set" && strings.Contains(inner, "=") {
				kw = "set=" // an assignment, not a block
			}
			*p.o.blocks = append(*p.o.blocks, blockTag{kw, line})
		}
		switch {
		case keyword == "if" || keyword == "for" || keyword == "macro" || keyword == "call" || keyword == "filter" ||
			keyword == "set" && !strings.Contains(inner, "="):
			if p.nesting++; p.nesting > maxNesting {
				return &srcError{line, fmt.Sprintf("blocks nested more than %d deep", maxNesting)}
			}
		case strings.HasPrefix(keyword, "end"):
			p.nesting--
		}
	}
	if p.o.markLines {
		p.write(fmt.Sprintf("{{ %s(%d) }}", lineMarker, line))
		if keyword == "endmacro" {
			p.write("{{ " + macroLeave + "() }}")
		}
	}
	if p.o.boundOps {
		// {% filter f %}…{% endfilter %} would apply the library's own
		// filter to the body: make it {% set v %}…{% endset %}{{ v|f }}.
		switch keyword {
		case "filter":
			name := fmt.Sprintf("__sputnik_filtered%d", len(p.filters))
			p.filters = append(p.filters, name+"|"+strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(inner), "filter")))
			p.write("{% set " + name + " %}")
			return nil
		case "endfilter":
			if len(p.filters) == 0 {
				return &srcError{line, "endfilter without filter"}
			}
			expr := p.filters[len(p.filters)-1]
			p.filters = p.filters[:len(p.filters)-1]
			p.write("{% endset %}")
			return p.emitTag(kindVar, expr, line)
		}
	}
	inner, err := rewriteTag(kind, inner, p.o.renameFilters)
	if err != nil {
		return &srcError{line, err.Error()}
	}
	if p.o.boundOps {
		inner = rewriteOps(inner)
		if kind == kindVar {
			inner = outName + "((" + inner + "))"
		}
	}
	// The spaces keep a leading "-" or "+" of the expression from reading
	// as a whitespace marker to the library.
	if kind == kindBlock {
		p.write("{% " + inner + " %}")
		if p.o.markLines && keyword == "macro" {
			p.write("{{ " + macroEnter + "() }}")
		}
		return nil
	}
	p.write("{{ " + inner + " }}")
	return nil
}

// rawBegin reports whether a {% raw %} tag starts at start, returning the
// offset just after it (after any whitespace its "-%}" strips).
func (p *prepper) rawBegin(start int, sign byte) (int, bool) {
	if p.src[start+1] != '%' {
		return 0, false
	}
	i := start + 2
	if sign != 0 {
		i++
	}
	i = skipSpace(p.src, i)
	if !strings.HasPrefix(p.src[i:], "raw") {
		return 0, false
	}
	i = skipSpace(p.src, i+3)
	switch {
	case strings.HasPrefix(p.src[i:], "-%}"):
		return skipSpace(p.src, i+3), true
	case strings.HasPrefix(p.src[i:], "%}"):
		return i + 2, true // Jinja2 applies no trim_blocks after raw
	}
	return 0, false
}

// raw emits the literal content of a raw block whose body starts at body
// and consumes its {% endraw %}.
func (p *prepper) raw(body int) error {
	startLine := p.line
	for i := body; ; {
		j := strings.Index(p.src[i:], "{%")
		if j < 0 {
			return &srcError{startLine, "missing end of raw block"}
		}
		at := i + j
		k := at + 2
		sign := byte(0)
		if k < len(p.src) && (p.src[k] == '-' || p.src[k] == '+') {
			sign = p.src[k]
			k++
		}
		k = skipSpace(p.src, k)
		if !strings.HasPrefix(p.src[k:], "endraw") {
			i = at + 2
			continue
		}
		k = skipSpace(p.src, k+len("endraw"))
		closeSign := byte(0)
		if k < len(p.src) && (p.src[k] == '-' || p.src[k] == '+') {
			closeSign = p.src[k]
			k++
		}
		if !strings.HasPrefix(p.src[k:], "%}") {
			i = at + 2
			continue
		}
		content := p.leftStrip(p.src[body:at], sign, kindBlock)
		p.text(content)
		p.advance(at)
		p.afterTag(k+2, closeSign, kindBlock)
		return nil
	}
}

func tagName(kind byte) string {
	if kind == kindBlock {
		return "statement"
	}
	return "expression"
}

// skipString returns the offset just past the string literal starting at i
// (a quote), honouring backslash escapes; an unterminated string runs to the
// end, as in the library's scanner.
func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1
		}
	}
	return len(s)
}

func skipSpace(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isPySpace(r) {
			break
		}
		i += n
	}
	return i
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

// isPySpace reports whether r is whitespace to Python's str.isspace (and so
// to the \s of Jinja2's regular expressions).
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
}
