package chat

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// Replacements for library filters whose behaviour departs from Jinja2's
// (selectattr with one argument panics, sort and dictsort ignore their
// options, indent indents blank lines). They follow jinja2/filters.py.

// attr looks up a dotted attribute path ("details.priority", "0.name") on
// v, as Jinja2's make_attrgetter does; a missing step gives Undefined.
func attr(v jinja.Value, path string) jinja.Value {
	if path == "" {
		return v
	}
	for rest, more := path, true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ".")
		switch {
		case v.IsDict():
			x, ok := v.AsDict().Get(part)
			if !ok {
				return jinja.Undefined()
			}
			v = x
		case v.IsList():
			i, err := strconv.Atoi(part)
			items := v.AsList().Items
			if err != nil || i < 0 || i >= len(items) {
				return jinja.Undefined()
			}
			v = items[i]
		default:
			return jinja.Undefined()
		}
	}
	return v
}

// attrArg reads a filter's attribute argument, which may be a string path
// or an integer index.
func attrArg(v jinja.Value) (string, error) {
	switch {
	case v.IsString():
		return v.AsString(), nil
	case v.IsInt():
		return strconv.FormatInt(v.AsInt(), 10), nil
	}
	return "", fmt.Errorf("attribute must be a string, not %s", v.String())
}

// items returns the elements a filter iterates over: a list's items, a
// dict's keys, a string's characters; none and undefined are empty.
func items(v jinja.Value) ([]jinja.Value, error) {
	switch {
	case v.IsList():
		return v.AsList().Items, nil
	case v.IsDict():
		d := v.AsDict()
		out := make([]jinja.Value, len(d.Keys))
		for i, k := range d.Keys {
			out[i] = jinja.NewString(k)
		}
		return out, nil
	case v.IsString():
		s := v.AsString()
		out := make([]jinja.Value, 0, utf8.RuneCountInString(s))
		for i := 0; i < len(s); {
			_, n := utf8.DecodeRuneInString(s[i:])
			out = append(out, jinja.NewString(s[i:i+n]))
			i += n
		}
		return out, nil
	case v.IsNone(), v.IsUndefined():
		return nil, nil
	}
	return nil, fmt.Errorf("%s is not iterable", v.String())
}

// selectAttr implements selectattr (reject false) and rejectattr (reject
// true): items whose attribute passes the test, or is truthy when no test
// is named.
func (st *renderState) selectAttr(reject bool) func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
	name := "selectattr"
	if reject {
		name = "rejectattr"
	}
	return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) < 2 {
			return jinja.Undefined(), fmt.Errorf("%s: want an attribute name", name)
		}
		seq, err := items(args[0])
		if err != nil {
			return jinja.Undefined(), fmt.Errorf("%s: %w", name, err)
		}
		path, err := attrArg(args[1])
		if err != nil {
			return jinja.Undefined(), fmt.Errorf("%s: %w", name, err)
		}
		test := ""
		if len(args) > 2 {
			if !args[2].IsString() {
				return jinja.Undefined(), fmt.Errorf("%s: test name must be a string", name)
			}
			test = args[2].AsString()
		}
		if err := st.charge(listBytes+len(seq)*valueBytes, name); err != nil {
			return jinja.Undefined(), err
		}
		var out []jinja.Value
		for _, it := range seq {
			a := attr(it, path)
			ok := a.IsTruthy()
			if test != "" {
				if ok, err = runTest(test, a, args[3:]); err != nil {
					return jinja.Undefined(), fmt.Errorf("%s: %w", name, err)
				}
			}
			if ok != reject {
				out = append(out, it)
			}
		}
		return jinja.NewList(out), nil
	}
}

