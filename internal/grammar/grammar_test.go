package grammar

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
	"github.com/sputnik-llm/sputnik/internal/tokenizer/hf"
)

// schemas is the broad set every generation test runs over.
var schemas = []struct{ name, schema string }{
	{"any", `{}`},
	{"json_object", `{"type":"object","additionalProperties":true}`},
	{"string", `{"type":"string"}`},
	{"integer", `{"type":"integer"}`},
	{"number", `{"type":"number"}`},
	{"boolean", `{"type":"boolean"}`},
	{"null", `{"type":"null"}`},
	{"type list", `{"type":["string","null"]}`},
	{"strict object", `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","age","tags"],"additionalProperties":false}`},
	{"optional props", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"},"c":{"type":"null"}},"required":["b"]}`},
	{"additional schema", `{"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":{"type":"number"}}`},
	{"enum", `{"enum":["red","green","blue",42,null,{"x":[1,2]}]}`},
	{"const", `{"const":"fixed \"quoted\" ünïcode"}`},
	{"array bounds", `{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":4}`},
	{"prefixItems", `{"type":"array","prefixItems":[{"type":"string"},{"type":"number"}],"items":false,"minItems":1}`},
	{"prefix then items", `{"type":"array","prefixItems":[{"const":"head"}],"items":{"type":"boolean"}}`},
	{"anyOf", `{"anyOf":[{"type":"string","maxLength":3},{"type":"object","properties":{"k":{"type":"integer"}},"required":["k"]}]}`},
	{"oneOf", `{"oneOf":[{"type":"boolean"},{"type":"null"}]}`},
	{"allOf one", `{"allOf":[{"type":"integer","minimum":-5,"maximum":5}]}`},
	{"defs ref", `{"$defs":{"point":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},"required":["x","y"],"additionalProperties":false}},"type":"array","items":{"$ref":"#/$defs/point"},"maxItems":3}`},
	{"recursive", `{"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["value"],"additionalProperties":false}},"$ref":"#/$defs/node"}`},
	{"root recursion", `{"type":"object","properties":{"name":{"type":"string"},"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["name","next"],"additionalProperties":false}`},
	{"definitions", `{"definitions":{"s":{"type":"string"}},"type":"object","properties":{"a":{"$ref":"#/definitions/s"}},"required":["a"]}`},
	{"pattern", `{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3,4}$"}`},
	{"pattern unanchored", `{"type":"string","pattern":"ab+c"}`},
	{"pattern escapes", `{"type":"string","pattern":"^(\"|\\\\|[a-z])+$"}`},
	{"pattern unicode", `{"type":"string","pattern":"^[α-ω]+[😀-😂]?$"}`},
	{"format date", `{"type":"string","format":"date"}`},
	{"format date-time", `{"type":"string","format":"date-time"}`},
	{"format time", `{"type":"string","format":"time"}`},
	{"format email", `{"type":"string","format":"email"}`},
	{"format uuid", `{"type":"string","format":"uuid"}`},
	{"format ipv4", `{"type":"string","format":"ipv4"}`},
	{"format hostname", `{"type":"string","format":"hostname"}`},
	{"string length", `{"type":"string","minLength":2,"maxLength":5}`},
	{"string min length", `{"type":"string","minLength":3}`},
	{"int range", `{"type":"integer","minimum":-123,"maximum":4567}`},
	{"int exclusive", `{"type":"integer","exclusiveMinimum":10,"exclusiveMaximum":20}`},
	{"int min only", `{"type":"integer","minimum":37}`},
	{"int max only", `{"type":"integer","maximum":-8}`},
	{"number range", `{"type":"number","minimum":0.5,"maximum":99.5}`},
	{"number exclusive", `{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1.5}`},
	{"tool call", `{"type":"object","properties":{"name":{"const":"get_weather"},"arguments":{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]}},"required":["city","unit"],"additionalProperties":false}},"required":["name","arguments"],"additionalProperties":false}`},
	{"true", `true`},
}

// validator compiles schema with a well-kept JSON Schema library (formats
// asserted).
func validator(t testing.TB, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// byteVocab is a small vocabulary: every byte, and multi-byte tokens that
// cross JSON structure, hold partial UTF-8 or quotes.
func byteVocab() (*Vocab, []string) {
	var pieces []string
	for b := range 256 {
		pieces = append(pieces, string([]byte{byte(b)}))
	}
	pieces = append(pieces, `{"`, `":`, `": `, `", "`, `","`, `"}`, `"]`, `true`, `null`, `false`, "\n  ", `{}`, `[]`,
		`12`, `0.`, `-1`, `ab`, `"a`, `bc"`, "\xe4\xbd", "\xa0", "α", "😀", `\"`, `\\`, `\n`, `\u00e9`, `red`, `"red"`,
		`name`, `"name": "`, `2024-`, `-0`, `"x"`, "<eos>")
	text := make([]bool, len(pieces))
	for i := range text {
		text[i] = true
	}
	return NewVocab(pieces, text, []int32{int32(len(pieces) - 1)}), pieces
}

// walk generates with uniformly random allowed tokens, preferring closing
// ones after budget steps so that walks end; it returns the text and
// whether the end was reached.
func walk(t testing.TB, g *Grammar, v *Vocab, rng *rand.Rand, budget int) (string, bool) {
	m := g.NewMatcher(v)
	mask := make([]uint64, (v.Size()+63)/64)
	var out []byte
	var allowed []int32
	for step := 0; step < 4*budget; step++ {
		m.Mask(mask)
		allowed = allowed[:0]
		for id := range v.Size() {
			if mask[id/64]&(1<<(id%64)) != 0 {
				allowed = append(allowed, int32(id))
			}
		}
		if len(allowed) == 0 {
			t.Fatalf("no token allowed after %q", out)
		}
		id := allowed[rng.IntN(len(allowed))]
		if step > budget {
			id = preferClosing(v, allowed, id, rng)
		}
		if !m.Accept(id) {
			t.Fatalf("masked token %d (%q) refused after %q", id, v.pieces[id], out)
		}
		if m.ended {
			return string(out), true
		}
		out = append(out, v.pieces[id]...)
	}
	return string(out), false
}

func preferClosing(v *Vocab, allowed []int32, id int32, rng *rand.Rand) int32 {
	for _, want := range []string{"", `"`, "}", "]", `"}`, `"]`, "0", "1", "null", "f", "t"} {
		for _, a := range allowed {
			if (want == "" && v.pieces[a] == nil) || (want != "" && string(v.pieces[a]) == want) {
				if rng.IntN(4) > 0 {
					return a
				}
			}
		}
	}
	return id
}

func TestRandomWalksValidate(t *testing.T) {
	v, _ := byteVocab()
	for _, tc := range schemas {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Schema([]byte(tc.schema))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			val := validator(t, tc.schema)
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			ended := 0
			for range 40 {
				out, ok := walk(t, g, v, rng, 60)
				if !ok {
					continue
				}
				ended++
				inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
				if err != nil {
					t.Fatalf("output %q does not parse: %v", out, err)
				}
				if err := val.Validate(inst); err != nil {
					t.Fatalf("output %q does not validate: %v", out, err)
				}
			}
			if ended == 0 {
				t.Errorf("none of 40 walks ended")
			}
		})
	}
}

