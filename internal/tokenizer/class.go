package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes used by the pre-tokenizer scanners, as bit flags.
// They follow the Unicode general categories behind the regex classes
// \p{L}, \p{N}, \p{P}, \p{S}, \p{M} and \s (White_Space, as Go's
// unicode.IsSpace).
const (
	clsLetter uint8 = 1 << iota // \p{L}
	clsNumber                   // \p{N}
	clsSpace                    // \s
	clsPunct                    // \p{P}
	clsSymbol                   // \p{S}
	clsMark                     // \p{M}
)

var asciiClass [utf8.RuneSelf]uint8

func init() {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		asciiClass[r] = slowClass(r)
	}
}

func slowClass(r rune) uint8 {
	var c uint8
	switch {
	case unicode.IsLetter(r):
		c = clsLetter
	case unicode.IsNumber(r):
		c = clsNumber
	case unicode.IsPunct(r):
		c = clsPunct
	case unicode.IsSymbol(r):
		c = clsSymbol
	case unicode.IsMark(r):
		c = clsMark
	}
	if unicode.IsSpace(r) {
		c |= clsSpace
	}
	return c
}

// classOf returns the class bits of r.
func classOf(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	// CJK Unified Ideographs are the bulk of non-Latin text; skip the table search.
	if 0x4E00 <= r && r <= 0x9FFF {
		return clsLetter
	}
	return slowClass(r)
}

// next decodes the character at s[i:end]. An invalid byte decodes as
// U+FFFD with width 1, the same as Go's []rune conversion, so the scanners and
// the regexp2 path agree on invalid UTF-8.
func next(s string, i, end int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:end])
}

// classAt returns the class of the character at i (0 at or past end) and its width.
func classAt(s string, i, end int) (uint8, rune, int) {
	if i >= end {
		return 0, -1, 0
	}
	r, w := next(s, i, end)
	return classOf(r), r, w
}
