package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// Limits bound one render of a template, so that a hostile template in a
// model file fails fast with an error instead of looping, recursing or
// allocating without end. A zero field takes its default (DefaultLimits).
//
// How each is enforced, given that the Jinja library has no hooks: the
// source is rewritten (prepare, rewriteTag, rewriteOps) so that a marker
// call runs before every tag (steps, time), every {{ }} output passes
// through a counting call (output), both operands of every binary ~, + and
// * pass through calls that check the result's size before the library
// builds it, and every method call, subscript, slice, literal, for-loop
// iterable, namespace assignment and {% call %} goes through our own
// functions (methods.go, access.go) instead of the library's; the filters
// that build in proportion to their input are ours too. budget.go states
// the resulting invariants.
type Limits struct {
	// MaxSteps is the most tags one render may execute (loop bodies count
	// once per iteration). Default 2^20.
	MaxSteps int
	// MaxMacroDepth is the deepest nesting of macro calls. Default 256.
	MaxMacroDepth int
	// MaxOutputBytes is the most bytes a render may produce, counting the
	// output of macros and {% set %} blocks as it is produced. Default 64 MiB.
	MaxOutputBytes int
	// MaxValueBytes is the largest string, list or dict that one operation
	// may build, measured as what printing it costs (its printed size, plus
	// that of each nested list or dict again). Default 64 MiB.
	MaxValueBytes int
	// MaxAllocBytes is the most bytes all the value-building operations of
	// one render may allocate together (new strings, lists and dicts,
	// counted before each is built, never given back). Default 256 MiB.
	MaxAllocBytes int
	// Timeout is the wall-clock time one render may take, checked before
	// every tag and every charged operation. Default 10 s; a negative value
	// means no time limit.
	Timeout time.Duration
}

// DefaultLimits are the limits applied when ParseOptions.Limits leaves a
// field zero. Real chat templates stay far below them: the longest of
// ../shared/testdata/templates executes a few thousand tags per
// conversation, and rendering a conversation allocates a few times its
// size.
var DefaultLimits = Limits{
	MaxSteps:       1 << 20,
	MaxMacroDepth:  256,
	MaxOutputBytes: 64 << 20,
	MaxValueBytes:  64 << 20,
	MaxAllocBytes:  256 << 20,
	Timeout:        10 * time.Second,
}

// ErrLimit is wrapped by render errors caused by exceeding a Limits bound.
var ErrLimit = errors.New("template exceeded a render limit")

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxSteps <= 0 {
		l.MaxSteps = d.MaxSteps
	}
	if l.MaxMacroDepth <= 0 {
		l.MaxMacroDepth = d.MaxMacroDepth
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = d.MaxValueBytes
	}
	if l.MaxAllocBytes <= 0 {
		l.MaxAllocBytes = d.MaxAllocBytes
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// Names of the callables the rewritten source calls (see rewriteOps).
const (
	outName    = "__sputnik_out"     // {{ x }} → {{ __sputnik_out(x) }}: counts output bytes
	leftName   = "__sputnik_l"       // left operand of + and *: records its size
	leftCName  = "__sputnik_lc"      // left operand of ~: records its size, prints a list or dict
	rightName  = "__sputnik_r"       // right operand of +: checks the sum of sizes
	rightCName = "__sputnik_rc"      // right operand of ~: checks the sum of sizes, prints a list or dict
	rightMName = "__sputnik_rm"      // right operand of *: checks size × count
	joinName   = "__sputnik_join"    // the join filter, bounded
	replName   = "__sputnik_replace" // the replace filter, bounded
)

// limitErr is the error for a value or output over the limit named name.
func limitErr(what, name string, limit int) error {
	return fmt.Errorf("%w: %s (%s = %d)", ErrLimit, what, name, limit)
}

// output counts v, about to be written to the output, against
// MaxOutputBytes.
func (st *renderState) output(v jinja.Value) error {
	if v.IsString() {
		st.out += len(v.AsString())
	} else {
		st.out += st.size(v)
	}
	if st.out > st.limits.MaxOutputBytes {
		return limitErr("output too long", "MaxOutputBytes", st.limits.MaxOutputBytes)
	}
	return nil
}

// installLimits adds our bounded callables (operators, output, methods,
// subscripts, literals, loops, namespaces, globals and filters), bound to
// st, to vals.
func (st *renderState) installLimits(vals map[string]jinja.Value) {
	type fn = func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error)
	add := func(name string, f fn) { vals[name] = jinja.NewCallable(name, f) }
	add(outName, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 {
			return empty, nil
		}
		if err := st.output(args[0]); err != nil {
			return empty, err
		}
		return printable(args[0]), nil
	})
	for _, name := range []string{leftName, leftCName} {
		add(name, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 {
				return jinja.Undefined(), fmt.Errorf("%s: want one argument", name)
			}
			st.operands = append(st.operands, st.operand(args[0]))
			if name == leftCName {
				return printable(args[0]), nil
			}
			return args[0], nil
		})
	}
	add(rightName, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		return st.binary(rightName, args)
	})
	add(rightCName, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		return st.binary(rightCName, args)
	})
	add(rightMName, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		return st.binary(rightMName, args)
	})
	add(attrName, st.attribute)
	add(itemName, st.item)
	add(sliceName, st.slice)
	add(litName, st.lit)
	add(keyName, key)
	add(iterName, st.iter)
	add(setAttrName, st.setAttr)
	add(callOutName, st.callOut)
	// Python's globals, unless a template variable has the name.
	for name, f := range map[string]fn{"namespace": st.namespace, "dict": st.dict, "cycler": st.cycler, "range": st.rangeList} {
		if _, ok := vals[name]; !ok {
			add(name, f)
		}
	}
	st.filterTable = st.filters()
	for name, f := range st.filterTable {
		add(strings.TrimSuffix(renamedFilters[name], "|"+name), f)
	}
}

