package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrUnsupported marks a schema that uses a keyword or a value this
// package cannot enforce; the message names it. Callers answer such a
// schema with a client error rather than generating unconstrained text.
var ErrUnsupported = errors.New("unsupported")

// Limits on schemas.
const (
	maxSchemaBytes = 1 << 20 // a schema's JSON text
	maxSchemaDepth = 64      // nesting of JSON in a schema
	maxCount       = 1024    // minItems, maxItems, minLength, maxLength
	// MaxWhitespace is the longest run of whitespace the grammar allows
	// between JSON tokens, so that a model cannot pad forever.
	MaxWhitespace = 16
	// numberLimit: numeric bounds at or beyond it are treated as absent.
	numberLimit = 1e15
)

// object is a JSON object with its key order (schemas list properties in
// the order the output should have them).
type object struct {
	keys []string
	vals []any
}

func (o *object) get(k string) (any, bool) {
	for i, key := range o.keys {
		if key == k {
			return o.vals[i], true
		}
	}
	return nil, false
}

// parseJSON decodes data into *object, []any, string, json.Number, bool
// and nil.
func parseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the schema at byte %d", dec.InputOffset())
	}
	return v, nil
}

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", maxSchemaDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON near byte %d: %v", dec.InputOffset(), err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON near byte %d: %v", dec.InputOffset(), err)
				}
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k.(string))
				o.vals = append(o.vals, v)
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
	}
	return tok, nil
}

// encodeJSON writes v compactly, keys in order, without HTML escaping.
func encodeJSON(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case *object:
		buf.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeJSON(buf, k)
			buf.WriteByte(':')
			encodeJSON(buf, v.vals[i])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeJSON(buf, e)
		}
		buf.WriteByte(']')
	case string:
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		buf.Truncate(buf.Len() - 1) // Encode's newline
	case json.Number:
		buf.WriteString(v.String())
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	case nil:
		buf.WriteString("null")
	}
}

func literal(v any) string {
	var buf bytes.Buffer
	encodeJSON(&buf, v)
	return buf.String()
}

// rule is a compiled sub-grammar: calls enter at start, end pops.
type rule struct{ start, end int32 }

type compiler struct {
	b     builder
	root  any
	rules map[*object]rule
	ws    rule  // bounded whitespace
	value *rule // any JSON value
	str   *rule // any JSON string
}

// Schema compiles a JSON Schema (the text of a JSON object, or true) into
// a Grammar for the JSON values it accepts, with up to MaxWhitespace bytes
// of whitespace around the value. Errors wrap ErrUnsupported when the
// schema uses something this package does not enforce, naming it and its
// place in the schema.
func Schema(schema []byte) (*Grammar, error) {
	if len(schema) > maxSchemaBytes {
		return nil, fmt.Errorf("grammar: schema of %d bytes is over the limit of %d", len(schema), maxSchemaBytes)
	}
	root, err := parseJSON(schema)
	if err != nil {
		return nil, fmt.Errorf("grammar: schema: %v", err)
	}
	return compile(root)
}

// JSONObject returns the Grammar of any JSON object: OpenAI's
// response_format {"type": "json_object"}.
func JSONObject() *Grammar {
	g, err := compile(&object{keys: []string{"type", "additionalProperties"}, vals: []any{"object", true}})
	if err != nil {
		panic(err) // a fixed schema
	}
	return g
}

// Seq is one alternative of a Sequences grammar: literal Prefix text, a
// JSON value valid under Schema (nil: none), then literal Suffix text.
type Seq struct {
	Prefix string
	Schema []byte
	Suffix string
}

// Sequences compiles a grammar that accepts any one of alts, with up to
// MaxWhitespace bytes of whitespace before and after: the frame of a tool
// call in a model's own syntax around the JSON of its arguments. Errors
// are as Schema's.
func Sequences(alts []Seq) (*Grammar, error) {
	roots := make([]any, len(alts))
	for i, a := range alts {
		if a.Schema == nil {
			continue
		}
		if len(a.Schema) > maxSchemaBytes {
			return nil, fmt.Errorf("grammar: schema of %d bytes is over the limit of %d", len(a.Schema), maxSchemaBytes)
		}
		root, err := parseJSON(a.Schema)
		if err != nil {
			return nil, fmt.Errorf("grammar: schema: %v", err)
		}
		roots[i] = root
	}
	return compileSeqs(alts, roots)
}

