package openai

import (
	"github.com/sputnik-llm/sputnik/internal/chat"
)

// MaxTools bounds the tools of one request.
const MaxTools = 128

// Reasoning budgets of reasoning_effort, in tokens.
const (
	EffortLow    = 1024
	EffortMedium = 4096
	EffortHigh   = 16384
)

// ResponseFormat is response_format: Type "text", "json_object" or
// "json_schema" (then Schema holds the schema's JSON text and Name its
// name).
type ResponseFormat struct {
	Type   string
	Name   string
	Schema []byte
	Strict bool
}

// Tool is one function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments as JSON text (nil
	// when absent: any object).
	Parameters []byte
	// Raw is the tool definition as the client sent it, for the chat
	// template.
	Raw chat.Object
}

// ToolChoice is tool_choice: Mode "auto" (the default with tools),
// "none", "required", or "function" with Name.
type ToolChoice struct {
	Mode string
	Name string
}

// Reasoning holds the reasoning budget fields both endpoints share.
type Reasoning struct {
	// MaxReasoningTokens is max_reasoning_tokens, or the budget of
	// reasoning_effort (low EffortLow, medium EffortMedium, high
	// EffortHigh); nil when neither was sent.
	MaxReasoningTokens *int
	ResponseFormat     *ResponseFormat
}

func (r *Reasoning) decodeReasoning(key string, v any) (bool, error) {
	var err error
	switch key {
	case "max_reasoning_tokens":
		r.MaxReasoningTokens, err = intIn(v, key, 0, maxTokensLimit)
	case "reasoning_effort":
		if v == nil {
			break
		}
		var s string
		if s, err = asString(v, key); err != nil {
			break
		}
		n := 0
		switch s {
		case "minimal", "low":
			n = EffortLow
		case "medium":
			n = EffortMedium
		case "high":
			n = EffortHigh
		default:
			return true, invalid(key, "unknown effort %q (want low, medium or high)", s)
		}
		if r.MaxReasoningTokens == nil {
			r.MaxReasoningTokens = &n
		}
	case "response_format":
		r.ResponseFormat, err = decodeResponseFormat(v, key)
	default:
		return false, nil
	}
	return true, err
}

func decodeResponseFormat(v any, path string) (*ResponseFormat, error) {
	if v == nil {
		return nil, nil
	}
	o, err := asObject(v, path)
	if err != nil {
		return nil, err
	}
	t, _ := o.Get("type")
	f := &ResponseFormat{}
	if f.Type, err = asString(t, join(path, "type")); err != nil {
		return nil, err
	}
	switch f.Type {
	case "text", "json_object":
	case "json_schema":
		js, ok := o.Get("json_schema")
		p := join(path, "json_schema")
		if !ok {
			return nil, invalid(p, "missing")
		}
		jo, err := asObject(js, p)
		if err != nil {
			return nil, err
		}
		if n, ok := jo.Get("name"); ok {
			if f.Name, err = asString(n, join(p, "name")); err != nil {
				return nil, err
			}
		}
		if s, ok := jo.Get("strict"); ok && s != nil {
			if f.Strict, err = asBool(s, join(p, "strict")); err != nil {
				return nil, err
			}
		}
		s, ok := jo.Get("schema")
		if !ok {
			return nil, invalid(join(p, "schema"), "missing")
		}
		if f.Schema, err = MarshalJSON(s); err != nil {
			return nil, invalid(join(p, "schema"), "%v", err)
		}
	default:
		return nil, invalid(join(path, "type"), "unknown type %q (want text, json_object or json_schema)", f.Type)
	}
	return f, nil
}

func decodeTools(v any, path string) ([]Tool, error) {
	if v == nil {
		return nil, nil
	}
	list, err := asArray(v, path)
	if err != nil {
		return nil, err
	}
	if len(list) > MaxTools {
		return nil, invalid(path, "at most %d tools, got %d", MaxTools, len(list))
	}
	tools := make([]Tool, len(list))
	for i, e := range list {
		p := index(path, i)
		o, err := asObject(e, p)
		if err != nil {
			return nil, err
		}
		if t, ok := o.Get("type"); ok && t != "function" {
			return nil, invalid(join(p, "type"), "only \"function\" tools are supported")
		}
		fv, ok := o.Get("function")
		if !ok {
			return nil, invalid(join(p, "function"), "missing")
		}
		fp := join(p, "function")
		fo, err := asObject(fv, fp)
		if err != nil {
			return nil, err
		}
		n, _ := fo.Get("name")
		if tools[i].Name, err = asString(n, join(fp, "name")); err != nil {
			return nil, err
		}
		if tools[i].Name == "" {
			return nil, invalid(join(fp, "name"), "empty")
		}
		if d, ok := fo.Get("description"); ok && d != nil {
			if tools[i].Description, err = asString(d, join(fp, "description")); err != nil {
				return nil, err
			}
		}
		if ps, ok := fo.Get("parameters"); ok && ps != nil {
			if _, err := asObject(ps, join(fp, "parameters")); err != nil {
				return nil, err
			}
			if tools[i].Parameters, err = MarshalJSON(ps); err != nil {
				return nil, invalid(join(fp, "parameters"), "%v", err)
			}
		}
		tools[i].Raw = o
	}
	return tools, nil
}

func decodeToolChoice(v any, path string) (*ToolChoice, error) {
	switch c := v.(type) {
	case nil:
		return nil, nil
	case string:
		switch c {
		case "none", "auto", "required":
			return &ToolChoice{Mode: c}, nil
		}
		return nil, invalid(path, "unknown choice %q (want none, auto, required or a function)", c)
	case chat.Object:
		f, ok := c.Get("function")
		if !ok {
			return nil, invalid(join(path, "function"), "missing")
		}
		fo, err := asObject(f, join(path, "function"))
		if err != nil {
			return nil, err
		}
		n, _ := fo.Get("name")
		name, err := asString(n, join(path, "function.name"))
		if err != nil {
			return nil, err
		}
		return &ToolChoice{Mode: "function", Name: name}, nil
	}
	return nil, invalid(path, "want a string or an object, got %s", typeName(v))
}
