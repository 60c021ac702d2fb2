package chat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// Our versions of the library's filters that build in proportion to their
// input (the library's allocate first and never check), following Jinja2's
// jinja2/filters.py. Filters the library implements without building
// anything (first, last, default, int, float, round, abs, max, min, sum,
// safe) stay the library's.

type filterFunc = func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error)

// filters returns the implementations of renamedFilters, by original name.
func (st *renderState) filters() map[string]filterFunc {
	caseFilter := func(how string) filterFunc {
		return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) == 0 {
				return jinja.Undefined(), fmt.Errorf("%s: no input", how)
			}
			s, err := st.text(args[0], how)
			if err != nil {
				return jinja.Undefined(), err
			}
			return st.changeCase(s, how)
		}
	}
	return map[string]filterFunc{
		"tojson":     st.toJSON,
		"string":     st.toString,
		"selectattr": st.selectAttr(false),
		"rejectattr": st.selectAttr(true),
		"select":     st.selectTest(false),
		"reject":     st.selectTest(true),
		"sort":       st.sortFilter,
		"dictsort":   st.dictsort,
		"indent":     st.indent,
		"join":       st.join,
		"replace":    st.replaceFilter,
		"list":       st.list,
		"length":     length,
		"reverse":    st.reverse,
		"unique":     st.unique,
		"map":        st.mapFilter,
		"batch":      st.batch,
		"fromjson":   st.fromJSON,
		"escape":     st.escape,
		"trim":       st.trim,
		"lower":      caseFilter("lower"),
		"upper":      caseFilter("upper"),
		"title":      caseFilter("titlefilter"),
		"capitalize": caseFilter("capitalize"),
		"wordcount":  st.wordcount,
		"items":      st.itemsFilter,
		"int":        toInt,
		"float":      toFloat,
	}
}

// replaceFilter implements replace(s, old, new, count=None).
func (st *renderState) replaceFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) < 3 || len(args) > 4 {
		return jinja.Undefined(), fmt.Errorf("replace: want old, new and an optional count")
	}
	if c, ok := kwargs["count"]; ok {
		args = append(args[:3:3], c)
	}
	return st.replace(args, "replace")
}

// seq returns the elements a filter iterates over (see items), charging a
// string's characters, which are built here.
func (st *renderState) seq(v jinja.Value, what string) ([]jinja.Value, error) {
	if v.IsString() {
		if err := st.charge(utf8.RuneCountInString(v.AsString())*itemBytes, what); err != nil {
			return nil, err
		}
	}
	s, err := items(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

// list implements list(value): a list's items, a string's characters, a
// dict's keys.
func (st *renderState) list(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("list: no input")
	}
	if args[0].IsList() {
		return args[0], nil // lists cannot change: no copy needed
	}
	if args[0].IsDict() {
		return st.dictItems(args[0].AsDict(), "keys")
	}
	s, err := st.seq(args[0], "list")
	if err != nil {
		return jinja.Undefined(), err
	}
	return jinja.NewList(s), nil // seq charged the items
}

// length implements length and count: items of a list or dict, characters
// of a string (counted, not converted), 0 otherwise.
func length(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewInt(0), nil
	}
	switch v := args[0]; {
	case v.IsList():
		return jinja.NewInt(int64(len(v.AsList().Items))), nil
	case v.IsDict():
		return jinja.NewInt(int64(len(v.AsDict().Keys))), nil
	case v.IsString():
		return jinja.NewInt(int64(utf8.RuneCountInString(v.AsString()))), nil
	}
	return jinja.NewInt(0), nil
}

// reverse implements reverse(value) for strings and lists.
func (st *renderState) reverse(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("reverse: no input")
	}
	switch v := args[0]; {
	case v.IsString():
		s := v.AsString()
		if err := st.charge(len(s), "reverse"); err != nil {
			return v, err
		}
		b := make([]byte, 0, len(s))
		for o := len(s); o > 0; {
			_, w := utf8.DecodeLastRuneInString(s[:o])
			b = append(b, s[o-w:o]...)
			o -= w
		}
		return jinja.NewString(string(b)), nil
	case v.IsList():
		src := v.AsList().Items
		if err := st.charge(listBytes+len(src)*valueBytes, "reverse"); err != nil {
			return v, err
		}
		out := make([]jinja.Value, len(src))
		for i, it := range src {
			out[len(src)-1-i] = it
		}
		return jinja.NewList(out), nil
	}
	return args[0], nil
}

