package vocab

import (
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// FuzzFitRoundTrip fits a vocabulary to a corpus made of the input and
// checks that the engine's tokenizer for it decodes every encoding back to
// the input, special tokens parsed or not.
func FuzzFitRoundTrip(f *testing.F) {
	for _, s := range []string{
		"What is 4821 + 957?", "aaaa aaaa aaaa", "<｜User｜>hi<think>\nx\n</think>\n\n12",
		"\xff\xfe ab ab \xe4\xb8 ab", "  \n\n\t\t  ", "ééé ééé 中文中文",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		v, err := Fit([]string{s, s, strings.ToUpper(s)}, r1Options(300))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := v.Tokenizer()
		if err != nil {
			t.Fatal(err)
		}
		for _, parse := range []bool{false, true} {
			if got := tok.Decode(tok.Encode(s, tokenizer.EncodeOptions{ParseSpecial: parse})); got != s {
				t.Fatalf("ParseSpecial %v: Decode(Encode(%q)) = %q", parse, s, got)
			}
		}
	})
}
