package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// templateCases reads cases.json with every JSON value kept raw, so that the
// files written for the command keep their key order.
type templateCases struct {
	Sets []struct {
		ID           string
		Conversation json.RawMessage
		Cases        []struct {
			Name          string
			Template      string
			Context       json.RawMessage
			Expected      string
			BOSToken      string          `json:"bos_token"`
			EOSToken      string          `json:"eos_token"`
			ExtraMessages json.RawMessage `json:"extra_messages"`
			ExpectedJinja *string         `json:"expected_jinja"`
			Plain         *bool           `json:"plain_jinja_reproduces_expected_jinja"`
		}
	}
}

func loadTemplateCases(t *testing.T) templateCases {
	data, err := os.ReadFile(testutil.SharedFile(t, "templates/cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c templateCases
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTemplateVars renders every case of cases.json that plain Jinja
// reproduces through "sputnik template --template-file F --vars V" and
// compares the output byte for byte.
func TestTemplateVars(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for _, set := range loadTemplateCases(t).Sets {
		for i, c := range set.Cases {
			vars := string(c.Context)
			want := c.Expected
			if set.ID == "llamacpp-test-chat-template" {
				if c.Plain == nil || !*c.Plain || c.ExpectedJinja == nil {
					continue // llama.cpp-specific expectations
				}
				msgs := string(set.Conversation)
				if extra := strings.TrimSpace(string(c.ExtraMessages)); extra != "[]" && extra != "" {
					msgs = strings.TrimSuffix(strings.TrimSpace(msgs), "]") + "," + strings.TrimPrefix(extra, "[")
				}
				bos, _ := json.Marshal(c.BOSToken)
				eos, _ := json.Marshal(c.EOSToken)
				vars = `{"messages": ` + msgs + `, "bos_token": ` + string(bos) + `, "eos_token": ` + string(eos) + `, "add_generation_prompt": true}`
				want = *c.ExpectedJinja
			}
			tmpl := writeFile(t, dir, "t.jinja", c.Template)
			vf := writeFile(t, dir, "vars.json", vars)
			code, got, errs := run("template", "--template-file", tmpl, "--vars", vf)
			if code != 0 {
				// The hf.js cases fake the clock; the command uses the real one.
				if strings.Contains(c.Template, "strftime_now") {
					continue
				}
				t.Errorf("%s/%d %s: exit %d: %s", set.ID, i, c.Name, code, errs)
				continue
			}
			if strings.Contains(c.Template, "strftime_now") {
				continue // the date in the output is today's
			}
			if got != want {
				t.Errorf("%s/%d %s:\ngot  %q\nwant %q", set.ID, i, c.Name, got, want)
			}
			n++
		}
	}
	if n < 60 {
		t.Errorf("only %d cases compared", n)
	}
	t.Logf("%d cases rendered byte for byte through the command", n)
}

// TestTemplateMessages renders set 1's conversation through --messages
// (with --bos/--eos) for the cases without extra messages.
func TestTemplateMessages(t *testing.T) {
	dir := t.TempDir()
	cases := loadTemplateCases(t)
	set := cases.Sets[0]
	msgs := writeFile(t, dir, "msgs.json", string(set.Conversation))
	n := 0
	for _, c := range set.Cases {
		if c.Plain == nil || !*c.Plain || c.ExpectedJinja == nil || strings.TrimSpace(string(c.ExtraMessages)) != "[]" {
			continue
		}
		tmpl := writeFile(t, dir, "t.jinja", c.Template)
		code, got, errs := run("template", "--template-file", tmpl, "--messages", msgs, "--bos", c.BOSToken, "--eos", c.EOSToken)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", c.Name, code, errs)
			continue
		}
		if got != *c.ExpectedJinja {
			t.Errorf("%s:\ngot  %q\nwant %q", c.Name, got, *c.ExpectedJinja)
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d cases compared", n)
	}
}

// TestTemplateModel reads the template and BOS from a GGUF file.
func TestTemplateModel(t *testing.T) {
	dir := t.TempDir()
	r1, err := os.ReadFile(testutil.SharedFile(t, "templates/deepseek-ai-DeepSeek-R1.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "deepseek2")
	w.AddKV("tokenizer.ggml.tokens", []string{"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"})
	w.AddKV("tokenizer.ggml.bos_token_id", uint32(0))
	w.AddKV("tokenizer.ggml.eos_token_id", uint32(1))
	w.AddKV("tokenizer.chat_template", string(r1))
	model := filepath.Join(dir, "r1.gguf")
	if err := w.WriteFile(model); err != nil {
		t.Fatal(err)
	}
	msgs := writeFile(t, dir, "msgs.json", `[{"role": "user", "content": "Hi there."},
		{"role": "assistant", "content": "<think>The user said \"Hi there.\"</think>Hi!"},
		{"role": "user", "content": "Tell me a joke."}]`)
	// cases.json, deepseek-ai/DeepSeek-R1
	want := "<｜begin▁of▁sentence｜><｜User｜>Hi there.<｜Assistant｜>Hi!<｜end▁of▁sentence｜><｜User｜>Tell me a joke.<｜Assistant｜>"
	code, got, errs := run("template", "-m", model, "--messages", msgs)
	if code != 0 || got != want {
		t.Fatalf("exit %d, stderr %q\ngot  %q\nwant %q", code, errs, got, want)
	}
	code, got, _ = run("template", "-m", model, "--messages", msgs, "--force-think")
	if code != 0 || got != want+"<think>\n" {
		t.Fatalf("--force-think: exit %d, got %q", code, got)
	}
	code, got, _ = run("template", "-m", model, "--messages", msgs, "--no-generation-prompt")
	if code != 0 || got != strings.TrimSuffix(want, "<｜Assistant｜>") {
		t.Fatalf("--no-generation-prompt: exit %d, got %q", code, got)
	}

	// A vocabulary without a template gets the matching built-in one: Llama 3
	// here, which must give cases.json's Llama-3 prompt after the file's BOS.
	llama := testutil.SharedFile(t, "vocab/ggml-vocab-llama-bpe.gguf")
	var ref string
	for _, c := range loadTemplateCases(t).Sets[0].Cases {
		if c.Name == "Llama-3" && c.BOSToken == "" {
			ref = *c.ExpectedJinja
		}
	}
	if ref == "" {
		t.Fatal("no Llama-3 case with an empty bos_token in cases.json")
	}
	conv := writeFile(t, dir, "conv.json", string(loadTemplateCases(t).Sets[0].Conversation))
	code, got, errs = run("template", "-m", llama, "--messages", conv)
	if code != 0 || got != "<|begin_of_text|>"+ref {
		t.Fatalf("fallback: exit %d, stderr %q\ngot  %q\nwant %q", code, errs, got, "<|begin_of_text|>"+ref)
	}
	if !strings.Contains(errs, `built-in "llama3"`) {
		t.Errorf("fallback not reported on stderr: %q", errs)
	}
}

func TestTemplateErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", `[{"role": "user", "content": "x"}]`)
	vars := writeFile(t, dir, "vars.json", `{"messages": []}`)
	tmpl := writeFile(t, dir, "t.jinja", "a\n{{ raise_exception('no ' + 'way') }}")
	stories := filepath.Join(testutil.SharedTestdata(t), "models", "stories260K.gguf")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no template source", []string{"--messages", good}, 2, "exactly one of -m"},
		{"two template sources", []string{"--builtin", "chatml", "--template-file", tmpl, "--messages", good}, 2, "exactly one of -m"},
		{"no input", []string{"--builtin", "chatml"}, 2, "exactly one of --messages and --vars"},
		{"vars with message flag", []string{"--builtin", "chatml", "--vars", vars, "--no-generation-prompt"}, 2, "goes with --messages"},
		{"unknown builtin", []string{"--builtin", "nope", "--messages", good}, 1, "no built-in template"},
		{"bad JSON", []string{"--builtin", "chatml", "--messages", writeFile(t, dir, "bad.json", `[{"role": "user",, }]`)}, 1, "invalid JSON at byte"},
		{"unknown role", []string{"--builtin", "chatml", "--messages", writeFile(t, dir, "role.json", `[{"role": "wizard", "content": "x"}]`)}, 1, `unknown role "wizard"`},
		{"empty message", []string{"--builtin", "chatml", "--messages", writeFile(t, dir, "empty.json", `[{"role": "user", "content": ""}]`)}, 1, "is empty"},
		{"unknown field", []string{"--builtin", "chatml", "--messages", writeFile(t, dir, "field.json", `[{"role": "user", "text": "x"}]`)}, 1, `unknown field "text"`},
		{"content parts", []string{"--builtin", "chatml", "--messages", writeFile(t, dir, "parts.json", `[{"role": "user", "content": [{"type": "text"}]}]`)}, 1, "content parts"},
		{"template raises", []string{"--template-file", tmpl, "--messages", good}, 1, "template line 2: template raised an exception: no way"},
		{"template syntax", []string{"--template-file", writeFile(t, dir, "syn.jinja", "\n\n{% if %}"), "--messages", good}, 1, "template line 3"},
		{"no fallback", []string{"-m", stories, "--messages", good}, 1, "no built-in template fits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(append([]string{"template"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.msg) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and a message containing %q", code, out, errs, tc.code, tc.msg)
			}
		})
	}
}

