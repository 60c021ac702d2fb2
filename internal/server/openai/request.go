package openai

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/sputnik-llm/sputnik/internal/chat"
)

// Limits on request fields.
const (
	MaxStop        = 16      // stop strings per request
	MaxStopLen     = 1024    // bytes per stop string
	MaxTopLogprobs = 20      // top_logprobs (chat) and logprobs (completions)
	maxTokensLimit = 1 << 30 // max_tokens beyond this is surely a mistake
)

// Params are the fields chat and completion requests share: the model,
// how much to generate, sampling, stopping and streaming. Pointers are nil
// when the client left the field out (or sent null).
type Params struct {
	// Model is the model name the client asked for ("" is allowed: there
	// is one model).
	Model string `json:"model,omitempty"`
	// MaxTokens bounds the generated tokens, reasoning included (≥ 1).
	MaxTokens *int `json:"max_tokens,omitempty"`
	// Temperature in [0, 2]; TopP and MinP in [0, 1]; TopK ≥ 0 (-1 means
	// off, as vLLM reads it). Unset sampling parameters take the model's
	// defaults (DeepSeek's temperature 0.6 and top-p 0.95 for R1 models
	// when neither is set, else greedy).
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	TopK        *int     `json:"top_k,omitempty"`
	MinP        *float64 `json:"min_p,omitempty"`
	// FrequencyPenalty and PresencePenalty in [-2, 2], as OpenAI's;
	// RepeatPenalty (llama.cpp's) in [0, 10], 0 and 1 off.
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	RepeatPenalty    *float64 `json:"repeat_penalty,omitempty"`
	// Seed makes sampling repeatable.
	Seed *int64 `json:"seed,omitempty"`
	// Stop holds up to MaxStop non-empty strings; on the wire a string or
	// an array.
	Stop []string `json:"stop,omitempty"`
	// N must be 1 when set.
	N *int `json:"n,omitempty"`
	// Stream asks for server-sent events.
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	// IgnoreEOS keeps generating past end-of-generation tokens (llama.cpp's
	// extension, for benchmarks).
	IgnoreEOS bool `json:"ignore_eos,omitempty"`
	// Reasoning holds max_reasoning_tokens (or reasoning_effort) and
	// response_format.
	Reasoning `json:"-"`
}

// ModelName returns the model the request names ("" for any).
func (p *Params) ModelName() string { return p.Model }

// StreamOptions are the options of a streamed response.
type StreamOptions struct {
	// IncludeUsage adds a last chunk with usage and no choices.
	IncludeUsage bool `json:"include_usage"`
}

// IncludeUsage reports whether a streamed response ends with a usage
// chunk.
func (p *Params) IncludeUsage() bool { return p.StreamOptions != nil && p.StreamOptions.IncludeUsage }

// Limit returns max_tokens, 0 when unset.
func (p *Params) Limit() int {
	if p.MaxTokens != nil {
		return *p.MaxTokens
	}
	return 0
}

// decodeParam reads the shared field key into p; it reports whether the key
// is one of them.
func (p *Params) decodeParam(key string, v any) (bool, error) {
	var err error
	switch key {
	case "model":
		if v != nil {
			p.Model, err = asString(v, key)
		}
	case "max_tokens":
		p.MaxTokens, err = maxTokens(v, key)
	case "temperature":
		p.Temperature, err = floatIn(v, key, 0, 2)
	case "top_p":
		p.TopP, err = floatIn(v, key, 0, 1)
	case "top_k":
		p.TopK, err = intIn(v, key, -1, math.MaxInt32)
	case "min_p":
		p.MinP, err = floatIn(v, key, 0, 1)
	case "frequency_penalty":
		p.FrequencyPenalty, err = floatIn(v, key, -2, 2)
	case "presence_penalty":
		p.PresencePenalty, err = floatIn(v, key, -2, 2)
	case "repeat_penalty":
		p.RepeatPenalty, err = floatIn(v, key, 0, 10)
	case "seed":
		p.Seed, err = asInt(v, key)
	case "stop":
		p.Stop, err = decodeStop(v, key)
	case "n":
		p.N, err = intIn(v, key, math.MinInt32, math.MaxInt32)
		if err == nil && p.N != nil && *p.N != 1 {
			err = invalid(key, "only n = 1 is supported, got %d", *p.N)
		}
	case "stream":
		p.Stream, err = asBool(v, key)
	case "stream_options":
		if v == nil {
			break
		}
		var o chat.Object
		if o, err = asObject(v, key); err != nil {
			break
		}
		p.StreamOptions = &StreamOptions{}
		if u, ok := o.Get("include_usage"); ok {
			p.StreamOptions.IncludeUsage, err = asBool(u, key+".include_usage")
		}
	case "ignore_eos":
		p.IgnoreEOS, err = asBool(v, key)
	case "max_reasoning_tokens", "reasoning_effort", "response_format":
		_, err = p.decodeReasoning(key, v)
	case "logit_bias":
		if o, ok := v.(chat.Object); v != nil && (!ok || len(o) > 0) {
			err = invalid(key, "not supported yet")
		}
	default:
		return false, nil
	}
	return true, err
}

