package chat

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ardanlabs/jinja"
)

// ErrInvalidMessages marks a conversation that Apply refuses before
// rendering: no messages, an unknown role, or an empty message.
var ErrInvalidMessages = errors.New("invalid messages")

// Message is one turn of a conversation, as chat templates see it: a dict
// with "role" and "content", plus "reasoning_content", "tool_calls",
// "tool_call_id" and "name" when they are set.
type Message struct {
	// Role is "system", "user", "assistant" or "tool".
	Role string
	// Content is the text of the turn. For an assistant turn with tool calls
	// and no text, the template sees content none (null), as in the OpenAI
	// API.
	Content string
	// ReasoningContent is an assistant turn's reasoning, for templates that
	// render it (Qwen3 does; DeepSeek's drop past reasoning).
	ReasoningContent string
	// ToolCalls are an assistant turn's function calls.
	ToolCalls []ToolCall
	// ToolCallID names the call a tool turn answers.
	ToolCallID string
	// Name is an optional participant or tool name.
	Name string
}

// ToolCall is one function call of an assistant turn, seen by templates as
// {"id": …, "type": "function", "function": {"name": …, "arguments": …}}.
type ToolCall struct {
	ID   string // omitted when empty
	Type string // "function" when empty
	Name string
	// Arguments is what the template gets as function.arguments: a JSON
	// string, as in the OpenAI API (DeepSeek's templates concatenate it as
	// text), or an Object, as Hugging Face's examples pass it.
	Arguments any
}

func (m Message) value(depth int) (jinja.Value, error) {
	o := Object{{"role", m.Role}, {"content", m.Content}}
	if m.Content == "" && len(m.ToolCalls) > 0 {
		o[1].Value = nil
	}
	if m.ReasoningContent != "" {
		o = append(o, Member{"reasoning_content", m.ReasoningContent})
	}
	if len(m.ToolCalls) > 0 {
		o = append(o, Member{"tool_calls", m.ToolCalls})
	}
	if m.ToolCallID != "" {
		o = append(o, Member{"tool_call_id", m.ToolCallID})
	}
	if m.Name != "" {
		o = append(o, Member{"name", m.Name})
	}
	return toValueDepth(o, depth)
}

func (c ToolCall) value(depth int) (jinja.Value, error) {
	typ := c.Type
	if typ == "" {
		typ = "function"
	}
	var o Object
	if c.ID != "" {
		o = append(o, Member{"id", c.ID})
	}
	o = append(o, Member{"type", typ}, Member{"function", Object{{"name", c.Name}, {"arguments", c.Arguments}}})
	return toValueDepth(o, depth)
}

// Options are the variables Apply passes besides the messages.
type Options struct {
	// AddGenerationPrompt ends the prompt with the assistant's turn header
	// (add_generation_prompt).
	AddGenerationPrompt bool
	// BOS and EOS are the text of the model's BOS and EOS tokens
	// (bos_token, eos_token).
	BOS, EOS string
	// Tools are the tool definitions (tools), usually Objects of the form
	// {"type": "function", "function": {"name", "description",
	// "parameters"}}. Nil leaves tools undefined.
	Tools []any
	// Vars are further template variables, such as enable_thinking. They
	// override the variables above.
	Vars map[string]any
	// ForceThink makes a prompt with a generation prompt end in "<think>\n"
	// when the template's own generation prompt does not, as DeepSeek
	// recommends for R1 so that the model always reasons first.
	ForceThink bool
}

// knownRoles are the roles Apply accepts.
var knownRoles = []string{"system", "user", "assistant", "tool"}

// Validate checks a conversation: at least one message, every role one of
// system, user, assistant and tool, and no message without content,
// reasoning or tool calls. Errors wrap ErrInvalidMessages and name the
// message by its 0-based index.
func Validate(msgs []Message) error {
	if len(msgs) == 0 {
		return fmt.Errorf("chat: %w: no messages", ErrInvalidMessages)
	}
	for i, m := range msgs {
		known := false
		for _, r := range knownRoles {
			known = known || m.Role == r
		}
		if !known {
			return fmt.Errorf("chat: %w: message %d has unknown role %q (want one of %s)",
				ErrInvalidMessages, i, m.Role, strings.Join(knownRoles, ", "))
		}
		if m.Content == "" && m.ReasoningContent == "" && len(m.ToolCalls) == 0 {
			return fmt.Errorf("chat: %w: message %d (%s) is empty", ErrInvalidMessages, i, m.Role)
		}
		for j, c := range m.ToolCalls {
			if m.Role != "assistant" {
				return fmt.Errorf("chat: %w: message %d (%s) has tool calls; only assistant messages may", ErrInvalidMessages, i, m.Role)
			}
			if c.Name == "" {
				return fmt.Errorf("chat: %w: message %d: tool call %d has no function name", ErrInvalidMessages, i, j)
			}
		}
	}
	return nil
}

// Apply validates msgs and renders the conversation with the template, as
// Hugging Face's apply_chat_template does: variables messages,
// add_generation_prompt, bos_token, eos_token, tools (when set) and
// opts.Vars.
//
// An assistant turn with reasoning but neither content nor tool calls (an
// R1 answer that ended while the model was still thinking) is left out
// when a user turn follows it: templates show only the answer of turns
// before the last user message, so it has nothing to show, and DeepSeek's
// templates take an assistant turn without content for a tool-call turn
// and would render an empty "<｜tool▁calls▁begin｜><｜tool▁calls▁end｜>"
// block.
func (t *Template) Apply(msgs []Message, opts Options) (string, error) {
	if err := Validate(msgs); err != nil {
		return "", err
	}
	vars := map[string]any{
		"messages":              withoutUnansweredTurns(msgs),
		"add_generation_prompt": opts.AddGenerationPrompt,
		"bos_token":             opts.BOS,
		"eos_token":             opts.EOS,
	}
	if opts.Tools != nil {
		vars["tools"] = opts.Tools
	}
	for k, v := range opts.Vars {
		vars[k] = v
	}
	out, err := t.Render(vars)
	if err != nil {
		return "", err
	}
	if opts.AddGenerationPrompt && opts.ForceThink && !strings.HasSuffix(out, thinkOpen+"\n") {
		if strings.HasSuffix(out, thinkOpen) {
			out += "\n"
		} else {
			out += thinkOpen + "\n"
		}
	}
	return out, nil
}

// withoutUnansweredTurns returns msgs without the reasoning-only assistant
// turns that a user turn follows (see Apply); msgs itself is not changed.
func withoutUnansweredTurns(msgs []Message) []Message {
	lastUser := -1
	for i, m := range msgs {
		if m.Role == "user" {
			lastUser = i
		}
	}
	unanswered := func(i int) bool {
		m := msgs[i]
		return i < lastUser && m.Role == "assistant" && m.Content == "" && len(m.ToolCalls) == 0
	}
	for i := range msgs {
		if !unanswered(i) {
			continue
		}
		out := slices.Clone(msgs[:i])
		for j := i + 1; j < len(msgs); j++ {
			if !unanswered(j) {
				out = append(out, msgs[j])
			}
		}
		return out
	}
	return msgs
}

// EndsInReasoning reports whether a rendered prompt leaves the model inside
// an open <think> block (the prompt ends with "<think>" and optional
// whitespace), so that its output starts with reasoning and has no opening
// tag: pass the result as ThinkOptions.StartInReasoning.
func EndsInReasoning(prompt string) bool {
	return strings.HasSuffix(strings.TrimRight(prompt, " \t\r\n"), thinkOpen)
}