func compile(root any) (*Grammar, error) {
	return compileSeqs([]Seq{{}}, []any{root})
}

func compileSeqs(alts []Seq, roots []any) (*Grammar, error) {
	c := &compiler{rules: map[*object]rule{}}
	c.ws = c.newRule()
	{
		cur := c.ws.start
		for range MaxWhitespace {
			next := c.b.add()
			c.b.eps(cur, c.ws.end)
			for _, ch := range []byte(" \t\n\r") {
				c.b.edge(cur, next, ch, ch)
			}
			cur = next
		}
		c.b.eps(cur, c.ws.end)
	}
	start := c.b.add()
	body := c.b.add()
	bodyEnd := c.b.add()
	end := c.b.add()
	c.b.call(start, c.ws.start, body)
	for i, a := range alts {
		cur := c.b.lit(body, a.Prefix)
		if roots[i] != nil {
			c.root = roots[i]
			top, err := c.schemaRule(roots[i], "#")
			if err != nil {
				return nil, fmt.Errorf("grammar: %w", err)
			}
			next := c.b.add()
			c.b.call(cur, top.start, next)
			cur = next
		}
		c.b.eps(c.b.lit(cur, a.Suffix), bodyEnd)
	}
	c.b.call(bodyEnd, c.ws.start, end)
	c.b.states[end].final = true
	if len(c.b.states) > maxStates {
		return nil, fmt.Errorf("grammar: the schema compiles to more than %d states", maxStates)
	}
	g := &Grammar{st: c.b.states, start: start}
	// Left recursion ($ref cycles that consume nothing) would make the
	// matcher loop; find it now.
	r := runner{st: g.st}
	for i := range g.st {
		r.frames = r.frames[:0]
		r.closure(nil, int32(i), -1, 0)
		if r.overflow {
			return nil, fmt.Errorf("grammar: %w: the schema refers to itself without consuming input (left recursion through $ref)", ErrUnsupported)
		}
	}
	return g, nil
}

func (c *compiler) newRule() rule {
	r := rule{c.b.add(), c.b.add()}
	c.b.states[r.end].final = true
	return r
}

// unsupported is an ErrUnsupported error at path.
func unsupported(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s at %s", ErrUnsupported, fmt.Sprintf(format, args...), path)
}

// annotations are keywords that do not constrain values.
var annotations = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true, "$schema": true,
	"$id": true, "$comment": true, "deprecated": true, "readOnly": true, "writeOnly": true,
	"$defs": true, "definitions": true, "$anchor": true,
}

// keywords lists the constraining keywords compiled, by the type they
// apply to ("" for any).
var keywords = map[string]string{
	"type": "", "enum": "", "const": "", "anyOf": "", "oneOf": "", "allOf": "", "$ref": "",
	"properties": "object", "required": "object", "additionalProperties": "object",
	"items": "array", "prefixItems": "array", "minItems": "array", "maxItems": "array",
	"pattern": "string", "format": "string", "minLength": "string", "maxLength": "string",
	"minimum": "number", "maximum": "number", "exclusiveMinimum": "number", "exclusiveMaximum": "number",
}

// schemaRule returns the rule of the schema s at path, compiling it once.
func (c *compiler) schemaRule(s any, path string) (rule, error) {
	switch s := s.(type) {
	case bool:
		if !s {
			return rule{}, unsupported(path, "schema false (no value is valid)")
		}
		return c.anyValue(), nil
	case *object:
		if r, ok := c.rules[s]; ok {
			return r, nil
		}
		r := c.newRule()
		c.rules[s] = r
		return r, c.schemaBody(s, path, r.start, r.end)
	}
	return rule{}, fmt.Errorf("schema at %s: want an object or a boolean, got %s", path, literal(s))
}

