package tokenizer

import "strings"

// Hand-written scanners for the pre-tokenizer expressions that almost every
// vocabulary uses. Each returns the byte length of the match of its
// expression that starts at pos in the piece s[:end], or 0 when the
// expression does not match there. end is the end of the piece, so lookaheads
// such as (?!\S) see it as the end of the text, as a regex applied to the
// piece alone would. Alternatives are tried in the order the expression lists
// them (leftmost-first, as in backtracking engines); the regexp2 path is the
// test oracle for all of them (see scan_test.go).

// scanFunc is the signature shared by the scanners.
type scanFunc func(s string, pos, end int) int

// isOther reports whether a present character (w > 0) of class c is in
// [^\s\p{L}\p{N}].
func isOther(c uint8, w int) bool {
	return w > 0 && c&(clsSpace|clsLetter|clsNumber) == 0
}

// contraction returns the length of 's|'t|'re|'ve|'m|'ll|'d after the
// apostrophe at s[i-1] (0 if none), ASCII case-insensitively when fold is set.
func contraction(s string, i, end int, fold bool) int {
	if i >= end {
		return 0
	}
	lower := func(b byte) byte {
		if fold && 'A' <= b && b <= 'Z' {
			return b + 'a' - 'A'
		}
		return b
	}
	switch lower(s[i]) {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if i+1 < end && lower(s[i+1]) == 'e' {
			return 2
		}
	case 'l':
		if i+1 < end && lower(s[i+1]) == 'l' {
			return 2
		}
	}
	return 0
}

// runWhile advances from i while the class of the character has any bit of mask.
func runWhile(s string, i, end int, mask uint8) int {
	for i < end {
		c, _, w := classAt(s, i, end)
		if c&mask == 0 {
			break
		}
		i += w
	}
	return i
}

// runOthers advances from i over characters in [^\s\p{L}\p{N}].
func runOthers(s string, i, end int) int {
	for i < end {
		c, _, w := classAt(s, i, end)
		if !isOther(c, w) {
			break
		}
		i += w
	}
	return i
}

