package tokenizer

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// initPieces computes each token's text contribution, as llama.cpp's
// token_to_piece with special=true: control, unknown and user-defined tokens
// are their own text; normal tokens are byte-level decoded (BPE) or have
// U+2581 turned into spaces (SPM, WPM); byte tokens <0xXX> are that byte;
// unused and undefined tokens are empty.
func (t *Tokenizer) initPieces() {
	t.pieces = make([]string, len(t.tokens))
	for id, text := range t.tokens {
		a := t.attrs[id]
		switch {
		case a&(attrControl|attrUnknown|attrUserDefined) != 0:
			t.pieces[id] = text
		case a&attrNormal != 0:
			if t.kind == kindBPE {
				if raw, ok := byteLevelDecode(text); ok {
					t.pieces[id] = raw
				} else {
					t.pieces[id] = text
				}
			} else {
				t.pieces[id] = strings.ReplaceAll(text, spaceMark, " ")
			}
		case a&attrByte != 0:
			if b, ok := parseByteToken(text); ok {
				t.pieces[id] = string([]byte{b})
			}
		}
	}
}

// parseByteToken parses "<0xXX>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	return byte(v), err == nil
}

// Piece returns the bytes token id stands for in text; a control token's is
// its own text. It may be part of a UTF-8 sequence (byte tokens, byte-level
// pieces of a multi-byte character). It returns "" for an id out of range.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// DecodeOptions controls DecodeWith.
type DecodeOptions struct {
	// SkipSpecial leaves out control and unknown-type tokens (BOS, EOS,
	// <|im_end|>, …), as llama.cpp's detokenize with special=false.
	SkipSpecial bool
}

// Decode returns the text of ids, special tokens written as their text, so
// that Decode(Encode(s, {ParseSpecial: true})) == s for valid UTF-8 s. For SPM
// vocabularies that add a space prefix, the space in front of the first token
// is removed, as Encode added it. Ids out of range are skipped. The result may
// hold invalid UTF-8 if the ids do (use a StreamDecoder for display).
func (t *Tokenizer) Decode(ids []int32) string {
	return t.DecodeWith(ids, DecodeOptions{})
}

// DecodeWith is Decode with options.
func (t *Tokenizer) DecodeWith(ids []int32, opts DecodeOptions) string {
	var b strings.Builder
	for i, id := range ids {
		if opts.SkipSpecial && t.IsControl(id) {
			continue
		}
		p := t.Piece(id)
		if i == 0 && t.addSpacePrefix && t.kind == kindSPM {
			p = strings.TrimPrefix(p, " ")
		}
		b.WriteString(p)
	}
	return b.String()
}

// StreamDecoder turns generated ids into text one token at a time without
// ever returning a broken UTF-8 sequence: bytes of an incomplete character are
// held until the tokens completing it arrive, and bytes that cannot start or
// continue a valid sequence come out as U+FFFD. It is not safe for concurrent
// use; make one per sequence.
type StreamDecoder struct {
	t *Tokenizer
	// SkipSpecial leaves out the text of control and unknown-type tokens.
	SkipSpecial bool
	pending     []byte
}

// NewStreamDecoder returns a decoder for one stream of generated ids. Unlike
// Decode it keeps a leading space (a generated token's space is real).
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Add consumes one id and returns the text it completes (possibly "").
func (d *StreamDecoder) Add(id int32) string {
	if d.SkipSpecial && d.t.IsControl(id) {
		return ""
	}
	d.pending = append(d.pending, d.t.Piece(id)...)
	return d.drain(false)
}

// Flush returns the held bytes of an unfinished character as U+FFFD and
// resets the decoder.
func (d *StreamDecoder) Flush() string {
	return d.drain(true)
}

// drain returns the longest valid prefix of pending (invalid bytes replaced)
// and keeps the incomplete tail unless final.
func (d *StreamDecoder) drain(final bool) string {
	p := d.pending
	if len(p) == 0 {
		return ""
	}
	var b strings.Builder
	i := 0
	for i < len(p) {
		if p[i] < utf8.RuneSelf {
			b.WriteByte(p[i])
			i++
			continue
		}
		if !final && !utf8.FullRune(p[i:]) {
			break // an incomplete sequence at the end: wait for more
		}
		r, w := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && w == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.Write(p[i : i+w])
		}
		i += w
	}
	d.pending = append(d.pending[:0], p[i:]...)
	return b.String()
}