func (c *compiler) schemaBody(s *object, path string, from, to int32) error {
	for _, k := range s.keys {
		if _, ok := keywords[k]; !ok && !annotations[k] {
			return unsupported(path, "keyword %q", k)
		}
	}
	has := func(k string) bool { _, ok := s.get(k); return ok }
	constraints := func(except ...string) []string {
		var out []string
		for _, k := range s.keys {
			if _, ok := keywords[k]; ok && !slices.Contains(except, k) {
				out = append(out, k)
			}
		}
		return out
	}
	switch {
	case has("$ref"):
		if other := constraints("$ref"); len(other) > 0 {
			return unsupported(path, "%q beside $ref", other[0])
		}
		ref, _ := s.get("$ref")
		target, err := c.resolve(ref, path)
		if err != nil {
			return err
		}
		r, err := c.schemaRule(target, refPath(ref))
		if err != nil {
			return err
		}
		c.b.call(from, r.start, to)
		return nil
	case has("const") || has("enum"):
		var vals []any
		if v, ok := s.get("const"); ok {
			vals = []any{v}
		} else {
			e, _ := s.get("enum")
			list, ok := e.([]any)
			if !ok || len(list) == 0 {
				return fmt.Errorf("enum at %s: want a non-empty array", path)
			}
			vals = list
		}
		if other := constraints("const", "enum", "type"); len(other) > 0 {
			return unsupported(path, "%q beside enum or const", other[0])
		}
		for _, v := range vals {
			c.b.eps(c.b.lit(from, literal(v)), to)
		}
		return nil
	case has("anyOf") || has("oneOf") || has("allOf"):
		kw := "anyOf"
		if has("oneOf") {
			kw = "oneOf"
		} else if has("allOf") {
			kw = "allOf"
		}
		if other := constraints(kw); len(other) > 0 {
			return unsupported(path, "%q beside %s", other[0], kw)
		}
		v, _ := s.get(kw)
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return fmt.Errorf("%s at %s: want a non-empty array", kw, path)
		}
		if kw == "allOf" && len(list) > 1 {
			return unsupported(path, "allOf with more than one schema")
		}
		for i, sub := range list {
			r, err := c.schemaRule(sub, fmt.Sprintf("%s/%s/%d", path, kw, i))
			if err != nil {
				return err
			}
			c.b.call(from, r.start, to)
		}
		return nil
	}
	types, err := typesOf(s, path)
	if err != nil {
		return err
	}
	for _, t := range types {
		if err := c.typed(s, t, path, from, to); err != nil {
			return err
		}
	}
	return nil
}

// typesOf returns the types a schema allows: its "type", or the one its
// keywords imply, or all.
func typesOf(s *object, path string) ([]string, error) {
	if t, ok := s.get("type"); ok {
		switch t := t.(type) {
		case string:
			return []string{t}, nil
		case []any:
			var out []string
			for _, e := range t {
				name, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("type at %s: want strings", path)
				}
				out = append(out, name)
			}
			return out, nil
		}
		return nil, fmt.Errorf("type at %s: want a string or an array", path)
	}
	implied := map[string]bool{}
	for _, k := range s.keys {
		if t := keywords[k]; t != "" {
			implied[t] = true
		}
	}
	if len(implied) > 1 {
		return nil, unsupported(path, "keywords of several types without \"type\"")
	}
	for t := range implied {
		return []string{t}, nil
	}
	return []string{"null", "boolean", "number", "string", "array", "object"}, nil
}

func (c *compiler) typed(s *object, t, path string, from, to int32) error {
	for _, k := range s.keys {
		if want := keywords[k]; want != "" && want != t && !(want == "number" && t == "integer") {
			// Keywords of another type are ignored by validators for this
			// type; only a lone-typed schema using them is a mistake.
			if v, _ := s.get("type"); v == t {
				return unsupported(path, "keyword %q on type %q", k, t)
			}
		}
	}
	switch t {
	case "null":
		c.b.eps(c.b.lit(from, "null"), to)
	case "boolean":
		c.b.eps(c.b.lit(from, "true"), to)
		c.b.eps(c.b.lit(from, "false"), to)
	case "integer", "number":
		expr, err := numberRE(s, t == "integer", path)
		if err != nil {
			return err
		}
		return c.regex(expr, from, to, rawText, false)
	case "string":
		return c.stringType(s, path, from, to)
	case "array":
		return c.arrayType(s, path, from, to)
	case "object":
		return c.objectType(s, path, from, to)
	default:
		return fmt.Errorf("type at %s: unknown type %q", path, t)
	}
	return nil
}

