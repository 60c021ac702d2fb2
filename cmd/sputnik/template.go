package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/gguf"
)

// maxJSONFile bounds the --messages and --vars files.
const maxJSONFile = 64 << 20

func runTemplate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("template", stderr)
	model := fs.String("m", "", "GGUF `model` whose tokenizer.chat_template (or matching built-in) to use")
	tmplFile := fs.String("template-file", "", "Jinja template `file` to use")
	builtin := fs.String("builtin", "", "built-in template `name`: "+strings.Join(chat.BuiltinNames(), ", "))
	msgsFile := fs.String("messages", "", "JSON `file`: an array of messages, or {\"messages\": […], \"tools\": […]}")
	varsFile := fs.String("vars", "", "JSON `file`: an object holding every template variable")
	noGen := fs.Bool("no-generation-prompt", false, "with --messages: leave out the assistant generation prompt")
	forceThink := fs.Bool("force-think", false, "with --messages: end the prompt with <think>\\n (DeepSeek-R1)")
	bos := fs.String("bos", "", "with --messages: bos_token text (default: from -m, else empty)")
	eos := fs.String("eos", "", "with --messages: eos_token text (default: from -m, else empty)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: sputnik template (-m MODEL.gguf | --template-file FILE.jinja | --builtin NAME)")
		fmt.Fprintln(stderr, "                        (--messages FILE.json [--no-generation-prompt] | --vars FILE.json)")
		fmt.Fprintln(stderr, "\nPrints the rendered prompt exactly, with no newline added. Rendering uses")
		fmt.Fprintln(stderr, "Hugging Face's apply_chat_template settings (trim_blocks, lstrip_blocks).")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if n := countSet(*model, *tmplFile, *builtin); n != 1 {
		return usageError{"want exactly one of -m, --template-file and --builtin"}
	}
	if countSet(*msgsFile, *varsFile) != 1 {
		return usageError{"want exactly one of --messages and --vars"}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *varsFile != "" {
		for _, name := range []string{"no-generation-prompt", "force-think", "bos", "eos"} {
			if set[name] {
				return usageError{"--" + name + " goes with --messages; with --vars the file supplies every variable"}
			}
		}
	}

	src, tokens, err := templateSource(*model, *tmplFile, *builtin, stderr)
	if err != nil {
		return err
	}
	tmpl, err := chat.Parse(src)
	if err != nil {
		return err
	}

	if *varsFile != "" {
		v, err := readJSONFile(*varsFile)
		if err != nil {
			return err
		}
		obj, ok := v.(chat.Object)
		if !ok {
			return fmt.Errorf("%s: want a JSON object of template variables", *varsFile)
		}
		vars := make(map[string]any, len(obj))
		for _, m := range obj {
			vars[m.Key] = m.Value
		}
		out, err := tmpl.Render(vars)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, out)
		return err
	}

	v, err := readJSONFile(*msgsFile)
	if err != nil {
		return err
	}
	msgs, tools, err := conversationFromJSON(v)
	if err != nil {
		return fmt.Errorf("%s: %w", *msgsFile, err)
	}
	opts := chat.Options{
		AddGenerationPrompt: !*noGen,
		BOS:                 tokens.bos,
		EOS:                 tokens.eos,
		Tools:               tools,
		ForceThink:          *forceThink,
	}
	if set["bos"] {
		opts.BOS = *bos
	}
	if set["eos"] {
		opts.EOS = *eos
	}
	out, err := tmpl.Apply(msgs, opts)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}

func countSet(vals ...string) int {
	n := 0
	for _, v := range vals {
		if v != "" {
			n++
		}
	}
	return n
}

// specialText is the text of a model's BOS and EOS tokens.
type specialText struct{ bos, eos string }

// templateSource returns the template source selected by the flags and, for
// -m, the BOS/EOS token text. A GGUF without tokenizer.chat_template gets
// the built-in template that matches its vocabulary, with a note on stderr.
func templateSource(model, file, builtin string, stderr io.Writer) (string, specialText, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		return string(b), specialText{}, err
	case builtin != "":
		src, err := chat.BuiltinSource(builtin)
		return src, specialText{}, err
	}
	f, err := gguf.Open(model)
	if err != nil {
		return "", specialText{}, err
	}
	defer f.Close()
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil && !errors.Is(err, gguf.ErrKeyNotFound) {
		return "", specialText{}, err
	}
	var st specialText
	st.bos = tokenText(f, tokens, "tokenizer.ggml.bos_token_id")
	st.eos = tokenText(f, tokens, "tokenizer.ggml.eos_token_id")
	if f.Has("tokenizer.chat_template") {
		src, err := f.String("tokenizer.chat_template")
		return src, st, err
	}
	name, ok := chat.DetectBuiltin(f.Architecture(), tokens)
	if !ok {
		return "", st, fmt.Errorf("%s has no tokenizer.chat_template and no built-in template fits it (architecture %q); use --template-file or --builtin", model, f.Architecture())
	}
	fmt.Fprintf(stderr, "sputnik template: %s has no tokenizer.chat_template; using the built-in %q template\n", model, name)
	src, err := chat.BuiltinSource(name)
	return src, st, err
}