func maxTokens(v any, path string) (*int, error) {
	i, err := asInt(v, path)
	if err != nil || i == nil {
		return nil, err
	}
	if *i < 1 {
		return nil, invalid(path, "must be at least 1, got %d", *i)
	}
	n := int(min(*i, maxTokensLimit))
	return &n, nil
}

func decodeStop(v any, path string) ([]string, error) {
	var list []any
	switch s := v.(type) {
	case nil:
		return nil, nil
	case string:
		list = []any{s}
	case []any:
		list = s
	default:
		return nil, invalid(path, "want a string or an array of strings, got %s", typeName(v))
	}
	if len(list) > MaxStop {
		return nil, invalid(path, "at most %d stop strings, got %d", MaxStop, len(list))
	}
	stop := make([]string, len(list))
	for i, e := range list {
		p := path
		if _, ok := v.([]any); ok {
			p = index(path, i)
		}
		s, err := asString(e, p)
		if err != nil {
			return nil, err
		}
		if s == "" || len(s) > MaxStopLen {
			return nil, invalid(p, "want 1 to %d bytes, got %d", MaxStopLen, len(s))
		}
		stop[i] = s
	}
	return stop, nil
}

// ChatRequest is the body of POST /v1/chat/completions.
type ChatRequest struct {
	Params
	Messages []Message `json:"messages"`
	// MaxCompletionTokens is OpenAI's newer name for max_tokens; it wins
	// when both are set.
	MaxCompletionTokens *int `json:"max_completion_tokens,omitempty"`
	// Logprobs asks for each generated token's log-probability,
	// TopLogprobs (0 to MaxTopLogprobs, needs Logprobs) for the most likely
	// alternatives.
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs *int `json:"top_logprobs,omitempty"`
	// ReasoningFormat "none" keeps the model's <think> block in content;
	// "" (or "deepseek", "auto") moves the reasoning to reasoning_content,
	// as DeepSeek's API does.
	ReasoningFormat string `json:"reasoning_format,omitempty"`
	// ChatTemplateKwargs are extra chat template variables, such as Qwen3's
	// enable_thinking. Nested objects are chat.Objects (key order kept).
	ChatTemplateKwargs Kwargs `json:"chat_template_kwargs,omitempty"`
	// Tools the model may call, ToolChoice (nil: "auto" with tools) and
	// ParallelToolCalls (nil: allowed).
	Tools             []Tool      `json:"-"`
	ToolChoice        *ToolChoice `json:"-"`
	ParallelToolCalls *bool       `json:"-"`
}

// RawReasoning reports whether the client asked for the raw <think> text
// in content (reasoning_format "none").
func (r *ChatRequest) RawReasoning() bool { return r.ReasoningFormat == "none" }

// Limit returns the requested token limit (max_completion_tokens, else
// max_tokens), 0 when neither is set.
func (r *ChatRequest) Limit() int {
	switch {
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens
	case r.MaxTokens != nil:
		return *r.MaxTokens
	}
	return 0
}

