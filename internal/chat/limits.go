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
// source is rewritten (prepare, rewriteOps) so that a marker call runs
// before every tag (steps, time), every {{ }} output passes through a
// counting call (output), and both operands of every binary ~, + and * pass
// through calls that check the result's size before the library builds it
// (value size); join is replaced by a bounded version, and range() is ours.
type Limits struct {
	// MaxSteps is the most tags one render may execute (loop bodies count
	// once per iteration). Default 2^20.
	MaxSteps int
	// MaxMacroDepth is the deepest nesting of macro calls. Default 256.
	MaxMacroDepth int
	// MaxOutputBytes is the most bytes a render may produce. Default 64 MiB.
	MaxOutputBytes int
	// MaxValueBytes is the largest string or list (measured as printed) that
	// ~, +, * and join may build. Default 64 MiB.
	MaxValueBytes int
	// Timeout is the wall-clock time one render may take, checked before
	// every tag. Default 10 s; a negative value means no time limit.
	Timeout time.Duration
}

// DefaultLimits are the limits applied when ParseOptions.Limits leaves a
// field zero. Real chat templates stay far below them: the longest of
// ../shared/testdata/templates executes a few thousand tags per
// conversation.
var DefaultLimits = Limits{
	MaxSteps:       1 << 20,
	MaxMacroDepth:  256,
	MaxOutputBytes: 64 << 20,
	MaxValueBytes:  64 << 20,
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
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// Names of the callables the rewritten source calls (see rewriteOps).
const (
	outName    = "__sputnik_out"     // {{ x }} → {{ __sputnik_out(x) }}: counts output bytes
	leftName   = "__sputnik_l"       // left operand of ~, + and *: records its size
	rightName  = "__sputnik_r"       // right operand of ~ and +: checks the sum of sizes
	rightMName = "__sputnik_rm"      // right operand of *: checks size × count
	joinName   = "__sputnik_join"    // the join filter, bounded
	replName   = "__sputnik_replace" // the replace filter, bounded
	limitFmt   = "%w: %s (limit %d)"
)

func limitErr(what string, limit int) error { return fmt.Errorf(limitFmt, ErrLimit, what, limit) }

// printedSize returns how many bytes v takes when printed (or concatenated
// with ~), counting at most up to budget+1 and descending at most 64
// levels (a deeper or self-containing value counts as over budget).
func printedSize(v jinja.Value, budget int) int {
	return sizeOf(v, budget, 0)
}

func sizeOf(v jinja.Value, budget, depth int) int {
	if depth > 64 {
		return budget + 1
	}
	switch {
	case v.IsString():
		return len(v.AsString()) + 2 // quotes, when inside a list
	case v.IsList():
		n := 2
		for _, it := range v.AsList().Items {
			n += 2 + sizeOf(it, budget-n, depth+1)
			if n > budget {
				return budget + 1
			}
		}
		return n
	case v.IsDict():
		d := v.AsDict()
		n := 2
		for _, k := range d.Keys {
			it, _ := d.Get(k)
			n += 6 + len(k) + sizeOf(it, budget-n, depth+1)
			if n > budget {
				return budget + 1
			}
		}
		return n
	}
	return 24 // numbers, booleans, None
}

// installLimits adds the bounded operator, output and join callables,
// bound to st, to vals.
func (st *renderState) installLimits(vals map[string]jinja.Value) {
	lim := st.limits
	vals[outName] = jinja.NewCallable(outName, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 {
			return empty, nil
		}
		v := args[0]
		if v.IsString() {
			st.out += len(v.AsString())
		} else {
			st.out += printedSize(v, lim.MaxOutputBytes)
		}
		if st.out > lim.MaxOutputBytes {
			return empty, limitErr("output too long", lim.MaxOutputBytes)
		}
		return v, nil
	})
	vals[leftName] = jinja.NewCallable(leftName, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 {
			return jinja.Undefined(), fmt.Errorf("%s: want one argument", leftName)
		}
		st.operands = append(st.operands, operand{size: printedSize(args[0], lim.MaxValueBytes), str: args[0].IsString()})
		return args[0], nil
	})
	pop := func(name string, args []jinja.Value) (operand, jinja.Value, error) {
		if len(args) != 1 || len(st.operands) == 0 {
			return operand{}, jinja.Undefined(), fmt.Errorf("%s: unbalanced operand markers", name)
		}
		a := st.operands[len(st.operands)-1]
		st.operands = st.operands[:len(st.operands)-1]
		return a, args[0], nil
	}
	vals[rightName] = jinja.NewCallable(rightName, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		a, v, err := pop(rightName, args)
		if err != nil {
			return v, err
		}
		if a.size+printedSize(v, lim.MaxValueBytes) > lim.MaxValueBytes {
			return v, limitErr("string or list too long", lim.MaxValueBytes)
		}
		return v, nil
	})
	vals[rightMName] = jinja.NewCallable(rightMName, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		a, v, err := pop(rightMName, args)
		if err != nil {
			return v, err
		}
		if !a.str || !v.IsInt() {
			return v, nil // only string × int repeats (the library has no list repetition)
		}
		if n := v.AsInt(); n > 0 && int64(a.size-2) > int64(lim.MaxValueBytes)/n {
			return v, limitErr("string repetition too long", lim.MaxValueBytes)
		}
		return v, nil
	})
	vals[joinName] = jinja.NewCallable("join", func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
		return boundedJoin(args, kwargs, lim.MaxValueBytes)
	})
	vals[replName] = jinja.NewCallable("replace", func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
		return boundedReplace(args, kwargs, lim.MaxValueBytes)
	})
}

