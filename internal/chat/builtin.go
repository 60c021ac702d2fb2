package chat

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Built-in chat templates, for GGUF files without tokenizer.chat_template.
// They are our own Jinja, written to produce each family's prompt format:
//
//   - "deepseek-r1": DeepSeek-R1 and its distills. The same output as
//     DeepSeek's R1 template (January 2025) for conversations, including
//     its rules: system prompts joined by a blank line and placed before the
//     first turn, earlier assistant turns reduced to the text after their
//     last "</think>", tool calls and outputs in DeepSeek's markers, and the
//     generation prompt "<｜Assistant｜>" (ForceThink adds "<think>\n").
//     Where DeepSeek's template keeps state across turns by mistake (a
//     second round of tool calls loses its "<｜Assistant｜>" and
//     "<｜tool▁calls▁begin｜>"), this one starts each turn afresh, and
//     reasoning is dropped from assistant turns after tool output too.
//   - "chatml" (alias "qwen2"): <|im_start|>role\n…<|im_end|>\n turns, as
//     Qwen2 and Qwen2.5 use, with Qwen's <tool_call>/<tool_response> tags.
//     The tool-instruction wording is ours.
//   - "llama3": Llama 3's header/eot turns with BOS in front. Tools are
//     not supported (rendering with tools is an error).
var builtins = map[string]string{
	"deepseek-r1": deepseekR1Template,
	"chatml":      chatMLTemplate,
	"llama3":      llama3Template,
}

// builtinAliases are other names accepted by Builtin.
var builtinAliases = map[string]string{
	"qwen2":    "chatml",
	"deepseek": "deepseek-r1",
	"llama-3":  "llama3",
}

