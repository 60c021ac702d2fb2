package openai

// Object names of the responses.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
	ObjectTextCompletion      = "text_completion"
	ObjectList                = "list"
	ObjectModel               = "model"
)

// Finish reasons.
const (
	FinishStop   = "stop"   // end of generation or a stop string
	FinishLength = "length" // max_tokens or the context was reached
	FinishTools  = "tool_calls"
)

// ChatCompletion is the response to a non-streamed chat request.
type ChatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"` // ObjectChatCompletion
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   *Usage       `json:"usage,omitempty"`
}

// ChatChoice is the one answer of a chat completion.
type ChatChoice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	Logprobs     *ChatLogprobs   `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

// ResponseMessage is the assistant's answer. ReasoningContent holds the
// model's reasoning (DeepSeek's field), left out when there was none.
type ResponseMessage struct {
	Role             string     `json:"role"` // "assistant"
	Content          string     `json:"content"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// ChatChunk is one server-sent event of a streamed chat response. The
// last chunk of a stream with include_usage has no choices and the usage.
type ChatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"` // ObjectChatCompletionChunk
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
}

// ChunkChoice is the change to the one answer a chunk carries.
// FinishReason is null until the last chunk of the answer.
type ChunkChoice struct {
	Index        int           `json:"index"`
	Delta        Delta         `json:"delta"`
	Logprobs     *ChatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

// Delta is streamed text: the first chunk has the role and empty content,
// later ones reasoning or content text. Nil fields are left out.
type Delta struct {
	Role             string          `json:"role,omitempty"`
	Content          *string         `json:"content,omitempty"`
	ReasoningContent *string         `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is one tool call in a stream chunk; Sputnik sends each
// call whole, in one chunk (id, type, name and all the arguments).
type ToolCallDelta struct {
	Index    int          `json:"index"`
	ID       string       `json:"id"`
	Type     string       `json:"type"` // "function"
	Function FunctionCall `json:"function"`
}

// ChatLogprobs are a chat answer's token log-probabilities (OpenAI's
// choices[].logprobs).
type ChatLogprobs struct {
	Content []TokenLogprob `json:"content"`
}

// TokenLogprob is one generated token: its text, natural-log probability
// (-9999 stands for an impossible token, as JSON has no -Inf), its UTF-8
// bytes (a token may hold part of a character) and the most likely
// alternatives.
type TokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one of the most likely tokens at a step.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// Completion is the response to a completion request, and (with text
// deltas) each chunk of a streamed one.
type Completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"` // ObjectTextCompletion
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	Usage   *Usage             `json:"usage,omitempty"`
}

// CompletionChoice is the one answer of a completion. FinishReason is null
// in stream chunks before the last.
type CompletionChoice struct {
	Index        int                 `json:"index"`
	Text         string              `json:"text"`
	Logprobs     *CompletionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
}

// CompletionLogprobs are the legacy completions log-probabilities: per
// token, its text, log-probability, the top alternatives as a map from
// token text to log-probability, and its byte offset in the text.
type CompletionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// Usage counts a request's tokens. CompletionTokens include the reasoning;
// PromptCacheHitTokens (DeepSeek's name; also
// PromptTokensDetails.CachedTokens, OpenAI's) are prompt tokens whose
// cache was reused, PromptCacheMissTokens the ones computed.
type Usage struct {
	PromptTokens            int                     `json:"prompt_tokens"`
	CompletionTokens        int                     `json:"completion_tokens"`
	TotalTokens             int                     `json:"total_tokens"`
	PromptTokensDetails     PromptTokensDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails CompletionTokensDetails `json:"completion_tokens_details"`
	PromptCacheHitTokens    int                     `json:"prompt_cache_hit_tokens"`
	PromptCacheMissTokens   int                     `json:"prompt_cache_miss_tokens"`
}

// PromptTokensDetails breaks down the prompt tokens.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// CompletionTokensDetails breaks down the generated tokens.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
	// ReasoningBudgetHit says the reasoning was closed by the server
	// because max_reasoning_tokens was spent.
	ReasoningBudgetHit bool `json:"reasoning_budget_hit,omitempty"`
}

// ModelList is the response to GET /v1/models.
type ModelList struct {
	Object string      `json:"object"` // ObjectList
	Data   []ModelCard `json:"data"`
}

// ModelCard describes one served model.
type ModelCard struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // ObjectModel
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// ContextLength is the most tokens one request may hold (an
	// extension, as vLLM's max_model_len).
	ContextLength int `json:"context_length,omitempty"`
}