// runTest evaluates the Jinja test named name, for selectattr and
// rejectattr.
func runTest(name string, v jinja.Value, args []jinja.Value) (bool, error) {
	arg := func() (jinja.Value, error) {
		if len(args) < 1 {
			return jinja.Value{}, fmt.Errorf("test %q needs an argument", name)
		}
		return args[0], nil
	}
	switch name {
	case "defined":
		return !v.IsUndefined(), nil
	case "undefined":
		return v.IsUndefined(), nil
	case "none":
		return v.IsNone(), nil
	case "true":
		return v.IsBool() && v.AsBool(), nil
	case "false":
		return v.IsBool() && !v.AsBool(), nil
	case "boolean":
		return v.IsBool(), nil
	case "string":
		return v.IsString(), nil
	case "number":
		return v.IsNumber(), nil
	case "integer":
		return v.IsInt(), nil
	case "float":
		return v.IsFloat(), nil
	case "mapping":
		return v.IsDict(), nil
	case "sequence", "iterable":
		return v.IsList() || v.IsDict() || v.IsString(), nil
	case "callable":
		return v.IsCallable(), nil
	case "eq", "equalto", "==", "sameas":
		a, err := arg()
		return err == nil && equal(v, a), err
	case "ne", "!=":
		a, err := arg()
		return err == nil && !equal(v, a), err
	case "gt", "greaterthan", ">", "ge", ">=", "lt", "lessthan", "<", "le", "<=":
		a, err := arg()
		if err != nil {
			return false, err
		}
		c, err := compare(v, a, true)
		if err != nil {
			return false, err
		}
		switch name {
		case "gt", "greaterthan", ">":
			return c > 0, nil
		case "ge", ">=":
			return c >= 0, nil
		case "lt", "lessthan", "<":
			return c < 0, nil
		}
		return c <= 0, nil
	case "in":
		a, err := arg()
		if err != nil {
			return false, err
		}
		if a.IsString() {
			if !v.IsString() {
				return false, fmt.Errorf("test in: a string can only contain a string")
			}
			return strings.Contains(a.AsString(), v.AsString()), nil
		}
		seq, err := items(a)
		if err != nil {
			return false, err
		}
		for _, x := range seq {
			if equal(v, x) {
				return true, nil
			}
		}
		return false, nil
	case "odd", "even":
		if !v.IsInt() {
			return false, fmt.Errorf("test %q needs an integer", name)
		}
		return (v.AsInt()%2 == 0) == (name == "even"), nil
	case "lower", "upper":
		if !v.IsString() {
			return false, nil
		}
		s := v.AsString()
		if name == "lower" {
			return s == strings.ToLower(s), nil
		}
		return s == strings.ToUpper(s), nil
	}
	return false, fmt.Errorf("unknown test %q", name)
}

