package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/server/openai"
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
		fmt.Fprintln(fs.Output(), "Usage: sputnik template (-m MODEL.gguf | --template-file FILE.jinja | --builtin NAME)")
		fmt.Fprintln(fs.Output(), "                        (--messages FILE.json [--no-generation-prompt] | --vars FILE.json)")
		fmt.Fprintln(fs.Output(), "\nPrints the rendered prompt exactly, with no newline added. Rendering uses")
		fmt.Fprintln(fs.Output(), "Hugging Face's apply_chat_template settings (trim_blocks, lstrip_blocks).")
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
	f, err := openGGUF(model)
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
		return "", st, noTemplateError{model, f.Architecture()}
	}
	fmt.Fprintf(stderr, "sputnik template: %s has no tokenizer.chat_template; using the built-in %q template\n", model, name)
	src, err := chat.BuiltinSource(name)
	return src, st, err
}

// noTemplateError is templateSource's error for a model without a chat
// template of its own or a built-in one that fits: a base model, which run
// continues as plain text.
type noTemplateError struct{ model, arch string }

func (e noTemplateError) Error() string {
	return fmt.Sprintf("%s has no tokenizer.chat_template and no built-in template fits it (architecture %q); use --template-file or --builtin", e.model, e.arch)
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
	v, err := openai.DecodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// conversationFromJSON reads a messages file: an array of OpenAI-style
// messages, or an object with "messages" and optional "tools". Messages are
// read by the API's own decoder (internal/server/openai), strictly: unknown
// fields are errors, and reasoning_content is kept for templates that show
// it.
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
	msgs, err := openai.DecodeMessages(v, "messages", openai.MessageOptions{Strict: true, KeepReasoning: true})
	if err != nil {
		return nil, nil, err
	}
	return openai.ChatMessages(msgs), tools, nil
}
