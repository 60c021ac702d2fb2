package chat

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ardanlabs/jinja"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// smallLimits keep the hostile renders fast: each limit is reached within
// a few MiB and tens of thousands of tags.
var smallLimits = Limits{
	MaxSteps:       1 << 16,
	MaxMacroDepth:  64,
	MaxOutputBytes: 1 << 20,
	MaxValueBytes:  1 << 20,
	MaxAllocBytes:  8 << 20,
	Timeout:        5 * time.Second,
}

// allocBound is the most a render under l may allocate in all (what
// runtime.MemStats.TotalAlloc grows by, garbage included, so also a bound
// on the heap it can hold): what MaxAllocBytes counts, the output (the
// library's builders may double their capacity), one value's worth of
// transient copies, and at most 256 bytes of the library's own bookkeeping
// per tag executed (190 measured), plus 4 MiB for parsing the small
// sources of HostileTemplates (TestParseAllocation bounds parsing).
func allocBound(l Limits) uint64 {
	l = l.withDefaults()
	return uint64(l.MaxAllocBytes+2*l.MaxOutputBytes+2*l.MaxValueBytes+256*l.MaxSteps) + 4<<20
}

// TestHostileTemplates parses and renders, under smallLimits, templates
// that try to exhaust memory, stack or time, and checks that each fails
// with an error naming the limit or rule that stops it (or, for the few
// that are harmless once bounded, renders the right output), and that the
// whole render allocates less than allocBound.
func TestHostileTemplates(t *testing.T) {
	bound := allocBound(smallLimits)
	for _, tc := range testutil.HostileTemplates {
		t.Run(tc.Name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			out, err := parseRender(tc.Source, smallLimits)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			if tc.Want == "" {
				if err != nil || out != tc.Output {
					t.Fatalf("got %q, %v; want %q", out, err, tc.Output)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.Want) {
				t.Fatalf("got output of %d bytes and error %v, want an error containing %q", len(out), err, tc.Want)
			}
			if strings.Contains(tc.Want, "Max") && !errors.Is(err, ErrLimit) {
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
			if alloc > bound {
				t.Errorf("allocated %d bytes, more than the bound of %d", alloc, bound)
			}
			t.Logf("%.1f MiB allocated in %v: %v", float64(alloc)/(1<<20), elapsed.Round(time.Millisecond), err)
		})
	}
}

// TestParseAllocation parses sources made of what costs the parser most
// per byte and checks that each allocates less than 768 bytes per source
// byte (up to 520 measured), so a source of maxTemplateBytes less than 192
// MiB; a larger source is refused.
func TestParseAllocation(t *testing.T) {
	fill := func(unit string) string { return strings.Repeat(unit, (64<<10)/len(unit)) }
	for _, src := range []string{
		fill("{{ 1 }}"), fill("{{ [1] }}"), fill("{{ x[0] }}"), fill("{{ x.split() }}"),
		fill("{% if 1 %}{% endif %}"), fill("{{ {1: 2} }}"), fill("{% set x = 1 %}"), fill("abcdefgh"),
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Parse(src)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%.20s…: %v", src, err)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		if alloc > 768*uint64(len(src)) {
			t.Errorf("%.20s…: %d bytes of source allocated %d bytes, more than 768 per byte", src, len(src), alloc)
		}
		t.Logf("%.20s…: %d bytes per source byte", src, alloc/uint64(len(src)))
	}
	if _, err := Parse(strings.Repeat("x", maxTemplateBytes+1)); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("a source over maxTemplateBytes: got %v", err)
	}
}

// TestRealTemplatesWithinLimits renders the real templates of
// ../shared/testdata with a 2,000-turn conversation (8 MB of prompt, the
// server's default body limit) under the default limits: each succeeds and
// charges MaxAllocBytes less than 3 bytes per byte of prompt, far below the
// default.
func TestRealTemplatesWithinLimits(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testutil.SharedTestdata(t), "templates", "*.jinja"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	content := strings.Repeat("word ", 400)
	msgs := []Message{{Role: "system", Content: content}}
	for range 2000 {
		msgs = append(msgs, Message{Role: "user", Content: content},
			Message{Role: "assistant", Content: "<think>\n" + content + "\n</think>\n\n" + content})
	}
	msgs = append(msgs, Message{Role: "user", Content: "last"})
	tools := []any{Object{{"type", "function"}, {"function", Object{{"name", "get_weather"},
		{"parameters", Object{{"type", "object"}, {"properties", Object{{"city", Object{{"type", "string"}}}}}}}}}}}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := Parse(string(src))
		if err != nil {
			t.Fatal(err)
		}
		out, st, err := tmpl.render(map[string]any{"messages": msgs, "add_generation_prompt": true, "tools": tools})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if st.alloc > 3*len(out) {
			t.Errorf("%s: a %d-byte prompt charged %d bytes, more than 3 per byte", filepath.Base(f), len(out), st.alloc)
		}
		t.Logf("%s: %d-byte prompt, %d bytes charged (%.2f per byte), %d tags", filepath.Base(f), len(out), st.alloc, float64(st.alloc)/float64(len(out)), st.steps)
	}
}

func parseRender(src string, l Limits) (string, error) {
	tmpl, err := ParseWith(src, ParseOptions{Limits: l})
	if err != nil {
		return "", err
	}
	return tmpl.Render(map[string]any{"messages": []any{Object{{"role", "user"}, {"content", "hi"}}}})
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
		{"alloc", Limits{MaxAllocBytes: 30}, "MaxAllocBytes"},
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
		st := newRenderState(Limits{})
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
