package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// decodeJSON decodes JSON into template values, keeping object key order
// (Object), integers as int64 and other numbers as float64.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSONValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeJSONValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, Member{kt.(string), v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
	case json.Number:
		if !strings.ContainsAny(string(t), ".eE") {
			if i, err := t.Int64(); err == nil {
				return i, nil
			}
		}
		return t.Float64()
	}
	return tok, nil
}

// objectVars turns a decoded JSON object into template variables.
func objectVars(v any) map[string]any {
	vars := map[string]any{}
	if o, ok := v.(Object); ok {
		for _, m := range o {
			vars[m.Key] = m.Value
		}
	}
	return vars
}
