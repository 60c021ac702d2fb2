package chat

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func renderPlain(t *testing.T, src string, vars map[string]any, plain bool) (string, error) {
	t.Helper()
	tmpl, err := ParseWith(src, ParseOptions{PlainWhitespace: plain})
	if err != nil {
		return "", err
	}
	return tmpl.Render(vars)
}

// TestWhitespace checks Jinja2's whitespace control, with outputs worked
// out from jinja2/lexer.py's rules (see source.go).
func TestWhitespace(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		plain bool // no trim_blocks / lstrip_blocks
		want  string
	}{
		{"trailing newline dropped", "a\n", false, "a"},
		{"only one trailing newline dropped", "a\n\n", false, "a\n"},
		{"crlf normalized", "a\r\nb\rc", false, "a\nb\nc"},
		{"trim_blocks eats one newline", "{% if true %}\nx\n{% endif %}\ny", false, "x\ny"},
		{"plain keeps newlines", "{% if true %}\nx\n{% endif %}\ny", true, "\nx\n\ny"},
		{"lstrip_blocks", "a\n    {% if true %}b{% endif %}", false, "a\nb"},
		{"lstrip only at line start", "a  {% if true %}b{% endif %}", false, "a  b"},
		{"lstrip at template start", "   {% if true %}b{% endif %}", false, "b"},
		{"lstrip after trimmed newline", "{% if true %}\n  {% if true %}x{% endif %}{% endif %}", false, "x"},
		{"no lstrip after expression", "{{ 'a' }}  {% if true %}b{% endif %}", false, "a  b"},
		{"lstrip does not reach past expression", "<|{{ 'r' }}|>\n {{ 'c' }}{% if true %}{% endif %}", false, "<|r|>\n c"},
		{"minus strips newlines", "a \n {%- if true %}b{% endif %}", false, "ab"},
		{"minus right strips", "{% if true -%} \n b{% endif %}", false, "b"},
		{"minus strips only adjacent text", "x {{ 'y' }}{%- if true %}z{% endif %}", false, "x yz"},
		{"expression minus", "a  {{- 'b' -}}  c", false, "abc"},
		{"plus disables lstrip", "a\n  {%+ if true %}b{% endif %}", false, "a\n  b"},
		{"plus disables trim", "{% if true +%}\nb{% endif %}", false, "\nb"},
		{"comment trimmed", "a\n  {# note #}\nb", false, "a\nb"},
		{"comment minus", "a  {#- note -#}  b", false, "ab"},
		{"comment open minus is not close minus", "a {#-#} b", false, "a b"},
		{"raw block", "{% raw %}{{ x }}{% endraw %}", false, "{{ x }}"},
		{"raw with minus", "a {%- raw -%} {{ x }} {%- endraw -%} b", false, "a{{ x }}b"},
		{"expressions keep newlines", "{{ 'a' }}\n{{ 'b' }}", false, "a\nb"},
		{"string with closer", "{{ '}}' }}{{ \"%}\" }}", false, "}}%}"},
		{"nested braces", "{{ {'a': {'b': 1}}['a']['b'] }}", false, "1"},
		{"backslashes and quotes in text", `it's a \n {{ 'x' }}`, false, `it's a \n x`},
		{"leading minus in expression", "{{ -1 }}|{{- -2 -}}|", false, "-1|-2|"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renderPlain(t, tc.src, nil, tc.plain)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRewrites checks the source rewrites that work around the library.
func TestRewrites(t *testing.T) {
	tests := []struct {
		name string
		src  string
		vars map[string]any
		want string
	}{
		{"integer attribute", "{{ m.0.1 }}", map[string]any{"m": []any{[]any{"a", "b"}}}, "b"},
		{"integer attribute on call", "{{ 'a b'.split().1 }}", nil, "b"},
		{"float literal untouched", "{{ 1.5 + 1 }}", nil, "2.5"},
		{"star args", "{% macro f(a, b) %}{{ a }}-{{ b }}{% endmacro %}{{ f(*['x', 'y']) }}", nil, "x-y"},
		{"star args on subscript", "{% macro f(a) %}<{{ a }}>{% endmacro %}{% set fs = [f] %}{{ fs[0](*[1]) }}", nil, "<1>"},
		{"adjacent strings", "{{ 'a' + 'b' 'c' }}", nil, "abc"},
		{"for key, value with filter", "{% for k, v in d | items if k != 'b' %}{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %}",
			map[string]any{"d": Object{{"a", 1}, {"b", 2}, {"c", 3}}}, "a=1,c=3"},
		{"for filter, attribute named like the key", "{% for k, v in d | items if v.k %}{{ k }}{% endfor %}",
			map[string]any{"d": Object{{"a", Object{{"k", true}}}, {"b", Object{{"k", false}}}}}, "a"},
		{"renamed filter only after pipe", "{% set tojson = 'x' %}{{ tojson }}{{ [1] | tojson }}", nil, "x[1]"},
		{"tojson keeps key order", "{{ o | tojson }}", map[string]any{"o": Object{{"b", 1}, {"a", 2.0}}}, `{"b": 1, "a": 2.0}`},
		{"tojson indent keeps order", "{{ o | tojson(indent=2) }}", map[string]any{"o": Object{{"b", []any{}}, {"a", Object{}}}},
			"{\n  \"b\": [],\n  \"a\": {}\n}"},
		{"tojson separators", "{{ o | tojson(separators=(',', ':')) }}", map[string]any{"o": Object{{"a", []any{1, 2}}}}, `{"a":[1,2]}`},
		{"tojson sort_keys", "{{ o | tojson(sort_keys=true) }}", map[string]any{"o": Object{{"b", 1}, {"a", 2}}}, `{"a": 2, "b": 1}`},
		{"tojson escapes", "{{ s | tojson }}", map[string]any{"s": "é\"\\\n\x01<>&\u2028"}, "\"é\\\"\\\\\\n\\u0001<>&\u2028\""},
		{"tojson ensure_ascii", "{{ s | tojson(ensure_ascii=true) }}", map[string]any{"s": "é🤗"}, `"\u00e9\ud83e\udd17"`},
		{"string of dict", "{{ o | string }}", map[string]any{"o": Object{{"a", "x"}}}, `{"a": "x"}`},
		{"selectattr one argument", "{{ l | selectattr('k') | list | length }}", map[string]any{"l": []any{Object{{"k", 1}}, Object{{"k", 0}}, Object{}}}, "1"},
		{"selectattr equalto", "{{ (l | selectattr('r', 'equalto', 'u') | list)[0].n }}",
			map[string]any{"l": []any{Object{{"r", "a"}, {"n", 1}}, Object{{"r", "u"}, {"n", 2}}}}, "2"},
		{"rejectattr", "{{ l | rejectattr('k') | list | length }}", map[string]any{"l": []any{Object{{"k", 1}}, Object{{"k", 0}}}}, "1"},
		{"sort attribute reverse", "{% for x in l | sort(attribute='a.b', reverse=true) %}{{ x.a.b }}{% endfor %}",
			map[string]any{"l": []any{Object{{"a", Object{{"b", 1}}}}, Object{{"a", Object{{"b", 3}}}}, Object{{"a", Object{{"b", 2}}}}}}, "321"},
		{"sort case-insensitive and stable", "{{ l | sort | join(',') }}", map[string]any{"l": []any{"b", "B", "a"}}, "a,b,B"},
		{"dictsort by value", "{% for k, v in d | dictsort(by='value') %}{{ k }}{% endfor %}", map[string]any{"d": Object{{"x", 2}, {"y", 1}}}, "yx"},
		{"indent", "{{ 'a\n\nb' | indent(2, first=true) }}", nil, "  a\n\n  b"},
		{"range bounded", "{{ range(3) | join(',') }}|{{ range(5, 0, -2) | join(',') }}", nil, "0,1,2|5,3,1"},
		// Our versions of the library's methods, subscripts, literals and
		// statements (see Limits) follow Python.
		{"str methods", `{{ ' a  b '.split() }}|{{ 'a,b,,c'.split(',', 2) }}|{{ 'Hello'.replace('l', 'L', 1) }}|` +
			`{{ '{} and {name} {{x}}'.format(1, name='x') }}|{{ "they're bill's".title() }}|{{ 'aBC'.capitalize() }}|` +
			`{{ 'héllo'.find('l') }}|{{ '\t x \n'.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ 'ab'.startswith(('x', 'a')) }}|{{ 'aaa'.count('a') }}`,
			nil, "['a', 'b']|['a', 'b', ',c']|HeLlo|1 and x {x}|They'Re Bill'S|Abc|2|x|a|True|3"},
		{"attribute with spaces and a skipped byte", "{{ 'x' . upper ( ) }}{{ 'y'.@upper() }}", nil, "XY"},
		{"subscripts and slices", "{{ l[1] }}{{ l[-1] }}{{ l[1:] }}{{ l[::-1] }}{{ l[-2::-2] }}|{{ s[1] }}{{ s[-2:] }}{{ s[::-1] }}|{{ d['a'] }}{{ d.a }}{{ l[9] is defined }}{{ d['b'] is defined }}",
			map[string]any{"l": []any{1, 2, 3}, "s": "héllo", "d": Object{{"a", "x"}}}, "23[2, 3][3, 2, 1][2]|éloolléh|xxFalseFalse"},
		{"dict methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.keys()|list }}{{ d.values()|list }}{{ d.get('b', 'none') }}{{ d.get('a') }}",
			map[string]any{"d": Object{{"a", 1}, {"c", 2}}}, "a=1;c=2;['a', 'c'][1, 2]none1"},
		{"literals", "{{ [1, 'a'] }}{{ (1, 2) }}{{ () }}{{ {'k': [1], 2: 'v'} }}{{ [] }}{{ {} }}", nil, "[1, 'a'][1, 2][]{'k': [1], '2': 'v'}[]{}"},
		{"namespace", "{% set ns = namespace(a=1, l=[]) %}{% set ns.a = ns.a + 1 %}{% set ns.l = ns.l + [ns.a] %}{{ ns.a }}{{ ns.l }}", nil, "2[2]"},
		{"loop stored in a namespace", "{% set ns = namespace() %}{% for x in 'ab' %}{% set ns.l = loop %}{% endfor %}{{ ns.l.index }}{{ ns.l.last }}", nil, "2True"},
		{"filter blocks", "{% filter upper %}ab{% endfilter %}|{% filter replace('a', 'b') %}a{% filter upper %}a{% endfilter %}{% endfilter %}", nil, "AB|bA"},
		{"call blocks", "{% macro m(a) %}<{{ caller(a) }}>{% endmacro %}{% call m(1) %}x{% endcall %}{% call(v) m(3) %}[{{ v }}]{% endcall %}", nil, "<x><[3]>"},
		{"cycler", "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}", nil, "abab"},
		{"dict()", "{{ dict(b=1, a=2) }}", nil, "{'a': 2, 'b': 1}"},
		{"fromjson", `{{ ('{"a": [1, 2]}'|fromjson).a[1] }}{{ ('[3]'|from_json)[0] }}`, nil, "23"},
		{"filters", "{{ ['a', 'b']|map('upper')|join }}|{{ ['a', 'A', 'b']|unique|list }}|{{ [1, 2, 3]|batch(2, 0)|list }}|" +
			`{{ '<a href="x">'|e }}|{{ 'a b_c d-e'|wordcount }}|{{ 'abc'|reverse }}{{ [1, 2]|reverse|list }}|{{ 'hé'|list }}|{{ 'hé'|length }}|` +
			`{{ [0, 1, 2]|select|list }}{{ [0, 1, 2]|reject('odd')|list }}|{{ ' x '|trim }}|{{ 'hello world-x'|title }}`,
			nil, "AB|['a', 'b']|[[1, 2], [3, 0]]|&lt;a href=&#34;x&#34;&gt;|4|cba[2, 1]|['h', 'é']|2|[1, 2][0, 2]|x|Hello World-X"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renderPlain(t, tc.src, tc.vars, false)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStrftimeNow(t *testing.T) {
	now := func() time.Time { return time.Date(2025, 7, 3, 9, 5, 7, 0, time.UTC) }
	tmpl, err := ParseWith(`{{ strftime_now("%d %b %Y|%-d %B %y|%H:%M:%S %p|%A %a %j %%|%Q") }}`, ParseOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "03 Jul 2025|3 July 25|09:05:07 AM|Thursday Thu 184 %|%Q"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPyFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {22, "22.0"}, {-0.5, "-0.5"}, {1e-5, "1e-05"}, {0.0001, "0.0001"},
		{1e16, "1e+16"}, {1e15, "1000000000000000.0"}, {1.5e300, "1.5e+300"}, {0.1, "0.1"},
	}
	for _, tc := range tests {
		if got := pyFloat(tc.f, true); got != tc.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestErrorLines(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		vars     map[string]any
		line     int
		raised   bool
		contains string
	}{
		{"parse error", "line one\n{% if x %}\n{{ x + }}\n{% endif %}", nil, 3, false, ""},
		{"unclosed tag", "a\n\nb {{ x", nil, 3, false, "unclosed"},
		{"unclosed block", "{% for x in y %}\n{{ x }}", nil, 1, false, "unclosed for"},
		{"unclosed inner block", "{% if a %}\n{% if b %}{% endif %}\n{% if c %}\n{% set x %}{% endset %}", nil, 3, false, "unclosed if"},
		{"raise_exception", "{% for m in messages %}\n{% if m.role == 'bad' %}\n  {{ raise_exception('bad role ' + m.role) }}\n{% endif %}\n{% endfor %}",
			map[string]any{"messages": []any{Object{{"role", "user"}}, Object{{"role", "bad"}}}}, 3, true, "bad role bad"},
		{"after stripped comment lines", "{#\n\n\n#}\n{%- if true -%}\n\n{{ nope() }}{% endif %}", nil, 7, false, "nope"},
		{"unknown filter", "a\nb\n{{ 1 | frobnicate }}", nil, 3, false, "frobnicate"},
		{"range too large", "\n{% for i in range(100000000) %}{% endfor %}", nil, 2, false, "limit"},
		{"endless recursion", "{% macro f(n) %}\n{{ f(n + 1) }}\n{% endmacro %}{{ f(0) }}", nil, 2, false, "nested more than 256"},
		{"endless loop", "{% for i in range(1100) %}{% for j in range(1000) %}\n{% endfor %}{% endfor %}", nil, 2, false, "more than 1048576 tags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderPlain(t, tc.src, tc.vars, false)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *chat.Error", err)
			}
			if tc.line != 0 && te.Line != tc.line {
				t.Errorf("got line %d, want %d (%v)", te.Line, tc.line, err)
			}
			if errors.Is(err, ErrRaised) != tc.raised {
				t.Errorf("errors.Is(err, ErrRaised) = %v, want %v", !tc.raised, tc.raised)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		msgs []Message
		want string // "" for valid
	}{
		{"ok", []Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}}, ""},
		{"tool call without content", []Message{{Role: "assistant", ToolCalls: []ToolCall{{Name: "f"}}}}, ""},
		{"no messages", nil, "no messages"},
		{"unknown role", []Message{{Role: "user", Content: "a"}, {Role: "robot", Content: "b"}}, `message 1 has unknown role "robot"`},
		{"empty", []Message{{Role: "user"}}, "message 0 (user) is empty"},
		{"tool call on user", []Message{{Role: "user", Content: "x", ToolCalls: []ToolCall{{Name: "f"}}}}, "only assistant"},
		{"unnamed tool call", []Message{{Role: "assistant", ToolCalls: []ToolCall{{}}}}, "no function name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.msgs)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidMessages) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalidMessages mentioning %q", err, tc.want)
			}
		})
	}
}

func TestApplyMessageShape(t *testing.T) {
	tmpl, err := Parse("{% for m in messages %}{{ m | tojson }}\n{% endfor %}{{ tools | tojson }}|{{ add_generation_prompt }}|{{ bos_token }}|{{ eos_token }}|{{ extra }}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Apply([]Message{
		{Role: "user", Content: "hi", Name: "bob"},
		{Role: "assistant", ReasoningContent: "r", ToolCalls: []ToolCall{{ID: "c1", Name: "f", Arguments: `{"a":1}`}}},
		{Role: "tool", Content: "42", ToolCallID: "c1"},
	}, Options{AddGenerationPrompt: true, BOS: "<s>", EOS: "</s>", Tools: []any{"t"}, Vars: map[string]any{"extra": 7}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"role": "user", "content": "hi", "name": "bob"}
{"role": "assistant", "content": null, "reasoning_content": "r", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}
{"role": "tool", "content": "42", "tool_call_id": "c1"}
["t"]|True|<s>|</s>|7`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUnsupportedValue(t *testing.T) {
	tmpl, err := Parse("{{ x }}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Render(map[string]any{"x": struct{}{}}); err == nil || !strings.Contains(err.Error(), "struct {}") {
		t.Fatalf("got %v, want an error naming the type", err)
	}
}

func TestConcurrentRender(t *testing.T) {
	tmpl := mustBuiltin(t, "deepseek-r1")
	want, err := tmpl.Apply(setOneConversation, Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 50 {
				got, err := tmpl.Apply(setOneConversation, Options{AddGenerationPrompt: true})
				if err == nil && got != want {
					err = errors.New("different output under concurrency")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
