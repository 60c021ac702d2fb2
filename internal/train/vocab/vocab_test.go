package vocab

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
	"github.com/sputnik-llm/sputnik/internal/train/addition"
)

// r1Options are the options the r1-tiny recipe uses, at vocabulary size n.
func r1Options(n int) Options {
	return Options{Size: n, Pre: "qwen2", Specials: R1Specials(), BOS: R1BOS, EOS: R1EOS}
}

// load writes v and template into a GGUF file in memory, parses it back and
// returns the file and the engine's tokenizer for it.
func load(t *testing.T, v *Vocab, template string) (*gguf.File, *tokenizer.Tokenizer) {
	t.Helper()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	v.AddTo(w, template)
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.ParseBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, tok
}

func corpus(n int, o addition.Options) []string {
	return addition.Corpus(rand.New(rand.NewPCG(1, 2)), o, n)
}

func fit(t *testing.T, texts []string, o Options) *Vocab {
	t.Helper()
	v, err := Fit(texts, o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	texts := corpus(1000, addition.Options{MinDigits: 1, MaxDigits: 8})
	v := fit(t, texts, r1Options(384))
	_, tok := load(t, v, "")
	if tok.VocabSize() != v.Size() || v.Size() > 384 {
		t.Fatalf("vocabulary of %d tokens (Vocab says %d), want at most 384", tok.VocabSize(), v.Size())
	}
	for _, s := range texts {
		if got := tok.Decode(tok.Encode(s, tokenizer.EncodeOptions{ParseSpecial: true})); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
	}
	// Random text: code points from every plane, ASCII-heavy, and invalid bytes.
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		var b []byte
		for range rng.IntN(40) {
			switch rng.IntN(6) {
			case 0, 1:
				b = append(b, byte(' '+rng.IntN(95)))
			case 2:
				b = append(b, "\n\t 0123456789+=,:_"[rng.IntN(18)])
			case 3:
				b = utf8.AppendRune(b, rune(0x80+rng.IntN(0x10000-0x80)))
			case 4:
				b = utf8.AppendRune(b, rune(0x10000+rng.IntN(0x100000)))
			case 5:
				b = append(b, byte(0x80+rng.IntN(0x80))) // a stray continuation or lead byte
			}
		}
		s := string(b)
		if i%2 == 0 { // and special tokens, matched as text
			s = R1User + s + R1ThinkClose + s
		}
		if got := tok.Decode(tok.Encode(s, tokenizer.EncodeOptions{ParseSpecial: true})); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if got := tok.Decode(tok.Encode(s, tokenizer.EncodeOptions{})); got != s {
			t.Fatalf("without ParseSpecial: Decode(Encode(%q)) = %q", s, got)
		}
	}
}

func TestDigitsAreSingleTokens(t *testing.T) {
	texts := corpus(1000, addition.Options{MinDigits: 1, MaxDigits: 8})
	_, tok := load(t, fit(t, texts, r1Options(512)), "")
	for d := '0'; d <= '9'; d++ {
		if ids := tok.Encode(string(d), tokenizer.EncodeOptions{}); len(ids) != 1 {
			t.Errorf("digit %c encodes to %v, want one token", d, ids)
		}
	}
	if ids := tok.Encode("12345678901234567890", tokenizer.EncodeOptions{}); len(ids) != 20 {
		t.Errorf("20 digits encode to %d tokens, want 20", len(ids))
	}
	// In the corpus, no token holds a digit and anything else.
	for _, s := range texts[:200] {
		for _, id := range tok.Encode(s, tokenizer.EncodeOptions{ParseSpecial: true}) {
			p := tok.Piece(id)
			if len(p) > 1 && strings.ContainsAny(p, "0123456789") {
				t.Fatalf("token %d %q holds a digit and more", id, p)
			}
		}
	}
}

