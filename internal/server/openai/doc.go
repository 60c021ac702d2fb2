// Package openai is the wire format of Sputnik's HTTP API: OpenAI's chat
// completions, completions and models endpoints with DeepSeek's extensions
// (reasoning_content, prompt cache usage). It is the only package whose
// types carry json tags.
//
// Requests are decoded by hand from an order-keeping JSON tree (DecodeJSON)
// rather than by encoding/json's reflection, so that every type error names
// its field the way a client wrote it ("messages[2].role: want a string,
// got a number"), unknown fields are ignored (OpenAI clients send extras),
// and objects handed to chat templates (chat_template_kwargs, tool call
// arguments) keep their key order. The request structs still carry json
// tags that match the decoder, so a Go caller can marshal them (a test
// checks the round trip).
//
// Main types and functions:
//
//   - DecodeChatRequest, DecodeCompletionRequest: body bytes to a
//     validated ChatRequest or CompletionRequest, or a *RequestError.
//   - ChatRequest.ChatMessages, DecodeMessages: the conversation as
//     []chat.Message, for rendering with the model's chat template (the
//     same conversion backs "sputnik template --messages").
//   - ChatCompletion, ChatChunk, Completion, Usage, ModelList: responses.
//   - ErrorResponse: OpenAI's error object.
//
// Besides the standard library it imports only internal/chat, whose
// Message and Object types are what the conversion produces.
package openai