// operand is a left operand's printed size, recorded until its right
// operand is checked.
type operand struct {
	size int
	str  bool
}

// boundedJoin is the library's join filter (items printed as in output,
// optional separator, d= and attribute=) with a size check before the
// result is built.
func boundedJoin(args []jinja.Value, kwargs map[string]jinja.Value, limit int) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewString(""), nil
	}
	if !args[0].IsList() {
		return jinja.NewString(plain(args[0])), nil
	}
	sep := ""
	if len(args) > 1 {
		sep = plain(args[1])
	}
	if s, ok := kwargs["d"]; ok {
		sep = plain(s)
	}
	attr := ""
	if a, ok := kwargs["attribute"]; ok {
		attr = plain(a)
	}
	items := args[0].AsList().Items
	parts := make([]string, 0, len(items))
	total := 0
	for i, item := range items {
		if attr != "" && item.IsDict() {
			if v, ok := item.AsDict().Get(attr); ok {
				item = v
			}
		}
		n := printedSize(item, limit)
		if i > 0 {
			n += len(sep)
		}
		if total += n; total > limit {
			return jinja.Undefined(), limitErr("join result too long", limit)
		}
		if item.IsCallable() {
			parts = append(parts, "")
		} else {
			parts = append(parts, plain(item))
		}
	}
	return jinja.NewString(strings.Join(parts, sep)), nil
}

// boundedReplace is the library's replace filter (s, old, new[, count] or
// count=) with the result's size checked before it is built.
func boundedReplace(args []jinja.Value, kwargs map[string]jinja.Value, limit int) (jinja.Value, error) {
	if len(args) < 3 {
		return jinja.NewString(""), fmt.Errorf("replace: expected at least 3 arguments")
	}
	s, old, repl := plain(args[0]), plain(args[1]), plain(args[2])
	count := -1
	if len(args) > 3 {
		count = intOf(args[3])
	}
	if c, ok := kwargs["count"]; ok {
		count = intOf(c)
	}
	n := strings.Count(s, old)
	if old == "" {
		n = len(s) + 1
	}
	if count >= 0 {
		n = min(n, count)
	}
	if grow := len(repl) - len(old); grow > 0 && n > 0 && len(s)+n*grow > limit {
		return jinja.Undefined(), limitErr("replace result too long", limit)
	}
	return jinja.NewString(strings.Replace(s, old, repl, count)), nil
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