// runNewlines advances from i over \r and \n.
func runNewlines(s string, i, end int) int {
	for i < end && (s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// scanSpaces matches, at a whitespace character, the tail alternatives
// `\s*[\r\n]+|\s+(?!\S)|\s+` (newlines=true) or `\s+(?!\S)|\s+` (false).
func scanSpaces(s string, pos, end int, newlines bool) int {
	i, last, n, afterNL := pos, pos, 0, 0
	for i < end {
		c, r, w := classAt(s, i, end)
		if c&clsSpace == 0 {
			break
		}
		if r == '\r' || r == '\n' {
			afterNL = i + w
		}
		last = i
		i += w
		n++
	}
	switch {
	case newlines && afterNL > 0:
		return afterNL - pos
	case n > 1 && i < end: // \s+(?!\S): give back the last space before a non-space
		return last - pos
	}
	return i - pos
}

// scanGPT2 implements GPT-2's expression
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func scanGPT2(s string, pos, end int) int {
	c, r, w := classAt(s, pos, end)
	if r == '\'' {
		if n := contraction(s, pos+1, end, false); n > 0 {
			return 1 + n
		}
	}
	i := pos
	if r == ' ' {
		if c2, _, w2 := classAt(s, pos+1, end); w2 > 0 && c2&clsSpace == 0 {
			i, c, w = pos+1, c2, w2
		}
	}
	switch {
	case c&clsLetter != 0:
		return runWhile(s, i, end, clsLetter) - pos
	case c&clsNumber != 0:
		return runWhile(s, i, end, clsNumber) - pos
	case isOther(c, w):
		return runOthers(s, i, end) - pos
	case w > 0:
		return scanSpaces(s, pos, end, false)
	}
	return 0
}

// llama3Scanner implements the Llama 3 / Qwen2 family of expressions
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// with maxDigits 3 (Llama 3), 1 (Qwen2) or 0 for \p{N}+.
func llama3Scanner(maxDigits int) scanFunc {
	return func(s string, pos, end int) int {
		c, r, w := classAt(s, pos, end)
		if w == 0 {
			return 0
		}
		if r == '\'' {
			if n := contraction(s, pos+1, end, true); n > 0 {
				return 1 + n
			}
		}
		if c&clsLetter != 0 {
			return runWhile(s, pos, end, clsLetter) - pos
		}
		if r != '\r' && r != '\n' && c&clsNumber == 0 {
			if c2, _, _ := classAt(s, pos+w, end); c2&clsLetter != 0 {
				return runWhile(s, pos+w, end, clsLetter) - pos
			}
		}
		if c&clsNumber != 0 {
			i, n := pos, 0
			for i < end && (maxDigits == 0 || n < maxDigits) {
				c2, _, w2 := classAt(s, i, end)
				if c2&clsNumber == 0 {
					break
				}
				i += w2
				n++
			}
			return i - pos
		}
		i, ci, wi := pos, c, w
		if r == ' ' {
			if c2, _, w2 := classAt(s, pos+1, end); isOther(c2, w2) {
				i, ci, wi = pos+1, c2, w2
			}
		}
		if isOther(ci, wi) {
			return runNewlines(s, runOthers(s, i, end), end) - pos
		}
		return scanSpaces(s, pos, end, true)
	}
}

// isASCIIPunct reports whether r is one of !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~.
func isASCIIPunct(r rune) bool {
	return ('!' <= r && r <= '/') || (':' <= r && r <= '@') || ('[' <= r && r <= '`') || ('{' <= r && r <= '~')
}

func isASCIILetter(b byte) bool { return ('A' <= b && b <= 'Z') || ('a' <= b && b <= 'z') }

// scanDeepSeekV3 implements the main expression of DeepSeek-V3/R1
//
//	[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func scanDeepSeekV3(s string, pos, end int) int {
	c, r, w := classAt(s, pos, end)
	if w == 0 {
		return 0
	}
	if isASCIIPunct(r) && pos+1 < end && isASCIILetter(s[pos+1]) {
		i := pos + 1
		for i < end && isASCIILetter(s[i]) {
			i++
		}
		return i - pos
	}
	const lm = clsLetter | clsMark
	if c&lm != 0 {
		return runWhile(s, pos, end, lm) - pos
	}
	if r != '\r' && r != '\n' && c&(clsLetter|clsPunct|clsSymbol) == 0 {
		if c2, _, _ := classAt(s, pos+w, end); c2&lm != 0 {
			return runWhile(s, pos+w, end, lm) - pos
		}
	}
	const ps = clsPunct | clsSymbol
	i, ci := pos, c
	if r == ' ' {
		if c2, _, _ := classAt(s, pos+1, end); c2&ps != 0 {
			i, ci = pos+1, c2
		}
	}
	if ci&ps != 0 {
		return runNewlines(s, runWhile(s, i, end, ps), end) - pos
	}
	if c&clsSpace != 0 {
		return scanSpaces(s, pos, end, true)
	}
	return 0
}

// runScanner matches 1 to max (0: unbounded) consecutive characters accepted by in.
func runScanner(in func(r rune) bool, max int) scanFunc {
	return func(s string, pos, end int) int {
		i, n := pos, 0
		for i < end && (max == 0 || n < max) {
			r, w := next(s, i, end)
			if !in(r) {
				break
			}
			i += w
			n++
		}
		return i - pos
	}
}

func isNumber(r rune) bool { return classOf(r)&clsNumber != 0 }

// inRanges returns a predicate for a union of inclusive code point ranges,
// given as pairs lo0, hi0, lo1, hi1, ...
func inRanges(bounds ...rune) func(rune) bool {
	return func(r rune) bool {
		for i := 0; i+1 < len(bounds); i += 2 {
			if bounds[i] <= r && r <= bounds[i+1] {
				return true
			}
		}
		return false
	}
}

// optSpaceRun implements \s?X+ for a character set X.
func optSpaceRun(in func(rune) bool) scanFunc {
	return func(s string, pos, end int) int {
		if pos >= end {
			return 0
		}
		r, w := next(s, pos, end)
		run := func(i int) int {
			for i < end {
				r2, w2 := next(s, i, end)
				if !in(r2) {
					break
				}
				i += w2
			}
			return i
		}
		if classOf(r)&clsSpace != 0 && pos+w < end {
			if r2, _ := next(s, pos+w, end); in(r2) {
				return run(pos+w) - pos
			}
		}
		if in(r) {
			return run(pos) - pos
		}
		return 0
	}
}

// scanTrailingSpaces implements \s+$ on a piece: whitespace reaching its end.
func scanTrailingSpaces(s string, pos, end int) int {
	i := runWhile(s, pos, end, clsSpace)
	if i > pos && i == end {
		return i - pos
	}
	return 0
}

// scanThreeDigits implements [0-9][0-9][0-9].
func scanThreeDigits(s string, pos, end int) int {
	if pos+3 <= end && isDigit(s[pos]) && isDigit(s[pos+1]) && isDigit(s[pos+2]) {
		return 3
	}
	return 0
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// punctOr returns a predicate for \p{P} or one of the given ASCII characters.
func punctOr(extra string) func(rune) bool {
	return func(r rune) bool {
		return classOf(r)&clsPunct != 0 || (r < 0x80 && strings.IndexByte(extra, byte(r)) >= 0)
	}
}

// classScanner recognizes the expressions `[…]+` and `\s?[…]+` whose class
// is a plain list of characters and ranges (no escapes, no negation), as in
// deepseek-llm's lists, and returns their scanner.
func classScanner(expr string) (scanFunc, bool) {
	opt := strings.HasPrefix(expr, `\s?[`)
	body, ok := strings.CutPrefix(strings.TrimPrefix(expr, `\s?`), "[")
	if !ok {
		return nil, false
	}
	body, ok = strings.CutSuffix(body, "]+")
	if !ok || body == "" || body[0] == '^' || strings.ContainsAny(body, `\[]`) {
		return nil, false
	}
	rs := []rune(body)
	var bounds []rune
	for i := 0; i < len(rs); i++ {
		lo, hi := rs[i], rs[i]
		if i+2 < len(rs) && rs[i+1] == '-' {
			hi = rs[i+2]
			i += 2
		}
		if hi < lo {
			return nil, false
		}
		bounds = append(bounds, lo, hi)
	}
	in := inRanges(bounds...)
	if opt {
		return optSpaceRun(in), true
	}
	return runScanner(in, 0), true
}