// TestMaskMatchesAccept checks that the trie walk and the string fast path
// allow exactly the tokens Accept takes, on random prefixes.
func TestMaskMatchesAccept(t *testing.T) {
	v, _ := byteVocab()
	rng := rand.New(rand.NewPCG(7, 7))
	for _, tc := range schemas {
		g, err := Schema([]byte(tc.schema))
		if err != nil {
			t.Fatal(err)
		}
		m := g.NewMatcher(v)
		mask := make([]uint64, (v.Size()+63)/64)
		for step := 0; step < 30 && !m.Done(); step++ {
			m.Mask(mask)
			var allowed []int32
			for id := range v.Size() {
				want := mask[id/64]&(1<<(id%64)) != 0
				probe := *m
				probe.cur = append([]config(nil), m.cur...)
				probe.r.frames = append([]frame(nil), m.r.frames...)
				got := probe.Accept(int32(id))
				if got != want {
					t.Fatalf("%s: token %q after step %d: Accept %v, mask %v", tc.name, v.pieces[id], step, got, want)
				}
				if want {
					allowed = append(allowed, int32(id))
				}
			}
			if len(allowed) == 0 {
				break
			}
			m.Accept(allowed[rng.IntN(len(allowed))])
		}
	}
}

func TestUnsupported(t *testing.T) {
	for _, tc := range []struct{ schema, want string }{
		{`{"type":"string","contentEncoding":"base64"}`, `"contentEncoding"`},
		{`{"type":"object","patternProperties":{"a":{}}}`, `"patternProperties"`},
		{`{"type":"number","multipleOf":3}`, `"multipleOf"`},
		{`{"type":"string","format":"iri"}`, `format "iri"`},
		{`{"allOf":[{"type":"string"},{"maxLength":3}]}`, `allOf`},
		{`{"$ref":"https://example.com/s.json"}`, `$ref`},
		{`{"anyOf":[{"$ref":"#"},{"type":"null"}]}`, `left recursion`},
		{`{"type":"string","pattern":"\\bword\\b"}`, `pattern`},
		{`{"type":"array","maxItems":100000}`, `maxItems`},
		{`{"type":"string","nullable":true}`, `"nullable"`},
	} {
		_, err := Schema([]byte(tc.schema))
		if err == nil || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Schema(%s): got %v, want an ErrUnsupported naming %s", tc.schema, err, tc.want)
		}
	}
	for _, bad := range []string{`{`, `[1]`, `{"type":7}`, `{"enum":[]}`, `{"$ref":"#/$defs/missing"}`} {
		if _, err := Schema([]byte(bad)); err == nil {
			t.Errorf("Schema(%s): got no error", bad)
		}
	}
}

