package chat

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// The globals and filters below are added through the library's extension
// point: callables passed as template variables shadow its built-in globals,
// and a filter name the library does not know is looked up among the
// variables (which is why templates call tojson under another name; see
// renamedFilters).

// maxMessage bounds the message of raise_exception, which goes into error
// messages and API responses.
const maxMessage = 1024

// raiseException implements raise_exception(msg); a message of more than
// maxMessage bytes is cut.
func raiseException(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	msg := "raise_exception called"
	if len(args) > 0 {
		msg = plain(args[0]) // ends the render: printed once
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	return jinja.Undefined(), fmt.Errorf("%w: %s", ErrRaised, msg)
}

// maxRange bounds range() so that a template cannot ask for a billion-item
// list.
const maxRange = 1 << 20

// rangeList implements Python's range(stop) / range(start, stop[, step])
// as a list, refusing more than maxRange items and charging them.
func (st *renderState) rangeList(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	var ints [3]int64
	for i, a := range args {
		if i >= 3 || !a.IsInt() && !a.IsBool() {
			return jinja.Undefined(), fmt.Errorf("range: want 1 to 3 integer arguments")
		}
		if a.IsBool() {
			if a.AsBool() {
				ints[i] = 1
			}
		} else {
			ints[i] = a.AsInt()
		}
	}
	var start, stop, step int64
	switch len(args) {
	case 1:
		start, stop, step = 0, ints[0], 1
	case 2:
		start, stop, step = ints[0], ints[1], 1
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return jinja.Undefined(), fmt.Errorf("range: want 1 to 3 integer arguments")
	}
	if step == 0 {
		return jinja.Undefined(), fmt.Errorf("range: step must not be zero")
	}
	var n float64 // item count, computed in float64 to avoid overflow
	if step > 0 && stop > start {
		n = math.Ceil((float64(stop) - float64(start)) / float64(step))
	} else if step < 0 && stop < start {
		n = math.Ceil((float64(start) - float64(stop)) / -float64(step))
	}
	if n > maxRange {
		return jinja.Undefined(), fmt.Errorf("%w: range of %.0f items (more than %d)", ErrLimit, n, maxRange)
	}
	if err := st.charge(listBytes+int(n)*(valueBytes+8), "range"); err != nil {
		return jinja.Undefined(), err
	}
	items := make([]jinja.Value, 0, int(n))
	for i, v := 0, start; i < int(n); i, v = i+1, v+step {
		items = append(items, jinja.NewInt(v))
	}
	return jinja.NewList(items), nil
}

// strftimeNow returns strftime_now(format): the clock's time in its own
// location, formatted with Python's strftime directives.
func strftimeNow(now func() time.Time) func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
	return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 || !args[0].IsString() {
			return jinja.Undefined(), fmt.Errorf("strftime_now: want one format string")
		}
		if len(args[0].AsString()) > maxMessage { // a directive may expand 5 times
			return jinja.Undefined(), fmt.Errorf("strftime_now: format longer than %d bytes", maxMessage)
		}
		return jinja.NewString(strftime(now(), args[0].AsString())), nil
	}
}

