package gguf

import (
	"fmt"
	"math"
)

// ValueType is the type tag of a GGUF metadata value.
type ValueType uint32

// The GGUF metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var typeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the GGUF name of the type ("uint32", "array", …).
func (t ValueType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// scalarSize returns the encoded size of a fixed-size scalar type, or 0 for
// strings, arrays and unknown types.
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is one metadata value. Scalars hold the Go type of the same name
// (uint8 … float64, bool, string). Arrays hold a typed slice: []uint8 …
// []float64, []bool, []string, or []Value for arrays of arrays. Values are
// immutable once read; slices returned by accessors must not be modified.
type Value struct {
	Type ValueType // the value's type tag
	Elem ValueType // for arrays, the element type
	v    any
}

// MakeValue wraps a Go value as a metadata value. It accepts the scalar Go
// types listed on Value, slices of them, []Value and Value itself.
func MakeValue(x any) (Value, error) {
	switch x := x.(type) {
	case Value:
		return x, nil
	case uint8:
		return Value{Type: TypeUint8, v: x}, nil
	case int8:
		return Value{Type: TypeInt8, v: x}, nil
	case uint16:
		return Value{Type: TypeUint16, v: x}, nil
	case int16:
		return Value{Type: TypeInt16, v: x}, nil
	case uint32:
		return Value{Type: TypeUint32, v: x}, nil
	case int32:
		return Value{Type: TypeInt32, v: x}, nil
	case float32:
		return Value{Type: TypeFloat32, v: x}, nil
	case bool:
		return Value{Type: TypeBool, v: x}, nil
	case string:
		return Value{Type: TypeString, v: x}, nil
	case uint64:
		return Value{Type: TypeUint64, v: x}, nil
	case int64:
		return Value{Type: TypeInt64, v: x}, nil
	case float64:
		return Value{Type: TypeFloat64, v: x}, nil
	case []uint8:
		return Value{Type: TypeArray, Elem: TypeUint8, v: x}, nil
	case []int8:
		return Value{Type: TypeArray, Elem: TypeInt8, v: x}, nil
	case []uint16:
		return Value{Type: TypeArray, Elem: TypeUint16, v: x}, nil
	case []int16:
		return Value{Type: TypeArray, Elem: TypeInt16, v: x}, nil
	case []uint32:
		return Value{Type: TypeArray, Elem: TypeUint32, v: x}, nil
	case []int32:
		return Value{Type: TypeArray, Elem: TypeInt32, v: x}, nil
	case []float32:
		return Value{Type: TypeArray, Elem: TypeFloat32, v: x}, nil
	case []bool:
		return Value{Type: TypeArray, Elem: TypeBool, v: x}, nil
	case []string:
		return Value{Type: TypeArray, Elem: TypeString, v: x}, nil
	case []uint64:
		return Value{Type: TypeArray, Elem: TypeUint64, v: x}, nil
	case []int64:
		return Value{Type: TypeArray, Elem: TypeInt64, v: x}, nil
	case []float64:
		return Value{Type: TypeArray, Elem: TypeFloat64, v: x}, nil
	case []Value:
		return Value{Type: TypeArray, Elem: TypeArray, v: x}, nil
	}
	return Value{}, fmt.Errorf("gguf: cannot store a %T as metadata", x)
}

// Any returns the value as its Go type (see Value).
func (v Value) Any() any { return v.v }

// Len returns the number of elements of an array value, or 0 for scalars.
func (v Value) Len() int {
	switch a := v.v.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// Int returns an integer scalar as int64. It fails for non-integers and for
// uint64 values above math.MaxInt64.
func (v Value) Int() (int64, error) {
	switch x := v.v.(type) {
	case uint8:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("value %d overflows int64", x)
		}
		return int64(x), nil
	}
	return 0, fmt.Errorf("%s is not an integer", v.describe())
}

// Float returns a float32 or float64 scalar as float64.
func (v Value) Float() (float64, error) {
	switch x := v.v.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, fmt.Errorf("%s is not a float", v.describe())
}

// describe names the value's type for error messages ("array of string").
func (v Value) describe() string {
	if v.Type == TypeArray {
		return "array of " + v.Elem.String()
	}
	return v.Type.String()
}

// Int32s converts an array of any integer type to []int32, failing if an
// element does not fit.
func (v Value) Int32s() ([]int32, error) {
	if v.Type != TypeArray {
		return nil, fmt.Errorf("%s is not an array", v.describe())
	}
	conv := func(n int, at func(i int) int64) ([]int32, error) {
		out := make([]int32, n)
		for i := range out {
			x := at(i)
			if x < math.MinInt32 || x > math.MaxInt32 {
				return nil, fmt.Errorf("element %d = %d does not fit in int32", i, x)
			}
			out[i] = int32(x)
		}
		return out, nil
	}
	switch a := v.v.(type) {
	case []int32:
		return a, nil
	case []uint8:
		return conv(len(a), func(i int) int64 { return int64(a[i]) })
	case []int8:
		return conv(len(a), func(i int) int64 { return int64(a[i]) })
	case []uint16:
		return conv(len(a), func(i int) int64 { return int64(a[i]) })
	case []int16:
		return conv(len(a), func(i int) int64 { return int64(a[i]) })
	case []uint32:
		return conv(len(a), func(i int) int64 { return int64(a[i]) })
	case []int64:
		return conv(len(a), func(i int) int64 { return a[i] })
	case []uint64:
		return conv(len(a), func(i int) int64 {
			if a[i] > math.MaxInt64 {
				return math.MaxInt64
			}
			return int64(a[i])
		})
	}
	return nil, fmt.Errorf("%s is not an integer array", v.describe())
}
