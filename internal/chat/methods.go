package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// Methods of strings, lists and dicts. The library's own (eval.go's
// stringMethod, listMethod, dictMethod) build results of any size and let
// templates change lists, so templates are rewritten to reach every
// attribute with one of these names through attrName (x.split(…) becomes
// x|__sputnik_attr('split')(…)), and these versions, which follow Python,
// check and charge what they build first.

// methodNames are the attribute names the library resolves to a method on
// some type; every x.name with one of these names is rewritten.
var methodNames = map[string]bool{
	"strip": true, "lstrip": true, "rstrip": true, "split": true, "startswith": true,
	"endswith": true, "replace": true, "upper": true, "lower": true, "title": true,
	"capitalize": true, "count": true, "find": true, "format": true,
	"append": true, "pop": true, "insert": true,
	"items": true, "keys": true, "values": true, "get": true, "update": true,
}

// attribute implements x.name for the names in methodNames: a dict's own
// key first, as the library does, then the method; Undefined for a name
// the type has no method for.
func (st *renderState) attribute(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 2 || !args[1].IsString() {
		return jinja.Undefined(), fmt.Errorf("%s: want an object and a name", attrName)
	}
	obj, name := args[0], args[1].AsString()
	var fn filterFunc
	typ := "str."
	switch {
	case obj.IsDict():
		if v, ok := obj.AsDict().Get(name); ok {
			return v, nil
		}
		fn, typ = st.dictMethod(obj.AsDict(), name), "dict."
	case obj.IsString():
		fn = st.stringMethod(obj.AsString(), name)
	case obj.IsList():
		switch name {
		case "append", "pop", "insert":
			return jinja.Undefined(), errImmutable("list." + name)
		}
	}
	if fn == nil {
		return jinja.Undefined(), nil
	}
	return jinja.NewCallable(typ+name, fn), nil
}

func (st *renderState) dictMethod(d *jinja.Dict, name string) filterFunc {
	switch name {
	case "items", "keys", "values":
		return func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			return st.dictItems(d, name)
		}
	case "get":
		return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) == 0 || len(args) > 2 {
				return jinja.Undefined(), fmt.Errorf("dict.get: want a key and an optional default")
			}
			if k, ok := keyString(args[0]); ok {
				if v, ok := d.Get(k); ok {
					return v, nil
				}
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return jinja.None(), nil
		}
	case "pop", "update":
		return func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			return jinja.Undefined(), errImmutable("dict." + name)
		}
	}
	return nil
}

// dictItems returns a dict's keys, values or [key, value] pairs as a list.
func (st *renderState) dictItems(d *jinja.Dict, what string) (jinja.Value, error) {
	per := itemBytes
	if what == "items" {
		per += 2*itemBytes + listBytes
	}
	if err := st.charge(listBytes+len(d.Keys)*per, "dict."+what); err != nil {
		return jinja.Undefined(), err
	}
	out := make([]jinja.Value, len(d.Keys))
	for i, k := range d.Keys {
		switch what {
		case "keys":
			out[i] = jinja.NewString(k)
		case "values":
			out[i] = d.Data[k]
		default:
			out[i] = jinja.NewList([]jinja.Value{jinja.NewString(k), d.Data[k]})
		}
	}
	return jinja.NewList(out), nil
}

// keyString returns the dict key the library looks a subscript or get()
// up by: a string as it is, a number or boolean as printed. Lists and dicts
// are not keys (unhashable in Python).
func keyString(k jinja.Value) (string, bool) {
	switch {
	case k.IsString():
		return k.AsString(), true
	case k.IsList(), k.IsDict(), k.IsCallable():
		return "", false
	}
	return plain(k), true
}

func (st *renderState) stringMethod(s, name string) filterFunc {
	str := func(r string) (jinja.Value, error) { return jinja.NewString(r), nil }
	switch name {
	case "strip", "lstrip", "rstrip":
		return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) > 1 {
				return jinja.Undefined(), fmt.Errorf("str.%s: want at most one argument", name)
			}
			return str(pyStrip(s, name, args))
		}
	case "split":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			return st.split(s, args, kwargs)
		}
	case "startswith", "endswith":
		return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 {
				return jinja.Undefined(), fmt.Errorf("str.%s: want one argument", name)
			}
			test := strings.HasPrefix
			if name == "endswith" {
				test = strings.HasSuffix
			}
			fixes := []jinja.Value{args[0]}
			if args[0].IsList() { // a tuple of choices, as in Python
				fixes = args[0].AsList().Items
			}
			for _, f := range fixes {
				if !f.IsString() {
					return jinja.Undefined(), fmt.Errorf("str.%s: want a string or a tuple of strings", name)
				}
				if test(s, f.AsString()) {
					return jinja.NewBool(true), nil
				}
			}
			return jinja.NewBool(false), nil
		}
	case "replace":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if len(args) < 2 {
				return jinja.Undefined(), fmt.Errorf("str.replace: want old and new")
			}
			if c, ok := kwargs["count"]; ok {
				args = append(args[:2:2], c)
			}
			return st.replace(append([]jinja.Value{jinja.NewString(s)}, args...), "str.replace")
		}
	case "upper", "lower", "title", "capitalize":
		return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			return st.changeCase(s, name)
		}
	case "count", "find":
		return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || !args[0].IsString() {
				return jinja.Undefined(), fmt.Errorf("str.%s: want one string", name)
			}
			sub := args[0].AsString()
			if name == "count" {
				return jinja.NewInt(int64(strings.Count(s, sub))), nil
			}
			i := strings.Index(s, sub)
			if i > 0 {
				i = utf8.RuneCountInString(s[:i]) // Python counts characters
			}
			return jinja.NewInt(int64(i)), nil
		}
	case "format":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			return st.format(s, args, kwargs)
		}
	}
	return nil
}