// BuiltinNames returns the names of the built-in templates, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BuiltinSource returns the Jinja source of the built-in template name (or
// an alias such as "qwen2").
func BuiltinSource(name string) (string, error) {
	key := strings.ToLower(name)
	if a, ok := builtinAliases[key]; ok {
		key = a
	}
	src, ok := builtins[key]
	if !ok {
		return "", fmt.Errorf("chat: no built-in template %q (have %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	return src, nil
}

// Builtin parses the built-in template name (see BuiltinSource).
func Builtin(name string) (*Template, error) {
	src, err := BuiltinSource(name)
	if err != nil {
		return nil, err
	}
	return Parse(src)
}

// DetectBuiltin picks the built-in template for a model without a chat
// template, from its vocabulary (tokenizer.ggml.tokens): DeepSeek's
// "<｜User｜>"/"<｜Assistant｜>" tokens select deepseek-r1 (this covers the
// R1 distills of Qwen and Llama, whose architecture says otherwise), Llama
// 3's "<|start_header_id|>"/"<|eot_id|>" select llama3, and
// "<|im_start|>"/"<|im_end|>" select chatml. Only when tokens is empty does
// the architecture (general.architecture) decide: deepseek2 → deepseek-r1,
// qwen2/qwen3 → chatml, llama → llama3. It reports false when nothing fits,
// for example for a base model whose vocabulary has no chat tokens.
func DetectBuiltin(arch string, tokens []string) (string, bool) {
	if len(tokens) > 0 {
		has := func(toks ...string) bool {
			for _, t := range toks {
				if !slices.Contains(tokens, t) {
					return false
				}
			}
			return true
		}
		switch {
		case has("<｜User｜>", "<｜Assistant｜>"):
			return "deepseek-r1", true
		case has("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"):
			return "llama3", true
		case has("<|im_start|>", "<|im_end|>"):
			return "chatml", true
		}
		return "", false
	}
	switch arch {
	case "deepseek2", "deepseek":
		return "deepseek-r1", true
	case "qwen2", "qwen2moe", "qwen3", "qwen3moe":
		return "chatml", true
	case "llama":
		return "llama3", true
	}
	return "", false
}

const deepseekR1Template = `{#- Sputnik's built-in DeepSeek-R1 template. -#}
{%- set ns = namespace(system='', sep='', in_tools=false) -%}
{%- for m in messages -%}
  {%- if m['role'] == 'system' -%}
    {%- set ns.system = ns.system + ns.sep + m['content'] -%}
    {%- set ns.sep = '\n\n' -%}
  {%- endif -%}
{%- endfor -%}
{{- bos_token + ns.system -}}
{%- for m in messages -%}
  {%- if m['role'] == 'user' -%}
    {%- set ns.in_tools = false -%}
    {{- '<｜User｜>' + m['content'] -}}
  {%- elif m['role'] == 'assistant' -%}
    {%- set content = m['content'] if m['content'] is string else '' -%}
    {%- if '</think>' in content -%}
      {%- set content = content.split('</think>')[-1] -%}
    {%- endif -%}
    {%- if m['tool_calls'] -%}
      {{- '<｜Assistant｜>' + content + '<｜tool▁calls▁begin｜>' -}}
      {%- for tc in m['tool_calls'] -%}
        {%- set args = tc['function']['arguments'] -%}
        {%- if not loop.first -%}{{- '\n' -}}{%- endif -%}
        {{- '<｜tool▁call▁begin｜>' + tc['type'] + '<｜tool▁sep｜>' + tc['function']['name'] -}}
        {{- '\n` + "```" + `json\n' + (args if args is string else args | tojson) + '\n` + "```" + `<｜tool▁call▁end｜>' -}}
      {%- endfor -%}
      {{- '<｜tool▁calls▁end｜><｜end▁of▁sentence｜>' -}}
      {%- set ns.in_tools = false -%}
    {%- elif ns.in_tools -%}
      {{- '<｜tool▁outputs▁end｜>' + content + '<｜end▁of▁sentence｜>' -}}
      {%- set ns.in_tools = false -%}
    {%- else -%}
      {{- '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' -}}
    {%- endif -%}
  {%- elif m['role'] == 'tool' -%}
    {%- if not ns.in_tools -%}{{- '<｜tool▁outputs▁begin｜>' -}}{%- endif -%}
    {{- '<｜tool▁output▁begin｜>' + m['content'] + '<｜tool▁output▁end｜>' -}}
    {%- set ns.in_tools = true -%}
  {%- endif -%}
{%- endfor -%}
{%- if ns.in_tools -%}{{- '<｜tool▁outputs▁end｜>' -}}{%- endif -%}
{%- if add_generation_prompt and not ns.in_tools -%}{{- '<｜Assistant｜>' -}}{%- endif -%}
`

const chatMLTemplate = `{#- Sputnik's built-in ChatML (Qwen2) template. -#}
{%- set ns = namespace(skip_system=false) -%}
{%- if tools -%}
  {{- '<|im_start|>system\n' -}}
  {%- if messages[0]['role'] == 'system' -%}
    {{- messages[0]['content'] + '\n\n' -}}
    {%- set ns.skip_system = true -%}
  {%- endif -%}
  {{- '# Tools\n\nYou can call these functions, given as JSON signatures:\n<tools>' -}}
  {%- for t in tools -%}{{- '\n' + t | tojson -}}{%- endfor -%}
  {{- '\n</tools>\n\nTo call one, reply with a JSON object inside <tool_call></tool_call> tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' -}}
{%- endif -%}
{%- for m in messages -%}
  {%- if m['role'] == 'system' and loop.first and ns.skip_system -%}
  {%- elif m['role'] == 'assistant' -%}
    {{- '<|im_start|>assistant' -}}
    {%- if m['content'] -%}{{- '\n' + m['content'] -}}{%- endif -%}
    {%- if m['tool_calls'] -%}
      {%- for tc in m['tool_calls'] -%}
        {%- set args = tc['function']['arguments'] -%}
        {{- '\n<tool_call>\n{"name": "' + tc['function']['name'] + '", "arguments": ' + (args if args is string else args | tojson) + '}\n</tool_call>' -}}
      {%- endfor -%}
    {%- endif -%}
    {{- '<|im_end|>\n' -}}
  {%- elif m['role'] == 'tool' -%}
    {%- if loop.first or messages[loop.index0 - 1]['role'] != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}
    {{- '\n<tool_response>\n' + m['content'] + '\n</tool_response>' -}}
    {%- if loop.last or messages[loop.index0 + 1]['role'] != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}
  {%- else -%}
    {{- '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}
`

const llama3Template = `{#- Sputnik's built-in Llama 3 template. -#}
{%- if tools -%}
  {{- raise_exception('the built-in llama3 template does not support tools') -}}
{%- endif -%}
{{- bos_token -}}
{%- for m in messages -%}
  {{- '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] | trim + '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%}
`
