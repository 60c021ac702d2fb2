package openai

import (
	"encoding/json"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/chat"
)

// Message is one turn of a chat request. On the wire, content may also be
// null or an array of {"type": "text", "text": …} parts; DecodeMessages
// joins the parts' text with newlines.
type Message struct {
	// Role is "system", "user", "assistant" or "tool" (OpenAI's newer
	// "developer" is read as "system").
	Role    string `json:"role"`
	Content string `json:"content"`
	// ReasoningContent is an earlier assistant turn's reasoning. The API
	// drops it, as DeepSeek's does; "sputnik template" keeps it for
	// templates that render it.
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	Name             string     `json:"name,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID       string     `json:"tool_call_id,omitempty"`
}

// ToolCall is one function call of an assistant turn.
type ToolCall struct {
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function a tool call invokes and its arguments:
// a JSON string as OpenAI sends it, or an object (chat.Object) as Hugging
// Face's examples write it; templates receive either as is.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments any    `json:"arguments,omitempty"`
}

// MarshalJSON writes the call with object arguments in their key order.
func (c FunctionCall) MarshalJSON() ([]byte, error) {
	var args json.RawMessage
	if c.Arguments != nil {
		var err error
		if args, err = MarshalJSON(c.Arguments); err != nil {
			return nil, err
		}
	}
	return json.Marshal(struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments,omitempty"`
	}{c.Name, args})
}

// MessageOptions controls DecodeMessages.
type MessageOptions struct {
	// Strict makes unknown fields an error (files written for the
	// template command); otherwise they are ignored, as clients send
	// extras.
	Strict bool
	// KeepReasoning keeps the reasoning_content of messages; otherwise it
	// is dropped, as DeepSeek's API does with reasoning sent back in the
	// history.
	KeepReasoning bool
}

// roles maps the accepted roles to what templates see.
var roles = map[string]string{
	"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool",
}

