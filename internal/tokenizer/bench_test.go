package tokenizer

import (
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// englishText is the Go specification (GOROOT/doc/go_spec.html, ≈290 kB of
// English prose with code examples) with its HTML tags removed.
func englishText(b *testing.B) string {
	raw, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "doc", "go_spec.html"))
	if err != nil {
		b.Skipf("no English corpus: %v", err)
	}
	return regexp.MustCompile(`<[^>]*>`).ReplaceAllString(string(raw), "")
}

// cjkText is ≈256 kB of pseudo-Chinese: Qwen2 vocabulary tokens made only of
// CJK ideographs (two or more), drawn with a fixed seed and joined with
// Chinese punctuation and line breaks, so that BPE finds multi-character
// tokens as in real text. It is not real prose.
func cjkText(b *testing.B) string {
	tok := vocab(b, "qwen2")
	var words []string
	for id := range tok.tokens {
		p := tok.Piece(int32(id))
		if utf8.RuneCountInString(p) < 2 || tok.TokenType(int32(id)) != TypeNormal {
			continue
		}
		ok := true
		for _, r := range p {
			ok = ok && r >= 0x4E00 && r <= 0x9FA5
		}
		if ok {
			words = append(words, p)
		}
	}
	rng := rand.New(rand.NewSource(1))
	var sb strings.Builder
	for sb.Len() < 256<<10 {
		sb.WriteString(words[rng.Intn(len(words))])
		switch r := rng.Intn(20); {
		case r < 3:
			sb.WriteString("，")
		case r < 5:
			sb.WriteString("。")
		case r == 5:
			sb.WriteString("。\n")
		}
	}
	return sb.String()
}

func benchEncode(b *testing.B, tok *Tokenizer, text string) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var n int
	cpu0 := cpuSeconds()
	for b.Loop() {
		n = len(tok.Encode(text, EncodeOptions{}))
	}
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		// CPU time, unlike wall time, is not inflated by other processes on a busy machine.
		b.ReportMetric(float64(len(text))*float64(b.N)/cpu/1e6, "cpuMB/s")
	}
	b.ReportMetric(float64(len(text))/float64(n), "bytes/token")
}

// BenchmarkEncode measures whole-text encoding (MB/s) per vocabulary.
func BenchmarkEncode(b *testing.B) {
	en, zh := englishText(b), cjkText(b)
	for _, name := range []string{"qwen2", "llama-bpe", "deepseek-llm", "llama-spm"} {
		tok := vocab(b, name)
		b.Run(name+"/en", func(b *testing.B) { benchEncode(b, tok, en) })
		b.Run(name+"/zh", func(b *testing.B) { benchEncode(b, tok, zh) })
	}
}

// BenchmarkPreTokenize compares the hand-written scanners with regexp2
// running the same expression.
func BenchmarkPreTokenize(b *testing.B) {
	en, zh := englishText(b), cjkText(b)
	for _, tc := range []struct {
		name  string
		exprs []string
	}{
		{"llama3", []string{exprLlama3}},
		{"qwen2", []string{exprQwen2}},
		{"deepseek-v3", exprsDeepSeekV3},
		{"gpt2", []string{exprGPT2}},
	} {
		for _, force := range []bool{false, true} {
			pre, err := compilePre(tc.exprs, force)
			if err != nil {
				b.Fatal(err)
			}
			impl := "scanner"
			if force {
				impl = "regexp2"
			}
			for _, text := range []struct{ name, s string }{{"en", en}, {"zh", zh}} {
				b.Run(tc.name+"/"+impl+"/"+text.name, func(b *testing.B) {
					st := &encodeState{}
					b.SetBytes(int64(len(text.s)))
					b.ReportAllocs()
					for b.Loop() {
						pre.apply(text.s, span{0, len(text.s)}, st)
					}
				})
			}
		}
	}
}
