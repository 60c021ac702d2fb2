package chat

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// ErrRaised marks a render error raised by the template itself through
// raise_exception(msg), such as "Conversation roles must alternate": the
// input was rejected, the template is fine.
var ErrRaised = errors.New("template raised an exception")

// Error is a failure to parse or render a template. Line is the 1-based
// line of the template source the failure was traced to, or 0 when it could
// not be located.
type Error struct {
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("chat: template line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("chat: template: %v", e.Err)
}

// Unwrap returns the underlying error, so that errors.Is(err, ErrRaised)
// works.
func (e *Error) Unwrap() error { return e.Err }

// ParseOptions adjusts how a template is parsed and rendered. The zero value
// is what chat templates need.
type ParseOptions struct {
	// PlainWhitespace selects Jinja's default whitespace rules (no
	// trim_blocks, no lstrip_blocks). The zero value enables both, as
	// Hugging Face's apply_chat_template does.
	PlainWhitespace bool
	// Now is the clock behind strftime_now(); nil means time.Now.
	Now func() time.Time
	// Limits bound each render (steps, macro depth, output and value
	// sizes, time); zero fields take DefaultLimits.
	Limits Limits
}

// Template is a parsed Jinja chat template. It is safe for concurrent use
// by multiple goroutines.
type Template struct {
	src  string
	opts ParseOptions
	// prog is the template as rewritten by prepare, with a line marker
	// before every tag: markers record the line for error messages and
	// count steps against maxSteps.
	prog *jinja.Template
}

// Names of the callables behind the markers prepare inserts.
const (
	macroEnter = "__sputnik_enter"
	macroLeave = "__sputnik_leave"
)

// renamedFilters are library built-ins we replace with our own, because the
// library's version departs from Python's (see filters.go) or builds
// results of any size unchecked (see Limits). Templates are rewritten to
// call ours; renderState.filters has the implementations.
var renamedFilters = map[string]string{
	"tojson":     "__sputnik_tojson",
	"string":     "__sputnik_string",
	"selectattr": "__sputnik_selectattr",
	"rejectattr": "__sputnik_rejectattr",
	"select":     "__sputnik_select",
	"reject":     "__sputnik_reject",
	"sort":       "__sputnik_sort",
	"dictsort":   "__sputnik_dictsort",
	"indent":     "__sputnik_indent",
	"join":       joinName,
	"replace":    replName,
	"list":       "__sputnik_list",
	"length":     "__sputnik_length",
	"count":      "__sputnik_length",
	"reverse":    "__sputnik_reverse",
	"unique":     "__sputnik_unique",
	"map":        "__sputnik_map",
	"batch":      "__sputnik_batch",
	"fromjson":   "__sputnik_fromjson|fromjson", // our check, then the library's parse
	"from_json":  "__sputnik_fromjson|fromjson",
	"escape":     "__sputnik_escape",
	"e":          "__sputnik_escape",
	"trim":       "__sputnik_trim",
	"lower":      "__sputnik_lower",
	"upper":      "__sputnik_upper",
	"title":      "__sputnik_title",
	"capitalize": "__sputnik_capitalize",
	"wordcount":  "__sputnik_wordcount",
	"items":      "__sputnik_items",
	"int":        "__sputnik_int",
	"float":      "__sputnik_float",
}

// Parse parses a Jinja template source for rendering with Hugging Face's
// settings (trim_blocks, lstrip_blocks, no trailing newline kept).
func Parse(src string) (*Template, error) { return ParseWith(src, ParseOptions{}) }

// ParseWith parses a Jinja template source with the given options. A syntax
// error is an *Error carrying the template line.
func ParseWith(src string, o ParseOptions) (*Template, error) {
	t := &Template{src: src, opts: o}
	prog, err := t.compile()
	if err != nil {
		return nil, err
	}
	t.prog = prog
	return t, nil
}

// Source returns the template source as given to Parse.
func (t *Template) Source() string { return t.src }

func (t *Template) compile() (prog *jinja.Template, err error) {
	var blocks []blockTag
	prepped, err := prepare(t.src, prepOptions{
		trimBlocks:    !t.opts.PlainWhitespace,
		lstripBlocks:  !t.opts.PlainWhitespace,
		markLines:     true,
		boundOps:      true,
		renameFilters: renamedFilters,
		blocks:        &blocks,
	})
	if err != nil {
		var se *srcError
		if errors.As(err, &se) {
			return nil, &Error{Line: se.line, Err: errors.New(se.msg)}
		}
		return nil, &Error{Err: err}
	}
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, &Error{Err: fmt.Errorf("jinja library panic while parsing: %v", r)}
		}
	}()
	prog, err = jinja.Compile(prepped)
	if err != nil {
		e := libraryError(err)
		if e.Line == 0 {
			e.Line = unclosedLine(blocks, e.Err.Error())
		}
		return nil, e
	}
	return prog, nil
}

// unclosedLine finds the line of the block an "unclosed X block" error is
// about, which the library does not report: the last X tag left open.
func unclosedLine(blocks []blockTag, msg string) int {
	var kw string
	if _, err := fmt.Sscanf(msg, "unclosed %s block", &kw); err != nil {
		return 0
	}
	var open []int // lines of unclosed kw tags
	for _, b := range blocks {
		switch b.keyword {
		case kw:
			open = append(open, b.line)
		case "end" + kw:
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
	if len(open) == 0 {
		return 0
	}
	return open[len(open)-1]
}

// libLine finds the line number in the library's parse errors, which read
// "jinja parse: line 12: …" or "jinja scan: unclosed … at line 12, col 3".
var libLine = regexp.MustCompile(`\bline (\d+)(?::\s*|,\s*col \d+)?`)

func libraryError(err error) *Error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "jinja parse: ")
	msg = strings.TrimPrefix(msg, "jinja scan: ")
	line := 0
	if m := libLine.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		if m[0] == 0 {
			msg = msg[m[1]:]
		}
	}
	return &Error{Line: line, Err: errors.New(msg)}
}

