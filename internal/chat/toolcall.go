package chat

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ToolSyntax is the way a model family writes tool calls in its answer.
type ToolSyntax int

// Tool call syntaxes.
const (
	// ToolsHermes: <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>,
	// one block per call (Qwen2.5, Qwen3, Hermes). Also the syntax taught
	// to models whose template has none.
	ToolsHermes ToolSyntax = iota
	// ToolsDeepSeek: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function
	// <｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>…
	// <｜tool▁calls▁end｜> (DeepSeek-V3, R1-0528); V3.1's
	// <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜> is read too.
	ToolsDeepSeek
	// ToolsLlama3: the answer is {"name": …, "parameters": {…}}, optionally
	// after <|python_tag|> (Llama 3.1 and later).
	ToolsLlama3
)

// DeepSeek's tool markers.
const (
	dsCallsBegin = "<｜tool▁calls▁begin｜>"
	dsCallsEnd   = "<｜tool▁calls▁end｜>"
	dsCallBegin  = "<｜tool▁call▁begin｜>"
	dsCallEnd    = "<｜tool▁call▁end｜>"
	dsSep        = "<｜tool▁sep｜>"
	pythonTag    = "<|python_tag|>"
)

// DetectToolSyntax returns the tool call syntax a chat template renders,
// ToolsHermes when it shows none.
func DetectToolSyntax(templateSource string) ToolSyntax {
	switch {
	case strings.Contains(templateSource, dsCallBegin):
		return ToolsDeepSeek
	case strings.Contains(templateSource, "<tool_call>"):
		return ToolsHermes
	case strings.Contains(templateSource, pythonTag) || strings.Contains(templateSource, "ipython"):
		return ToolsLlama3
	}
	return ToolsHermes
}

// RendersTools reports whether a chat template shows the tool definitions
// (the tools variable) to the model; when it does not, the caller adds
// ToolPrompt to the system message.
func RendersTools(templateSource string) bool {
	return strings.Contains(templateSource, "tools")
}

// ToolPrompt is the system text that teaches a model the tools (their
// definitions as JSON, one per line) and the syntax to call them in.
func ToolPrompt(s ToolSyntax, tools []string) string {
	var b strings.Builder
	b.WriteString("You may call functions to help with the user's request. The functions:\n")
	for _, t := range tools {
		b.WriteString(t)
		b.WriteByte('\n')
	}
	b.WriteString("\nTo call functions, answer with ")
	switch s {
	case ToolsDeepSeek:
		b.WriteString(dsCallsBegin + dsCallBegin + "function" + dsSep + "NAME\n```json\n{ARGUMENTS}\n```" + dsCallEnd + dsCallsEnd)
	case ToolsLlama3:
		b.WriteString(`{"name": NAME, "parameters": {ARGUMENTS}}`)
	default:
		b.WriteString("<tool_call>\n{\"name\": NAME, \"arguments\": {ARGUMENTS}}\n</tool_call>")
	}
	b.WriteString(" and nothing else.")
	return b.String()
}

// CallFrame returns the text a call of function name is written between
// in syntax s, and the key that holds the arguments when the JSON between
// is {"name": …, key: ARGS} ("" when the JSON is the arguments alone).
func CallFrame(s ToolSyntax, name string) (prefix, suffix, argsKey string) {
	switch s {
	case ToolsDeepSeek:
		return dsCallsBegin + dsCallBegin + "function" + dsSep + name + "\n```json\n", "\n```" + dsCallEnd + dsCallsEnd, ""
	case ToolsLlama3:
		return "", "", "parameters"
	}
	return "<tool_call>\n", "\n</tool_call>", "arguments"
}

// ParsedCall is one tool call read from a model's answer: the function's
// name and its arguments as JSON text.
type ParsedCall struct {
	Name      string
	Arguments string
}

// ToolCallParser splits a model's streamed answer into text and tool
// calls. Text before a call is passed through as it arrives (except a
// possible start of a call marker, held until decided); from the first
// call marker on, the rest is read as calls. It is used by one goroutine.
type ToolCallParser struct {
	syntax  ToolSyntax
	pending strings.Builder // held text: a possible marker, or the calls
	inCalls bool
	started bool // some non-space text was seen
}

// NewToolCallParser returns a parser for syntax s.
func NewToolCallParser(s ToolSyntax) *ToolCallParser { return &ToolCallParser{syntax: s} }

// startMarkers are the texts that begin the calls in each syntax.
func (p *ToolCallParser) startMarkers() []string {
	switch p.syntax {
	case ToolsDeepSeek:
		return []string{dsCallsBegin, dsCallBegin}
	case ToolsLlama3:
		return []string{pythonTag, "{"}
	}
	return []string{"<tool_call>"}
}

