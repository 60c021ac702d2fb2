package chat

import (
	"os"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// benchConversation is a multi-turn chat with reasoning in a past turn.
var benchConversation = []Message{
	{Role: "system", Content: "You are a helpful assistant."},
	{Role: "user", Content: "What is the capital of France?"},
	{Role: "assistant", Content: "<think>\nThe user asks about France.\n</think>\n\nParis."},
	{Role: "user", Content: "And of Germany?"},
	{Role: "assistant", Content: "<think>\nGermany.\n</think>\n\nBerlin."},
	{Role: "user", Content: "Thanks! One more: Italy?"},
}

func BenchmarkApply(b *testing.B) {
	for _, name := range []string{"deepseek-ai-DeepSeek-R1.jinja", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "Qwen-Qwen3-0.6B.jinja", "deepseek-ai-DeepSeek-V3.1.jinja"} {
		src, err := os.ReadFile(testutil.SharedFile(b, "templates/"+name))
		if err != nil {
			b.Fatal(err)
		}
		tmpl, err := Parse(string(src))
		if err != nil {
			b.Fatal(err)
		}
		opts := Options{AddGenerationPrompt: true, BOS: dsBOS, EOS: dsEOS}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tmpl.Apply(benchConversation, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
