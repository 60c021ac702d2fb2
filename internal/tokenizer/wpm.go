package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// WordPiece (GGUF "bert"), as llama.cpp's llm_tokenizer_wpm_session: the text
// is split into words at whitespace and around punctuation and CJK
// characters (optionally lowercased), and each word, prefixed by U+2581, is
// covered greedily by the longest tokens; a word that cannot be covered
// becomes the unknown token.

func (t *Tokenizer) encodeWPM(out []int32, s string) []int32 {
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		if r == utf8.RuneError && w == 1 {
			continue
		}
		if unicode.IsSpace(r) {
			flush()
			continue
		}
		if r == 0 || unicode.Is(unicode.C, r) {
			continue
		}
		if t.stripAccents {
			r = stripAccent(r)
			if unicode.Is(unicode.Mn, r) {
				continue
			}
		}
		if t.lowercase {
			r = unicode.ToLower(r)
		}
		if unicode.IsPunct(r) || (r < 0x7F && unicode.IsSymbol(r)) || isChineseChar(r) {
			flush()
			words = append(words, string(r))
			continue
		}
		cur = utf8.AppendRune(cur, r)
	}
	flush()
	for _, word := range words {
		w := spaceMark + word
		n0 := len(out)
		for i := 0; i < len(w); {
			found := false
			for j := min(len(w), i+t.maxTokenLen+1); j > i; j-- {
				if id, ok := t.toID[w[i:j]]; ok {
					out = append(out, id)
					i = j
					found = true
					break
				}
			}
			if !found {
				out = out[:n0]
				break
			}
		}
		if len(out) == n0 && t.unk != None {
			out = append(out, t.unk)
		}
	}
	return out
}

func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

func stripAccent(r rune) rune {
	if b, ok := nfdFirst[r]; ok {
		return b
	}
	return r
}