// operand is a left operand of ~, + or *, recorded until its right operand
// is checked.
type operand struct {
	size  int  // printed size
	kind  byte // 's' string, 'l' list, 'd' dict, 'o' other
	items int  // a list's length
}

func (st *renderState) operand(v jinja.Value) operand {
	o := operand{size: st.size(v), kind: 'o'}
	switch {
	case v.IsString():
		o.kind = 's'
	case v.IsList():
		o.kind, o.items = 'l', len(v.AsList().Items)
	case v.IsDict():
		o.kind = 'd'
	}
	return o
}

// binary checks and charges, before the library applies it, the operator
// whose right operand args[0] is and whose left operand is the last one
// recorded: ~ (name rightCName) and + (rightName) build a string or list
// of about the operands' combined size, * (rightMName) repeats a string.
func (st *renderState) binary(name string, args []jinja.Value) (jinja.Value, error) {
	if len(args) != 1 || len(st.operands) == 0 {
		return jinja.Undefined(), fmt.Errorf("%s: unbalanced operand markers", name)
	}
	a := st.operands[len(st.operands)-1]
	st.operands = st.operands[:len(st.operands)-1]
	v := args[0]
	b := st.operand(v)
	switch {
	case name == rightMName && a.kind == 'l' && v.IsInt():
		return v, fmt.Errorf("%w: list * n: templates may not repeat lists", ErrSandbox)
	case name == rightMName:
		if a.kind != 's' || !v.IsInt() || v.AsInt() <= 0 {
			return v, nil // numbers; only string × int repeats
		}
		if n := v.AsInt(); int64(a.size-2) > int64(st.limits.MaxValueBytes)/n {
			return v, limitErr("string repetition too long", "MaxValueBytes", st.limits.MaxValueBytes)
		}
		size := (a.size - 2) * int(v.AsInt())
		return v, st.build(size, size, "string repetition")
	case name == rightName && a.kind == 'l' && b.kind == 'l':
		return v, st.build(a.size+b.size, listBytes+(a.items+b.items)*valueBytes, "string or list")
	case name == rightName && (a.kind == 's' && (b.kind == 'l' || b.kind == 'd') || b.kind == 's' && (a.kind == 'l' || a.kind == 'd')):
		return v, fmt.Errorf("+: cannot add a string and a list or dict (use ~)")
	case name == rightName && a.kind != 's' && b.kind != 's':
		return v, nil // numbers
	}
	return printable(v), st.build(a.size+b.size, a.size+b.size, "string or list")
}

// join implements the join filter (items printed as in output, optional
// separator, d= and attribute=), with the result's size checked before it
// is built.
func (st *renderState) join(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewString(""), nil
	}
	if !args[0].IsList() {
		s, err := st.text(args[0], "join")
		return jinja.NewString(s), err
	}
	sepv := jinja.NewString("")
	if len(args) > 1 {
		sepv = args[1]
	}
	if s, ok := kwargs["d"]; ok {
		sepv = s
	}
	sep, err := st.text(sepv, "join")
	if err != nil {
		return jinja.Undefined(), err
	}
	path := ""
	if a, ok := kwargs["attribute"]; ok {
		path = plain(a)
	}
	items := args[0].AsList().Items
	total := 0
	for i, item := range items {
		if path != "" {
			item = attr(item, path)
		}
		n := len(plain(item))
		if !item.IsString() {
			n = st.size(item)
		}
		if i > 0 {
			n += len(sep)
		}
		if total += n; total > st.limits.MaxValueBytes {
			break
		}
	}
	if err := st.build(total, total+len(items)*boxBytes, "join result"); err != nil {
		return jinja.Undefined(), err
	}
	var b strings.Builder
	b.Grow(total)
	for i, item := range items {
		if path != "" {
			item = attr(item, path)
		}
		if i > 0 {
			b.WriteString(sep)
		}
		if !item.IsCallable() {
			b.WriteString(plain(item))
		}
	}
	return jinja.NewString(b.String()), nil
}

// printable returns v for the library to print: a list or dict printed
// here in one pass (see plain), anything else as it is.
func printable(v jinja.Value) jinja.Value {
	if v.IsList() || v.IsDict() {
		return jinja.NewString(plain(v))
	}
	return v
}

// intOf converts a number or bool as the library's toInt64 does.
func intOf(v jinja.Value) int {
	switch {
	case v.IsInt():
		return int(v.AsInt())
	case v.IsFloat():
		return int(v.AsFloat())
	case v.IsBool() && v.AsBool():
		return 1
	}
	return 0
}
