package gguf_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// sharedGGUFs lists every .gguf file under the shared reference data.
func sharedGGUFs(t testing.TB) []string {
	root := testutil.SharedTestdata(t)
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gguf") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skipf("no .gguf files under %s", root)
	}
	return files
}

// TestOpenShared opens every reference file, checks well-known facts, and
// round-trips it through the writer (read → write → read gives the same
// metadata and tensor bytes).
func TestOpenShared(t *testing.T) {
	for _, p := range sharedGGUFs(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := gguf.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Architecture() == "" {
				t.Errorf("no general.architecture")
			}
			w := gguf.NewWriter()
			for _, kv := range f.KV {
				w.AddKV(kv.Key, kv.Value)
			}
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				w.AddTensor(ti.Name, ti.Type, ti.Shape, f.TensorData(ti))
			}
			var buf bytes.Buffer
			if _, err := w.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			g, err := gguf.ParseBytes(buf.Bytes())
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			if !reflect.DeepEqual(f.KV, g.KV) {
				t.Errorf("metadata differs after round trip")
			}
			if len(f.Tensors) != len(g.Tensors) {
				t.Fatalf("got %d tensors, want %d", len(g.Tensors), len(f.Tensors))
			}
			for i := range f.Tensors {
				a, b := &f.Tensors[i], &g.Tensors[i]
				if a.Name != b.Name || a.Type != b.Type || !reflect.DeepEqual(a.Shape, b.Shape) {
					t.Errorf("tensor %d: got %s %s %v, want %s %s %v", i, b.Name, b.Type, b.Shape, a.Name, a.Type, a.Shape)
				}
				if !bytes.Equal(f.TensorData(a), g.TensorData(b)) {
					t.Errorf("tensor %s: data differs", a.Name)
				}
			}
			// Files written by llama.cpp's own writer must come out byte-identical
			// when they use v3 and the writer's canonical layout.
			if orig, err := os.ReadFile(p); err == nil && f.Version == 3 && len(f.Tensors) > 0 && bytes.Equal(orig, buf.Bytes()) {
				t.Logf("byte-identical re-encoding")
			}
		})
	}
}