// pyStrip implements str.strip, lstrip and rstrip: whitespace, or the
// characters of the one argument (None meaning whitespace).
func pyStrip(s, name string, args []jinja.Value) string {
	var chars string
	space := len(args) == 0 || args[0].IsNone() || args[0].IsUndefined()
	if !space {
		if !args[0].IsString() {
			return s // Python: TypeError; no characters to strip
		}
		chars = args[0].AsString()
	}
	switch {
	case name == "lstrip" && space:
		return strings.TrimLeftFunc(s, unicode.IsSpace)
	case name == "lstrip":
		return strings.TrimLeft(s, chars)
	case name == "rstrip" && space:
		return strings.TrimRightFunc(s, unicode.IsSpace)
	case name == "rstrip":
		return strings.TrimRight(s, chars)
	case space:
		return strings.TrimSpace(s)
	}
	return strings.Trim(s, chars)
}

// split implements str.split(sep=None, maxsplit=-1): on runs of whitespace
// without sep, at each sep otherwise, at most maxsplit times.
func (st *renderState) split(s string, args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	sep, max := jinja.None(), jinja.NewInt(-1)
	if len(args) > 0 {
		sep = args[0]
	}
	if len(args) > 1 {
		max = args[1]
	}
	if v, ok := kwargs["sep"]; ok {
		sep = v
	}
	if v, ok := kwargs["maxsplit"]; ok {
		max = v
	}
	if len(args) > 2 || !max.IsInt() {
		return jinja.Undefined(), fmt.Errorf("str.split: want sep and an integer maxsplit")
	}
	n := int(max.AsInt())
	var parts []string
	switch {
	case sep.IsNone() || sep.IsUndefined():
		count := 0
		for f := range strings.FieldsFuncSeq(s, unicode.IsSpace) {
			_ = f
			count++
		}
		if n >= 0 {
			count = min(count, n+1)
		}
		if err := st.charge(listBytes+count*itemBytes, "str.split"); err != nil {
			return jinja.Undefined(), err
		}
		parts = make([]string, 0, count)
		rest := strings.TrimLeftFunc(s, unicode.IsSpace)
		for rest != "" {
			if n >= 0 && len(parts) == n {
				parts = append(parts, rest) // Python keeps the remainder's trailing space
				break
			}
			end := strings.IndexFunc(rest, unicode.IsSpace)
			if end < 0 {
				parts = append(parts, rest)
				break
			}
			parts = append(parts, rest[:end])
			rest = strings.TrimLeftFunc(rest[end:], unicode.IsSpace)
		}
	case sep.IsString():
		if sep.AsString() == "" {
			return jinja.Undefined(), fmt.Errorf("str.split: empty separator")
		}
		count := strings.Count(s, sep.AsString()) + 1
		if n >= 0 {
			count = min(count, n+1)
		}
		if err := st.charge(listBytes+count*itemBytes, "str.split"); err != nil {
			return jinja.Undefined(), err
		}
		parts = strings.SplitN(s, sep.AsString(), count)
	default:
		return jinja.Undefined(), fmt.Errorf("str.split: separator must be a string or None")
	}
	items := make([]jinja.Value, len(parts))
	for i, p := range parts {
		items[i] = jinja.NewString(p)
	}
	return jinja.NewList(items), nil
}

// replace implements the replace filter and str.replace: s, old, new and
// an optional count, with the result's size checked before it is built.
func (st *renderState) replace(args []jinja.Value, what string) (jinja.Value, error) {
	var strs [3]string
	for i := range strs {
		var err error
		if strs[i], err = st.text(args[i], what); err != nil {
			return jinja.Undefined(), err
		}
	}
	s, old, repl := strs[0], strs[1], strs[2]
	count := -1
	if len(args) > 3 {
		count = intOf(args[3])
	}
	n := strings.Count(s, old)
	if count >= 0 {
		n = min(n, count)
	}
	size := len(s) + n*(len(repl)-len(old))
	if n > 0 && len(repl) > len(old) && n > (st.limits.MaxValueBytes-len(s))/(len(repl)-len(old)) {
		size = st.limits.MaxValueBytes + 1 // n × growth would overflow
	}
	if err := st.build(size, size, what+" result"); err != nil {
		return jinja.Undefined(), err
	}
	return jinja.NewString(strings.Replace(s, old, repl, count)), nil
}