// unique implements unique(value, case_sensitive=false, attribute=none):
// the first of each group of equal items (strings compared case-folded
// unless case_sensitive). Lists and dicts cannot be compared this way
// (unhashable in Python).
func (st *renderState) unique(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("unique: no input")
	}
	seq, err := st.seq(args[0], "unique")
	if err != nil {
		return jinja.Undefined(), err
	}
	caseSensitive := kwarg(args, kwargs, 1, "case_sensitive", jinja.NewBool(false)).IsTruthy()
	path := ""
	if a := kwarg(args, kwargs, 2, "attribute", jinja.None()); !a.IsNone() && !a.IsUndefined() {
		if path, err = attrArg(a); err != nil {
			return jinja.Undefined(), fmt.Errorf("unique: %w", err)
		}
	}
	mem := listBytes + len(seq)*(valueBytes+entryBytes)
	for _, it := range seq {
		if k := attr(it, path); k.IsString() {
			mem += len(k.AsString())
		}
	}
	if err := st.charge(mem, "unique"); err != nil {
		return jinja.Undefined(), err
	}
	seen := make(map[string]bool, len(seq))
	var out []jinja.Value
	for _, it := range seq {
		k := attr(it, path)
		var key string
		switch {
		case k.IsString() && caseSensitive:
			key = "s" + k.AsString()
		case k.IsString():
			key = "s" + strings.ToLower(k.AsString())
		case k.IsList(), k.IsDict():
			return jinja.Undefined(), fmt.Errorf("unique: a list or dict cannot be compared (unhashable)")
		default:
			if f, ok := number(k); ok {
				key = "n" + strconv.FormatFloat(f, 'g', -1, 64)
			} else {
				key = "o" + plain(k)
			}
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, it)
		}
	}
	return jinja.NewList(out), nil
}

// mapFilter implements map(attribute=name, default=value) and
// map('filter', *args) for the filters of this table.
func (st *renderState) mapFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("map: no input")
	}
	seq, err := st.seq(args[0], "map")
	if err != nil {
		return jinja.Undefined(), err
	}
	if err := st.charge(listBytes+len(seq)*valueBytes, "map"); err != nil {
		return jinja.Undefined(), err
	}
	out := make([]jinja.Value, len(seq))
	if a, ok := kwargs["attribute"]; ok {
		path, err := attrArg(a)
		if err != nil {
			return jinja.Undefined(), fmt.Errorf("map: %w", err)
		}
		def := jinja.Undefined()
		if d, ok := kwargs["default"]; ok {
			if def, err = st.place(d); err != nil {
				return jinja.Undefined(), err
			}
		}
		for i, it := range seq {
			if out[i] = attr(it, path); out[i].IsUndefined() {
				out[i] = def
			}
		}
		v := jinja.NewList(out)
		if !def.IsUndefined() && st.size(v) > st.limits.MaxValueBytes { // the default may repeat
			return jinja.Undefined(), limitErr("map result too long", "MaxValueBytes", st.limits.MaxValueBytes)
		}
		return v, nil
	}
	if len(args) < 2 || !args[1].IsString() {
		return jinja.Undefined(), fmt.Errorf("map: want attribute= or a filter name")
	}
	name := args[1].AsString()
	f, ok := st.filterTable[name]
	if !ok || name == "fromjson" { // ours only checks; the library parses
		return jinja.Undefined(), fmt.Errorf("map: filter %q is not supported", name)
	}
	for i, it := range seq {
		if out[i], err = f(append([]jinja.Value{it}, args[2:]...), kwargs); err != nil {
			return jinja.Undefined(), err
		}
	}
	return jinja.NewList(out), nil
}

// batch implements batch(value, linecount, fill_with=none): the items in
// lists of linecount, the last one filled up with fill_with if given.
func (st *renderState) batch(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) < 2 || !args[1].IsInt() || args[1].AsInt() <= 0 {
		return jinja.Undefined(), fmt.Errorf("batch: want a positive line count")
	}
	seq, err := st.seq(args[0], "batch")
	if err != nil {
		return jinja.Undefined(), err
	}
	n := int(min(args[1].AsInt(), int64(len(seq))+1))
	fill, filled := kwargs["fill_with"]
	if len(args) > 2 {
		fill, filled = args[2], true
	}
	if filled {
		if fill, err = st.place(fill); err != nil {
			return jinja.Undefined(), err
		}
	}
	batches := (len(seq) + n - 1) / n
	if err := st.charge(listBytes+batches*(listBytes+valueBytes)+(len(seq)+n)*valueBytes, "batch"); err != nil {
		return jinja.Undefined(), err
	}
	out := make([]jinja.Value, 0, batches)
	for i := 0; i < len(seq); i += n {
		b := append([]jinja.Value(nil), seq[i:min(i+n, len(seq))]...)
		for filled && len(b) < n {
			b = append(b, fill)
		}
		out = append(out, jinja.NewList(b))
	}
	v := jinja.NewList(out)
	if st.size(v) > st.limits.MaxValueBytes {
		return jinja.Undefined(), limitErr("batch result too long", "MaxValueBytes", st.limits.MaxValueBytes)
	}
	return v, nil
}

// fromJSONBytes is what parsing JSON may allocate per input byte: "[0,0]"
// takes two bytes per number, each a Go value, a template value and their
// boxes.
const fromJSONBytes = 64

// fromJSON checks and charges the input of the library's fromjson filter
// (not a Jinja2 filter), which templates are rewritten to apply right
// after this one (x|fromjson → x|__sputnik_fromjson|fromjson): the parse
// stays the library's, its cost is counted first.
func (st *renderState) fromJSON(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 || !args[0].IsString() {
		return jinja.Undefined(), nil // the library's filter returns Undefined for these
	}
	s := args[0].AsString()
	if len(s) > st.limits.MaxValueBytes/fromJSONBytes {
		return jinja.Undefined(), limitErr("fromjson input too long", "MaxValueBytes", st.limits.MaxValueBytes)
	}
	return args[0], st.charge(len(s)*fromJSONBytes, "fromjson")
}

