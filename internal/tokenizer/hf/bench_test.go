package hf

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// BenchmarkEncode measures the DeepSeek-V3/R1 and Qwen3 tokenizers on the Go
// specification with its HTML tags removed (English) and on ≈256 kB of
// pseudo-Chinese made of the vocabulary's own CJK tokens (not real prose).
func BenchmarkEncode(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "doc", "go_spec.html"))
	if err != nil {
		b.Skip(err)
	}
	en := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(string(raw), "")
	for _, dir := range []string{"deepseek_v3", "qwen3"} {
		tok := loadHF(b, dir)
		zh := pseudoChinese(tok)
		for _, text := range []struct{ name, s string }{{"en", en}, {"zh", zh}} {
			b.Run(dir+"/"+text.name, func(b *testing.B) {
				b.SetBytes(int64(len(text.s)))
				b.ReportAllocs()
				var n int
				for b.Loop() {
					n = len(tok.Encode(text.s, tokenizer.EncodeOptions{}))
				}
				b.ReportMetric(float64(len(text.s))/float64(n), "bytes/token")
			})
		}
	}
}

func pseudoChinese(tok *tokenizer.Tokenizer) string {
	var words []string
	for id := int32(0); id < int32(tok.VocabSize()); id++ {
		p := tok.Piece(id)
		if utf8.RuneCountInString(p) < 2 || tok.TokenType(id) != tokenizer.TypeNormal {
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
	var sb strings.Builder
	x := uint32(1)
	for i := 0; sb.Len() < 256<<10; i++ {
		x = x*1664525 + 1013904223 // fixed LCG: the same text every run
		sb.WriteString(words[int(x>>8)%len(words)])
		switch x % 20 {
		case 0, 1, 2:
			sb.WriteString("，")
		case 3, 4:
			sb.WriteString("。")
		case 5:
			sb.WriteString("。\n")
		}
	}
	return sb.String()
}