// DecodeChatRequest decodes and validates a chat completion request body.
// Unknown fields are ignored. Errors are *RequestError naming the field.
func DecodeChatRequest(data []byte) (*ChatRequest, error) {
	obj, err := decodeBody(data)
	if err != nil {
		return nil, err
	}
	r := &ChatRequest{}
	hasMessages := false
	for _, f := range obj {
		if ok, err := r.decodeParam(f.Key, f.Value); ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		k, v := f.Key, f.Value
		switch k {
		case "messages":
			hasMessages = true
			r.Messages, err = DecodeMessages(v, k, MessageOptions{})
		case "max_completion_tokens":
			r.MaxCompletionTokens, err = maxTokens(v, k)
		case "logprobs":
			r.Logprobs, err = asBool(v, k)
		case "top_logprobs":
			r.TopLogprobs, err = intIn(v, k, 0, MaxTopLogprobs)
		case "reasoning_format":
			if v == nil {
				break
			}
			if r.ReasoningFormat, err = asString(v, k); err != nil {
				break
			}
			switch r.ReasoningFormat {
			case "", "none", "auto", "deepseek":
			default:
				err = invalid(k, "unknown format %q (want \"deepseek\" or \"none\")", r.ReasoningFormat)
			}
		case "chat_template_kwargs":
			if v == nil {
				break
			}
			var o chat.Object
			if o, err = asObject(v, k); err != nil {
				break
			}
			r.ChatTemplateKwargs = make(Kwargs, len(o))
			for _, m := range o {
				r.ChatTemplateKwargs[m.Key] = m.Value
			}
		case "tools":
			r.Tools, err = decodeTools(v, k)
		case "tool_choice":
			r.ToolChoice, err = decodeToolChoice(v, k)
		case "parallel_tool_calls":
			if v != nil {
				var b bool
				b, err = asBool(v, k)
				r.ParallelToolCalls = &b
			}
		case "functions", "function_call":
			if v != nil {
				err = invalid(k, "the legacy functions API is not supported; use tools and tool_choice")
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !hasMessages {
		return nil, invalid("messages", "missing")
	}
	if r.TopLogprobs != nil && *r.TopLogprobs > 0 && !r.Logprobs {
		return nil, invalid("top_logprobs", "needs logprobs: true")
	}
	if c := r.ToolChoice; c != nil && c.Mode != "none" && c.Mode != "auto" {
		found := c.Mode == "required" && len(r.Tools) > 0
		for _, t := range r.Tools {
			found = found || t.Name == c.Name
		}
		if !found {
			return nil, invalid("tool_choice", "names no tool of the request")
		}
		if r.ResponseFormat != nil && r.ResponseFormat.Type != "text" {
			return nil, invalid("response_format", "cannot be combined with a forced tool_choice")
		}
	}
	return r, nil
}

// Prompt is a completion prompt: text, or token ids used verbatim. On the
// wire: a string, an array of one string, or an array of token ids (or an
// array of one such array).
type Prompt struct {
	Text   string
	Tokens []int32 // when set, Text is ignored
}

// MarshalJSON writes the prompt as a string or an array of token ids.
func (p Prompt) MarshalJSON() ([]byte, error) {
	if p.Tokens != nil {
		return json.Marshal(p.Tokens)
	}
	return json.Marshal(p.Text)
}

// CompletionRequest is the body of POST /v1/completions.
type CompletionRequest struct {
	Params
	Prompt Prompt `json:"prompt"`
	// Logprobs (0 to MaxTopLogprobs) asks for each token's log-probability
	// and that many most likely alternatives.
	Logprobs *int `json:"logprobs,omitempty"`
}

// DecodeCompletionRequest decodes and validates a completion request body.
// Unknown fields are ignored; echo, suffix and best_of > 1 are refused as
// not supported. Errors are *RequestError naming the field.
func DecodeCompletionRequest(data []byte) (*CompletionRequest, error) {
	obj, err := decodeBody(data)
	if err != nil {
		return nil, err
	}
	r := &CompletionRequest{}
	hasPrompt := false
	for _, f := range obj {
		if ok, err := r.decodeParam(f.Key, f.Value); ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		k, v := f.Key, f.Value
		switch k {
		case "prompt":
			hasPrompt = true
			r.Prompt, err = decodePrompt(v, k)
		case "logprobs":
			r.Logprobs, err = intIn(v, k, 0, MaxTopLogprobs)
		case "echo":
			var echo bool
			if echo, err = asBool(v, k); err == nil && echo {
				err = invalid(k, "not supported yet")
			}
		case "suffix":
			if s, ok := v.(string); v != nil && (!ok || s != "") {
				err = invalid(k, "not supported yet")
			}
		case "best_of":
			var n *int
			if n, err = intIn(v, k, math.MinInt32, math.MaxInt32); err == nil && n != nil && *n != 1 {
				err = invalid(k, "only best_of = 1 is supported, got %d", *n)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !hasPrompt {
		return nil, invalid("prompt", "missing")
	}
	return r, nil
}

func decodePrompt(v any, path string) (Prompt, error) {
	switch p := v.(type) {
	case string:
		if p == "" {
			return Prompt{}, invalid(path, "empty")
		}
		return Prompt{Text: p}, nil
	case []any:
		if len(p) == 0 {
			return Prompt{}, invalid(path, "empty")
		}
		switch first := p[0].(type) {
		case string, []any:
			if len(p) > 1 {
				return Prompt{}, invalid(path, "one prompt per request, got %d", len(p))
			}
			return decodePrompt(first, index(path, 0))
		}
		ids := make([]int32, len(p))
		for i, e := range p {
			id, err := intIn(e, index(path, i), 0, math.MaxInt32)
			if err != nil {
				return Prompt{}, err
			}
			ids[i] = int32(*id)
		}
		return Prompt{Tokens: ids}, nil
	}
	return Prompt{}, invalid(path, "want a string or an array of token ids, got %s", typeName(v))
}

// decodeBody decodes a request body that must be one JSON object.
func decodeBody(data []byte) (chat.Object, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return nil, &RequestError{Msg: fmt.Sprintf("request body: %v", err)}
	}
	o, ok := v.(chat.Object)
	if !ok {
		return nil, &RequestError{Msg: fmt.Sprintf("request body: want a JSON object, got %s", typeName(v))}
	}
	return o, nil
}