// resolve follows a local JSON pointer reference ("#", "#/$defs/x").
func (c *compiler) resolve(ref any, path string) (any, error) {
	r, ok := ref.(string)
	if !ok || !strings.HasPrefix(r, "#") {
		return nil, unsupported(path, "$ref %s (only local references \"#/...\")", literal(ref))
	}
	cur := c.root
	if r == "#" {
		return cur, nil
	}
	if !strings.HasPrefix(r, "#/") {
		return nil, unsupported(path, "$ref %q (anchors)", r)
	}
	for _, tok := range strings.Split(r[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case *object:
			next, ok := v.get(tok)
			if !ok {
				return nil, fmt.Errorf("$ref %q at %s: %q not found", r, path, tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, fmt.Errorf("$ref %q at %s: bad index %q", r, path, tok)
			}
			cur = v[i]
		default:
			return nil, fmt.Errorf("$ref %q at %s: cannot descend into %s", r, path, literal(v))
		}
	}
	return cur, nil
}

func refPath(ref any) string { s, _ := ref.(string); return s }

// count reads a non-negative integer keyword; -1 when absent.
func count(s *object, k, path string) (int, error) {
	v, ok := s.get(k)
	if !ok {
		return -1, nil
	}
	n, ok := v.(json.Number)
	i, err := n.Int64()
	if !ok || err != nil || i < 0 {
		return 0, fmt.Errorf("%s at %s: want a non-negative integer", k, path)
	}
	if i > maxCount {
		return 0, unsupported(path, "%s %d (at most %d)", k, i, maxCount)
	}
	return int(i), nil
}

// anyValue is the rule of any JSON value.
func (c *compiler) anyValue() rule {
	if c.value == nil {
		r := c.newRule()
		c.value = &r
		c.typed(&object{}, "null", "", r.start, r.end)
		c.typed(&object{}, "boolean", "", r.start, r.end)
		c.typed(&object{}, "number", "", r.start, r.end)
		c.b.call(r.start, c.anyString().start, r.end)
		c.arrayType(&object{}, "", r.start, r.end)
		c.objectType(&object{keys: []string{"additionalProperties"}, vals: []any{true}}, "", r.start, r.end)
	}
	return *c.value
}

// anyString is the rule of any JSON string.
func (c *compiler) anyString() rule {
	if c.str == nil {
		r := c.newRule()
		c.str = &r
		ready := c.b.add()
		c.b.edge(r.start, ready, '"', '"')
		c.stringBody(ready)
		c.b.edge(ready, r.end, '"', '"')
	}
	return *c.str
}

// stringBody makes ready the character boundary of an unconstrained JSON
// string: any character (UTF-8, checked) or escape leads back to it. The
// caller adds the closing quote. Vocab's fast path depends on exactly this
// construction.
func (c *compiler) stringBody(ready int32) {
	b := &c.b
	b.states[ready].str = true
	c.char(ready, ready)
}

// char adds the paths of one JSON string character from from to to.
func (c *compiler) char(from, to int32) {
	b := &c.b
	b.edge(from, to, 0x20, '"'-1)
	b.edge(from, to, '"'+1, '\\'-1)
	b.edge(from, to, '\\'+1, 0x7F)
	esc := b.add()
	b.edge(from, esc, '\\', '\\')
	for _, e := range []byte(`"\/bfnrt`) {
		b.edge(esc, to, e, e)
	}
	h := b.add()
	b.edge(esc, h, 'u', 'u')
	for i := range 4 {
		next := to
		if i < 3 {
			next = b.add()
		}
		b.edge(h, next, '0', '9')
		b.edge(h, next, 'a', 'f')
		b.edge(h, next, 'A', 'F')
		h = next
	}
	c.utf8Ranges(from, to, 0x80, 0x10FFFF)
}

func (c *compiler) stringType(s *object, path string, from, to int32) error {
	pattern, hasPattern := s.get("pattern")
	format, hasFormat := s.get("format")
	minLen, err := count(s, "minLength", path)
	if err != nil {
		return err
	}
	maxLen, err := count(s, "maxLength", path)
	if err != nil {
		return err
	}
	open := c.b.add()
	c.b.edge(from, open, '"', '"')
	closing := c.b.add()
	c.b.edge(closing, to, '"', '"')
	switch {
	case hasPattern || hasFormat:
		if (minLen >= 0 || maxLen >= 0) || (hasPattern && hasFormat) {
			return unsupported(path, "pattern or format together with a length or with each other")
		}
		if hasFormat {
			f, _ := format.(string)
			expr, ok := formats[f]
			if !ok {
				return unsupported(path, "format %q", f)
			}
			return c.regex(expr, open, closing, stringText, false)
		}
		p, ok := pattern.(string)
		if !ok {
			return fmt.Errorf("pattern at %s: want a string", path)
		}
		if err := c.regex(p, open, closing, stringText, true); err != nil {
			return unsupported(path, "%v", err)
		}
		return nil
	case minLen >= 0 || maxLen >= 0:
		minLen = max(minLen, 0)
		if maxLen >= 0 && maxLen < minLen {
			return fmt.Errorf("string at %s: maxLength %d < minLength %d", path, maxLen, minLen)
		}
		cur := open
		for i := 0; maxLen < 0 || i <= maxLen; i++ {
			if i >= minLen {
				c.b.eps(cur, closing)
			}
			if maxLen < 0 && i == minLen {
				c.char(cur, cur)
				break
			}
			if i == maxLen {
				break
			}
			next := c.b.add()
			c.char(cur, next)
			cur = next
		}
		return nil
	}
	c.stringBody(open)
	c.b.edge(open, to, '"', '"') // not through closing: one configuration for the fast path
	return nil
}

func (c *compiler) arrayType(s *object, path string, from, to int32) error {
	minItems, err := count(s, "minItems", path)
	if err != nil {
		return err
	}
	maxItems, err := count(s, "maxItems", path)
	if err != nil {
		return err
	}
	minItems = max(minItems, 0)
	var prefix []any
	if v, ok := s.get("prefixItems"); ok {
		if prefix, ok = v.([]any); !ok {
			return fmt.Errorf("prefixItems at %s: want an array", path)
		}
	}
	items, hasItems := s.get("items")
	if !hasItems {
		items = true
	}
	if _, isList := items.([]any); isList {
		return unsupported(path, "items as an array (use prefixItems)")
	}
	closed := items == false
	if maxItems >= 0 && maxItems < minItems {
		return fmt.Errorf("array at %s: maxItems %d < minItems %d", path, maxItems, minItems)
	}
	if closed && minItems > len(prefix) {
		return fmt.Errorf("array at %s: minItems %d with %d prefixItems and items false", path, minItems, len(prefix))
	}
	limit := maxItems // elements unrolled
	if closed {
		limit = len(prefix)
		if maxItems >= 0 {
			limit = min(limit, maxItems)
		}
	}
	loop := limit < 0
	if loop {
		limit = max(len(prefix), minItems, 1)
	}
	elem := func(i int) (rule, error) {
		if i < len(prefix) {
			return c.schemaRule(prefix[i], fmt.Sprintf("%s/prefixItems/%d", path, i))
		}
		return c.schemaRule(items, path+"/items")
	}
	open := c.b.add()
	c.b.edge(from, open, '[', '[')
	cur := c.b.add()
	c.b.call(open, c.ws.start, cur)
	for i := 0; i <= limit; i++ {
		if i >= minItems {
			c.b.edge(cur, to, ']', ']')
		}
		if i == limit && !loop {
			break
		}
		r, err := elem(i)
		if err != nil {
			return err
		}
		start := cur
		if i > 0 {
			comma := c.b.add()
			c.b.edge(cur, comma, ',', ',')
			start = c.b.add()
			c.b.call(comma, c.ws.start, start)
		}
		after := c.b.add()
		c.b.call(start, r.start, after)
		next := cur
		if i < limit {
			next = c.b.add()
		}
		c.b.call(after, c.ws.start, next)
		cur = next
		if i == limit {
			break
		}
	}
	return nil
}

func (c *compiler) objectType(s *object, path string, from, to int32) error {
	props := &object{}
	if v, ok := s.get("properties"); ok {
		if props, ok = v.(*object); !ok {
			return fmt.Errorf("properties at %s: want an object", path)
		}
	}
	required := map[string]bool{}
	if v, ok := s.get("required"); ok {
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("required at %s: want an array", path)
		}
		for _, e := range list {
			name, ok := e.(string)
			if !ok {
				return fmt.Errorf("required at %s: want strings", path)
			}
			if _, ok := props.get(name); !ok {
				return unsupported(path, "required property %q not listed in properties", name)
			}
			required[name] = true
		}
	}
	// additionalProperties: absent means none are generated when the
	// schema lists properties (a subset of what it accepts) and any when it
	// lists none; true or a schema allows them.
	extra, hasExtra := s.get("additionalProperties")
	if !hasExtra && len(props.keys) == 0 {
		extra, hasExtra = true, true
	}
	if extra == false {
		hasExtra = false
	}
	open := c.b.add()
	c.b.edge(from, open, '{', '{')
	n := len(props.keys)
	p := make([][2]int32, n+1) // [property][0: none emitted yet, 1: some]
	for i := range p {
		p[i] = [2]int32{c.b.add(), c.b.add()}
	}
	c.b.call(open, c.ws.start, p[0][0])
	member := func(fromState int32, more bool, key func(int32) int32, val rule, next int32) {
		cur := fromState
		if more {
			comma := c.b.add()
			c.b.edge(cur, comma, ',', ',')
			cur = c.b.add()
			c.b.call(comma, c.ws.start, cur)
		}
		k := key(cur)
		colon := c.b.add()
		c.b.call(k, c.ws.start, colon)
		afterColon := c.b.add()
		c.b.edge(colon, afterColon, ':', ':')
		v := c.b.add()
		c.b.call(afterColon, c.ws.start, v)
		after := c.b.add()
		c.b.call(v, val.start, after)
		c.b.call(after, c.ws.start, next)
	}
	for i, name := range props.keys {
		r, err := c.schemaRule(props.vals[i], path+"/properties/"+name)
		if err != nil {
			return err
		}
		lit := literal(name)
		for x := range 2 {
			member(p[i][x], x == 1, func(st int32) int32 { return c.b.lit(st, lit) }, r, p[i+1][1])
			if !required[name] {
				c.b.eps(p[i][x], p[i+1][x])
			}
		}
	}
	if hasExtra {
		r, err := c.schemaRule(extra, path+"/additionalProperties")
		if err != nil {
			return err
		}
		key := c.newRule()
		c.keyExcept(props.keys, key.start, key.end)
		for x := range 2 {
			member(p[n][x], x == 1, func(st int32) int32 {
				k := c.b.add()
				c.b.call(st, key.start, k)
				return k
			}, r, p[n][1])
		}
	}
	c.b.edge(p[n][0], to, '}', '}')
	c.b.edge(p[n][1], to, '}', '}')
	return nil
}

