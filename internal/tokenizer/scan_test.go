package tokenizer

import (
	"math/rand"
	"strings"
	"testing"
)

// splitAll runs one splitter over the whole of s.
func splitAll(sp splitter, s string) []string {
	st := &encodeState{}
	var out []string
	for _, p := range sp.split(nil, s, span{0, len(s)}, st) {
		out = append(out, s[p.start:p.end])
	}
	return out
}

// scannerExprs lists every expression that has a scanner: the fixed table
// and the pre types' expressions that classScanner recognizes.
func scannerExprs() []string {
	seen := map[string]bool{}
	var out []string
	add := func(e string) {
		if seen[e] {
			return
		}
		seen[e] = true
		if sp, err := compileSplitter(e, false); err == nil {
			if _, ok := sp.(scanSplitter); ok {
				out = append(out, e)
			}
		}
	}
	for e := range scanners {
		add(e)
	}
	for _, p := range preTypes {
		for _, e := range p.exprs {
			add(e)
		}
	}
	return out
}

var scanSamples = []string{
	"", " ", "  ", "\n", " \n", "\n ", "\t\t", "a", "Hello world", " Hello  world ",
	"I'm can't we'LL it'S they'Ve", "'s'", "x'", "123456789", "1 22 333 4444",
	"(hello) [world] {x}", "a.b,c;d", "   leading", "trailing   ", "mid   dle",
	"line1\nline2\r\nline3\n\n\n", " \n\n x", "\t\n \t\n", "Führer Äpfel naïve",
	"Привет мир", "中文字符测试 和 日本語のテキスト カタカナ", "한국어 텍스트",
	"emoji 🦙🦙 ok", "mixed123abc456", "__init__", "a--b", "$100.00!", "\u00a0nbsp\u3000ideo",
	"x\u0301y", "\u0300start", "ẞ ſ K", "\x00\x01ctrl", "\xff\xfe bad \xe4\xb8 utf8", "e\u200bzw",
	"        \n    if x:\n        return 1\n", "3.14159 2,500 1e10", "a\r\rb", "!!!\n\n", " !!!",
	"👍🏽 family 👨‍👩‍👧", "\u2581 mark", "...", "'''", "' s", " 's",
}

// TestScannersMatchRegex checks every scanner against regexp2 running the
// same expression, on fixed and random strings.
func TestScannersMatchRegex(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "Z", "µ", "K", "　", "！", "$", "+", "`", "|", "٣", "é", "中", "ア", "1", "٣", "½", " ", " ", "\n", "\r", "\t", "'", "s", "l", ".", "!",
		"$", "_", "-", "\u0301", "\u00a0", "\u3000", "🦙", "\xff", "\xe4", "ll", "re", "'S"}
	samples := append([]string(nil), scanSamples...)
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for j := rng.Intn(24); j > 0; j-- {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		samples = append(samples, b.String())
	}
	for _, expr := range scannerExprs() {
		fast, err := compileSplitter(expr, false)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := compileSplitter(expr, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fast.(scanSplitter); !ok {
			t.Fatalf("%q: no scanner", expr)
		}
		for _, s := range samples {
			got, want := splitAll(fast, s), splitAll(slow, s)
			if strings.Join(got, "\x00|") != strings.Join(want, "\x00|") {
				t.Errorf("expr %.40q on %q:\n got %q\nwant %q", expr, s, got, want)
			}
		}
	}
}

// FuzzScannersMatchRegex: every scanner splits like regexp2, and the pieces
// cover the input exactly.
func FuzzScannersMatchRegex(f *testing.F) {
	for _, s := range scanSamples {
		f.Add(s)
	}
	exprs := scannerExprs()
	type pair struct{ fast, slow splitter }
	var pairs []pair
	for _, e := range exprs {
		fast, _ := compileSplitter(e, false)
		slow, _ := compileSplitter(e, true)
		pairs = append(pairs, pair{fast, slow})
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, p := range pairs {
			got, want := splitAll(p.fast, s), splitAll(p.slow, s)
			if strings.Join(got, "") != s {
				t.Fatalf("expr %.40q: pieces %q do not cover %q", exprs[i], got, s)
			}
			if strings.Join(got, "\x00|") != strings.Join(want, "\x00|") {
				t.Fatalf("expr %.40q on %q:\n got %q\nwant %q", exprs[i], s, got, want)
			}
		}
	})
}

// TestRegexSplit covers the regexp2 path on expressions without a scanner,
// including an empty-match expression (superbpe), which cuts without
// producing a piece.
func TestRegexSplit(t *testing.T) {
	tests := []struct {
		expr, in string
		want     []string
	}{
		{`(?=(\d{3})+(?!\d))`, "1234567", []string{"1", "234", "567"}},
		{`(?=(\d{3})+(?!\d))`, "ab123", []string{"ab", "123"}},
		{` ?[^(\s|.,!?…。，、।۔،)]+`, "Hello, world. Ok", []string{"Hello", ",", " world", ".", " Ok"}},
		{`<sentinel:[0-9]+>`, "a<sentinel:12>b", []string{"a", "<sentinel:12>", "b"}},
	}
	for _, tc := range tests {
		sp, err := compileSplitter(tc.expr, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := splitAll(sp, tc.in); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q on %q: got %q, want %q", tc.expr, tc.in, got, tc.want)
		}
	}
}
