package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/grammar"
	"github.com/sputnik-llm/sputnik/internal/server/openai"
)

// grammarBackend is what structured output and forced tool calls need of
// a Backend beyond the interface: the vocabulary prepared for masks and an
// encoder that adds no BOS. The engine's backend has both; a backend
// without them answers such requests with 400.
type grammarBackend interface {
	// Vocab returns the vocabulary trie (built once, on first use).
	Vocab() *grammar.Vocab
	// EncodeText tokenizes text with special tokens parsed and no BOS.
	EncodeText(text string) []int32
}

// reasoningEnd is the text that ends a reasoning block, and closeThinking
// what the engine appends when the reasoning budget is spent.
const (
	reasoningEnd  = "</think>"
	closeThinking = "\n</think>\n\n"
)

// errNoGrammar: the backend cannot constrain generation.
var errNoGrammar = errors.New("structured output and forced tool calls are not available with this backend")

// constraint fills req's constraint and reasoning fields: the grammar of
// response_format or of a forced tool call (nil g means none), the
// reasoning state of the prompt and the budget. A bad schema is a
// *openai.RequestError naming param.
func (s *Server) constraint(m *Model, req *engine.Request, prompt string, rs *openai.Reasoning, g func() (*grammar.Grammar, string, error)) error {
	gb, _ := m.Backend.(grammarBackend)
	req.Thinking = chat.EndsInReasoning(prompt)
	req.ThinkEnd = reasoningEnd
	budget := s.cfg.ReasoningBudget
	if rs.MaxReasoningTokens != nil {
		budget = *rs.MaxReasoningTokens
	}
	if req.Thinking && budget > 0 && gb != nil {
		req.MaxReasoningTokens = budget
		req.CloseThinking = gb.EncodeText(closeThinking)
	}
	if rs.MaxReasoningTokens != nil && *rs.MaxReasoningTokens == 0 && req.Thinking && gb != nil {
		// A zero budget closes the reasoning at once.
		req.MaxReasoningTokens, req.CloseThinking = 0, nil
		req.Prompt = append(req.Prompt, gb.EncodeText(closeThinking)...)
		req.Thinking = false
	}
	gr, param, err := g()
	if err != nil {
		return &openai.RequestError{Param: param, Msg: err.Error()}
	}
	if gr == nil {
		return nil
	}
	if gb == nil {
		return &openai.RequestError{Param: param, Msg: errNoGrammar.Error()}
	}
	req.Constraint = gr.NewMatcher(gb.Vocab())
	return nil
}

// formatGrammar compiles response_format (nil for text).
func formatGrammar(f *openai.ResponseFormat) (*grammar.Grammar, string, error) {
	if f == nil {
		return nil, "", nil
	}
	switch f.Type {
	case "json_object":
		return grammar.JSONObject(), "", nil
	case "json_schema":
		g, err := grammar.Schema(f.Schema)
		if err != nil {
			return nil, "response_format.json_schema.schema", err
		}
		return g, "", nil
	}
	return nil, "", nil
}

// toolGrammar compiles the call that tool_choice required or a named
// function forces, in the model's own syntax (nil otherwise).
func toolGrammar(syntax chat.ToolSyntax, tools []openai.Tool, choice *openai.ToolChoice) (*grammar.Grammar, string, error) {
	if choice == nil || (choice.Mode != "required" && choice.Mode != "function") {
		return nil, "", nil
	}
	var alts []grammar.Seq
	for _, t := range tools {
		if choice.Mode == "function" && t.Name != choice.Name {
			continue
		}
		params := t.Parameters
		if params == nil {
			params = []byte(`{"type":"object"}`)
		}
		prefix, suffix, key := chat.CallFrame(syntax, t.Name)
		schema := params
		if key != "" {
			name, _ := json.Marshal(t.Name)
			k, _ := json.Marshal(key)
			schema = fmt.Appendf(nil, `{"type":"object","properties":{"name":{"const":%s},%s:%s},"required":["name",%s],"additionalProperties":false}`, name, k, params, k)
		}
		alts = append(alts, grammar.Seq{Prefix: prefix, Schema: schema, Suffix: suffix})
	}
	g, err := grammar.Sequences(alts)
	if err != nil {
		return nil, "tools", err
	}
	return g, "", nil
}

// writeConstraintError answers a request whose constraint failed.
func writeConstraintError(w http.ResponseWriter, err error) {
	writeRequestError(w, err)
}

// vocabOnce builds an engine's grammar vocabulary on first use.
type vocabOnce struct {
	once sync.Once
	v    *grammar.Vocab
}

// withTools shows the tools to the model: through the template's tools
// variable when it renders them, else as a system message in front that
// teaches the syntax (merged into the first system message if any).
func withTools(msgs []chat.Message, tools []openai.Tool, syntax chat.ToolSyntax, rendered bool) ([]chat.Message, []any) {
	if rendered {
		defs := make([]any, len(tools))
		for i, t := range tools {
			defs[i] = t.Raw
		}
		return msgs, defs
	}
	lines := make([]string, len(tools))
	for i, t := range tools {
		b, _ := openai.MarshalJSON(t.Raw)
		lines[i] = string(b)
	}
	text := chat.ToolPrompt(syntax, lines)
	if len(msgs) > 0 && msgs[0].Role == "system" {
		out := append([]chat.Message(nil), msgs...)
		out[0].Content = out[0].Content + "\n\n" + text
		return out, nil
	}
	return append([]chat.Message{{Role: "system", Content: text}}, msgs...), nil
}
