package chat

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// Subscripts, slices, literals, for-loop iterables, namespace assignment
// and {% call %} results, which the template rewrite (rewritePostfix,
// rewriteStatement) routes through these functions so that each checks
// and charges what it builds (see budget.go).

// Names of the callables the rewritten source calls.
const (
	attrName    = "__sputnik_attr"    // x.m → x|__sputnik_attr('m'), for m in methodNames
	itemName    = "__sputnik_item"    // x[k] → x|__sputnik_item(k)
	sliceName   = "__sputnik_slice"   // x[a:b:c] → x|__sputnik_slice(a, b, c)
	litName     = "__sputnik_lit"     // [a, b], (a, b), {k: v} → __sputnik_lit(…)
	keyName     = "__sputnik_key"     // {k: v} → {__sputnik_key(k): v}
	iterName    = "__sputnik_iter"    // for x in e → for x in __sputnik_iter(e)
	setAttrName = "__sputnik_setattr" // set ns.a = e → set ns.a = __sputnik_setattr(ns, 'a', e)
	callOutName = "__sputnik_callout" // {% call f(…) %} → {% call __sputnik_callout(f)(…) %}
)

// item implements x[k]: a list's item (negative counts from the end), a
// dict's value, a string's character; Undefined when there is none.
func (st *renderState) item(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 2 {
		return jinja.Undefined(), fmt.Errorf("%s: want an object and a key", itemName)
	}
	x, k := args[0], args[1]
	switch {
	case x.IsDict():
		if key, ok := keyString(k); ok {
			if v, ok := x.AsDict().Get(key); ok {
				return v, nil
			}
		}
	case x.IsList():
		if i, ok := index(k); ok {
			items := x.AsList().Items
			if i < 0 {
				i += int64(len(items))
			}
			if 0 <= i && i < int64(len(items)) {
				return items[i], nil
			}
		}
	case x.IsString():
		if i, ok := index(k); ok {
			s := x.AsString()
			if i < 0 {
				i += int64(utf8.RuneCountInString(s))
			}
			if o := runeOffset(s, i); i >= 0 && o < len(s) {
				_, n := utf8.DecodeRuneInString(s[o:])
				return jinja.NewString(s[o : o+n]), nil
			}
		}
	}
	return jinja.Undefined(), nil
}