// DecodeMessages reads a decoded JSON array of messages (see DecodeJSON);
// path names the array in errors ("messages"). Every message needs a role
// and content, reasoning or tool calls; only assistant messages may have
// tool calls. Errors are *RequestError.
func DecodeMessages(v any, path string, o MessageOptions) ([]Message, error) {
	list, err := asArray(v, path)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, invalid(path, "empty: want at least one message")
	}
	msgs := make([]Message, len(list))
	for i, e := range list {
		if err := decodeMessage(e, index(path, i), o, &msgs[i]); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

func decodeMessage(v any, path string, o MessageOptions, m *Message) error {
	obj, err := asObject(v, path)
	if err != nil {
		return err
	}
	hasRole := false
	for _, f := range obj {
		p := join(path, f.Key)
		switch f.Key {
		case "role":
			hasRole = true
			r, err := asString(f.Value, p)
			if err != nil {
				return err
			}
			role, ok := roles[r]
			if !ok {
				return invalid(p, "unknown role %q (want system, user, assistant or tool)", r)
			}
			m.Role = role
		case "content":
			if m.Content, err = decodeContent(f.Value, p); err != nil {
				return err
			}
		case "reasoning_content":
			if f.Value == nil {
				continue
			}
			s, err := asString(f.Value, p)
			if err != nil {
				return err
			}
			if o.KeepReasoning {
				m.ReasoningContent = s
			}
		case "name":
			if f.Value != nil {
				if m.Name, err = asString(f.Value, p); err != nil {
					return err
				}
			}
		case "tool_call_id":
			if f.Value != nil {
				if m.ToolCallID, err = asString(f.Value, p); err != nil {
					return err
				}
			}
		case "tool_calls":
			if f.Value != nil {
				if m.ToolCalls, err = decodeToolCalls(f.Value, p, o); err != nil {
					return err
				}
			}
		default:
			if o.Strict {
				return invalid(path, "unknown field %q", f.Key)
			}
		}
	}
	switch {
	case !hasRole:
		return invalid(join(path, "role"), "missing")
	case len(m.ToolCalls) > 0 && m.Role != "assistant":
		return invalid(join(path, "tool_calls"), "only assistant messages have tool calls, this one is %s", m.Role)
	case m.Content == "" && m.ReasoningContent == "" && len(m.ToolCalls) == 0:
		return invalid(path, "message is empty (no content and no tool calls)")
	}
	return nil
}

// decodeContent reads a message's content: a string, null, or an array of
// text parts, joined with newlines.
func decodeContent(v any, path string) (string, error) {
	switch c := v.(type) {
	case nil:
		return "", nil
	case string:
		return c, nil
	case []any:
		texts := make([]string, 0, len(c))
		for i, e := range c {
			p := index(path, i)
			part, err := asObject(e, p)
			if err != nil {
				return "", err
			}
			typ, _ := part.Get("type")
			if typ != "text" {
				if s, ok := typ.(string); ok {
					return "", invalid(join(p, "type"), "%q is not supported (only text content parts are)", s)
				}
				return "", invalid(join(p, "type"), "want \"text\", got %s (content parts are {\"type\": \"text\", \"text\": …})", typeName(typ))
			}
			text, ok := part.Get("text")
			if !ok {
				return "", invalid(join(p, "text"), "missing (content parts are {\"type\": \"text\", \"text\": …})")
			}
			s, err := asString(text, join(p, "text"))
			if err != nil {
				return "", err
			}
			texts = append(texts, s)
		}
		return strings.Join(texts, "\n"), nil
	}
	return "", invalid(path, "want a string, an array of text parts or null, got %s", typeName(v))
}

func decodeToolCalls(v any, path string, o MessageOptions) ([]ToolCall, error) {
	list, err := asArray(v, path)
	if err != nil {
		return nil, err
	}
	calls := make([]ToolCall, len(list))
	for i, e := range list {
		p := index(path, i)
		obj, err := asObject(e, p)
		if err != nil {
			return nil, err
		}
		c := &calls[i]
		for _, f := range obj {
			fp := join(p, f.Key)
			switch f.Key {
			case "id":
				if f.Value != nil {
					if c.ID, err = asString(f.Value, fp); err != nil {
						return nil, err
					}
				}
			case "type":
				if c.Type, err = asString(f.Value, fp); err != nil {
					return nil, err
				}
				if c.Type != "function" {
					return nil, invalid(fp, "want \"function\", got %q", c.Type)
				}
			case "function":
				fn, err := asObject(f.Value, fp)
				if err != nil {
					return nil, err
				}
				for _, g := range fn {
					gp := join(fp, g.Key)
					switch g.Key {
					case "name":
						if c.Function.Name, err = asString(g.Value, gp); err != nil {
							return nil, err
						}
					case "arguments":
						switch g.Value.(type) {
						case nil, string, chat.Object:
							c.Function.Arguments = g.Value
						default:
							return nil, invalid(gp, "want a JSON string or an object, got %s", typeName(g.Value))
						}
					default:
						if o.Strict {
							return nil, invalid(fp, "unknown field %q", g.Key)
						}
					}
				}
			default:
				if o.Strict {
					return nil, invalid(p, "unknown field %q", f.Key)
				}
			}
		}
		if c.Function.Name == "" {
			return nil, invalid(join(p, "function.name"), "missing")
		}
	}
	return calls, nil
}

// ChatMessages converts wire messages to the conversation chat templates
// render.
func ChatMessages(msgs []Message) []chat.Message {
	out := make([]chat.Message, len(msgs))
	for i, m := range msgs {
		out[i] = chat.Message{
			Role: m.Role, Content: m.Content, ReasoningContent: m.ReasoningContent,
			ToolCallID: m.ToolCallID, Name: m.Name,
		}
		for _, c := range m.ToolCalls {
			out[i].ToolCalls = append(out[i].ToolCalls, chat.ToolCall{
				ID: c.ID, Type: c.Type, Name: c.Function.Name, Arguments: c.Function.Arguments,
			})
		}
	}
	return out
}
