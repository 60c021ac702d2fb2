package chat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ardanlabs/jinja"
)

// TestHostileTemplates renders templates that try to exhaust time or
// memory and checks that each fails with ErrLimit, quickly and without
// building what it asked for.
func TestHostileTemplates(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // substring of the error
	}{
		{"string doubling", `{% set x = 'a' %}{% for i in range(40) %}{% set x = x ~ x %}{% endfor %}{{ x }}`, "string or list too long"},
		{"string doubling with +", `{% set x = 'a' %}{% for i in range(40) %}{% set x = x + x %}{% endfor %}{{ x }}`, "string or list too long"},
		{"list doubling", `{% set x = [0] %}{% for i in range(40) %}{% set x = x + x %}{% endfor %}{{ x|length }}`, "string or list too long"},
		{"doubling inside one expression", `{% set x = 'a' * 1000000 %}{{ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) ~ (x ~ x ~ x ~ x) }}`, "string or list too long"},
		{"string repetition", `{{ 'a' * 2000000000 }}`, "string repetition too long"},
		{"string repetition in a filter argument", `{{ 'x'|replace('x', 'ab' * 1000000000) }}`, "string repetition too long"},
		{"repetition of a repetition", `{{ ('a' * 1000000) * 1000 }}`, "string repetition too long"},
		{"huge join", `{% set l = [] %}{% set s = 'a' * 1000000 %}{% for i in range(200) %}{% set _ = l.append(s) %}{% endfor %}{{ l|join(',') }}`, "join result too long"},
		{"replace amplification", `{% set s = 'a' * 1000000 %}{{ s|replace('a', s) }}`, "replace result too long"},
		{"output flood", `{% set s = 'a' * 100000 %}{% for i in range(1000) %}{{ s }}{% endfor %}`, "output too long"},
		{"text flood", `{% for i in range(100000) %}` + strings.Repeat("0123456789", 100) + `{% endfor %}`, "output too long"},
		{"billion iterations", `{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`, "more than 1048576 tags"},
		{"endless recursion", `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`, "nested more than 256 deep"},
		{"huge range", `{{ range(2000000000)|length }}`, "range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tmpl.Render(nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got output of %d bytes and error %v, want an error containing %q", len(out), err, tc.want)
			}
			if tc.want != "range" && !errors.Is(err, ErrLimit) {
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
		})
	}
	// A list times an int is not repetition in the library (it has no
	// list repetition): it must not build a list either.
	tmpl, err := Parse(`{{ [0] * 2000000000 }}`)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tmpl.Render(nil); err == nil && len(out) > 100 {
		t.Errorf("[0] * 2e9 rendered %d bytes", len(out))
	}
}

