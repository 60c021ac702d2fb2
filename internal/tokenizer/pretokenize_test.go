package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// byteBPE returns a byte-level BPE tokenizer with the qwen2 pre-tokenizer,
// the 256 byte tokens, a control token <|c|> and a user-defined token <u>.
func byteBPE(t *testing.T) *Tokenizer {
	t.Helper()
	var tokens []string
	var types []TokenType
	for b := 0; b < 256; b++ {
		tokens = append(tokens, string(byteToRune[b]))
		types = append(types, TypeNormal)
	}
	tokens = append(tokens, "<|c|>", "<u>")
	types = append(types, TypeControl, TypeUserDefined)
	tok, err := New(Spec{Model: ModelBPE, Tokens: tokens, Types: types, PreExprs: []string{exprQwen2},
		BOS: None, EOS: None, EOT: None, EOM: None, UNK: None, SEP: None, PAD: None})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestPreTokenize(t *testing.T) {
	tok := byteBPE(t)
	for _, tc := range []struct {
		name         string
		text         string
		parseSpecial bool
		want         []string
	}{
		{"digits split one by one", "What is 4821 + 957?", false,
			[]string{"What", " is", " ", "4", "8", "2", "1", " +", " ", "9", "5", "7", "?"}},
		{"control token cut out when parsed", "a<|c|>bc", true, []string{"a", "bc"}},
		{"control token kept as text otherwise", "a<|c|>bc", false, []string{"a", "<|", "c", "|>", "bc"}},
		{"user-defined token always cut out", "x<u>\n\ny", false, []string{"x", "\n\n", "y"}},
		{"only specials", "<u><|c|>", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tok.PreTokenize(tc.text, tc.parseSpecial)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPreTokenizeMatchesEncode checks that Encode never merges across the
// pieces PreTokenize returns: with a merge for every adjacent byte pair of
// the text, encoding the whole text gives the same ids as encoding the
// pieces one by one.
func TestPreTokenizeMatchesEncode(t *testing.T) {
	text := "What is 4821 + 957?\n4821 957: 1+7+0=8, 8\n_ _: 0+0+1=1, 10000"
	base := byteBPE(t)
	spec := Spec{Model: ModelBPE, PreExprs: []string{exprQwen2},
		BOS: None, EOS: None, EOT: None, EOM: None, UNK: None, SEP: None, PAD: None}
	seen := map[string]bool{}
	for b := 0; b < 256; b++ {
		spec.Tokens = append(spec.Tokens, string(byteToRune[b]))
		seen[string(byteToRune[b])] = true
	}
	for i := 0; i+1 < len(text); i++ {
		l, r := string(byteToRune[text[i]]), string(byteToRune[text[i+1]])
		if !seen[l+r] {
			seen[l+r] = true
			spec.Tokens = append(spec.Tokens, l+r)
			spec.Merges = append(spec.Merges, [2]string{l, r})
		}
	}
	tok, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	pieces := base.PreTokenize(text, false)
	if got := strings.Join(pieces, ""); got != text {
		t.Fatalf("pieces joined = %q, want the text %q", got, text)
	}
	var want []int32
	for _, p := range pieces {
		want = append(want, tok.Encode(p, EncodeOptions{})...)
	}
	if got := tok.Encode(text, EncodeOptions{}); !slices.Equal(got, want) {
		t.Errorf("Encode(text) = %v, want the pieces' ids %v", got, want)
	}
}

func TestByteLevelText(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"ab", "ab"}, {" a", "Ġa"}, {"\n\n", "ĊĊ"}, {"\x00", "Ā"}, {"\xff", "ÿ"}, {"é", "Ã©"},
	} {
		if got := ByteLevelText(tc.raw); got != tc.want {
			t.Errorf("ByteLevelText(%q) = %q, want %q", tc.raw, got, tc.want)
		}
		if back, ok := byteLevelDecode(ByteLevelText(tc.raw)); !ok || back != tc.raw {
			t.Errorf("byteLevelDecode(ByteLevelText(%q)) = %q, %v", tc.raw, back, ok)
		}
	}
}