func TestJSONObject(t *testing.T) {
	v, _ := byteVocab()
	g := JSONObject()
	for _, in := range []string{`{}`, `{"a": [1, {"b": null}], "c": "d"}`, " {\n  \"x\": -1.5e3\n}"} {
		m := g.NewMatcher(v)
		if !m.AcceptBytes([]byte(in)) || !m.Complete() {
			t.Errorf("JSONObject refused %q", in)
		}
	}
	for _, in := range []string{`[]`, `"s"`, `{"a" 1}`, `{"a":1,}`, `{"a":01}`} {
		m := g.NewMatcher(v)
		if m.AcceptBytes([]byte(in)) && m.Complete() {
			t.Errorf("JSONObject accepted %q", in)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		out, ok := walk(t, g, v, rng, 40)
		var obj map[string]any
		if ok && json.Unmarshal([]byte(out), &obj) != nil {
			t.Fatalf("%q is not a JSON object", out)
		}
	}
}

func FuzzSchema(f *testing.F) {
	for _, tc := range schemas {
		f.Add(tc.schema)
	}
	v, _ := byteVocab()
	f.Fuzz(func(t *testing.T, schema string) {
		g, err := Schema([]byte(schema))
		if err != nil {
			return
		}
		// A compiled grammar can be masked and walked without panicking.
		m := g.NewMatcher(v)
		mask := make([]uint64, (v.Size()+63)/64)
		for range 8 {
			m.Mask(mask)
			for id := range v.Size() {
				if mask[id/64]&(1<<(id%64)) != 0 {
					m.Accept(int32(id))
					break
				}
			}
		}
	})
}

// Real vocabularies, loaded once.
var (
	vocabOnce sync.Map // path -> func() (*Vocab, *tokenizer.Tokenizer)
)

func realVocab(t testing.TB, path string) (*Vocab, *tokenizer.Tokenizer) {
	t.Helper()
	f, _ := vocabOnce.LoadOrStore(path, sync.OnceValues(func() (*Vocab, *tokenizer.Tokenizer) {
		gf, err := gguf.Open(path)
		if err != nil {
			return nil, nil
		}
		defer gf.Close()
		tok, err := tokenizer.FromGGUF(gf)
		if err != nil {
			return nil, nil
		}
		return VocabOf(tok), tok
	}))
	v, tok := f.(func() (*Vocab, *tokenizer.Tokenizer))()
	if v == nil {
		if _, err := os.Stat(path); err != nil {
			t.Skipf("vocabulary not available: %v", err)
		}
		t.Fatalf("cannot load %s", path)
	}
	return v, tok
}

// VocabOf builds a Vocab from a tokenizer (the server does the same).
func VocabOf(tok *tokenizer.Tokenizer) *Vocab {
	n := tok.VocabSize()
	pieces := make([]string, n)
	text := make([]bool, n)
	for id := range n {
		pieces[id] = tok.Piece(int32(id))
		text[id] = !tok.IsControl(int32(id))
	}
	return NewVocab(pieces, text, tok.EOG())
}

const (
	qwen2Vocab    = "../../../shared/testdata/vocab/ggml-vocab-qwen2.gguf"
	deepseekVocab = "../../../shared/testdata/vocab/ggml-vocab-deepseek-llm.gguf"
)

func TestRealVocabWalks(t *testing.T) {
	v, tok := realVocab(t, qwen2Vocab)
	for _, name := range []string{"strict object", "recursive", "format date-time", "enum", "number range", "any"} {
		var schema string
		for _, tc := range schemas {
			if tc.name == name {
				schema = tc.schema
			}
		}
		t.Run(name, func(t *testing.T) {
			g, err := Schema([]byte(schema))
			if err != nil {
				t.Fatal(err)
			}
			val := validator(t, schema)
			rng := rand.New(rand.NewPCG(5, 5))
			for range 3 {
				out, ok := walk(t, g, v, rng, 30)
				if !ok {
					continue
				}
				inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
				if err != nil {
					t.Fatalf("output %q does not parse: %v", out, err)
				}
				if err := val.Validate(inst); err != nil {
					t.Fatalf("output %q does not validate: %v", out, err)
				}
			}
		})
	}
	_ = tok
}

func deepseekV3Vocab(t testing.TB) (*Vocab, *tokenizer.Tokenizer) {
	const dir = "../../../shared/testdata/tokenizers/deepseek_v3/"
	f, _ := vocabOnce.LoadOrStore(dir, sync.OnceValues(func() (*Vocab, *tokenizer.Tokenizer) {
		data, err := os.ReadFile(dir + "tokenizer.json")
		if err != nil {
			return nil, nil
		}
		cfg, _ := os.ReadFile(dir + "tokenizer_config.json")
		tok, err := hf.FromHF(data, cfg)
		if err != nil {
			return nil, nil
		}
		return VocabOf(tok), tok
	}))
	v, tok := f.(func() (*Vocab, *tokenizer.Tokenizer))()
	if v == nil {
		t.Skip("DeepSeek-V3 tokenizer not available")
	}
	return v, tok
}

// benchOutput is a typical structured answer, tokenized by the real
// tokenizer and replayed: the mask is computed before every token.
const benchSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},"email":{"type":"string","format":"email"},"tags":{"type":"array","items":{"type":"string"}},"address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["city","zip"],"additionalProperties":false}},"required":["name","age","email","tags","address"],"additionalProperties":false}`