// index returns a subscript as an integer index, if it is one.
func index(k jinja.Value) (int64, bool) {
	switch {
	case k.IsInt():
		return k.AsInt(), true
	case k.IsBool():
		if k.AsBool() {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// slice implements x[start:stop:step] with Python's rules (bounds clamped
// to the sequence, None for a missing part) for lists and strings.
func (st *renderState) slice(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 4 {
		return jinja.Undefined(), fmt.Errorf("%s: want an object and three bounds", sliceName)
	}
	x := args[0]
	var n int64
	switch {
	case x.IsList():
		n = int64(len(x.AsList().Items))
	case x.IsString():
		n = int64(utf8.RuneCountInString(x.AsString()))
	default:
		return jinja.Undefined(), nil
	}
	start, stop, step, err := sliceIndices(args[1], args[2], args[3], n)
	if err != nil {
		return jinja.Undefined(), err
	}
	count := int64(0)
	switch {
	case step > 0 && stop > start:
		count = (stop - start + step - 1) / step
	case step < 0 && start > stop:
		count = (start - stop - step - 1) / -step
	}
	if x.IsList() {
		if err := st.charge(listBytes+int(count)*valueBytes, "slice"); err != nil {
			return jinja.Undefined(), err
		}
		items := x.AsList().Items
		out := make([]jinja.Value, 0, count)
		for i := start; len(out) < int(count); i += step {
			out = append(out, items[i])
		}
		return jinja.NewList(out), nil
	}
	s := x.AsString()
	if step == 1 { // a substring: no copy
		return jinja.NewString(s[runeOffset(s, start):runeOffset(s, max(stop, start))]), nil
	}
	if err := st.charge(int(count)*utf8.UTFMax, "slice"); err != nil {
		return jinja.Undefined(), err
	}
	// Walk the string once, forwards or backwards, keeping every step-th
	// character from start on.
	var b strings.Builder
	b.Grow(int(count))
	if step > 0 {
		i := int64(0)
		for _, c := range s {
			if i >= start && (i-start)%step == 0 && i < stop {
				b.WriteRune(c)
			}
			i++
		}
	} else {
		i := n - 1
		for o := len(s); o > 0; i-- {
			c, w := utf8.DecodeLastRuneInString(s[:o])
			o -= w
			if i <= start && (start-i)%(-step) == 0 && i > stop {
				b.WriteRune(c)
			}
		}
	}
	return jinja.NewString(b.String()), nil
}

// sliceIndices is Python's slice.indices(n).
func sliceIndices(a, b, c jinja.Value, n int64) (start, stop, step int64, err error) {
	step = 1
	if !c.IsNone() && !c.IsUndefined() {
		var ok bool
		if step, ok = index(c); !ok {
			return 0, 0, 0, fmt.Errorf("slice step must be an integer")
		}
		if step == 0 {
			return 0, 0, 0, fmt.Errorf("slice step cannot be zero")
		}
	}
	lo, hi := int64(0), n
	if step < 0 {
		lo, hi = -1, n-1
	}
	bound := func(v jinja.Value, def int64) (int64, error) {
		if v.IsNone() || v.IsUndefined() {
			return def, nil
		}
		i, ok := index(v)
		if !ok {
			return 0, fmt.Errorf("slice indices must be integers or None")
		}
		if i < 0 {
			i = max(i+n, lo)
		}
		return min(i, hi), nil
	}
	if step > 0 {
		start, err = bound(a, 0)
		if err == nil {
			stop, err = bound(b, n)
		}
	} else {
		start, err = bound(a, n-1)
		if err == nil {
			stop, err = bound(b, -1)
		}
	}
	return start, stop, step, err
}

// runeOffset returns the byte offset of s's i-th character (len(s) past
// the end).
func runeOffset(s string, i int64) int {
	if i <= 0 {
		return 0
	}
	for o := range s {
		if i == 0 {
			return o
		}
		i--
	}
	return len(s)
}

// lit stores the items of a list, tuple or dict literal the library has
// just built (see place), checks its size and charges it.
func (st *renderState) lit(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 1 {
		return jinja.Undefined(), fmt.Errorf("%s: want one literal", litName)
	}
	v := args[0]
	var err error
	switch {
	case v.IsList():
		items := v.AsList().Items
		if err := st.charge(listBytes+len(items)*valueBytes, "list literal"); err != nil {
			return v, err
		}
		for i := range items {
			if items[i], err = st.place(items[i]); err != nil {
				return v, err
			}
		}
	case v.IsDict():
		d := v.AsDict()
		if err := st.charge(listBytes+len(d.Keys)*entryBytes, "dict literal"); err != nil {
			return v, err
		}
		for _, k := range d.Keys {
			if d.Data[k], err = st.place(d.Data[k]); err != nil {
				return v, err
			}
		}
	default:
		return v, nil
	}
	if n := st.size(v); n > st.limits.MaxValueBytes {
		return v, limitErr("list or dict literal too long", "MaxValueBytes", st.limits.MaxValueBytes)
	}
	return v, nil
}

// key checks a dict literal's key: a string, number, boolean or None, as
// Python allows (the library would print a list or dict key in full).
func key(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 1 {
		return jinja.Undefined(), fmt.Errorf("%s: want one key", keyName)
	}
	if _, ok := keyString(args[0]); !ok {
		return jinja.Undefined(), fmt.Errorf("dict literal: a list, dict or function cannot be a key")
	}
	return args[0], nil
}

// iter returns what a for loop iterates over: a string's characters or a
// dict's keys as a list, charged here (the library would allocate them
// itself, unchecked); anything else unchanged.
func (st *renderState) iter(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 1 {
		return jinja.Undefined(), fmt.Errorf("%s: want one value", iterName)
	}
	switch v := args[0]; {
	case v.IsString():
		s := v.AsString()
		if err := st.charge(listBytes+utf8.RuneCountInString(s)*itemBytes, "for loop over a string"); err != nil {
			return v, err
		}
		out := make([]jinja.Value, 0, utf8.RuneCountInString(s))
		for i := 0; i < len(s); {
			_, n := utf8.DecodeRuneInString(s[i:])
			out = append(out, jinja.NewString(s[i:i+n]))
			i += n
		}
		return jinja.NewList(out), nil
	case v.IsDict():
		return st.dictItems(v.AsDict(), "keys")
	default:
		return v, nil
	}
}

// setAttr checks {% set ns.name = value %} before the library assigns:
// ns must be a namespace that was not stored in a list, dict or other
// namespace, value is stored (place) and the namespace's size checked.
func (st *renderState) setAttr(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 3 || !args[1].IsString() {
		return jinja.Undefined(), fmt.Errorf("%s: want a namespace, a name and a value", setAttrName)
	}
	ns, name := args[0], args[1].AsString()
	if !ns.IsDict() {
		return jinja.Undefined(), fmt.Errorf("%w: set %s: cannot assign an attribute of %s (only of a namespace)", ErrSandbox, name, kind(ns))
	}
	open, ok := st.spaces[ns.AsDict()]
	if !ok {
		return jinja.Undefined(), fmt.Errorf("%w: set %s: cannot assign an attribute of a dict (only of a namespace)", ErrSandbox, name)
	}
	if !open {
		return jinja.Undefined(), fmt.Errorf("%w: set %s: this namespace was stored in a list, dict or namespace and is read-only", ErrSandbox, name)
	}
	v, err := st.place(args[2])
	if err != nil {
		return v, err
	}
	if !st.spaces[ns.AsDict()] {
		return jinja.Undefined(), fmt.Errorf("%w: set %s: a namespace cannot contain itself", ErrSandbox, name)
	}
	d := ns.AsDict()
	size := 2
	for _, k := range d.Keys {
		if k != name {
			size += 6 + len(k) + st.size(d.Data[k])
		}
	}
	size += 6 + len(name) + st.size(v)
	if err := st.build(size, entryBytes+len(name), "namespace"); err != nil {
		return jinja.Undefined(), err
	}
	return v, nil
}

// kind names a value's type for error messages.
func kind(v jinja.Value) string {
	switch {
	case v.IsString():
		return "a string"
	case v.IsList():
		return "a list"
	case v.IsDict():
		return "a dict"
	case v.IsNone(), v.IsUndefined():
		return "None"
	case v.IsCallable():
		return "a function"
	}
	return "a number"
}

// callOut wraps the callee of {% call f(…) %} so that its result, which
// the library writes to the output itself, is counted against
// MaxOutputBytes first.
func (st *renderState) callOut(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 1 || !args[0].IsCallable() {
		return jinja.Undefined(), fmt.Errorf("call: expression is not callable")
	}
	fn := args[0].AsCallable().Fn
	return jinja.NewCallable("call", func(a []jinja.Value, kw map[string]jinja.Value) (jinja.Value, error) {
		r, err := fn(a, kw)
		if err != nil {
			return r, err
		}
		if err := st.output(r); err != nil {
			return jinja.Undefined(), err
		}
		return printable(r), nil
	}), nil
}

// namespace implements namespace(**kwargs): an assignable object.
func (st *renderState) namespace(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) > 0 {
		return jinja.Undefined(), fmt.Errorf("namespace: want keyword arguments only")
	}
	return st.fill(st.newSpace(), kwargs, "namespace")
}

// dict implements dict(**kwargs).
func (st *renderState) dict(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) > 0 {
		return jinja.Undefined(), fmt.Errorf("dict: want keyword arguments only")
	}
	return st.fill(jinja.NewDict(), kwargs, "dict")
}

// fill stores kwargs in d (in name order: the library does not keep the
// order they were written in), checking and charging.
func (st *renderState) fill(d jinja.Value, kwargs map[string]jinja.Value, what string) (jinja.Value, error) {
	if err := st.charge(listBytes+len(kwargs)*entryBytes, what); err != nil {
		return jinja.Undefined(), err
	}
	names := make([]string, 0, len(kwargs))
	for k := range kwargs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, err := st.place(kwargs[k])
		if err != nil {
			return v, err
		}
		d.AsDict().Set(k, v)
	}
	if st.size(d) > st.limits.MaxValueBytes {
		return jinja.Undefined(), limitErr(what+" too long", "MaxValueBytes", st.limits.MaxValueBytes)
	}
	return d, nil
}

// cycler implements cycler(*items): .next() returns the items in turn,
// .current is the next one, .reset() starts over.
func (st *renderState) cycler(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("cycler: want at least one item")
	}
	if err := st.charge(listBytes+len(args)*valueBytes+4*entryBytes, "cycler"); err != nil {
		return jinja.Undefined(), err
	}
	items := make([]jinja.Value, len(args))
	for i, a := range args {
		v, err := st.place(a)
		if err != nil {
			return v, err
		}
		items[i] = v
	}
	c := st.newSpace()
	d := c.AsDict()
	pos := 0
	move := func(to int) error {
		if !st.spaces[d] {
			return fmt.Errorf("%w: cycler: this cycler was stored in a list, dict or namespace and is read-only", ErrSandbox)
		}
		pos = to
		d.Set("current", items[pos])
		return nil
	}
	move(0)
	d.Set("next", jinja.NewCallable("cycler.next", func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
		v := items[pos]
		return v, move((pos + 1) % len(items))
	}))
	d.Set("reset", jinja.NewCallable("cycler.reset", func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
		return jinja.None(), move(0)
	}))
	return c, nil
}
