package chat

import (
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// Recorded answers in each syntax, streamed in random chunkings.
func TestToolCallParser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		syntax  ToolSyntax
		answer  string
		content string
		calls   []ParsedCall
		bad     bool
	}{
		{"hermes", ToolsHermes, "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>",
			"Let me check.\n", []ParsedCall{{"get_weather", `{"city": "Paris"}`}, {"get_time", `{}`}}, false},
		{"hermes string arguments", ToolsHermes, "<tool_call>{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}</tool_call>", "", []ParsedCall{{"f", `{"a":1}`}}, false},
		{"hermes text only", ToolsHermes, "No tools needed: 1 < 2 and <tool is not a call.", "No tools needed: 1 < 2 and <tool is not a call.", nil, false},
		{"hermes malformed", ToolsHermes, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }\n</tool_call>", "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }\n</tool_call>", nil, true},
		{"hermes unclosed", ToolsHermes, "ok <tool_call>{\"name\"", "ok <tool_call>{\"name\"", nil, true},
		{"deepseek r1-0528", ToolsDeepSeek, "I will look it up.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Tokyo\", \"unit\": \"c\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
			"I will look it up.", []ParsedCall{{"get_weather", `{"city": "Tokyo", "unit": "c"}`}, {"get_time", `{}`}}, false},
		{"deepseek v3.1", ToolsDeepSeek, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"q\": \"go\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>", "", []ParsedCall{{"search", `{"q": "go"}`}}, false},
		{"deepseek malformed", ToolsDeepSeek, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{oops\n```<｜tool▁call▁end｜>", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{oops\n```<｜tool▁call▁end｜>", nil, true},
		{"llama3", ToolsLlama3, "\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}", "", []ParsedCall{{"get_weather", `{"city": "Oslo"}`}}, false},
		{"llama3 python tag", ToolsLlama3, "<|python_tag|>{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"x\": 1}}", "", []ParsedCall{{"a", `{}`}, {"b", `{"x": 1}`}}, false},
		{"llama3 text", ToolsLlama3, "The weather is {probably} fine.", "The weather is {probably} fine.", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for trial := range 30 {
				p := NewToolCallParser(tc.syntax)
				var content string
				rest := tc.answer
				for rest != "" {
					n := min(len(rest), 1+rng.IntN(8))
					if trial == 0 {
						n = len(rest)
					}
					content += p.Push(rest[:n])
					rest = rest[n:]
				}
				tail, calls, err := p.Flush()
				content += tail
				if (err != nil) != tc.bad {
					t.Fatalf("error %v, want bad=%v", err, tc.bad)
				}
				if content != tc.content || !reflect.DeepEqual(calls, tc.calls) {
					t.Fatalf("trial %d: got content %q calls %v; want %q %v", trial, content, calls, tc.content, tc.calls)
				}
			}
		})
	}
}

func TestDetectToolSyntax(t *testing.T) {
	for file, want := range map[string]ToolSyntax{
		"deepseek-ai-DeepSeek-R1.jinja": ToolsDeepSeek,
		"deepseek-ai-DeepSeek-V3.jinja": ToolsDeepSeek,
		"Qwen-Qwen3-0.6B.jinja":         ToolsHermes,
	} {
		src, err := os.ReadFile(testutil.SharedFile(t, "templates/"+file))
		if err != nil {
			t.Fatal(err)
		}
		if got := DetectToolSyntax(string(src)); got != want {
			t.Errorf("%s: got %v, want %v", file, got, want)
		}
	}
}
