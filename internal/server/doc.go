// Package server is Sputnik's HTTP API: OpenAI's chat completions,
// completions and models endpoints with DeepSeek's reasoning_content and
// prompt-cache usage, server-sent events, OpenAI-style errors, /health and
// Prometheus /metrics.
//
// It sits between cmd/sputnik (which loads the model and starts the
// engine) and internal/engine: handlers decode a request with
// internal/server/openai, render the conversation with the model's own
// chat template (internal/chat), tokenize it, submit it to the engine and
// turn the engine's event stream into JSON or SSE. Handlers never touch
// model state; they only read their own request's event stream, so a slow
// client delays nobody else.
//
// Main types:
//
//   - Server: New(Config), SetModel when the model is loaded (until then
//     /health and the API answer 503), Drain when shutting down, and
//     Handler for an http.Server.
//   - Backend and Events: what the server needs of an engine (EngineBackend
//     adapts *engine.Engine); tests use a scripted fake.
//   - Model: the loaded model as the server serves it (names, chat
//     template, BOS/EOS text, whether it is an R1).
package server