// escapes are markupsafe's replacements, which Jinja2's escape uses.
var escapes = [256]string{'&': "&amp;", '<': "&lt;", '>': "&gt;", '"': "&#34;", '\'': "&#39;"}

// escape implements escape (e): HTML special characters as entities, the
// result's size computed first.
func (st *renderState) escape(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("escape: no input")
	}
	s, err := st.text(args[0], "escape")
	if err != nil {
		return jinja.Undefined(), err
	}
	size := len(s)
	for i := 0; i < len(s); i++ {
		if e := escapes[s[i]]; e != "" {
			size += len(e) - 1
		}
	}
	if err := st.build(size, size, "escape result"); err != nil {
		return jinja.Undefined(), err
	}
	var b strings.Builder
	b.Grow(size)
	for i := 0; i < len(s); i++ {
		if e := escapes[s[i]]; e != "" {
			b.WriteString(e)
		} else {
			b.WriteByte(s[i])
		}
	}
	return jinja.NewString(b.String()), nil
}

// trim implements trim(value, chars=none).
func (st *renderState) trim(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("trim: no input")
	}
	var chars []jinja.Value
	if c := kwarg(args, kwargs, 1, "chars", jinja.None()); !c.IsNone() {
		chars = []jinja.Value{c}
	}
	s, err := st.text(args[0], "trim")
	if err != nil {
		return jinja.Undefined(), err
	}
	return jinja.NewString(pyStrip(s, "strip", chars)), nil
}

// wordcount implements wordcount: the number of runs of word characters
// (letters, digits, underscore), counted without splitting.
func (st *renderState) wordcount(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewInt(0), nil
	}
	s, err := st.text(args[0], "wordcount")
	if err != nil {
		return jinja.Undefined(), err
	}
	n, in := 0, false
	for _, r := range s {
		w := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
		if w && !in {
			n++
		}
		in = w
	}
	return jinja.NewInt(int64(n)), nil
}

// itemsFilter implements items(value): a dict's [key, value] pairs.
func (st *renderState) itemsFilter(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 || args[0].IsUndefined() {
		return jinja.NewList(nil), nil
	}
	if !args[0].IsDict() {
		// Jinja2's words, which templates may match.
		return jinja.Undefined(), errors.New("Can only get item pairs from a mapping.")
	}
	return st.dictItems(args[0].AsDict(), "items")
}

// selectTest implements select and reject: the items that pass the test
// named by the first argument (or are truthy without one), or fail it.
func (st *renderState) selectTest(reject bool) filterFunc {
	name := "select"
	if reject {
		name = "reject"
	}
	return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) == 0 {
			return jinja.Undefined(), fmt.Errorf("%s: no input", name)
		}
		seq, err := st.seq(args[0], name)
		if err != nil {
			return jinja.Undefined(), err
		}
		test := ""
		if len(args) > 1 {
			if !args[1].IsString() {
				return jinja.Undefined(), fmt.Errorf("%s: test name must be a string", name)
			}
			test = args[1].AsString()
		}
		if err := st.charge(listBytes+len(seq)*valueBytes, name); err != nil {
			return jinja.Undefined(), err
		}
		var out []jinja.Value
		for _, it := range seq {
			ok := it.IsTruthy()
			if test != "" {
				if ok, err = runTest(test, it, args[2:]); err != nil {
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

// maxNumber bounds the strings int and float parse (the library's scan
// would copy a string of any length).
const maxNumber = 1024

// toInt implements int(value, default=0, base=10): a number truncated, a
// string parsed in base (or as a float, then truncated), default otherwise.
func toInt(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewInt(0), nil
	}
	def := kwarg(args, kwargs, 1, "default", jinja.NewInt(0))
	base := kwarg(args, kwargs, 2, "base", jinja.NewInt(10))
	switch v := args[0]; {
	case v.IsInt():
		return v, nil
	case v.IsBool():
		return jinja.NewInt(int64(intOf(v))), nil
	case v.IsFloat():
		return jinja.NewInt(int64(v.AsFloat())), nil
	case v.IsString() && len(v.AsString()) <= maxNumber && base.IsInt():
		s := strings.TrimSpace(v.AsString())
		if n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), int(base.AsInt()), 64); err == nil {
			return jinja.NewInt(n), nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return jinja.NewInt(int64(f)), nil
		}
	}
	return def, nil
}

// toFloat implements float(value, default=0.0).
func toFloat(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewFloat(0), nil
	}
	def := kwarg(args, kwargs, 1, "default", jinja.NewFloat(0))
	switch v := args[0]; {
	case v.IsFloat():
		return v, nil
	case v.IsInt(), v.IsBool():
		return jinja.NewFloat(float64(intOf(v))), nil
	case v.IsString() && len(v.AsString()) <= maxNumber:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v.AsString()), 64); err == nil {
			return jinja.NewFloat(f), nil
		}
	}
	return def, nil
}