const benchOutput = `{"name": "Ada Lovelace, Countess of Lovelace (née Byron)", "age": 36, "email": "ada.lovelace@example.org", "tags": ["mathematician", "writer", "analytical engine", "数学者"], "address": {"city": "London", "zip": "12345"}}`

func benchMask(b *testing.B, v *Vocab, tok *tokenizer.Tokenizer) {
	g, err := Schema([]byte(benchSchema))
	if err != nil {
		b.Fatal(err)
	}
	ids := tok.Encode(benchOutput, tokenizer.EncodeOptions{})
	mask := make([]uint64, (v.Size()+63)/64)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		m := g.NewMatcher(v)
		for _, id := range ids {
			m.Mask(mask)
			if mask[id/64]&(1<<(id%64)) == 0 {
				b.Fatalf("token %q masked out", tok.Piece(id))
			}
			m.Accept(id)
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/token")
}

func BenchmarkMaskQwen2(b *testing.B) {
	v, tok := realVocab(b, qwen2Vocab)
	benchMask(b, v, tok)
}

func BenchmarkMaskDeepSeekV3(b *testing.B) {
	v, tok := deepseekV3Vocab(b)
	benchMask(b, v, tok)
}

// BenchmarkMaskStates times single masks in the states that cost most:
// right after '{' (keys and whitespace), inside a free string, inside a
// number, inside a pattern string.
func BenchmarkMaskStates(b *testing.B) {
	v, _ := realVocab(b, qwen2Vocab)
	g, err := Schema([]byte(benchSchema))
	if err != nil {
		b.Fatal(err)
	}
	mask := make([]uint64, (v.Size()+63)/64)
	for _, tc := range []struct{ name, prefix string }{
		{"start", ``},
		{"object", `{`},
		{"string", `{"name": "Ada`},
		{"number", `{"name": "A", "age": 3`},
		{"email", `{"name": "A", "age": 3, "email": "ada`},
		{"afterValue", `{"name": "A", "age": 3, "email": "a@b.cd", "tags": ["x"`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := g.NewMatcher(v)
			if !m.AcceptBytes([]byte(tc.prefix)) {
				b.Fatalf("prefix %q refused", tc.prefix)
			}
			b.ReportAllocs()
			for b.Loop() {
				m.Mask(mask)
			}
		})
	}
}

func BenchmarkVocab(b *testing.B) {
	_, tok := realVocab(b, qwen2Vocab)
	for b.Loop() {
		VocabOf(tok)
	}
}

func TestSequences(t *testing.T) {
	v, _ := byteVocab()
	g, err := Sequences([]Seq{
		{Prefix: "<tool_call>\n", Schema: []byte(`{"type":"object","properties":{"name":{"const":"a"},"arguments":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},"required":["name","arguments"]}`), Suffix: "\n</tool_call>"},
		{Prefix: "CALL b\n```json\n", Schema: []byte(`{"enum":[1,2]}`), Suffix: "\n```"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 7}}\n</tool_call>", "\n\nCALL b\n```json\n2\n```"} {
		m := g.NewMatcher(v)
		if !m.AcceptBytes([]byte(in)) || !m.Complete() {
			t.Errorf("refused %q", in)
		}
	}
	for _, in := range []string{"<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": 7}}\n</tool_call>", "CALL b\n```json\n3\n```", "CALL a"} {
		m := g.NewMatcher(v)
		if m.AcceptBytes([]byte(in)) && m.Complete() {
			t.Errorf("accepted %q", in)
		}
	}
}