// strftime formats t like C's strftime in the C locale, for the directives
// chat templates use (%d %b %Y and friends). glibc's "%-d" (no padding) is
// supported; unknown directives are copied through.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		pad := true
		if format[i] == '-' && i+1 < len(format) {
			pad = false
			i++
		}
		num := func(v, width int) {
			s := strconv.Itoa(v)
			if pad {
				for len(s) < width {
					s = "0" + s
				}
			}
			b.WriteString(s)
		}
		switch format[i] {
		case 'Y':
			num(t.Year(), 4)
		case 'y':
			num(t.Year()%100, 2)
		case 'm':
			num(int(t.Month()), 2)
		case 'd':
			num(t.Day(), 2)
		case 'e':
			s := strconv.Itoa(t.Day())
			if pad && len(s) < 2 {
				s = " " + s
			}
			b.WriteString(s)
		case 'j':
			num(t.YearDay(), 3)
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			num(h, 2)
		case 'M':
			num(t.Minute(), 2)
		case 'S':
			num(t.Second(), 2)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'B':
			b.WriteString(t.Month().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'Z':
			name, _ := t.Zone()
			b.WriteString(name)
		case 'z':
			b.WriteString(t.Format("-0700"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			if !pad {
				b.WriteByte('-')
			}
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// jsonOptions are the arguments of Hugging Face's tojson filter:
// json.dumps(x, ensure_ascii=False, indent=None, separators=None,
// sort_keys=False).
type jsonOptions struct {
	ensureASCII bool
	indent      string // "" with hasIndent: newlines without indentation
	hasIndent   bool
	itemSep     string
	keySep      string
	sortKeys    bool
}

// toJSON implements the tojson filter with the output of Python's
// json.dumps as Hugging Face calls it: key order kept (the library sorts
// keys when indenting), Python's float repr (22.0, 1e-05), no HTML escaping,
// non-ASCII kept unless ensure_ascii=true. The output's length is counted,
// checked and charged before it is written.
func (st *renderState) toJSON(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("tojson: no input")
	}
	names := []string{"ensure_ascii", "indent", "separators", "sort_keys"}
	params := make(map[string]jinja.Value, len(kwargs)+len(args))
	for i, a := range args[1:] {
		if i >= len(names) {
			return jinja.Undefined(), fmt.Errorf("tojson: too many arguments")
		}
		params[names[i]] = a
	}
	for k, v := range kwargs {
		params[k] = v
	}
	o := jsonOptions{itemSep: ", ", keySep: ": "}
	for k, v := range params {
		switch k {
		case "ensure_ascii":
			o.ensureASCII = v.IsTruthy()
		case "sort_keys":
			o.sortKeys = v.IsTruthy()
		case "indent":
			switch {
			case v.IsNone() || v.IsUndefined():
			case v.IsInt():
				o.hasIndent = true
				o.indent = strings.Repeat(" ", int(max(0, min(v.AsInt(), 64))))
			case v.IsString():
				o.hasIndent = true
				o.indent = v.AsString()
			default:
				return jinja.Undefined(), fmt.Errorf("tojson: indent must be an integer or a string")
			}
		case "separators":
		default:
			return jinja.Undefined(), fmt.Errorf("tojson: unexpected argument %q", k)
		}
	}
	if o.hasIndent {
		o.itemSep = ","
	}
	if v, ok := params["separators"]; ok && !v.IsNone() && !v.IsUndefined() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Items[0].IsString() || !v.AsList().Items[1].IsString() {
			return jinja.Undefined(), fmt.Errorf("tojson: separators must be a pair of strings")
		}
		o.itemSep = v.AsList().Items[0].AsString()
		o.keySep = v.AsList().Items[1].AsString()
	}
	return st.encodeJSON(args[0], &o, "tojson")
}

// encodeJSON writes v as JSON in two passes: the first counts the bytes
// (stopping past MaxValueBytes), the second writes them.
func (st *renderState) encodeJSON(v jinja.Value, o *jsonOptions, what string) (jinja.Value, error) {
	count := jsonWriter{limit: st.limits.MaxValueBytes}
	if err := writeJSON(&count, v, o, 0); err != nil {
		if err == errJSONTooLong {
			return jinja.Undefined(), limitErr(what+" result too long", "MaxValueBytes", st.limits.MaxValueBytes)
		}
		return jinja.Undefined(), fmt.Errorf("%s: %w", what, err)
	}
	if err := st.build(count.n, count.n, what); err != nil {
		return jinja.Undefined(), err
	}
	var b strings.Builder
	b.Grow(count.n)
	w := jsonWriter{b: &b, limit: count.n}
	if err := writeJSON(&w, v, o, 0); err != nil {
		return jinja.Undefined(), fmt.Errorf("%s: %w", what, err)
	}
	return jinja.NewString(b.String()), nil
}

// jsonWriter writes JSON to b, or only counts it when b is nil.
type jsonWriter struct {
	b     *strings.Builder
	n     int // bytes written or counted
	limit int // writeJSON stops with errJSONTooLong past this
}

var errJSONTooLong = errors.New("too long")

func (w *jsonWriter) put(s string) {
	w.n += len(s)
	if w.b != nil {
		w.b.WriteString(s)
	}
}

func (w *jsonWriter) putByte(c byte) {
	w.n++
	if w.b != nil {
		w.b.WriteByte(c)
	}
}

func writeJSON(b *jsonWriter, v jinja.Value, o *jsonOptions, depth int) error {
	if depth > maxValueDepth {
		return fmt.Errorf("value nested more than %d levels deep", maxValueDepth)
	}
	if b.n > b.limit {
		return errJSONTooLong
	}
	newline := func(level int) {
		if o.hasIndent {
			b.putByte('\n')
			for range level {
				b.put(o.indent)
			}
		}
	}
	switch {
	case v.IsNone(), v.IsUndefined():
		// Python would raise on Undefined; Hugging Face's JS port writes
		// null, which is the friendlier of the two for a chat template.
		b.put("null")
	case v.IsBool():
		if v.AsBool() {
			b.put("true")
		} else {
			b.put("false")
		}
	case v.IsInt():
		b.put(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		b.put(pyFloat(v.AsFloat(), true))
	case v.IsString():
		writeJSONString(b, v.AsString(), o.ensureASCII)
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			b.put("[]")
			return nil
		}
		b.putByte('[')
		for i, it := range items {
			if i > 0 {
				b.put(o.itemSep)
			}
			newline(depth + 1)
			if err := writeJSON(b, it, o, depth+1); err != nil {
				return err
			}
		}
		newline(depth)
		b.putByte(']')
	case v.IsDict():
		d := v.AsDict()
		keys := d.Keys
		if o.sortKeys {
			keys = append([]string(nil), keys...)
			sort.Strings(keys)
		}
		if len(keys) == 0 {
			b.put("{}")
			return nil
		}
		b.putByte('{')
		for i, k := range keys {
			if i > 0 {
				b.put(o.itemSep)
			}
			newline(depth + 1)
			writeJSONString(b, k, o.ensureASCII)
			b.put(o.keySep)
			if err := writeJSON(b, d.Data[k], o, depth+1); err != nil {
				return err
			}
		}
		newline(depth)
		b.putByte('}')
	default:
		return fmt.Errorf("cannot encode %s", v.String())
	}
	return nil
}

// writeJSONString writes s as a JSON string the way Python's json.dumps
// does: short escapes for \" \\ \n \r \t \b \f, \u00XX for other control
// characters, and with ensureASCII every non-ASCII character as \uXXXX
// (surrogate pairs above U+FFFF). Invalid UTF-8 bytes are copied as they are.
func writeJSONString(b *jsonWriter, s string, ensureASCII bool) {
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		b.put(`\u`)
		b.putByte(hex[r>>12&0xf])
		b.putByte(hex[r>>8&0xf])
		b.putByte(hex[r>>4&0xf])
		b.putByte(hex[r&0xf])
	}
	b.putByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b.put(`\"`)
			case '\\':
				b.put(`\\`)
			case '\n':
				b.put(`\n`)
			case '\r':
				b.put(`\r`)
			case '\t':
				b.put(`\t`)
			case '\b':
				b.put(`\b`)
			case '\f':
				b.put(`\f`)
			default:
				if c < 0x20 || ensureASCII && c == 0x7f {
					u4(rune(c))
				} else {
					b.putByte(c)
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !ensureASCII || r == utf8.RuneError && n == 1:
			b.put(s[i : i+n])
		case r > 0xffff:
			r -= 0x10000
			u4(0xd800 + r>>10)
			u4(0xdc00 + r&0x3ff)
		default:
			u4(r)
		}
		i += n
	}
	b.putByte('"')
}

