package testutil

// HostileTemplate is a chat template that tries to make its renderer run
// out of memory, stack or time, as a model file from a stranger might.
type HostileTemplate struct {
	Name, Source string
	// Want is in the error that parsing or rendering the template must
	// fail with under the chat tests' small limits: it names the limit or
	// the rule that stops it. Empty Want means the template is harmless
	// once bounded and must render Output.
	Want, Output string
	// Quick marks the templates that also fail (or render) within a
	// fraction of a second, allocating little, under the default limits.
	Quick bool
}

// nsLoop builds a template that applies step to the namespace attribute
// ns.v, starting from init, 64 times: anything that grows by a factor per
// step outgrows every limit.
func nsLoop(init, step, after string) string {
	return "{% set ns = namespace(v=" + init + ") %}{% for i in range(64) %}{% set ns.v = " + step + " %}{% endfor %}" + after
}

// HostileTemplates are the templates the chat package's limits are tested
// with (chat, the template and run commands, the server). Each grows one
// way that a Jinja template can: strings, lists and dicts that double or
// fan out inside one operation, self-references, loops that allocate, deep
// recursion, output floods and sources that nest without end.
var HostileTemplates = []HostileTemplate{
	// Strings growing inside one operation.
	{"~ doubling", nsLoop("'a'", "ns.v ~ ns.v", ""), "string or list too long (MaxValueBytes", "", false},
	{"+ doubling", nsLoop("'a'", "ns.v + ns.v", ""), "string or list too long (MaxValueBytes", "", false},
	{"* repetition", "{{ 'ab' * 2000000000 }}", "string repetition too long (MaxValueBytes", "", true},
	{"repetition of a repetition", "{{ ('a' * 1000) * 1000000000 }}", "string repetition too long (MaxValueBytes", "", true},
	{"list * n", "{{ ([1, 2] * 1000000000)|length }}", "templates may not repeat lists", "", true},
	{"str.replace fan-out", "{% set s = 'a' * 1000 %}{{ s.replace('a', s).replace('a', s).replace('a', s) }}", "str.replace result too long (MaxValueBytes", "", true},
	{"str.replace of the empty string", "{{ ('a' * 100000).replace('', 'b' * 100000) }}", "str.replace result too long (MaxValueBytes", "", true},
	{"replace filter fan-out", "{{ ('a' * 100000)|replace('a', 'b' * 100000) }}", "replace result too long (MaxValueBytes", "", true},
	{"str.format doubling", nsLoop("'{0}{0}'", "ns.v.format(ns.v)", ""), "str.format result too long (MaxValueBytes", "", false},
	{"str.format fan-out", "{{ ('{0}' * 100000).format('x' * 100000) }}", "str.format result too long (MaxValueBytes", "", true},
	{"join fan-out", "{{ (',' * 100000).split(',')|join('b' * 100000) }}", "join result too long (MaxValueBytes", "", true},
	{"indent fan-out", "{{ ('a\\n' * 100000)|indent('x' * 100000) }}", "indent result too long (MaxValueBytes", "", true},
	{"tojson indent fan-out", "{{ range(100000)|list|tojson(indent='x' * 100000) }}", "tojson result too long (MaxValueBytes", "", true},
	{"escape fan-out", "{{ ('\"' * 1000000)|e }}", "escape result too long (MaxValueBytes", "", false},
	{"filter block fan-out", "{% filter indent('x' * 1000000) %}{{ 'a\\n' * 100 }}{% endfilter %}", "indent result too long (MaxValueBytes", "", true},

	// Lists and dicts growing, referring to themselves, or changing.
	{"append to itself", "{% set l = [] %}{% set _ = l.append(l) %}{{ l == l }}", "may not change lists or dicts", "", true},
	{"append in a loop", "{% set l = [] %}{% for i in range(100000) %}{% set _ = l.append('x' * 1000000) %}{% endfor %}", "may not change lists or dicts", "", true},
	{"insert", "{% set l = [] %}{% set _ = l.insert(0, l) %}", "may not change lists or dicts", "", true},
	{"dict update with itself", "{% set d = {} %}{% set _ = d.update({'d': d}) %}{{ d }}", "may not change lists or dicts", "", true},
	{"namespace holding itself", "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns == ns }}", "a namespace cannot contain itself", "", true},
	{"namespace cycle through a list", "{% set ns = namespace() %}{% set ns.l = [ns] %}{{ ns }}", "is read-only", "", true},
	{"list literal doubling", nsLoop("[0]", "[ns.v, ns.v]", "{{ ns.v == ns.v }}"), "list or dict literal too long (MaxValueBytes", "", true},
	{"tuple doubling", nsLoop("(0,)", "(ns.v, ns.v)", "{{ ns.v|tojson }}"), "list or dict literal too long (MaxValueBytes", "", true},
	{"dict literal doubling", nsLoop("{}", "{'a': ns.v, 'b': ns.v}", "{{ ns.v|string }}"), "list or dict literal too long (MaxValueBytes", "", true},
	{"namespace() doubling", nsLoop("0", "namespace(a=ns.v, b=ns.v)", "{{ ns.v }}"), "namespace too long (MaxValueBytes", "", true},
	{"list + doubling", nsLoop("[0]", "ns.v + ns.v", ""), "string or list too long (MaxValueBytes", "", false},
	{"deep nesting of a big string", "{% set ns = namespace(v='x' * 400000) %}{% for i in range(255) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v() }}", "list or dict literal too long (MaxValueBytes", "", true},
	{"a list as a dict key", "{% set d = {[1, 2]: 1} %}", "cannot be a key", "", true},
	{"map default fan-out", "{{ range(100000)|map(attribute='x', default='y' * 1000000)|list|length }}", "map result too long (MaxValueBytes", "", true},
	{"range with a huge bound", "{{ range(9000000000000000000)|length }}", "range of 9000000000000000000 items", "", true},

	// Loops that allocate a little more each time.
	{"range in a loop", "{% for i in range(100000) %}{% set r = range(1000000) %}{% endfor %}", "range: the render would allocate more than", "", false},
	{"split in a loop", "{% set s = ',' * 1000000 %}{% for i in range(100000) %}{% set l = s.split(',') %}{% endfor %}", "str.split: the render would allocate more than", "", false},
	{"for over a string", "{% set s = 'a' * 1000000 %}{% for i in range(100000) %}{% for c in s %}{% break %}{% endfor %}{% endfor %}", "for loop over a string: the render would allocate more than", "", false},
	{"list of a string", "{% set s = 'a' * 1000000 %}{% for i in range(100000) %}{% set l = s|list %}{% endfor %}", "list: the render would allocate more than", "", false},
	{"fromjson in a loop", "{% for i in range(100000) %}{% set x = ('[' ~ '0,' * 100000 ~ '0]')|fromjson %}{% endfor %}", "fromjson input too long (MaxValueBytes", "", false},
	{"batch in a loop", "{% for i in range(100000) %}{% set x = range(100000)|batch(1) %}{% endfor %}", "the render would allocate more than", "", false},
	{"macro recursion holding big strings", "{% macro f(n) %}{% set s = 'x' * 1000000 ~ n %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "MaxAllocBytes", "", false},
	{"slices with huge bounds", "{{ [1, 2, 3][0:9000000000000000000:2]|length }}{{ 'abc'[-9000000000000000000:9000000000000000000:3] }}{{ [1, 2, 3][9000000000000000000::-1]|length }}", "", "2a3", true},

	// Recursion and time.
	{"endless recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "deep (MaxMacroDepth)", "", true},
	{"mutual recursion", "{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(0) }}", "deep (MaxMacroDepth)", "", true},
	{"recursion through call blocks", "{% macro f() %}{% call f() %}x{% endcall %}{% endmacro %}{{ f() }}", "deep (MaxMacroDepth)", "", true},
	{"a billion iterations", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "tags (MaxSteps", "", false},

	// Output.
	{"output flood", "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "output too long (MaxOutputBytes", "", false},
	{"output flood through call blocks", "{% for i in range(100000) %}{% call dict(x='y' * 1000) %}{% endcall %}{% endfor %}", "output too long (MaxOutputBytes", "", false},
	{"output flood through a set block", "{% set s %}{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}{% endset %}", "output too long (MaxOutputBytes", "", false},

	// Sources the parser would recurse on without end.
	{"deep brackets", "{{ " + repeat("(", 100000) + "1" + repeat(")", 100000) + " }}", "brackets nested more than", "", true},
	{"deep blocks", repeat("{% if 1 %}", 10000) + "x" + repeat("{% endif %}", 10000), "blocks nested more than", "", true},
	{"long unary chain", "{{ " + repeat("-", 200000) + "1 }}", "tag has more than 4096 tokens", "", true},
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}
