package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/chat"
)

func TestDecodeChatRequest(t *testing.T) {
	body := `{
		"model": "r1", "stream": true, "stream_options": {"include_usage": true},
		"messages": [
			{"role": "system", "content": "Be brief."},
			{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
			{"role": "assistant", "content": "4", "reasoning_content": "2+2", "extra": 1},
			{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
			{"role": "tool", "tool_call_id": "c1", "content": "ok"},
			{"role": "developer", "content": "dev"}
		],
		"temperature": 0.7, "top_p": 1, "top_k": 40, "min_p": 0.05, "max_tokens": 100.0,
		"max_completion_tokens": 50, "stop": "END", "seed": -3, "n": 1,
		"frequency_penalty": 0.5, "presence_penalty": -0.5, "repeat_penalty": 1.1,
		"logprobs": true, "top_logprobs": 3, "reasoning_format": "none",
		"chat_template_kwargs": {"enable_thinking": false, "o": {"b": 1, "a": 2}},
		"tools": [], "tool_choice": "none", "response_format": {"type": "text"},
		"user": "ignored", "parallel_tool_calls": false
	}`
	r, err := DecodeChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	f := func(x float64) *float64 { return &x }
	i := func(x int) *int { return &x }
	seed := int64(-3)
	want := &ChatRequest{
		Params: Params{
			Model: "r1", MaxTokens: i(100), Temperature: f(0.7), TopP: f(1), TopK: i(40), MinP: f(0.05),
			FrequencyPenalty: f(0.5), PresencePenalty: f(-0.5), RepeatPenalty: f(1.1), Seed: &seed,
			Stop: []string{"END"}, N: i(1), Stream: true, StreamOptions: &StreamOptions{IncludeUsage: true},
			Reasoning: Reasoning{ResponseFormat: &ResponseFormat{Type: "text"}},
		},
		Messages: []Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "a\nb"},
			{Role: "assistant", Content: "4"}, // reasoning dropped
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Type: "function", Function: FunctionCall{Name: "f", Arguments: `{"x": 1}`}}}},
			{Role: "tool", ToolCallID: "c1", Content: "ok"},
			{Role: "system", Content: "dev"},
		},
		MaxCompletionTokens: i(50), Logprobs: true, TopLogprobs: i(3), ReasoningFormat: "none",
		ChatTemplateKwargs: Kwargs{"enable_thinking": false, "o": chat.Object{{Key: "b", Value: int64(1)}, {Key: "a", Value: int64(2)}}},
		Tools:              []Tool{}, ToolChoice: &ToolChoice{Mode: "none"}, ParallelToolCalls: new(bool),
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
	if r.Limit() != 50 || !r.RawReasoning() || !r.IncludeUsage() {
		t.Errorf("Limit %d, RawReasoning %v, IncludeUsage %v; want 50, true, true", r.Limit(), r.RawReasoning(), r.IncludeUsage())
	}
	msgs := ChatMessages(r.Messages)
	if msgs[3].ToolCalls[0].Name != "f" || msgs[3].Content != "" || msgs[1].Content != "a\nb" {
		t.Errorf("ChatMessages: got %+v", msgs)
	}
	if err := chat.Validate(msgs); err != nil {
		t.Errorf("chat.Validate: %v", err)
	}
}

// TestChatRequestRoundTrip checks that the json tags agree with the
// decoder: a marshalled request decodes to itself.
func TestChatRequestRoundTrip(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	i := func(x int) *int { return &x }
	seed := int64(7)
	in := &ChatRequest{
		Params: Params{
			Model: "m", MaxTokens: i(9), Temperature: f(0.5), TopP: f(0.9), TopK: i(3), MinP: f(0.1),
			FrequencyPenalty: f(0.2), PresencePenalty: f(0.3), RepeatPenalty: f(1.2), Seed: &seed,
			Stop: []string{"a", "b"}, N: i(1), Stream: true, StreamOptions: &StreamOptions{IncludeUsage: true}, IgnoreEOS: true,
		},
		Messages: []Message{
			{Role: "user", Content: "hi", Name: "bob"},
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "x", Type: "function", Function: FunctionCall{Name: "g", Arguments: "{}"}}}},
			{Role: "tool", Content: "r", ToolCallID: "x"},
		},
		MaxCompletionTokens: i(8), Logprobs: true, TopLogprobs: i(2), ReasoningFormat: "none",
		ChatTemplateKwargs: Kwargs{"enable_thinking": true},
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeChatRequest(data)
	if err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("%s\ngot  %+v\nwant %+v", data, out, in)
	}

	c := &CompletionRequest{Params: Params{Model: "m", MaxTokens: i(3)}, Prompt: Prompt{Tokens: []int32{1, 2}}, Logprobs: i(2)}
	data, _ = json.Marshal(c)
	got, err := DecodeCompletionRequest(data)
	if err != nil || !reflect.DeepEqual(c, got) {
		t.Fatalf("%s: got %+v, %v; want %+v", data, got, err, c)
	}
}