// pyFloat formats f as Python's repr(float) does: the shortest digits that
// round-trip, in exponent form when the decimal exponent is below -4 or at
// least 16, and with ".0" on integral values. json selects JSON's spelling
// of the non-finite values.
func pyFloat(f float64, json bool) string {
	switch {
	case math.IsNaN(f):
		if json {
			return "NaN"
		}
		return "nan"
	case math.IsInf(f, 1):
		if json {
			return "Infinity"
		}
		return "inf"
	case math.IsInf(f, -1):
		if json {
			return "-Infinity"
		}
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// apply implements f(*args), which the library cannot parse: templates are
// rewritten to call __sputnik_apply(f, args).
func apply(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 2 || !args[0].IsCallable() {
		return jinja.Undefined(), fmt.Errorf("f(*args): not a callable")
	}
	var list []jinja.Value
	switch {
	case args[1].IsList():
		list = args[1].AsList().Items
	case args[1].IsNone(), args[1].IsUndefined():
	default:
		return jinja.Undefined(), fmt.Errorf("f(*args): argument after * must be a list, not %s", args[1].String())
	}
	return args[0].AsCallable().Fn(append([]jinja.Value(nil), list...), kwargs)
}

// toString implements the string filter. Scalars print as in Python
// (True, None, 22.0). Lists and dicts print as JSON with Python's default
// separators, as @huggingface/jinja does: Python would print their repr
// ({'a': 'b'}), but the reference outputs we test against (cases.json, from
// huggingface.js) use the JSON form, and the two agree on every template
// there except this filter.
func (st *renderState) toString(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("string: no input")
	}
	v := args[0]
	switch {
	case v.IsString():
		return v, nil
	case v.IsNone():
		return jinja.NewString("None"), nil
	case v.IsUndefined():
		return jinja.NewString(""), nil
	case v.IsFloat():
		return jinja.NewString(pyFloat(v.AsFloat(), false)), nil
	case v.IsList(), v.IsDict():
		return st.encodeJSON(v, &jsonOptions{itemSep: ", ", keySep: ": "}, "string")
	}
	return jinja.NewString(v.String()), nil
}

// plain returns v as the library prints it in output (None and Undefined
// as nothing, lists and dicts as Python-style reprs), printing lists and
// dicts in one pass where the library copies each nested value into its
// parent.
func plain(v jinja.Value) string {
	switch {
	case v.IsString():
		return v.AsString()
	case v.IsNone(), v.IsUndefined():
		return ""
	case v.IsList(), v.IsDict():
		var b strings.Builder
		writeRepr(&b, v)
		return b.String()
	}
	return v.String()
}

// writeRepr writes v as the library's Value.String does.
func writeRepr(b *strings.Builder, v jinja.Value) {
	switch {
	case v.IsString():
		b.WriteByte('\'')
		b.WriteString(v.AsString())
		b.WriteByte('\'')
	case v.IsList():
		b.WriteByte('[')
		for i, it := range v.AsList().Items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, it)
		}
		b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		b.WriteByte('{')
		for i, k := range d.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('\'')
			b.WriteString(k)
			b.WriteString("': ")
			writeRepr(b, d.Data[k])
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.String())
	}
}

// text returns v as plain prints it, charging the printing of a list or
// dict (what = the operation, for the error).
func (st *renderState) text(v jinja.Value, what string) (string, error) {
	if v.IsList() || v.IsDict() {
		printed, _, _ := st.measure(v, 0)
		if err := st.build(printed, printed, what); err != nil {
			return "", err
		}
	}
	return plain(v), nil
}