func TestSpecials(t *testing.T) {
	v := fit(t, corpus(200, addition.Options{MinDigits: 1, MaxDigits: 5}), r1Options(384))
	_, tok := load(t, v, "")
	for _, s := range R1Specials() {
		ids := tok.Encode(s.Text, tokenizer.EncodeOptions{ParseSpecial: true})
		if len(ids) != 1 {
			t.Errorf("%s encodes to %v, want one id", s.Text, ids)
			continue
		}
		if got := tok.TokenType(ids[0]); got != s.Type {
			t.Errorf("%s has type %d, want %d", s.Text, got, s.Type)
		}
		if got := tok.Piece(ids[0]); got != s.Text {
			t.Errorf("%s decodes to %q", s.Text, got)
		}
		// Control tokens are text unless parsed; user-defined ones always match.
		plain := tok.Encode(s.Text, tokenizer.EncodeOptions{})
		if want := s.Type == tokenizer.TypeUserDefined; (len(plain) == 1) != want {
			t.Errorf("%s without ParseSpecial encodes to %v; one id: %v, want %v", s.Text, plain, len(plain) == 1, want)
		}
	}
	if tok.BOS() != v.BOS || tok.TokenText(tok.BOS()) != R1BOS || tok.EOS() != v.EOS || tok.TokenText(tok.EOS()) != R1EOS {
		t.Errorf("BOS %d %q, EOS %d %q", tok.BOS(), tok.TokenText(tok.BOS()), tok.EOS(), tok.TokenText(tok.EOS()))
	}
	if !tok.IsEOG(v.EOS) {
		t.Error("EOS does not end generation")
	}
	if tok.AddBOS() {
		t.Error("AddBOS is set; the R1 template writes the BOS text itself")
	}
	if got := tok.Encode("What is 1 + 2?", tokenizer.EncodeOptions{AddSpecial: true}); got[0] == v.BOS {
		t.Errorf("AddSpecial prepends BOS: %v", got)
	}
}

