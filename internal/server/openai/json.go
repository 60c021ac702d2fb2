package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sputnik-llm/sputnik/internal/chat"
)

// MaxDepth is the deepest nesting of arrays and objects DecodeJSON accepts;
// deeper input is an error rather than a deep recursion.
const MaxDepth = 200

// DecodeJSON decodes one JSON value into the values chat templates take:
// objects as chat.Object (key order kept, which templates show through
// tojson), arrays as []any, integers that fit in int64 as int64, other
// numbers as float64, strings, bools and nil. Anything after the value
// other than whitespace is an error. Errors give the byte offset.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, jsonError(dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: unexpected data after the value at byte %d", dec.InputOffset())
	}
	return v, nil
}

func jsonError(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("invalid JSON near byte %d: %v", dec.InputOffset(), err)
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", MaxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := chat.Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok { // the decoder's own syntax check makes this unreachable
					return nil, fmt.Errorf("object key %v is not a string", kt)
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = append(o, chat.Member{Key: key, Value: v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if !strings.ContainsAny(string(t), ".eE") {
			if i, err := t.Int64(); err == nil {
				return i, nil
			}
		}
		return t.Float64()
	}
	return tok, nil // string, bool or nil
}

// typeName names a decoded value's JSON type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case chat.Object:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// Kwargs are extra chat template variables: decoded JSON values by name.
type Kwargs map[string]any

// MarshalJSON writes the variables with nested objects in their key order.
func (k Kwargs) MarshalJSON() ([]byte, error) {
	m := make(map[string]json.RawMessage, len(k))
	for name, v := range k {
		b, err := MarshalJSON(v)
		if err != nil {
			return nil, err
		}
		m[name] = b
	}
	return json.Marshal(m)
}

// MarshalJSON encodes a value DecodeJSON returns (chat.Object members in
// order, []any, and anything encoding/json handles).
func MarshalJSON(v any) ([]byte, error) {
	switch x := v.(type) {
	case chat.Object:
		var b bytes.Buffer
		b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(m.Key)
			b.Write(k)
			b.WriteByte(':')
			e, err := MarshalJSON(m.Value)
			if err != nil {
				return nil, err
			}
			b.Write(e)
		}
		b.WriteByte('}')
		return b.Bytes(), nil
	case []any:
		var b bytes.Buffer
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			j, err := MarshalJSON(e)
			if err != nil {
				return nil, err
			}
			b.Write(j)
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	}
	return json.Marshal(v)
}