func TestStoriesFacts(t *testing.T) {
	f, err := gguf.Open(testutil.SharedFile(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Version != 3 || len(f.KV) != 19 || len(f.Tensors) != 48 || f.Alignment != 32 {
		t.Fatalf("got v%d, %d keys, %d tensors, align %d; want v3, 19, 48, 32", f.Version, len(f.KV), len(f.Tensors), f.Alignment)
	}
	if n, err := f.Int("llama.embedding_length"); err != nil || n != 64 {
		t.Errorf("embedding_length: got %d, %v; want 64", n, err)
	}
	toks, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil || len(toks) != 512 {
		t.Fatalf("tokens: got %d, %v", len(toks), err)
	}
	if u, err := f.Uint("tokenizer.ggml.seperator_token_id"); err != nil || u != 0xFFFFFFFF {
		t.Errorf("seperator: got %x, %v", u, err)
	}
	ti, ok := f.Tensor("blk.0.attn_k.weight")
	if !ok || ti.Type != tensor.F32 || !reflect.DeepEqual(ti.Shape, []uint64{64, 32}) || ti.Size != 64*32*4 {
		t.Fatalf("attn_k: got %+v", ti)
	}
	// The GGUF weights equal the llama2.c checkpoint's: token_embd is the
	// first tensor after the 7-int header there.
	bin, err := os.ReadFile(testutil.SharedFile(t, "models/llama2c/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	emb, _ := f.Tensor("token_embd.weight")
	if !bytes.Equal(f.TensorData(emb), bin[28:28+emb.Size]) {
		t.Errorf("token_embd differs from the llama2.c checkpoint")
	}
	if _, err := f.String("llama.block_count"); err == nil || !strings.Contains(err.Error(), "want string") {
		t.Errorf("wrong-type access: got %v", err)
	}
	if _, err := f.Int("no.such.key"); !errors.Is(err, gguf.ErrKeyNotFound) {
		t.Errorf("missing key: got %v, want ErrKeyNotFound", err)
	}
}

// header builds the start of a GGUF file by hand.
type header struct{ bytes.Buffer }

func (h *header) u32(x uint32) *header { binary.Write(h, binary.LittleEndian, x); return h }
func (h *header) u64(x uint64) *header { binary.Write(h, binary.LittleEndian, x); return h }
func (h *header) str(s string) *header { h.u64(uint64(len(s))); h.WriteString(s); return h }
func newHeader(nTensors, nKV uint64) *header {
	h := &header{}
	h.WriteString("GGUF")
	return h.u32(3).u64(nTensors).u64(nKV)
}

// tensorInfo appends one tensor info.
func (h *header) tensorInfo(name string, shape []uint64, typ uint32, off uint64) *header {
	h.str(name).u32(uint32(len(shape)))
	for _, d := range shape {
		h.u64(d)
	}
	return h.u32(typ).u64(off)
}

func TestBadInput(t *testing.T) {
	valid := func() []byte {
		w := gguf.NewWriter()
		w.AddKV("general.architecture", "llama")
		w.AddTensor("a", tensor.F32, []uint64{4}, make([]byte, 16))
		var b bytes.Buffer
		w.WriteTo(&b)
		return b.Bytes()
	}()
	pad := func(h *header, n int) []byte { return append(h.Bytes(), make([]byte, n)...) }
	cases := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"empty", nil, "magic needs 4 bytes"},
		{"wrong magic", []byte("GGML\x03\x00\x00\x00"), "not a GGUF file"},
		{"version 1", append([]byte("GGUF"), 1, 0, 0, 0), "version 1"},
		{"version 9", append([]byte("GGUF"), 9, 0, 0, 0), "unknown GGUF version 9"},
		{"truncated header", []byte("GGUF\x03\x00\x00\x00\x00"), "tensor count needs 8 bytes"},
		{"huge key count", newHeader(0, 1<<60).Bytes(), "metadata count 1152921504606846976 is impossible"},
		{"huge tensor count", newHeader(1<<60, 0).Bytes(), "tensor count 1152921504606846976 is impossible"},
		{"string longer than file", pad(newHeader(0, 1).u64(1<<50), 16), "exceeds the"},
		{"unknown value type", newHeader(0, 1).str("k").u32(99).Bytes(), "unknown value type 99"},
		{"array too long", newHeader(0, 1).str("k").u32(9).u32(4).u64(1 << 40).Bytes(), "array length"},
		{"bad bool", append(newHeader(0, 1).str("k").u32(7).Bytes(), 2), "neither 0 nor 1"},
		{"duplicate key", newHeader(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(1).Bytes(), "duplicate metadata key"},
		{"bad alignment", newHeader(0, 1).str("general.alignment").u32(4).u32(3).Bytes(), "power of two"},
		{"unknown tensor type", pad(newHeader(1, 0).tensorInfo("x", []uint64{4}, 77, 0), 64), "unknown type id 77"},
		{"zero dims", pad(newHeader(1, 0).str("x").u32(0), 64), "0 dimensions"},
		{"too many dims", pad(newHeader(1, 0).str("x").u32(5), 64), "5 dimensions"},
		{"dims overflow", pad(newHeader(1, 0).tensorInfo("x", []uint64{1 << 32, 1 << 32}, 0, 0), 64), "overflows"},
		{"misaligned offset", pad(newHeader(1, 0).tensorInfo("x", []uint64{4}, 0, 3), 64), "not a multiple of the alignment"},
		{"partial block", pad(newHeader(1, 0).tensorInfo("x", []uint64{16}, 8, 0), 64), "not a multiple of the Q8_0 block size"},
		{"data outside file", pad(newHeader(1, 0).tensorInfo("x", []uint64{1 << 20}, 0, 0), 64), "lies outside the file"},
		{"overlap", pad(newHeader(2, 0).tensorInfo("x", []uint64{16}, 0, 0).tensorInfo("y", []uint64{16}, 0, 32), 256), "overlaps"},
		{"duplicate tensor", pad(newHeader(2, 0).tensorInfo("x", []uint64{8}, 0, 0).tensorInfo("x", []uint64{8}, 0, 32), 256), "duplicate tensor name"},
		{"truncated data", valid[:len(valid)-1], "lies outside the file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gguf.ParseBytes(tc.data)
			if err == nil {
				t.Fatalf("got no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q, want it to contain %q", err, tc.want)
			}
			var fe *gguf.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %T, want *FormatError with an offset", err)
			}
		})
	}
	if _, err := gguf.ParseBytes(valid); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	// Every truncation of a valid file is an error, never a panic.
	for n := range len(valid) {
		if _, err := gguf.ParseBytes(valid[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

func TestWriterValues(t *testing.T) {
	w := gguf.NewWriter()
	vals := map[string]any{
		"u8": uint8(7), "i8": int8(-7), "u16": uint16(600), "i16": int16(-600), "u32": uint32(1 << 31),
		"i32": int32(-5), "f32": float32(1.5), "b": true, "s": "héllo", "u64": uint64(math.MaxUint64),
		"i64": int64(math.MinInt64), "f64": math.Pi, "as": []string{"a", "", "c"}, "af": []float32{1, 2},
		"ai": []int32{-1, 2}, "ab": []bool{true, false}, "au8": []uint8{1, 2, 3},
	}
	nested, _ := gguf.MakeValue([]int32{1, 2})
	vals["nested"] = []gguf.Value{nested, nested}
	keys := []string{}
	for k, v := range vals {
		w.AddKV(k, v)
		keys = append(keys, k)
	}
	w.AddKV("general.alignment", uint32(64))
	w.AddTensor("t0", tensor.F16, []uint64{3}, []byte{1, 2, 3, 4, 5, 6})
	w.AddTensor("t1", tensor.Q8_0, []uint64{32, 2}, bytes.Repeat([]byte{9}, 68))
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.ParseBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		v, ok := f.Get(k)
		if !ok {
			t.Fatalf("key %s missing", k)
		}
		want := vals[k]
		if k == "nested" {
			if v.Len() != 2 || v.Elem != gguf.TypeArray {
				t.Errorf("nested: got %+v", v)
			}
			continue
		}
		if !reflect.DeepEqual(v.Any(), want) {
			t.Errorf("%s: got %#v, want %#v", k, v.Any(), want)
		}
	}
	t1, _ := f.Tensor("t1")
	if t1.Offset%64 != 0 || f.DataOffset%64 != 0 {
		t.Errorf("alignment not honoured: offset %d, data at %d", t1.Offset, f.DataOffset)
	}
	if !bytes.Equal(f.TensorData(t1), bytes.Repeat([]byte{9}, 68)) {
		t.Errorf("t1 data differs")
	}
	bad := gguf.NewWriter()
	bad.AddTensor("x", tensor.Q8_0, []uint64{32}, make([]byte, 3))
	if _, err := bad.WriteTo(&buf); err == nil {
		t.Errorf("wrong data size: no error")
	}
}

// FuzzOpen checks that no input makes the parser panic, and that accepted
// files keep every tensor inside the input.
func FuzzOpen(f *testing.F) {
	root := testutil.SharedTestdata(f)
	for _, rel := range []string{"models/stories260K.gguf", "golden/models/llama-tiny-q4_0.gguf", "golden/models/deepseek2-tiny-q8_0.gguf", "vocab/ggml-vocab-llama-spm.gguf"} {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			continue
		}
		// Seed with the metadata region (the data section adds nothing to parse).
		f.Add(b[:min(len(b), 1<<16)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := gguf.ParseBytes(data)
		if err != nil {
			return
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			if g.DataOffset+ti.Offset+ti.Size > uint64(len(data)) {
				t.Fatalf("tensor %s extends past the input", ti.Name)
			}
			_ = g.TensorData(ti)
		}
	})
}

// BenchmarkOpen1_5B opens a Qwen2-1.5B-shaped Q4_0 file (1.78 B parameters)
// and reports the heap growth per open: the tensor data is mapped, not read.
func BenchmarkOpen1_5B(b *testing.B) {
	path := filepath.Join(b.TempDir(), "qwen2-1.5b-q4_0.gguf")
	params := writeQwen2Shape(b, path)
	st, _ := os.Stat(path)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for b.Loop() {
		f, err := gguf.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "heap-B/open")
	b.ReportMetric(float64(params)/1e9, "Gparams")
	b.ReportMetric(float64(st.Size())/1e9, "file-GB")
}

// writeQwen2Shape writes a file with the tensor shapes of
// DeepSeek-R1-Distill-Qwen-1.5B (28 layers, d 1536, ffn 8960, vocab 151936)
// in Q4_0 with zero data, and returns its parameter count.
func writeQwen2Shape(b *testing.B, path string) uint64 {
	const d, ff, vocab, layers, kvDim = 1536, 8960, 151936, 28, 256
	zero := make([]byte, vocab*d/32*18)
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "qwen2")
	var params uint64
	add := func(name string, shape ...uint64) {
		n := shape[0] * shape[1]
		typ := tensor.Q4_0
		if shape[1] == 1 {
			typ, shape = tensor.F32, shape[:1]
		}
		size, _ := tensor.RowBytes(typ, int(n))
		w.AddTensor(name, typ, shape, zero[:size])
		params += n
	}
	add("token_embd.weight", d, vocab)
	for i := range layers {
		p := "blk." + string(rune('0'+i/10)) + string(rune('0'+i%10)) + "."
		add(p+"attn_norm.weight", d, 1)
		add(p+"attn_q.weight", d, d)
		add(p+"attn_k.weight", d, kvDim)
		add(p+"attn_v.weight", d, kvDim)
		add(p+"attn_output.weight", d, d)
		add(p+"ffn_norm.weight", d, 1)
		add(p+"ffn_gate.weight", d, ff)
		add(p+"ffn_up.weight", d, ff)
		add(p+"ffn_down.weight", ff, d)
	}
	add("output_norm.weight", d, 1)
	add("output.weight", d, vocab)
	if err := w.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	return params
}

// TestWillNeed checks that the read-ahead hint accepts any slice: inside
// the mapping (unaligned, to the last byte), outside it, empty, after
// Close, and that it leaves the data as it was.
func TestWillNeed(t *testing.T) {
	f, err := gguf.Open(testutil.SharedFile(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	last := &f.Tensors[len(f.Tensors)-1]
	data := f.TensorData(last)
	before := bytes.Clone(data)
	f.WillNeed(data)
	f.WillNeed(data[3 : len(data)-1])
	f.WillNeed(data[len(data)-1:])
	f.WillNeed(nil)
	f.WillNeed(make([]byte, 100))
	if !bytes.Equal(before, data) {
		t.Fatal("tensor data changed")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f.WillNeed(data) // a no-op once closed
}