// TestTemplateHostile renders, through "sputnik template" with the default
// limits, the hostile templates that fail quickly under them: each exits 1
// with a one-line error naming the limit or rule (or renders, for the ones
// that are harmless once bounded).
func TestTemplateHostile(t *testing.T) {
	dir := t.TempDir()
	msgs := writeFile(t, dir, "msgs.json", `[{"role": "user", "content": "hi"}]`)
	n := 0
	for _, tc := range testutil.HostileTemplates {
		if !tc.Quick {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			code, out, errs := run("template", "--template-file", writeFile(t, dir, "t.jinja", tc.Source), "--messages", msgs)
			switch {
			case tc.Want == "" && (code != 0 || out != tc.Output):
				t.Fatalf("exit %d, stdout %q, stderr %q; want %q", code, out, errs, tc.Output)
			case tc.Want != "" && (code != 1 || out != "" || !strings.Contains(errs, "template") || strings.Count(strings.TrimSpace(errs), "\n") > 0):
				t.Fatalf("exit %d, stdout of %d bytes, stderr %q; want exit 1 and a one-line error", code, len(out), errs)
			case tc.Want != "" && !strings.Contains(errs, "render limit") && !strings.Contains(errs, tc.Want):
				t.Fatalf("stderr %q names neither a render limit nor %q", errs, tc.Want)
			}
			n++
		})
	}
	if n < 25 {
		t.Errorf("only %d templates rendered", n)
	}
}