// Push adds answer text and returns the text that is content for sure.
func (p *ToolCallParser) Push(text string) string {
	if p.inCalls {
		p.pending.WriteString(text)
		return ""
	}
	p.pending.WriteString(text)
	s := p.pending.String()
	if p.syntax == ToolsLlama3 {
		// A Llama call is the whole answer: decide on its first non-space
		// character.
		if p.started {
			p.pending.Reset()
			return s
		}
		t := strings.TrimLeft(s, " \t\r\n")
		if t == "" {
			return ""
		}
		if strings.HasPrefix(t, "{") || strings.HasPrefix(t, pythonTag) {
			p.inCalls = true
			return ""
		}
		if strings.HasPrefix(pythonTag, t) {
			return "" // maybe the tag
		}
		p.started = true
		p.pending.Reset()
		return s
	}
	best := -1
	for _, m := range p.startMarkers() {
		if i := strings.Index(s, m); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	if best >= 0 {
		p.inCalls = true
		p.pending.Reset()
		p.pending.WriteString(s[best:])
		return s[:best]
	}
	// Hold a suffix that could begin a marker.
	hold := 0
	for _, m := range p.startMarkers() {
		for k := min(len(m)-1, len(s)); k > hold; k-- {
			if strings.HasSuffix(s, m[:k]) {
				hold = k
				break
			}
		}
	}
	p.pending.Reset()
	p.pending.WriteString(s[len(s)-hold:])
	return s[:len(s)-hold]
}

// InCalls reports whether the answer has reached its tool calls.
func (p *ToolCallParser) InCalls() bool { return p.inCalls }

// Flush ends the answer: it returns the held text that turned out to be
// content, and the calls. When the calls do not parse, they come back as
// content with an error saying why (a malformed call is reported, never
// half-returned).
func (p *ToolCallParser) Flush() (content string, calls []ParsedCall, err error) {
	s := p.pending.String()
	p.pending.Reset()
	if !p.inCalls {
		return s, nil, nil
	}
	switch p.syntax {
	case ToolsDeepSeek:
		calls, err = parseDeepSeek(s)
	case ToolsLlama3:
		calls, err = parseLlama3(s)
	default:
		calls, err = parseHermes(s)
	}
	if err != nil {
		return s, nil, err
	}
	return "", calls, nil
}

func parseHermes(s string) ([]ParsedCall, error) {
	var calls []ParsedCall
	rest := strings.TrimSpace(s)
	for rest != "" {
		body, ok := strings.CutPrefix(rest, "<tool_call>")
		if !ok {
			return nil, fmt.Errorf("tool call: want <tool_call>, got %q", clip(rest))
		}
		inner, after, ok := strings.Cut(body, "</tool_call>")
		if !ok {
			return nil, fmt.Errorf("tool call: no </tool_call>")
		}
		c, err := jsonCall(inner, "arguments")
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
		rest = strings.TrimSpace(after)
	}
	return calls, nil
}

func parseLlama3(s string) ([]ParsedCall, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimPrefix(s, pythonTag))
	var calls []ParsedCall
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("tool call: %v", err)
		}
		c, err := jsonCall(string(raw), "parameters")
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
		// Calls may be separated by ';'.
		rest := strings.TrimLeft(s[dec.InputOffset():], " \t\r\n;")
		if rest == "" {
			return calls, nil
		}
		s = rest
		dec = json.NewDecoder(strings.NewReader(s))
	}
}

// jsonCall reads {"name": …, argsKey: …} ("arguments" also accepted).
func jsonCall(text, argsKey string) (ParsedCall, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimSpace(text)), &obj); err != nil {
		return ParsedCall{}, fmt.Errorf("tool call: %v in %q", err, clip(text))
	}
	var name string
	if json.Unmarshal(obj["name"], &name) != nil || name == "" {
		return ParsedCall{}, fmt.Errorf("tool call without a name: %q", clip(text))
	}
	args := obj["arguments"]
	if p, ok := obj[argsKey]; ok {
		args = p
	}
	return ParsedCall{Name: name, Arguments: argumentsText(args)}, nil
}

// argumentsText is the arguments as OpenAI sends them: JSON text of an
// object ("{}" when absent; a JSON string holding JSON is unwrapped).
func argumentsText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && json.Valid([]byte(s)) {
		return s
	}
	return string(raw)
}

func parseDeepSeek(s string) ([]ParsedCall, error) {
	rest := strings.TrimSpace(s)
	rest = strings.TrimPrefix(rest, dsCallsBegin)
	var calls []ParsedCall
	for {
		rest = strings.TrimSpace(rest)
		if rest == "" || strings.HasPrefix(rest, dsCallsEnd) {
			break
		}
		body, ok := strings.CutPrefix(rest, dsCallBegin)
		if !ok {
			return nil, fmt.Errorf("tool call: want %s, got %q", dsCallBegin, clip(rest))
		}
		inner, after, ok := strings.Cut(body, dsCallEnd)
		if !ok {
			return nil, fmt.Errorf("tool call: no %s", dsCallEnd)
		}
		head, args, ok := strings.Cut(inner, dsSep)
		if !ok {
			return nil, fmt.Errorf("tool call: no %s in %q", dsSep, clip(inner))
		}
		name := strings.TrimSpace(head)
		if name == "function" {
			// function<sep>NAME\n```json\nARGS\n```
			n, a, _ := strings.Cut(args, "\n")
			name = strings.TrimSpace(n)
			a = strings.TrimSpace(a)
			a = strings.TrimPrefix(a, "```json")
			a = strings.TrimPrefix(a, "```")
			a = strings.TrimSuffix(strings.TrimSpace(a), "```")
			args = a
		}
		args = strings.TrimSpace(args)
		if name == "" || !json.Valid([]byte(args)) {
			return nil, fmt.Errorf("tool call: bad name or arguments in %q", clip(inner))
		}
		calls = append(calls, ParsedCall{Name: name, Arguments: args})
		rest = after
	}
	if len(calls) == 0 {
		return nil, fmt.Errorf("tool call: no calls")
	}
	return calls, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
