package chat

import (
	"strings"
	"testing"
)

// deepseekToolTurnTemplate is the part of DeepSeek's V3/R1-0528 template
// (the one in the deepseek2 test models) that decides an assistant turn's
// kind: no content means a tool-call turn.
const deepseekToolTurnTemplate = `{{- bos_token -}}
{%- for message in messages -%}
  {%- if message['role'] == 'user' -%}{{- '<｜User｜>' + message['content'] -}}{%- endif -%}
  {%- if message['role'] == 'assistant' and not message['content'] -%}
    {{- '<｜Assistant｜><｜tool▁calls▁begin｜>' -}}
    {%- for tc in message['tool_calls'] -%}{{- tc['function']['name'] -}}{%- endfor -%}
    {{- '<｜tool▁calls▁end｜><｜end▁of▁sentence｜>' -}}
  {%- endif -%}
  {%- if message['role'] == 'assistant' and message['content'] -%}
    {{- '<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<｜Assistant｜><think>\n' -}}{%- endif -%}`

// TestApplyUnansweredTurn checks that an R1 turn which ended inside its
// reasoning (reasoning, no content, no tool calls) does not render as an
// empty tool-call block in the next prompt, while real tool-call turns
// still do.
func TestApplyUnansweredTurn(t *testing.T) {
	thinking := Message{Role: "assistant", ReasoningContent: "Let me think about"}
	for _, tc := range []struct {
		name string
		msgs []Message
		want string
	}{
		{"unanswered turn left out", []Message{{Role: "user", Content: "Hi"}, thinking, {Role: "user", Content: "And?"}},
			"<｜User｜>Hi<｜User｜>And?<｜Assistant｜><think>\n"},
		{"answered turns kept", []Message{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello"}, {Role: "user", Content: "And?"}},
			"<｜User｜>Hi<｜Assistant｜>Hello<｜end▁of▁sentence｜><｜User｜>And?<｜Assistant｜><think>\n"},
		{"tool calls kept", []Message{{Role: "user", Content: "Hi"}, {Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: "{}"}}}, {Role: "user", Content: "And?"}},
			"<｜User｜>Hi<｜Assistant｜><｜tool▁calls▁begin｜>f<｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜User｜>And?<｜Assistant｜><think>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse(deepseekToolTurnTemplate)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Apply(tc.msgs, Options{AddGenerationPrompt: true})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// The built-in template agrees, and a trailing unanswered turn (no
	// user turn after it) is still passed on.
	r1, err := Builtin("deepseek-r1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r1.Apply([]Message{{Role: "user", Content: "Hi"}, thinking, {Role: "user", Content: "And?"}}, Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<｜User｜>Hi<｜User｜>And?<｜Assistant｜>"; got != want {
		t.Errorf("built-in: got %q, want %q", got, want)
	}
	msgs := []Message{{Role: "user", Content: "Hi"}, thinking}
	if got := withoutUnansweredTurns(msgs); len(got) != 2 {
		t.Errorf("trailing turn: got %d messages, want 2", len(got))
	}
	if strings.Contains(got, "tool▁calls") {
		t.Errorf("tool-call markers in %q", got)
	}
}
