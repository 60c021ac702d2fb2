package openai

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/chat"
)

// FuzzChatRequest: decoding and validating any body never panics, fails
// only with a *RequestError, and an accepted request converts to a
// conversation chat.Validate accepts and marshals to JSON that decodes
// again.
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages": [{"role": "user", "content": "hi"}]}`,
		`{"model": "x", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "a"}]}], "stream": true, "stream_options": {"include_usage": true}}`,
		`{"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}], "max_tokens": 5, "stop": ["x", "y"]}`,
		`{"messages": [{"role": "user", "content": "x"}], "temperature": 0.6, "top_p": 0.95, "top_k": -1, "seed": 1, "logprobs": true, "top_logprobs": 5, "chat_template_kwargs": {"enable_thinking": false}}`,
		`{"messages": [{"role": "robot", "content": "x"}]}`,
		`{"messages": [], "n": 2}`,
		`{"prompt": [1, 2, 3]}`,
		`[[[[[[]]]]]]`,
		`{"messages": [{"role": "user", "content": "\ud800"}], "max_tokens": 1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := DecodeCompletionRequest(data); err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("completion: error %T %v is not a *RequestError", err, err)
			}
		}
		r, err := DecodeChatRequest(data)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %T %v is not a *RequestError", err, err)
			}
			return
		}
		if err := chat.Validate(ChatMessages(r.Messages)); err != nil {
			t.Fatalf("accepted request fails chat.Validate: %v", err)
		}
		out, err := json.Marshal(r)
		if err != nil {
			return // e.g. kwargs holding a chat.Object marshal as arrays; not a wire error
		}
		if _, err := DecodeChatRequest(out); err != nil {
			t.Fatalf("re-encoded request %s fails: %v", out, err)
		}
	})
}
