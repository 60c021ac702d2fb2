package chat

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

const (
	dsBOS = "<｜begin▁of▁sentence｜>"
	dsEOS = "<｜end▁of▁sentence｜>"
)

func parseFile(t *testing.T, rel string) *Template {
	t.Helper()
	src, err := os.ReadFile(testutil.SharedFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Parse(string(src))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return tmpl
}

func mustBuiltin(t *testing.T, name string) *Template {
	t.Helper()
	tmpl, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// Conversations on which our deepseek-r1 template must equal DeepSeek's.
var r1Conversations = []struct {
	name string
	msgs []Message
}{
	{"one user turn", []Message{{Role: "user", Content: "Hi"}}},
	{"system", []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}},
	{"two systems", []Message{{Role: "system", Content: "A"}, {Role: "user", Content: "Hi"}, {Role: "system", Content: "B"}}},
	{"past reasoning dropped", []Message{
		{Role: "user", Content: "1+1?"},
		{Role: "assistant", Content: "<think>\nadd them\n</think>\n\n2"},
		{Role: "user", Content: "and 2+2?"},
		{Role: "assistant", Content: "<think>x</think>y</think>4"},
		{Role: "user", Content: "ok"},
	}},
	{"tool call without content", []Message{
		{Role: "user", Content: "Weather in Paris?"},
		{Role: "assistant", ToolCalls: []ToolCall{{Name: "get_weather", Arguments: `{"city": "Paris"}`}}},
		{Role: "tool", Content: `{"temp": 21}`},
		{Role: "tool", Content: `{"wind": 3}`},
		{Role: "assistant", Content: "21 degrees."},
		{Role: "user", Content: "Thanks"},
	}},
	{"tool calls with content", []Message{
		{Role: "user", Content: "Two cities"},
		{Role: "assistant", Content: "Checking.", ToolCalls: []ToolCall{
			{Name: "w", Arguments: `{"c": "A"}`}, {Name: "w", Arguments: `{"c": "B"}`}}},
		{Role: "tool", Content: "1"},
	}},
}

func TestBuiltinDeepSeekR1MatchesOfficial(t *testing.T) {
	official := parseFile(t, "templates/deepseek-ai-DeepSeek-R1.jinja")
	ours := mustBuiltin(t, "deepseek-r1")
	for _, c := range r1Conversations {
		for _, gen := range []bool{false, true} {
			opts := Options{BOS: dsBOS, EOS: dsEOS, AddGenerationPrompt: gen}
			want, err := official.Apply(c.msgs, opts)
			if err != nil {
				t.Fatalf("%s: official: %v", c.name, err)
			}
			got, err := ours.Apply(c.msgs, opts)
			if err != nil {
				t.Fatalf("%s: ours: %v", c.name, err)
			}
			if got != want {
				t.Errorf("%s (generation prompt %v):\ngot  %q\nwant %q", c.name, gen, got, want)
			}
		}
	}
}

func TestBuiltinDeepSeekR1DropsReasoning(t *testing.T) {
	got, err := mustBuiltin(t, "deepseek-r1").Apply([]Message{
		{Role: "user", Content: "Hi there."},
		{Role: "assistant", Content: "<think>The user said \"Hi there.\"</think>Hi!"},
		{Role: "user", Content: "Tell me a joke."},
	}, Options{BOS: dsBOS, EOS: dsEOS, AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	// The expected prompt of cases.json's deepseek-ai/DeepSeek-R1 case.
	want := "<｜begin▁of▁sentence｜><｜User｜>Hi there.<｜Assistant｜>Hi!<｜end▁of▁sentence｜><｜User｜>Tell me a joke.<｜Assistant｜>"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// setOneConversation is the conversation of cases.json's first set.
var setOneConversation = []Message{
	{Role: "system", Content: "You are a helpful assistant"},
	{Role: "user", Content: "Hello"},
	{Role: "assistant", Content: "Hi there"},
	{Role: "user", Content: "Who are you"},
	{Role: "assistant", Content: "   I am an assistant   "},
	{Role: "user", Content: "Another question"},
}

func TestBuiltinMatchesReferenceCases(t *testing.T) {
	byName := map[string]renderCase{}
	for _, c := range loadChatCases(t) {
		byName[c.name] = c
	}
	for _, tc := range []struct{ builtin, refCase string }{
		{"llama3", "Llama-3"},
		{"chatml", "teknium/OpenHermes-2.5-Mistral-7B"},
	} {
		ref, ok := byName[tc.refCase]
		if !ok {
			t.Fatalf("no case %q in cases.json", tc.refCase)
		}
		got, err := mustBuiltin(t, tc.builtin).Apply(setOneConversation, Options{
			AddGenerationPrompt: true, BOS: ref.vars["bos_token"].(string), EOS: ref.vars["eos_token"].(string)})
		if err != nil {
			t.Fatal(err)
		}
		if got != ref.want {
			t.Errorf("%s vs %s:\ngot  %q\nwant %q", tc.builtin, tc.refCase, got, ref.want)
		}
	}
}

func TestBuiltinChatMLTools(t *testing.T) {
	tools := []any{Object{{"type", "function"}, {"function", Object{{"name", "f"}, {"parameters", Object{{"type", "object"}}}}}}}
	got, err := mustBuiltin(t, "qwen2").Apply([]Message{
		{Role: "system", Content: "S"},
		{Role: "user", Content: "U"},
		{Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: Object{{"x", 1}}}}},
		{Role: "tool", Content: "r1"},
		{Role: "tool", Content: "r2"},
	}, Options{Tools: tools, AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<|im_start|>system\nS\n\n# Tools",
		"\n{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\": \"object\"}}}\n</tools>",
		"<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n</tool_call><|im_end|>\n",
		"<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "<|im_start|>system") != 1 {
		t.Errorf("system prompt rendered twice:\n%s", got)
	}
}

func TestBuiltinLlama3RejectsTools(t *testing.T) {
	_, err := mustBuiltin(t, "llama3").Apply([]Message{{Role: "user", Content: "x"}}, Options{Tools: []any{"t"}})
	if !errors.Is(err, ErrRaised) {
		t.Fatalf("got %v, want an ErrRaised error", err)
	}
}

func TestBuiltinNames(t *testing.T) {
	if got := strings.Join(BuiltinNames(), ","); got != "chatml,deepseek-r1,llama3" {
		t.Fatalf("got %s", got)
	}
	if _, err := Builtin("qwen2"); err != nil {
		t.Fatalf("alias: %v", err)
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "chatml, deepseek-r1, llama3") {
		t.Fatalf("got %v, want an error listing the names", err)
	}
}

func TestDetectBuiltin(t *testing.T) {
	tests := []struct {
		name   string
		arch   string
		tokens []string
		want   string
	}{
		{"R1 distill on qwen2", "qwen2", []string{"a", "<｜User｜>", "<｜Assistant｜>", "<|im_start|>"}, "deepseek-r1"},
		{"R1 on deepseek2", "deepseek2", []string{"<｜User｜>", "<｜Assistant｜>"}, "deepseek-r1"},
		{"llama 3 vocab", "llama", []string{"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}, "llama3"},
		{"qwen vocab", "qwen2", []string{"<|im_start|>", "<|im_end|>"}, "chatml"},
		{"base vocab", "llama", []string{"<s>", "</s>", "a"}, ""},
		{"no vocab, deepseek2", "deepseek2", nil, "deepseek-r1"},
		{"no vocab, qwen3", "qwen3", nil, "chatml"},
		{"no vocab, unknown", "mamba", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DetectBuiltin(tc.arch, tc.tokens)
			if got != tc.want || ok != (tc.want != "") {
				t.Fatalf("got %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestForceThink(t *testing.T) {
	msgs := []Message{{Role: "user", Content: "Hi"}}
	r1 := parseFile(t, "templates/deepseek-ai-DeepSeek-R1.jinja")
	distill := parseFile(t, "templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja")
	tests := []struct {
		name string
		tmpl *Template
		opts Options
		want string
	}{
		{"R1 forced", r1, Options{AddGenerationPrompt: true, ForceThink: true}, "<｜User｜>Hi<｜Assistant｜><think>\n"},
		{"R1 not forced", r1, Options{AddGenerationPrompt: true}, "<｜User｜>Hi<｜Assistant｜>"},
		{"R1 no generation prompt", r1, Options{ForceThink: true}, "<｜User｜>Hi"},
		{"distill already ends in think", distill, Options{AddGenerationPrompt: true, ForceThink: true}, "<｜User｜>Hi<｜Assistant｜><think>\n"},
		{"builtin forced", mustBuiltin(t, "deepseek-r1"), Options{AddGenerationPrompt: true, ForceThink: true}, "<｜User｜>Hi<｜Assistant｜><think>\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.tmpl.Apply(msgs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if EndsInReasoning(got) != strings.HasSuffix(tc.want, "<think>\n") {
				t.Fatalf("EndsInReasoning(%q) = %v", got, EndsInReasoning(got))
			}
		})
	}
}
