package chat

import (
	"fmt"
	"math"
	"reflect"
	"sort"

	"github.com/ardanlabs/jinja"
)

// Object is a JSON-style object that keeps its members in order. Python
// dicts keep insertion order, and chat templates show it: a tool schema
// rendered with tojson lists its keys as the caller wrote them. Use Object
// (not map[string]any, whose keys are sorted) for template variables whose
// key order matters. If a key repeats, the last value wins at the position
// of the first, as in a Python dict built from the same pairs.
type Object []Member

// Member is one key/value pair of an Object.
type Member struct {
	Key   string
	Value any
}

// Get returns the value of the last member named key.
func (o Object) Get(key string) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].Key == key {
			return o[i].Value, true
		}
	}
	return nil, false
}

// maxValueDepth bounds the nesting of template variables (deeper input is
// an error rather than a stack overflow).
const maxValueDepth = 256

// toValue converts a Go value to the library's value. Accepted types: nil,
// bool, the integer and float types, string, Object, map[string]any (keys
// sorted), []any and other slices of accepted types, Message, ToolCall and
// jinja.Value. Anything else is an error naming the type.
func toValue(x any) (jinja.Value, error) { return toValueDepth(x, 0) }

func toValueDepth(x any, depth int) (jinja.Value, error) {
	if depth > maxValueDepth {
		return jinja.Value{}, fmt.Errorf("value nested more than %d levels deep", maxValueDepth)
	}
	switch v := x.(type) {
	case nil:
		return jinja.None(), nil
	case jinja.Value:
		return v, nil
	case bool:
		return jinja.NewBool(v), nil
	case string:
		return jinja.NewString(v), nil
	case int:
		return jinja.NewInt(int64(v)), nil
	case int8:
		return jinja.NewInt(int64(v)), nil
	case int16:
		return jinja.NewInt(int64(v)), nil
	case int32:
		return jinja.NewInt(int64(v)), nil
	case int64:
		return jinja.NewInt(v), nil
	case uint8:
		return jinja.NewInt(int64(v)), nil
	case uint16:
		return jinja.NewInt(int64(v)), nil
	case uint32:
		return jinja.NewInt(int64(v)), nil
	case uint:
		if uint64(v) > math.MaxInt64 {
			return jinja.NewFloat(float64(v)), nil
		}
		return jinja.NewInt(int64(v)), nil
	case uint64:
		if v > math.MaxInt64 {
			return jinja.NewFloat(float64(v)), nil
		}
		return jinja.NewInt(int64(v)), nil
	case float32:
		return jinja.NewFloat(float64(v)), nil
	case float64:
		return jinja.NewFloat(v), nil
	case Object:
		d := jinja.NewDict()
		dict := d.AsDict()
		for _, m := range v {
			mv, err := toValueDepth(m.Value, depth+1)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("%q: %w", m.Key, err)
			}
			dict.Set(m.Key, mv)
		}
		return d, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := jinja.NewDict()
		dict := d.AsDict()
		for _, k := range keys {
			mv, err := toValueDepth(v[k], depth+1)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("%q: %w", k, err)
			}
			dict.Set(k, mv)
		}
		return d, nil
	case []any:
		items := make([]jinja.Value, len(v))
		for i, e := range v {
			iv, err := toValueDepth(e, depth+1)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			items[i] = iv
		}
		return jinja.NewList(items), nil
	case Message:
		return v.value(depth)
	case ToolCall:
		return v.value(depth)
	}
	rv := reflect.ValueOf(x)
	if rv.Kind() == reflect.Slice {
		items := make([]jinja.Value, rv.Len())
		for i := range items {
			iv, err := toValueDepth(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			items[i] = iv
		}
		return jinja.NewList(items), nil
	}
	return jinja.Value{}, fmt.Errorf("unsupported template value of type %T", x)
}