func TestDecodeChatRequestErrors(t *testing.T) {
	msgs := `"messages": [{"role": "user", "content": "x"}]`
	tests := []struct {
		name, body, param, msg string
	}{
		{"not JSON", `{"messages": [}`, "", "invalid JSON at byte"},
		{"not an object", `[1]`, "", "want a JSON object, got an array"},
		{"trailing data", `{} {}`, "", "unexpected data after"},
		{"no messages", `{}`, "messages", "missing"},
		{"empty messages", `{"messages": []}`, "messages", "empty"},
		{"messages not array", `{"messages": "hi"}`, "messages", "want an array, got a string"},
		{"message not object", `{"messages": [1]}`, "messages[0]", "want an object, got a number"},
		{"unknown role", `{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "robot", "content": "x"}]}`, "messages[2].role", `unknown role "robot"`},
		{"role type", `{"messages": [{"role": 1, "content": "x"}]}`, "messages[0].role", "want a string, got a number"},
		{"no role", `{"messages": [{"content": "x"}]}`, "messages[0].role", "missing"},
		{"empty message", `{"messages": [{"role": "user", "content": ""}]}`, "messages[0]", "is empty"},
		{"content type", `{"messages": [{"role": "user", "content": 5}]}`, "messages[0].content", "want a string, an array of text parts or null"},
		{"image part", `{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}`, "messages[0].content[0].type", `"image_url" is not supported`},
		{"part without text", `{"messages": [{"role": "user", "content": [{"type": "text"}]}]}`, "messages[0].content[0].text", "content parts"},
		{"tool calls on user", `{"messages": [{"role": "user", "content": "x", "tool_calls": [{"function": {"name": "f"}}]}]}`, "messages[0].tool_calls", "only assistant"},
		{"tool call no name", `{"messages": [{"role": "assistant", "tool_calls": [{"function": {}}]}]}`, "messages[0].tool_calls[0].function.name", "missing"},
		{"tool call arguments", `{"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": 3}}]}]}`, "messages[0].tool_calls[0].function.arguments", "want a JSON string or an object"},
		{"max_tokens 0", `{` + msgs + `, "max_tokens": 0}`, "max_tokens", "at least 1"},
		{"max_tokens negative", `{` + msgs + `, "max_completion_tokens": -5}`, "max_completion_tokens", "at least 1"},
		{"max_tokens string", `{` + msgs + `, "max_tokens": "10"}`, "max_tokens", "want an integer, got a string"},
		{"max_tokens fraction", `{` + msgs + `, "max_tokens": 1.5}`, "max_tokens", "want an integer"},
		{"temperature range", `{` + msgs + `, "temperature": 3}`, "temperature", "out of range [0, 2]"},
		{"temperature type", `{` + msgs + `, "temperature": true}`, "temperature", "want a number, got a boolean"},
		{"top_p range", `{` + msgs + `, "top_p": 1.5}`, "top_p", "out of range"},
		{"top_k type", `{` + msgs + `, "top_k": 0.5}`, "top_k", "want an integer"},
		{"min_p range", `{` + msgs + `, "min_p": -1}`, "min_p", "out of range"},
		{"penalty range", `{` + msgs + `, "presence_penalty": 2.5}`, "presence_penalty", "out of range"},
		{"n", `{` + msgs + `, "n": 2}`, "n", "only n = 1"},
		{"stop type", `{` + msgs + `, "stop": 1}`, "stop", "want a string or an array"},
		{"stop element", `{` + msgs + `, "stop": ["a", 2]}`, "stop[1]", "want a string, got a number"},
		{"stop empty", `{` + msgs + `, "stop": ["a", ""]}`, "stop[1]", "want 1 to"},
		{"stop count", `{` + msgs + `, "stop": ["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]}`, "stop", "at most 16"},
		{"stream type", `{` + msgs + `, "stream": "yes"}`, "stream", "want a boolean"},
		{"stream_options type", `{` + msgs + `, "stream_options": {"include_usage": 1}}`, "stream_options.include_usage", "want a boolean"},
		{"top_logprobs range", `{` + msgs + `, "logprobs": true, "top_logprobs": 21}`, "top_logprobs", "out of range"},
		{"top_logprobs without logprobs", `{` + msgs + `, "top_logprobs": 2}`, "top_logprobs", "needs logprobs"},
		{"reasoning_format", `{` + msgs + `, "reasoning_format": "xml"}`, "reasoning_format", "unknown format"},
		{"kwargs type", `{` + msgs + `, "chat_template_kwargs": []}`, "chat_template_kwargs", "want an object"},
		{"tools", `{` + msgs + `, "tools": [{"type": "function", "function": {"name": ""}}]}`, "tools[0].function.name", "empty"},
		{"tool type", `{` + msgs + `, "tools": [{"type": "code", "function": {"name": "f"}}]}`, "tools[0].type", "function"},
		{"tool_choice", `{` + msgs + `, "tool_choice": "required"}`, "tool_choice", "names no tool"},
		{"tool_choice name", `{` + msgs + `, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}}`, "tool_choice", "names no tool"},
		{"response_format", `{` + msgs + `, "response_format": {"type": "xml"}}`, "response_format.type", "unknown type"},
		{"json_schema", `{` + msgs + `, "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}`, "response_format.json_schema.schema", "missing"},
		{"reasoning_effort", `{` + msgs + `, "reasoning_effort": "max"}`, "reasoning_effort", "unknown effort"},
		{"logit_bias", `{` + msgs + `, "logit_bias": {"1": 5}}`, "logit_bias", "not supported"},
		{"model type", `{` + msgs + `, "model": 1}`, "model", "want a string"},
		{"too deep", strings.Repeat("[", 300) + strings.Repeat("]", 300), "", "nested more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeChatRequest([]byte(tc.body))
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *RequestError", err)
			}
			if re.Param != tc.param || !strings.Contains(re.Msg, tc.msg) {
				t.Fatalf("got param %q, message %q; want %q and a message containing %q", re.Param, re.Msg, tc.param, tc.msg)
			}
		})
	}
}