// keyExcept adds a JSON string that is none of names (compared as
// written: a name spelled with escapes is not caught).
func (c *compiler) keyExcept(names []string, from, to int32) {
	var plain []string
	for _, n := range names {
		if literal(n) == `"`+n+`"` && !strings.ContainsFunc(n, func(r rune) bool { return r >= 0x80 }) {
			plain = append(plain, n)
		}
	}
	names = plain // TODO(grammar): non-ASCII or escaped names are not excluded
	if len(names) == 0 {
		c.b.call(from, c.anyString().start, to)
		return
	}
	// A trie of the names' JSON spellings; leaving it at any point goes to
	// the free string state.
	free := c.b.add()
	c.stringBody(free)
	c.b.edge(free, to, '"', '"')
	type tnode struct {
		id       int32
		kids     map[byte]*tnode
		terminal bool
	}
	root := &tnode{id: c.b.add(), kids: map[byte]*tnode{}}
	c.b.edge(from, root.id, '"', '"')
	for _, name := range names {
		lit := literal(name)
		nd := root
		for i := 1; i < len(lit)-1; i++ {
			kid := nd.kids[lit[i]]
			if kid == nil {
				kid = &tnode{id: c.b.add(), kids: map[byte]*tnode{}}
				nd.kids[lit[i]] = kid
			}
			nd = kid
		}
		nd.terminal = true
	}
	var walk func(nd *tnode)
	walk = func(nd *tnode) {
		if !nd.terminal {
			c.b.edge(nd.id, to, '"', '"')
		}
		// Any character whose first byte leaves the trie goes to free.
		probe := c.b.add()
		c.char(probe, free)
		for _, e := range c.b.states[probe].edges {
			for b := int(e.lo); b <= int(e.hi); b++ {
				if _, ok := nd.kids[byte(b)]; ok {
					continue // stays in the trie
				}
				c.b.edge(nd.id, e.to, byte(b), byte(b))
			}
		}
		for b, kid := range nd.kids {
			c.b.edge(nd.id, kid.id, b, b)
			walk(kid)
		}
	}
	walk(root)
}

