package models

import (
	"bytes"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/gguf"
)

func TestIsR1(t *testing.T) {
	r1, err := chat.BuiltinSource("deepseek-r1")
	if err != nil {
		t.Fatal(err)
	}
	chatml, _ := chat.BuiltinSource("chatml")
	for _, tc := range []struct {
		name, name2, tmpl string
		want              bool
	}{
		{"distill by name", "DeepSeek-R1-Distill-Qwen-1.5B", chatml, true},
		{"template opens <think>", "x", "{{ '<｜Assistant｜><think>\\n' }}", true},
		{"Sputnik's R1 template (r1-tiny)", "r1-tiny", r1, true},
		{"R1 template edited", "r1-tiny", r1 + " ", false},
		{"chatml", "Qwen2.5-1.5B", chatml, false},
		{"R1 without DeepSeek", "r1-tiny", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := gguf.NewWriter()
			w.AddKV("general.architecture", "llama")
			w.AddKV("general.name", tc.name2)
			w.AddKV("tokenizer.chat_template", tc.tmpl)
			var b bytes.Buffer
			if _, err := w.WriteTo(&b); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.ParseBytes(b.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if got := IsR1(f); got != tc.want {
				t.Errorf("IsR1 = %v, want %v", got, tc.want)
			}
		})
	}
}
