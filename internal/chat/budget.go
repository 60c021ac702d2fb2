package chat

import (
	"fmt"

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
	return nil
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
	entryBytes = 64 // one dict entry: key, map slot, key order
	listBytes  = 48 // a list header and its boxing
)

// size returns v's printed size (strings with their quotes, as inside a
// list), at most st.sizeCap; a value nested deeper than maxValueDepth
// counts as sizeCap. Sizes of lists and dicts that cannot change are
// remembered, so a value stored many times is measured once.
func (st *renderState) size(v jinja.Value) int { return st.sizeAt(v, 0) }

func (st *renderState) sizeAt(v jinja.Value, depth int) int {
	limit := st.sizeCap
	switch {
	case v.IsString():
		return min(len(v.AsString())+2, limit)
	case v.IsList():
		l := v.AsList()
		if n, ok := st.sizes[l]; ok {
			return n
		}
		if depth > maxValueDepth {
			return limit
		}
		n := 2
		for _, it := range l.Items {
			if n += 2 + st.sizeAt(it, depth+1); n >= limit {
				n = limit
				break
			}
		}
		st.sizes[l] = n
		return n
	case v.IsDict():
		d := v.AsDict()
		if n, ok := st.sizes[d]; ok {
			return n
		}
		if depth > maxValueDepth {
			return limit
		}
		n := 2
		for _, k := range d.Keys {
			if n += 6 + len(k) + st.sizeAt(d.Data[k], depth+1); n >= limit {
				n = limit
				break
			}
		}
		if !st.spaces[d] && !isLoop(d) { // fixed from now on
			st.sizes[d] = n
		}
		return n
	}
	return 24 // numbers, booleans, None, callables
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
	if err := st.charge(listBytes+len(d.Keys)*entryBytes, "storing loop"); err != nil {
		return v, err
	}
	c := jinja.NewDict()
	for _, k := range d.Keys {
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

// errImmutable is returned by the methods that would change a list or dict.
func errImmutable(method string) error {
	return fmt.Errorf("%s: chat templates may not change lists or dicts (only namespace attributes, with set ns.x = …), as in Hugging Face's sandbox", method)
}
