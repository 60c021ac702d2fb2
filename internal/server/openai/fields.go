package openai

import (
	"math"
	"strconv"

	"github.com/sputnik-llm/sputnik/internal/chat"
)

// Field readers for the decoded JSON tree. Each takes the value and the
// path that names it in errors; null counts as absent for optional fields.

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func asObject(v any, path string) (chat.Object, error) {
	o, ok := v.(chat.Object)
	if !ok {
		return nil, invalid(path, "want an object, got %s", typeName(v))
	}
	return o, nil
}

func asArray(v any, path string) ([]any, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, invalid(path, "want an array, got %s", typeName(v))
	}
	return l, nil
}

func asString(v any, path string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", invalid(path, "want a string, got %s", typeName(v))
	}
	return s, nil
}

func asBool(v any, path string) (bool, error) {
	if v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, invalid(path, "want a boolean, got %s", typeName(v))
	}
	return b, nil
}

// asFloat reads a number; nil for null.
func asFloat(v any, path string) (*float64, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		f := float64(x)
		return &f, nil
	case float64:
		return &x, nil
	}
	return nil, invalid(path, "want a number, got %s", typeName(v))
}

// asInt reads an integer (an integral float such as 100.0 is accepted);
// nil for null.
func asInt(v any, path string) (*int64, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return &x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			i := int64(x)
			return &i, nil
		}
		return nil, invalid(path, "want an integer, got %v", x)
	}
	return nil, invalid(path, "want an integer, got %s", typeName(v))
}

// floatIn reads an optional number in [lo, hi].
func floatIn(v any, path string, lo, hi float64) (*float64, error) {
	f, err := asFloat(v, path)
	if err != nil || f == nil {
		return nil, err
	}
	if !(*f >= lo && *f <= hi) {
		return nil, invalid(path, "%v is out of range [%v, %v]", *f, lo, hi)
	}
	return f, nil
}

// intIn reads an optional integer in [lo, hi].
func intIn(v any, path string, lo, hi int64) (*int, error) {
	i, err := asInt(v, path)
	if err != nil || i == nil {
		return nil, err
	}
	if *i < lo || *i > hi {
		return nil, invalid(path, "%d is out of range [%d, %d]", *i, lo, hi)
	}
	n := int(*i)
	return &n, nil
}