// changeCase implements upper, lower, title and capitalize the way Python
// does (title: each run of letters starts upper case, the rest is lower),
// and, as "titlefilter", Jinja2's title filter (a word starts after
// whitespace or one of -([{<). Bytes that are not UTF-8 are kept. The
// result's exact size is computed first.
func (st *renderState) changeCase(s, how string) (jinja.Value, error) {
	each := func(emit func(r rune, raw string)) {
		prev := rune(-1) // none yet
		for i := 0; i < len(s); {
			r, w := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 {
				emit(-1, s[i:i+1])
				prev, i = r, i+1
				continue
			}
			var start bool
			switch how {
			case "upper":
			case "lower":
			case "capitalize":
				start = i == 0
			case "title":
				start = prev < 0 || !unicode.IsLetter(prev)
			default:
				start = prev < 0 || unicode.IsSpace(prev) || strings.ContainsRune("-([{<", prev)
			}
			prev = r
			switch {
			case how == "upper":
				r = unicode.ToUpper(r)
			case start:
				r = unicode.ToTitle(r)
			default:
				r = unicode.ToLower(r)
			}
			emit(r, "")
			i += w
		}
	}
	size := 0
	each(func(r rune, raw string) {
		if r < 0 {
			size += len(raw)
		} else {
			size += utf8.RuneLen(r)
		}
	})
	if err := st.build(size, size, how); err != nil {
		return jinja.Undefined(), err
	}
	var b strings.Builder
	b.Grow(size)
	each(func(r rune, raw string) {
		if r < 0 {
			b.WriteString(raw)
		} else {
			b.WriteRune(r)
		}
	})
	return jinja.NewString(b.String()), nil
}

// format implements str.format for the fields chat templates use: {} and
// {0} (positional), {name} (keyword), {{ and }} (literal braces). Format
// specs and conversions (":>10", "!r") are refused. The result's size is
// computed, checked and charged before it is built.
func (st *renderState) format(s string, args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	size := 0
	err := formatEach(s, args, kwargs, func(text string, arg jinja.Value, isArg bool) {
		if isArg {
			size += min(st.size(arg), st.sizeCap)
		} else {
			size += len(text)
		}
		size = min(size, st.sizeCap)
	})
	if err != nil {
		return jinja.Undefined(), err
	}
	if err := st.build(size, size, "str.format result"); err != nil {
		return jinja.Undefined(), err
	}
	var b strings.Builder
	b.Grow(size)
	formatEach(s, args, kwargs, func(text string, arg jinja.Value, isArg bool) {
		if isArg {
			b.WriteString(pyStr(arg))
		} else {
			b.WriteString(text)
		}
	})
	return jinja.NewString(b.String()), nil
}

// formatEach calls f with each piece of the format string s in order:
// literal text, or the argument a replacement field names.
func formatEach(s string, args []jinja.Value, kwargs map[string]jinja.Value, f func(text string, arg jinja.Value, isArg bool)) error {
	auto := 0
	for len(s) > 0 {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			f(s, jinja.Value{}, false)
			break
		}
		if i > 0 {
			f(s[:i], jinja.Value{}, false)
		}
		if i+1 < len(s) && s[i+1] == s[i] { // {{ or }}
			f(s[i:i+1], jinja.Value{}, false)
			s = s[i+2:]
			continue
		}
		if s[i] == '}' {
			return fmt.Errorf("str.format: single '}' in the format string")
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return fmt.Errorf("str.format: unclosed '{' in the format string")
		}
		field := s[i+1 : i+end]
		s = s[i+end+1:]
		var v jinja.Value
		switch n, err := strconv.Atoi(field); {
		case field == "":
			if auto >= len(args) {
				return fmt.Errorf("str.format: not enough arguments")
			}
			v = args[auto]
			auto++
		case err == nil:
			if n < 0 || n >= len(args) {
				return fmt.Errorf("str.format: no argument %d", n)
			}
			v = args[n]
		case isName(field):
			a, ok := kwargs[field]
			if !ok {
				return fmt.Errorf("str.format: no argument %q", field)
			}
			v = a
		default:
			return fmt.Errorf("str.format: field {%s} is not supported (only {}, {0} and {name})", field)
		}
		f("", v, true)
	}
	return nil
}

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isIdentPart(s[i]) || i == 0 && !isIdentStart(s[i]) {
			return false
		}
	}
	return s != ""
}

// pyStr is Python's str(x) for a template value.
func pyStr(v jinja.Value) string {
	switch {
	case v.IsString():
		return v.AsString()
	case v.IsNone():
		return "None"
	case v.IsFloat():
		return pyFloat(v.AsFloat(), false)
	case v.IsUndefined():
		return ""
	}
	return plain(v)
}