// numberRE returns the expression for an integer or number schema with
// its bounds. Integer bounds are exact. A number with bounds is generated
// as an integer in range or as a non-negative decimal whose integer part
// keeps the whole value in range (so -0.5 or 0.5 under minimum 0.2 are
// never produced); exponents (of at most two digits, so that every value
// fits a float64) only without bounds.
func numberRE(s *object, integer bool, path string) (string, error) {
	num := func(k string) (float64, bool, error) {
		v, ok := s.get(k)
		if !ok {
			return 0, false, nil
		}
		n, isNum := v.(json.Number)
		f, err := n.Float64()
		if !isNum || err != nil {
			return 0, false, fmt.Errorf("%s at %s: want a number", k, path)
		}
		if math.Abs(f) >= numberLimit {
			return 0, false, nil
		}
		return f, true, nil
	}
	lo, hi := bound{inf: true}, bound{inf: true} // integers allowed
	flo, fhi := bound{inf: true}, bound{inf: true}
	if v, ok, err := num("minimum"); err != nil {
		return "", err
	} else if ok {
		lo = bound{v: int64(math.Ceil(v))}
		flo = lo
	}
	if v, ok, err := num("exclusiveMinimum"); err != nil {
		return "", err
	} else if ok {
		b := bound{v: int64(math.Floor(v)) + 1}
		if lo.inf || b.v > lo.v {
			lo, flo = b, b
		}
	}
	if v, ok, err := num("maximum"); err != nil {
		return "", err
	} else if ok {
		hi = bound{v: int64(math.Floor(v))}
		fhi = bound{v: hi.v - 1}
	}
	if v, ok, err := num("exclusiveMaximum"); err != nil {
		return "", err
	} else if ok {
		b := bound{v: int64(math.Ceil(v)) - 1}
		fb := bound{v: int64(math.Ceil(v)) - 1}
		if v != math.Trunc(v) {
			fb.v = int64(math.Floor(v)) - 1
		}
		if hi.inf || b.v < hi.v {
			hi, fhi = b, fb
		}
	}
	bounded := !lo.inf || !hi.inf
	if !bounded {
		if integer {
			return `-?(?:0|[1-9][0-9]*)`, nil
		}
		return `-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,2})?`, nil
	}
	alts := []string{}
	if e := intSetRE(lo, hi); e != "" {
		alts = append(alts, e)
	}
	if !integer {
		if flo.inf || flo.v < 0 {
			flo = bound{v: 0}
		}
		if fhi.inf || fhi.v >= flo.v {
			if e := intSetRE(flo, fhi); e != "" {
				alts = append(alts, e+`\.[0-9]+`)
			}
		}
	}
	if len(alts) == 0 {
		return "", unsupported(path, "a number range this grammar cannot generate (no integer in range)")
	}
	return strings.Join(alts, "|"), nil
}