func TestDecodeCompletionRequest(t *testing.T) {
	tests := []struct {
		body   string
		prompt Prompt
		param  string // "" when valid
		msg    string
	}{
		{`{"prompt": "Once"}`, Prompt{Text: "Once"}, "", ""},
		{`{"prompt": ["Once"]}`, Prompt{Text: "Once"}, "", ""},
		{`{"prompt": [1, 2, 3]}`, Prompt{Tokens: []int32{1, 2, 3}}, "", ""},
		{`{"prompt": [[1, 2]]}`, Prompt{Tokens: []int32{1, 2}}, "", ""},
		{`{"prompt": "x", "echo": false, "suffix": null, "best_of": 1, "logprobs": 3}`, Prompt{Text: "x"}, "", ""},
		{`{}`, Prompt{}, "prompt", "missing"},
		{`{"prompt": ""}`, Prompt{}, "prompt", "empty"},
		{`{"prompt": []}`, Prompt{}, "prompt", "empty"},
		{`{"prompt": ["a", "b"]}`, Prompt{}, "prompt", "one prompt per request"},
		{`{"prompt": [1, -2]}`, Prompt{}, "prompt[1]", "out of range"},
		{`{"prompt": [1, "a"]}`, Prompt{}, "prompt[1]", "want an integer"},
		{`{"prompt": 5}`, Prompt{}, "prompt", "want a string or an array of token ids"},
		{`{"prompt": "x", "echo": true}`, Prompt{}, "echo", "not supported"},
		{`{"prompt": "x", "suffix": "y"}`, Prompt{}, "suffix", "not supported"},
		{`{"prompt": "x", "best_of": 3}`, Prompt{}, "best_of", "best_of = 1"},
		{`{"prompt": "x", "logprobs": 50}`, Prompt{}, "logprobs", "out of range"},
		{`{"prompt": "x", "n": 3}`, Prompt{}, "n", "only n = 1"},
	}
	for _, tc := range tests {
		r, err := DecodeCompletionRequest([]byte(tc.body))
		if tc.param == "" && tc.msg == "" {
			if err != nil || !reflect.DeepEqual(r.Prompt, tc.prompt) {
				t.Errorf("%s: got %+v, %v; want %+v", tc.body, r, err, tc.prompt)
			}
			continue
		}
		var re *RequestError
		if !errors.As(err, &re) || re.Param != tc.param || !strings.Contains(re.Msg, tc.msg) {
			t.Errorf("%s: got %v; want param %q and a message containing %q", tc.body, err, tc.param, tc.msg)
		}
	}
}

func TestDecodeMessagesStrict(t *testing.T) {
	v, err := DecodeJSON([]byte(`[{"role": "assistant", "content": "a", "reasoning_content": "r"}]`))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := DecodeMessages(v, "messages", MessageOptions{Strict: true, KeepReasoning: true})
	if err != nil || msgs[0].ReasoningContent != "r" {
		t.Fatalf("got %+v, %v; want the reasoning kept", msgs, err)
	}
	v, _ = DecodeJSON([]byte(`[{"role": "user", "text": "x"}]`))
	if _, err := DecodeMessages(v, "messages", MessageOptions{Strict: true}); err == nil || !strings.Contains(err.Error(), `unknown field "text"`) {
		t.Fatalf("strict: got %v, want an unknown field error", err)
	}
}

func TestDecodeJSONOrder(t *testing.T) {
	v, err := DecodeJSON([]byte(`{"z": 1, "a": [1.5, "s", true, null, 12345678901234567890]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := chat.Object{{Key: "z", Value: int64(1)}, {Key: "a", Value: []any{1.5, "s", true, nil, 12345678901234567890.0}}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
}