// Render renders the template with vars as the template variables
// (messages, add_generation_prompt, bos_token, tools, …) and returns the
// output exactly. Variable values may be nil, bool, any integer or float
// type, string, Object, map[string]any (rendered with sorted keys), []any or
// another slice of these, Message, ToolCall, or a jinja.Value; anything else
// is an error. The globals raise_exception, strftime_now, namespace, range,
// dict, joiner and cycler are available. A failure is an *Error carrying the
// template line where it could be located; errors.Is(err, ErrRaised) tells
// an exception raised by the template. Render copies vars; values passed
// as jinja.Value are shared with the template (which cannot change lists
// and dicts) and must not contain themselves.
func (t *Template) Render(vars map[string]any) (string, error) {
	out, _, err := t.render(vars)
	return out, err
}

// render is Render, returning the render's bookkeeping too (for tests).
func (t *Template) render(vars map[string]any) (string, *renderState, error) {
	vals, err := t.values(vars)
	if err != nil {
		return "", nil, err
	}
	st := newRenderState(t.opts.Limits)
	st.install(vals)
	st.installLimits(vals)
	out, err := run(t.prog, vals)
	if err != nil {
		return "", st, &Error{Line: st.line, Err: err}
	}
	return out, st, nil
}

// values converts vars and adds our globals.
func (t *Template) values(vars map[string]any) (map[string]jinja.Value, error) {
	vals := make(map[string]jinja.Value, len(vars)+len(renamedFilters)+32)
	for k, v := range vars {
		jv, err := toValue(v)
		if err != nil {
			return nil, &Error{Err: fmt.Errorf("variable %q: %w", k, err)}
		}
		vals[k] = jv
	}
	now := t.opts.Now
	if now == nil {
		now = time.Now
	}
	vals["strftime_now"] = jinja.NewCallable("strftime_now", strftimeNow(now))
	vals["raise_exception"] = jinja.NewCallable("raise_exception", raiseException)
	vals[applyName] = jinja.NewCallable(applyName, apply)
	return vals, nil
}

// renderState is the bookkeeping of one render, updated by the markers and
// by our bounded operations.
type renderState struct {
	limits   Limits
	deadline time.Time // zero: no time limit
	line     int       // 1-based line of the last tag reached
	steps    int       // tags executed
	depth    int       // macro calls in progress
	out      int       // bytes output
	alloc    int       // bytes charged against MaxAllocBytes
	operands []operand // left operands of ~, + and * awaiting their right one
	// sizes remembers the measure of lists and dicts that can no longer
	// change, by identity (*jinja.List, *jinja.Dict).
	sizes map[any]measure
	// sizeCap is where size stops counting: above every limit it is
	// compared with.
	sizeCap int
	// spaces holds the assignable objects (namespaces, cyclers): true while
	// assignable, false once stored in a list, dict or namespace.
	spaces map[*jinja.Dict]bool
	// filterTable holds our filters by their template name, for map().
	filterTable map[string]filterFunc
}

func newRenderState(l Limits) *renderState {
	st := &renderState{
		limits: l.withDefaults(),
		sizes:  make(map[any]measure),
		spaces: make(map[*jinja.Dict]bool),
	}
	st.sizeCap = max(st.limits.MaxValueBytes, st.limits.MaxOutputBytes) + 1
	if st.limits.Timeout > 0 {
		st.deadline = time.Now().Add(st.limits.Timeout)
	}
	return st
}

var empty = jinja.NewString("")

// install adds the marker callables, bound to st, to vals.
func (st *renderState) install(vals map[string]jinja.Value) {
	vals[lineMarker] = jinja.NewCallable(lineMarker, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) == 1 && args[0].IsInt() {
			st.line = int(args[0].AsInt())
		}
		st.steps++
		if st.steps > st.limits.MaxSteps {
			return empty, fmt.Errorf("%w: template executed more than %d tags (MaxSteps)", ErrLimit, st.limits.MaxSteps)
		}
		return empty, st.checkTime()
	})
	vals[macroEnter] = jinja.NewCallable(macroEnter, func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
		st.depth++
		if st.depth > st.limits.MaxMacroDepth {
			return empty, fmt.Errorf("%w: macro calls nested more than %d deep (MaxMacroDepth)", ErrLimit, st.limits.MaxMacroDepth)
		}
		return empty, nil
	})
	vals[macroLeave] = jinja.NewCallable(macroLeave, func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
		st.depth--
		return empty, nil
	})
}

// checkTime fails once the render has taken longer than Timeout. It runs
// before every tag and every charged operation, so a render overruns by at
// most one tag's work.
func (st *renderState) checkTime() error {
	if !st.deadline.IsZero() && time.Now().After(st.deadline) {
		return fmt.Errorf("%w: render took longer than %v (Timeout)", ErrLimit, st.limits.Timeout)
	}
	return nil
}

// run renders prog, turning a library panic into an error.
func run(prog *jinja.Template, vals map[string]jinja.Value) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("jinja library panic: %v", r)
		}
	}()
	return prog.RenderValues(vals)
}