// TestLimitsConfigurable checks that each limit can be lowered and that
// the defaults leave ordinary work alone.
func TestLimitsConfigurable(t *testing.T) {
	src := `{% set x = 'ab' * 10 %}{% for i in range(5) %}{{ x ~ i }}{% endfor %}`
	tmpl, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for i := range 5 {
		want += strings.Repeat("ab", 10) + string(rune('0'+i))
	}
	if out, err := tmpl.Render(nil); err != nil || out != want {
		t.Fatalf("defaults: got %q, %v; want %q", out, err, want)
	}
	for _, tc := range []struct {
		name string
		l    Limits
		want string
	}{
		{"output", Limits{MaxOutputBytes: 50}, "output too long"},
		{"value", Limits{MaxValueBytes: 10}, "string repetition too long"},
		{"steps", Limits{MaxSteps: 5}, "more than 5 tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := ParseWith(src, ParseOptions{Limits: tc.l})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tmpl.Render(nil); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrLimit with %q", err, tc.want)
			}
		})
	}
	// The time limit is checked between tags: a tiny one stops a long loop.
	slow, err := ParseWith(`{% for i in range(1000000) %}{% set y = [i, i, i]|tojson %}{% endfor %}`,
		ParseOptions{Limits: Limits{Timeout: time.Millisecond, MaxSteps: 1 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slow.Render(nil); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("time limit: got %v", err)
	}
}

// TestTemplateSandbox checks that a template reaches nothing but the values
// it is given: no file (include, import, extends of an absolute path), no
// environment variable, no Python-style escape through attributes of
// globals.
func TestTemplateSandbox(t *testing.T) {
	t.Setenv("SPUTNIK_SANDBOX_SECRET", "s3cr3t-value")
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("file-secret-content"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		`{% include '` + secret + `' %}`,
		`{% import '` + secret + `' as s %}{{ s }}`,
		`{% extends '` + secret + `' %}`,
		`{% from '` + secret + `' import x %}{{ x }}`,
		`{{ environ }}{{ env }}{{ os }}{{ config }}{{ self }}{{ lipsum }}{{ request }}{{ settings }}`,
		`{{ range.__globals__ }}{{ ''.__class__.__mro__ }}{{ namespace.__init__.__globals__ }}`,
		`{{ cycler.__init__.__globals__.os.environ }}{{ joiner.__globals__ }}`,
		`{{ raise_exception.__globals__ }}{{ strftime_now.__globals__ }}`,
		`{{ ''|attr('__class__') }}{{ messages|attr('__class__') }}`,
		`{{ 'SPUTNIK_SANDBOX_SECRET'|env }}{{ getenv('SPUTNIK_SANDBOX_SECRET') }}`,
		`{{ open('` + secret + `').read() }}{{ read_file('` + secret + `') }}`,
		`{{ '` + secret + `'|fromjson }}{{ '` + secret + `'|include }}`,
	} {
		tmpl, err := Parse(src)
		if err != nil {
			continue // refused at parse: nothing was read
		}
		out, err := tmpl.Render(map[string]any{"messages": []any{}})
		all := out
		if err != nil {
			all += err.Error()
		}
		if strings.Contains(all, "s3cr3t-value") || strings.Contains(all, "file-secret-content") {
			t.Errorf("%s: leaked: %q", src, all)
		}
	}
}

// TestBoundedOpsKeepMeaning renders arithmetic with and without the
// operator rewrite and checks the outputs agree: the inserted calls follow
// the library's precedence and change no value.
func TestBoundedOpsKeepMeaning(t *testing.T) {
	vars := map[string]any{"x": map[string]any{"a": "A", "b": "b"}, "n": 3, "s": "str", "l": []any{1, 2}}
	for _, src := range []string{
		`{{ 2 + 3 * 4 }}`, `{{ 10 - 2 - 3 }}`, `{{ 'a' ~ 1 + 2 }}`, `{{ 2 * 3 ** 2 }}`,
		`{{ -2 * 3 + 1 }}`, `{{ (1 + 2) * 3 }}`, `{{ [1] + [2] }}`, `{{ 'x' * 3 ~ 'y' }}`,
		`{{ 7 // 2 * 3 }}`, `{{ 7 % 4 * 2 }}`, `{{ 8 / 2 * 3 }}`, `{{ x.a ~ x['b'] | upper ~ (1 + 2) }}`,
		`{{ 'a' if 1 + 1 == 2 else 'b' }}`, `{{ s ~ n * 2 ~ s|length + 1 }}`, `{{ l + [n * 2] }}`,
		`{% set y = s ~ '-' ~ n %}{{ y }}`, `{{ [s ~ 1, {'k': n + 1}] }}`, `{{ n + 1 is defined }}`,
		`{% for i in l + [3] if i * 2 > 2 %}{{ i ~ ',' }}{% endfor %}`, `{{ not n + 1 == 4 }}`,
		`{{ 'a' 'b' ~ s }}`, `{{ - n * - 2 }}`, `{{ n * -1 + +2 }}`,
	} {
		bounded, err := Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := bounded.Render(vars)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		prepped, err := prepare(src, prepOptions{trimBlocks: true, lstripBlocks: true, renameFilters: renamedFilters})
		if err != nil {
			t.Fatal(err)
		}
		plainProg, err := jinja.Compile(prepped)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		vals, err := bounded.values(vars)
		if err != nil {
			t.Fatal(err)
		}
		var st renderState
		st.limits = DefaultLimits
		st.install(vals)
		st.installLimits(vals)
		want, err := run(plainProg, vals)
		if err != nil {
			t.Fatalf("%s unbounded: %v", src, err)
		}
		if got != want {
			t.Errorf("%s: bounded %q, unbounded %q", src, got, want)
		}
	}
}
