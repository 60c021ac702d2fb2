package tokenizer

import "unicode/utf8"

// GPT-2's byte-level alphabet: every byte maps to one printable code point, so
// that arbitrary bytes can be written as vocabulary strings. Printable
// Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 upward,
// in byte order.
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
)

func init() {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = 256 + n
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevelEncode returns s with every byte replaced by its alphabet code point.
func byteLevelEncode(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, byteToRune[s[i]])
	}
	return string(buf)
}

// byteLevelDecode maps a vocabulary string back to raw bytes. ok is false when
// s holds a code point outside the byte-level alphabet.
func byteLevelDecode(s string) (raw string, ok bool) {
	buf := make([]byte, 0, len(s))
	for _, r := range s {
		b, found := runeToByte[r]
		if !found {
			return s, false
		}
		buf = append(buf, b)
	}
	return string(buf), true
}

// ByteLevelText returns raw bytes as a byte-level BPE vocabulary
// (tokenizer.ggml.model "gpt2") writes them in tokenizer.ggml.tokens and
// tokenizer.ggml.merges: every byte replaced by its code point in GPT-2's
// byte alphabet, so "a b" becomes "aĠb" and "\n" becomes "Ċ".
func ByteLevelText(raw string) string { return byteLevelEncode(raw) }