// tokenText returns the text of the token whose id is stored under key, or
// "" when the key is absent or out of range.
func tokenText(f *gguf.File, tokens []string, key string) string {
	id, err := f.Int(key)
	if err != nil || id < 0 || id >= int64(len(tokens)) {
		return ""
	}
	return tokens[id]
}

func readJSONFile(path string) (any, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxJSONFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJSONFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxJSONFile)
	}
	v, err := decodeOrderedJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// maxJSONDepth bounds the nesting of decoded JSON.
const maxJSONDepth = 200

// decodeOrderedJSON decodes one JSON value into template values: objects as
// chat.Object (key order kept, which templates show through tojson), arrays
// as []any, integers as int64, other numbers as float64.
func decodeOrderedJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSONValue(dec, 0)
	if err != nil {
		return nil, jsonError(dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: unexpected data after the value at byte %d", dec.InputOffset())
	}
	return v, nil
}

func jsonError(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("invalid JSON near byte %d: %v", dec.InputOffset(), err)
}

func decodeJSONValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := chat.Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = append(o, chat.Member{Key: kt.(string), Value: v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := decodeJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if !strings.ContainsAny(string(t), ".eE") {
			if i, err := t.Int64(); err == nil {
				return i, nil
			}
		}
		return t.Float64()
	}
	return tok, nil // string, bool or nil
}

// conversationFromJSON reads a messages file: an array of OpenAI-style
// messages, or an object with "messages" and optional "tools".
func conversationFromJSON(v any) ([]chat.Message, []any, error) {
	var tools []any
	if obj, ok := v.(chat.Object); ok {
		for _, m := range obj {
			switch m.Key {
			case "messages":
			case "tools":
				t, ok := m.Value.([]any)
				if !ok {
					return nil, nil, fmt.Errorf("tools: want an array")
				}
				tools = t
			default:
				return nil, nil, fmt.Errorf("unknown field %q (want messages and tools)", m.Key)
			}
		}
		v, _ = obj.Get("messages")
	}
	list, ok := v.([]any)
	if !ok {
		return nil, nil, fmt.Errorf("want an array of messages")
	}
	msgs := make([]chat.Message, len(list))
	for i, e := range list {
		m, err := messageFromJSON(e)
		if err != nil {
			return nil, nil, fmt.Errorf("message %d: %w", i, err)
		}
		msgs[i] = m
	}
	return msgs, tools, nil
}

func messageFromJSON(v any) (chat.Message, error) {
	var m chat.Message
	obj, ok := v.(chat.Object)
	if !ok {
		return m, fmt.Errorf("want an object")
	}
	for _, f := range obj {
		var err error
		switch f.Key {
		case "role":
			m.Role, err = jsonString(f)
		case "content":
			if f.Value != nil {
				m.Content, err = jsonString(f)
				if err != nil {
					err = fmt.Errorf("content: want a string or null (content parts are not supported)")
				}
			}
		case "reasoning_content":
			if f.Value != nil {
				m.ReasoningContent, err = jsonString(f)
			}
		case "tool_call_id":
			m.ToolCallID, err = jsonString(f)
		case "name":
			m.Name, err = jsonString(f)
		case "tool_calls":
			m.ToolCalls, err = toolCallsFromJSON(f.Value)
		default:
			err = fmt.Errorf("unknown field %q", f.Key)
		}
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

func jsonString(f chat.Member) (string, error) {
	s, ok := f.Value.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string", f.Key)
	}
	return s, nil
}

func toolCallsFromJSON(v any) ([]chat.ToolCall, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("tool_calls: want an array")
	}
	calls := make([]chat.ToolCall, len(list))
	for i, e := range list {
		obj, ok := e.(chat.Object)
		if !ok {
			return nil, fmt.Errorf("tool_calls[%d]: want an object", i)
		}
		c := &calls[i]
		for _, f := range obj {
			var err error
			switch f.Key {
			case "id":
				c.ID, err = jsonString(f)
			case "type":
				c.Type, err = jsonString(f)
			case "function":
				fn, ok := f.Value.(chat.Object)
				if !ok {
					return nil, fmt.Errorf("tool_calls[%d].function: want an object", i)
				}
				for _, g := range fn {
					switch g.Key {
					case "name":
						c.Name, err = jsonString(g)
					case "arguments":
						c.Arguments = g.Value
					default:
						err = fmt.Errorf("function: unknown field %q", g.Key)
					}
					if err != nil {
						break
					}
				}
			default:
				err = fmt.Errorf("unknown field %q", f.Key)
			}
			if err != nil {
				return nil, fmt.Errorf("tool_calls[%d]: %w", i, err)
			}
		}
	}
	return calls, nil
}
