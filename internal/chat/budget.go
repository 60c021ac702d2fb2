package chat

import (
	"errors"
	"fmt"
	"sort"

	"github.com/ardanlabs/jinja"
)

// This file keeps the two invariants that bound what one render can build
// (see Limits):
//
//  1. Every operation that allocates in proportion to its input is one of
//     ours, and it charges the bytes it is about to allocate against
//     MaxAllocBytes (st.charge) and checks the size of the value it builds
//     against MaxValueBytes (st.build), before allocating.
//  2. Lists and dicts cannot change once built (as in Hugging Face's
//     ImmutableSandboxedEnvironment: append, pop, update … are refused), and
//     the only assignable objects, namespaces, become read-only once stored
//     inside a list, a dict or another namespace. So no value contains
//     itself, and a value's printed size is fixed when it is built and was
//     checked then; every later walk over a value (printing, ==, in, a dict
//     key) is bounded by MaxValueBytes. The library's loop object, which it
//     updates in place, is copied when stored.

// charge counts n bytes that the operation what is about to allocate
// against MaxAllocBytes.
func (st *renderState) charge(n int, what string) error {
	if n < 0 || n > st.limits.MaxAllocBytes-st.alloc {
		return fmt.Errorf("%w: %s: the render would allocate more than %d bytes in all (MaxAllocBytes)",
			ErrLimit, what, st.limits.MaxAllocBytes)
	}
	st.alloc += n
	return st.checkTime()
}

// build checks that a value of n bytes (as printed) that the operation
// what is about to build fits MaxValueBytes, and charges mem bytes for it.
func (st *renderState) build(n, mem int, what string) error {
	if n < 0 || n > st.limits.MaxValueBytes {
		return limitErr(what+" too long", "MaxValueBytes", st.limits.MaxValueBytes)
	}
	return st.charge(mem, what)
}

// Approximate heap cost of the library's values, for charging.
const (
	valueBytes = 24 // one jinja.Value in a slice
	boxBytes   = 16 // a string or number boxed into a Value
	itemBytes  = valueBytes + boxBytes
	entryBytes = 64  // one dict entry: key, map slot, key order
	listBytes  = 48  // a list header and its boxing
	memoBytes  = 128 // one entry of renderState.sizes
)

// memoMinWork is the printing work from which a list's or dict's measure
// is remembered: smaller ones are measured again, cheaply.
const memoMinWork = 2048

// size returns what printing v costs, at most st.sizeCap: its printed
// size (strings with their quotes, as inside a list) plus that of each
// nested list or dict again, since the library prints a nested value and
// then copies it into its parent. A value nested deeper than maxValueDepth
// costs sizeCap. Lists and dicts that cannot change (and are not small) are
// measured once.
// Every walk the library makes over a value (printing it, ==, in) takes
// time in proportion to this.
func (st *renderState) size(v jinja.Value) int {
	_, work, _ := st.measure(v, 0)
	return work
}

// measure is one list's or dict's printed size, printing work and height
// (1 for a flat list).
type measure struct{ printed, work, height int }

func (st *renderState) measure(v jinja.Value, depth int) (printed, work, height int) {
	limit := st.sizeCap
	var key any
	switch {
	case v.IsString():
		n := min(len(v.AsString())+2, limit)
		return n, n, 0
	case v.IsList():
		key = v.AsList()
	case v.IsDict():
		key = v.AsDict()
	default:
		return 24, 24, 0 // numbers, booleans, None, callables
	}
	if m, ok := st.sizes[key]; ok && depth+m.height <= maxValueDepth {
		return m.printed, m.work, m.height
	}
	if depth >= maxValueDepth {
		return limit, limit, maxValueDepth + 1 // too deep here; not remembered
	}
	printed, work = 2, 0
	add := func(extra int, item jinja.Value) bool {
		p, w, h := st.measure(item, depth+1)
		printed = min(printed+extra+p, limit)
		work = min(work+w, limit)
		height = max(height, h+1)
		return printed < limit && work < limit
	}
	if v.IsList() {
		for _, it := range v.AsList().Items {
			if !add(2, it) {
				break
			}
		}
	} else {
		d := v.AsDict()
		for _, k := range d.Keys {
			if !add(6+len(k), d.Data[k]) {
				break
			}
		}
	}
	work = min(work+printed, limit)
	if height == 0 {
		height = 1
	}
	// Remember values worth it, charging the entry: MaxAllocBytes then
	// counts it at the next check (callers of size check or charge next).
	fixed := !v.IsDict() || !st.spaces[v.AsDict()] && !isLoop(v.AsDict())
	if fixed && height <= maxValueDepth && work >= memoMinWork {
		st.sizes[key] = measure{printed, work, height}
		st.alloc += memoBytes
	}
	return printed, work, height
}

// place returns v as it is to be stored inside a list, dict or namespace
// that an operation of ours is building or assigning to: a namespace or
// cycler becomes read-only, and the library's live loop object is replaced
// by a copy.
func (st *renderState) place(v jinja.Value) (jinja.Value, error) {
	if !v.IsDict() {
		return v, nil
	}
	d := v.AsDict()
	if open, ok := st.spaces[d]; ok {
		if open {
			st.spaces[d] = false
		}
		return v, nil
	}
	if !isLoop(d) {
		return v, nil
	}
	if err := st.charge(listBytes+len(d.Data)*entryBytes, "storing loop"); err != nil {
		return v, err
	}
	// The library sets most of loop's entries in Data only, not in Keys.
	names := make([]string, 0, len(d.Data))
	for k := range d.Data {
		names = append(names, k)
	}
	sort.Strings(names)
	c := jinja.NewDict()
	for _, k := range names {
		c.AsDict().Set(k, d.Data[k]) // loop's values are items of a list: already stored
	}
	return c, nil
}

// isLoop reports whether d is the library's loop object, which it updates
// in place on every iteration.
func isLoop(d *jinja.Dict) bool {
	c, ok := d.Data["cycle"]
	return ok && c.IsCallable() && c.AsCallable().Name == "loop.cycle"
}

// newSpace returns an empty assignable object (a namespace or cycler).
func (st *renderState) newSpace() jinja.Value {
	v := jinja.NewDict()
	st.spaces[v.AsDict()] = true
	return v
}

// ErrSandbox is wrapped by render errors of a template that tried what
// templates may not do: change a list or dict, or a namespace (or cycler)
// once it is stored in a list, dict or namespace.
var ErrSandbox = errors.New("template broke a sandbox rule")

// errImmutable is returned by the methods that would change a list or dict.
func errImmutable(method string) error {
	return fmt.Errorf("%w: %s: chat templates may not change lists or dicts (only namespace attributes, with set ns.x = …), as in Hugging Face's sandbox", ErrSandbox, method)
}