// number returns v as a float64 for comparisons, with booleans as 0 and 1
// as in Python.
func number(v jinja.Value) (float64, bool) {
	switch {
	case v.IsInt():
		return float64(v.AsInt()), true
	case v.IsFloat():
		return v.AsFloat(), true
	case v.IsBool():
		if v.AsBool() {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// equal is Python's ==: numbers compare by value across int, float and
// bool; other values by kind and content.
func equal(a, b jinja.Value) bool {
	x, okA := number(a)
	y, okB := number(b)
	if okA && okB {
		return x == y
	}
	return a.Equals(b)
}

// compare orders two values as Python's < does for the types templates
// sort: numbers (and booleans) with numbers, strings with strings
// (case-folded unless caseSensitive); anything else is an error, as in
// Python.
func compare(a, b jinja.Value, caseSensitive bool) (int, error) {
	x, okA := number(a)
	y, okB := number(b)
	switch {
	case okA && okB:
		switch {
		case x < y:
			return -1, nil
		case x > y:
			return 1, nil
		}
		return 0, nil
	case a.IsString() && b.IsString():
		if caseSensitive {
			return strings.Compare(a.AsString(), b.AsString()), nil
		}
		return foldCompare(a.AsString(), b.AsString()), nil
	case a.IsNone() && b.IsNone(), a.IsUndefined() && b.IsUndefined():
		return 0, nil
	}
	return 0, fmt.Errorf("cannot compare %s and %s", a.String(), b.String())
}

// foldCompare is strings.Compare of the two strings lower-cased, without
// building them.
func foldCompare(s, t string) int {
	for s != "" && t != "" {
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(t)
		if l1, l2 := unicode.ToLower(r1), unicode.ToLower(r2); l1 != l2 {
			if l1 < l2 {
				return -1
			}
			return 1
		}
		s, t = s[n1:], t[n2:]
	}
	switch {
	case s == t:
		return 0
	case s == "":
		return -1
	}
	return 1
}

// kwarg returns a keyword argument, or the positional argument at index i
// (counting the filter input as 0), or def.
func kwarg(args []jinja.Value, kwargs map[string]jinja.Value, i int, name string, def jinja.Value) jinja.Value {
	if v, ok := kwargs[name]; ok {
		return v
	}
	if i < len(args) {
		return args[i]
	}
	return def
}

// sortFilter implements sort(reverse=false, case_sensitive=false,
// attribute=none): a stable sort.
func (st *renderState) sortFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("sort: no input")
	}
	seq, err := items(args[0])
	if err != nil {
		return jinja.Undefined(), fmt.Errorf("sort: %w", err)
	}
	reverse := kwarg(args, kwargs, 1, "reverse", jinja.NewBool(false)).IsTruthy()
	caseSensitive := kwarg(args, kwargs, 2, "case_sensitive", jinja.NewBool(false)).IsTruthy()
	path := ""
	if a := kwarg(args, kwargs, 3, "attribute", jinja.None()); !a.IsNone() && !a.IsUndefined() {
		if path, err = attrArg(a); err != nil {
			return jinja.Undefined(), fmt.Errorf("sort: %w", err)
		}
	}
	if err := st.charge(listBytes+len(seq)*valueBytes, "sort"); err != nil {
		return jinja.Undefined(), err
	}
	out := append([]jinja.Value(nil), seq...)
	if err := sortValues(out, func(v jinja.Value) jinja.Value { return attr(v, path) }, caseSensitive, reverse); err != nil {
		return jinja.Undefined(), fmt.Errorf("sort: %w", err)
	}
	return jinja.NewList(out), nil
}

// sortValues sorts vs stably by key, failing if two keys cannot be
// compared.
func sortValues(vs []jinja.Value, key func(jinja.Value) jinja.Value, caseSensitive, reverse bool) error {
	var err error
	sort.SliceStable(vs, func(i, j int) bool {
		c, e := compare(key(vs[i]), key(vs[j]), caseSensitive)
		if e != nil && err == nil {
			err = e
		}
		if reverse {
			return c > 0
		}
		return c < 0
	})
	return err
}

// dictsort implements dictsort(case_sensitive=false, by='key',
// reverse=false): the dict's [key, value] pairs, sorted.
func (st *renderState) dictsort(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 || !args[0].IsDict() {
		return jinja.Undefined(), fmt.Errorf("dictsort: input must be a dict")
	}
	caseSensitive := kwarg(args, kwargs, 1, "case_sensitive", jinja.NewBool(false)).IsTruthy()
	by := kwarg(args, kwargs, 2, "by", jinja.NewString("key"))
	reverse := kwarg(args, kwargs, 3, "reverse", jinja.NewBool(false)).IsTruthy()
	pos := 0
	switch {
	case by.IsString() && by.AsString() == "key":
	case by.IsString() && by.AsString() == "value":
		pos = 1
	default:
		return jinja.Undefined(), fmt.Errorf("dictsort: by must be 'key' or 'value'")
	}
	d := args[0].AsDict()
	if err := st.charge(listBytes+len(d.Keys)*(3*itemBytes+listBytes), "dictsort"); err != nil {
		return jinja.Undefined(), err
	}
	pairs := make([]jinja.Value, len(d.Keys))
	for i, k := range d.Keys {
		pairs[i] = jinja.NewList([]jinja.Value{jinja.NewString(k), d.Data[k]})
	}
	key := func(v jinja.Value) jinja.Value { return v.AsList().Items[pos] }
	if err := sortValues(pairs, key, caseSensitive, reverse); err != nil {
		return jinja.Undefined(), fmt.Errorf("dictsort: %w", err)
	}
	return jinja.NewList(pairs), nil
}

// indent implements indent(width=4, first=false, blank=false): every line
// after the first (and the first too with first=true) is indented by width
// spaces (or by width itself if it is a string); blank lines only with
// blank=true. The result's size is checked before it is built.
func (st *renderState) indent(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("indent: no input")
	}
	s, err := st.text(args[0], "indent")
	if err != nil {
		return jinja.Undefined(), err
	}
	w := kwarg(args, kwargs, 1, "width", jinja.NewInt(4))
	var pad string
	switch {
	case w.IsString():
		pad = w.AsString()
	case w.IsInt():
		pad = strings.Repeat(" ", int(max(0, min(w.AsInt(), 1024))))
	default:
		return jinja.Undefined(), fmt.Errorf("indent: width must be an integer or a string")
	}
	first := kwarg(args, kwargs, 2, "first", jinja.NewBool(false)).IsTruthy()
	blank := kwarg(args, kwargs, 3, "blank", jinja.NewBool(false)).IsTruthy()

	// Count the lines that get the pad before building anything.
	if err := st.charge(len(s)+1, "indent"); err != nil {
		return jinja.Undefined(), err
	}
	src := s + "\n"
	padded := 0
	if first {
		padded++
	}
	i := 0
	eachLine(src, func(l string) {
		if i > 0 && (blank || l != "") {
			padded++
		}
		i++
	})
	size := len(s)
	if len(pad) > 0 {
		if padded > (st.limits.MaxValueBytes-len(s))/len(pad) {
			size = st.limits.MaxValueBytes + 1
		} else {
			size += padded * len(pad)
		}
	}
	if err := st.build(size, 2*size+i*boxBytes, "indent result"); err != nil {
		return jinja.Undefined(), err
	}
	lines := splitLines(src)
	var b strings.Builder
	b.Grow(size)
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
			if blank || l != "" {
				b.WriteString(pad)
			}
		}
		b.WriteString(l)
	}
	rv := b.String()
	if first {
		rv = pad + rv
	}
	return jinja.NewString(rv), nil
}

// splitLines is Python's str.splitlines(): it splits at every line
// boundary Python knows and drops a final empty piece.
func splitLines(s string) []string {
	var lines []string
	eachLine(s, func(l string) { lines = append(lines, l) })
	return lines
}

// eachLine calls f with each line of s as splitLines returns them.
func eachLine(s string, f func(string)) {
	start := 0
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= 0x80 {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				n = 2
			}
		default:
			i += n
			continue
		}
		f(s[start:i])
		i += n
		start = i
	}
	if start < len(s) {
		f(s[start:])
	}
}
