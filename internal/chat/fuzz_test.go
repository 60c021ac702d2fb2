package chat

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// FuzzTemplate parses and renders arbitrary templates under smallLimits: no
// panic, errors are *Error, output stays within MaxOutputBytes, and the
// source rewrite keeps every line where it was.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"{{ x }}", "{%- if a -%}\n  b\n{%+ endif +%}", "{# c #}{% raw %}{{{% endraw %}",
		"{{ {'a': {'b': 1}} | tojson(indent=2) }}", "{% for k, v in d | items if k %}{{ k }}{% endfor %}",
		"{% macro f(a) %}{{ a }}{% endmacro %}{{ f(*[1]) }}{{ m.0 }}{{ 'a' 'b' }}",
	} {
		f.Add(s)
	}
	addSharedTemplates(f)
	for _, h := range testutil.HostileTemplates {
		f.Add(h.Source)
	}
	vars := map[string]any{
		"messages":              setOneConversation,
		"tools":                 []any{Object{{"type", "function"}, {"function", Object{{"name", "f"}}}}},
		"add_generation_prompt": true,
		"bos_token":             "<s>",
		"eos_token":             "</s>",
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, plain := range []bool{false, true} {
			prepped, err := prepare(src, prepOptions{trimBlocks: !plain, lstripBlocks: !plain, markLines: true, renameFilters: renamedFilters})
			if err == nil {
				if got, want := strings.Count(prepped, "\n"), strings.Count(normalizeNewlines(src), "\n"); got != want {
					t.Fatalf("rewritten source has %d line breaks, the source %d:\n%q\n%q", got, want, src, prepped)
				}
			}
			tmpl, err := ParseWith(src, ParseOptions{PlainWhitespace: plain, Limits: smallLimits})
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("parse error %T is not *Error: %v", err, err)
				}
				continue
			}
			out, err := tmpl.Render(vars)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("render error %T is not *Error: %v", err, err)
				}
			}
			if len(out) > smallLimits.MaxOutputBytes {
				t.Fatalf("output of %d bytes, more than MaxOutputBytes", len(out))
			}
		}
	})
}

// addSharedTemplates seeds a fuzz target with the reference templates, when
// the shared test data is present.
func addSharedTemplates(f *testing.F) {
	root := os.Getenv("SPUTNIK_TESTDATA")
	if root == "" {
		root = testutil.RepoRoot(f) + "/../shared/testdata"
	}
	for _, name := range []string{"templates/cases.json", "templates/jinja_conformance.json"} {
		data, err := os.ReadFile(root + "/" + name)
		if err != nil {
			return
		}
		var file struct {
			Cases []struct{ Template string }
			Sets  []struct{ Cases []struct{ Template string } }
		}
		if json.Unmarshal(data, &file) != nil {
			continue
		}
		for _, c := range file.Cases {
			f.Add(c.Template)
		}
		for _, s := range file.Sets {
			for _, c := range s.Cases {
				f.Add(c.Template)
			}
		}
	}
}