// TestTemplate renders one user message through the chat template stored in
// the GGUF, as the server does for the r1-tiny model.
func TestTemplate(t *testing.T) {
	src, err := chat.BuiltinSource("deepseek-r1")
	if err != nil {
		t.Fatal(err)
	}
	v := fit(t, corpus(200, addition.Options{MinDigits: 1, MaxDigits: 5}), r1Options(384))
	f, tok := load(t, v, src)
	stored, err := f.String("tokenizer.chat_template")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Parse(stored)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Apply([]chat.Message{{Role: "user", Content: "What is 4821 + 957?"}},
		chat.Options{AddGenerationPrompt: true, BOS: tok.TokenText(tok.BOS()), EOS: tok.TokenText(tok.EOS()), ForceThink: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "<｜begin▁of▁sentence｜><｜User｜>What is 4821 + 957?<｜Assistant｜><think>\n"
	if got != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
	if got != (addition.Problem{A: 4821, B: 957}).Prompt() {
		t.Errorf("rendered %q, addition's Prompt() is %q", got, (addition.Problem{A: 4821, B: 957}).Prompt())
	}
	if !chat.EndsInReasoning(got) {
		t.Error("the prompt does not leave the model inside <think>")
	}
	ids := tok.Encode(got, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if ids[0] != v.BOS || ids[1] == v.BOS {
		t.Errorf("prompt ids %v: want exactly one BOS first", ids)
	}
	if name, ok := chat.DetectBuiltin("llama", v.Tokens); !ok || name != "deepseek-r1" {
		t.Errorf("DetectBuiltin on the vocabulary = %q, %v, want deepseek-r1", name, ok)
	}
}

// TestCompression compares tokens per example of the fitted vocabulary with
// the bytes and with a vocabulary without merges, and logs them (go test -v).
func TestCompression(t *testing.T) {
	for _, tc := range []struct {
		name   string
		digits addition.Options
		size   int
	}{
		{"1-5 digits, 384", addition.Options{MinDigits: 1, MaxDigits: 5}, 384},
		{"1-5 digits, 512", addition.Options{MinDigits: 1, MaxDigits: 5}, 512},
		{"1-8 digits, 384", addition.Options{MinDigits: 1, MaxDigits: 8}, 384},
		{"1-8 digits, 512", addition.Options{MinDigits: 1, MaxDigits: 8}, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			texts := corpus(2000, tc.digits)
			v := fit(t, texts, r1Options(tc.size))
			_, tok := load(t, v, "")
			base, err := Fit(nil, r1Options(tc.size))
			if err != nil {
				t.Fatal(err)
			}
			_, plain := load(t, base, "")
			var nBytes, nTok, nPlain, nPrompt, maxTok int
			for _, s := range texts {
				n := len(tok.Encode(s, tokenizer.EncodeOptions{ParseSpecial: true}))
				nBytes += len(s)
				nTok += n
				nPlain += len(plain.Encode(s, tokenizer.EncodeOptions{ParseSpecial: true}))
				maxTok = max(maxTok, n)
			}
			for _, p := range addition.TestSet(200, 1, tc.digits) {
				nPrompt += len(tok.Encode(p.Prompt(), tokenizer.EncodeOptions{ParseSpecial: true}))
			}
			k := float64(len(texts))
			t.Logf("vocab %d tokens (%d merges): %.1f bytes/example, %.1f tokens/example (max %d; prompt %.1f), %.1f without merges",
				v.Size(), len(v.Merges), float64(nBytes)/k, float64(nTok)/k, maxTok, float64(nPrompt)/200, float64(nPlain)/k)
			if nTok >= nPlain {
				t.Errorf("fitted vocabulary gives %d tokens, no fewer than the %d without merges", nTok, nPlain)
			}
		})
	}
}

func TestFitDeterministic(t *testing.T) {
	texts := corpus(500, addition.Options{MinDigits: 1, MaxDigits: 5})
	texts = append(texts, "Some prose, with words that repeat: the cat, the hat, the bat.", "the end")
	a := fit(t, texts, r1Options(320))
	b := fit(t, texts, r1Options(320))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two fits of the same corpus differ")
	}
	shuffled := slices.Clone(texts)
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if c := fit(t, shuffled, r1Options(320)); !reflect.DeepEqual(a, c) {
		t.Fatal("the fit depends on the order of the corpus")
	}
}

// TestFitMerges checks the merges on a corpus worked by hand. Its qwen2
// pieces are "ab" ×4, " ab" ×2, " abc" and " cd": pair counts a·b 7,
// space·a 3; then space·ab 3; then ab·c, space·c and c·d once each, so
// learning stops after two merges.
func TestFitMerges(t *testing.T) {
	o := Options{Size: 300, Pre: "qwen2"}
	v := fit(t, []string{"ab ab abc", "ab ab cd", "ab", "ab"}, o)
	if want := []string{"a b", "Ġ ab"}; !slices.Equal(v.Merges, want) {
		t.Errorf("merges %q, want %q", v.Merges, want)
	}
	if want := []string{"ab", "Ġab"}; !slices.Equal(v.Tokens[256:], want) {
		t.Errorf("merged tokens %q, want %q", v.Tokens[256:], want)
	}
	// The size limit counts bytes, merges and specials: room for one merge.
	o.Size = 256 + 1 + 2
	o.Specials = []Special{{"<s>", tokenizer.TypeControl}, {"<t>", tokenizer.TypeUserDefined}}
	v = fit(t, []string{"ab ab abc", "ab ab cd", "ab", "ab"}, o)
	if v.Size() != o.Size || !slices.Equal(v.Merges, []string{"a b"}) || !slices.Equal(v.Tokens[257:], []string{"<s>", "<t>"}) {
		t.Errorf("size %d, merges %q, tokens from 257 %q", v.Size(), v.Merges, v.Tokens[257:])
	}
	// Specials are cut out before counting: "x<t>y" has no x·y pair.
	v = fit(t, []string{"x<t>y", "x<t>y", "x<t>y"}, o)
	if len(v.Merges) != 0 {
		t.Errorf("merges %q across a special token", v.Merges)
	}
	// Ties go to the smaller pair as bytes: "ba" and "ab" twice each.
	v = fit(t, []string{"ba", "ab", "ba", "ab"}, Options{Size: 257, Pre: "qwen2"})
	if !slices.Equal(v.Merges, []string{"a b"}) {
		t.Errorf("tie: merges %q, want [a b]", v.Merges)
	}
}

func TestFitErrors(t *testing.T) {
	ok := r1Options(384)
	for _, tc := range []struct {
		name string
		edit func(o *Options)
	}{
		{"size below bytes and specials", func(o *Options) { o.Size = 256 + len(o.Specials) - 1 }},
		{"unknown pre", func(o *Options) { o.Pre = "no-such-pre" }},
		{"BOS not special", func(o *Options) { o.BOS = "<s>" }},
		{"EOS not special", func(o *Options) { o.EOS = "</s>" }},
		{"duplicate special", func(o *Options) { o.Specials = append(o.Specials, o.Specials[0]) }},
		{"empty special", func(o *Options) { o.Specials = append(o.Specials, Special{"", tokenizer.TypeControl}) }},
		{"normal-typed special", func(o *Options) { o.Specials = append(o.Specials, Special{"<x>", tokenizer.TypeNormal}) }},
		{"special equal to a byte token", func(o *Options) { o.Specials = append(o.Specials, Special{"a", tokenizer.TypeUserDefined}) }},
		{"AddBOS without BOS", func(o *Options) { o.BOS, o.AddBOS = "", true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			o.Specials = slices.Clone(ok.Specials)
			tc.edit(&o)
			if _, err := Fit([]string{"What is 1 + 2?"}, o); err == nil {
				t.Error("Fit succeeded, want an error")
			}
		})
	}
	if _, err := Fit([]string{"What is 1 + 2?"}, ok); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

// TestR1MarkersAgree checks that the task writes the same marker texts the
// vocabulary makes special tokens of.
func TestR1MarkersAgree(t *testing.T) {
	for _, p := range [][2]string{
		{addition.BOS, R1BOS}, {addition.EOS, R1EOS}, {addition.User, R1User},
		{addition.Assistant, R1Assistant}, {addition.ThinkOpen, R1ThinkOpen}, {addition.ThinkClose, R1ThinkClose},
	} {
		if p[0] != p[1] {
			t.Errorf("addition writes %q, the vocabulary has %q", p[0], p[1])
		}
	}
}
