package tokenizer

import (
	"strings"
	"testing"
	"time"
)

// TestLinearTime encodes adversarial inputs of n and 8n bytes with each
// vocabulary kind and checks that the time grows about linearly: the
// ratio of the best of three runs must stay under 48, below the 64 that
// quadratic growth gives. (Measured on the shared 2-core machine under
// load: 9–36×, the excess over 8 being BPE's heap (n log n) and the cache
// once the word outgrows it; per-byte cost is flat from 512 KiB to 2 MiB.) The inputs are those that defeat pre-tokenizer splits
// or byte fallbacks: one character repeated (a single "word" for BPE and
// SPM), a multi-byte character repeated, alternating scripts, U+FFFD
// (what a JSON body's unpaired surrogates decode to) and raw surrogate
// bytes (invalid UTF-8, encoded byte by byte).
func TestLinearTime(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	const n = 64 << 10 // 8n = 512 KiB
	inputs := map[string]string{
		"ascii":        "a",
		"space":        " ",
		"digits":       "7",
		"multibyte":    "中",
		"emoji":        "😀",
		"alternating":  "aЖ中😀",
		"replacement":  "\uFFFD",
		"surrogates":   "\xed\xa0\x80",
		"punctuation":  "!?",
		"newline-tabs": "\n\t",
	}
	for _, name := range []string{"qwen2", "llama-spm", "deepseek-llm"} {
		tok := vocab(t, name)
		for in, unit := range inputs {
			t.Run(name+"/"+in, func(t *testing.T) {
				small := strings.Repeat(unit, n/len(unit))
				large := strings.Repeat(unit, 8*n/len(unit))
				best := func(s string) time.Duration {
					d := time.Duration(1<<63 - 1)
					for range 3 {
						start := time.Now()
						tok.Encode(s, EncodeOptions{})
						d = min(d, time.Since(start))
					}
					return d
				}
				ts, tl := best(small), best(large)
				if r := float64(tl) / float64(ts); r > 48 {
					t.Errorf("encoding 8× the input took %.1f× the time (%v vs %v): superlinear", r, tl, ts)
				}
			})
		}
	}
}
