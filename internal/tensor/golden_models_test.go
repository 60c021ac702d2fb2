package tensor_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// The golden models in ../shared/testdata/golden/models come as f32, f16,
// q8_0 and q4_0 files holding the same weights; their README says the Q8_0
// and Q4_0 bytes are llama-quantize's. Quantizing the f32 tensors must give
// the other files' bytes exactly. A minimal GGUF reader lives here so this
// test does not depend on package gguf. (This is an external test package:
// testutil imports tensor.)

type ggufTensor struct {
	typ  tensor.DType
	n    int // elements
	data []byte
}

// readGGUFTensors returns the tensors of a GGUF v2/v3 file by name.
func readGGUFTensors(t *testing.T, path string) map[string]ggufTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := 0
	fail := func(what string) { t.Fatalf("%s: malformed GGUF at byte %d: %s", path, p, what) }
	need := func(n uint64) {
		if n > uint64(len(b)-p) {
			fail("truncated")
		}
	}
	u32 := func() uint32 { need(4); v := binary.LittleEndian.Uint32(b[p:]); p += 4; return v }
	u64 := func() uint64 { need(8); v := binary.LittleEndian.Uint64(b[p:]); p += 8; return v }
	str := func() string { n := u64(); need(n); s := string(b[p : p+int(n)]); p += int(n); return s }
	scalar := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	var skip func(vt uint32)
	skip = func(vt uint32) {
		switch {
		case vt == 8:
			str()
		case vt == 9:
			et, n := u32(), u64()
			if sz, ok := scalar[et]; ok {
				need(n * uint64(sz))
				p += int(n) * sz
				return
			}
			for range n {
				skip(et)
			}
		default:
			sz, ok := scalar[vt]
			if !ok {
				fail(fmt.Sprintf("value type %d", vt))
			}
			need(uint64(sz))
			p += sz
		}
	}
	if need(4); string(b[:4]) != "GGUF" {
		fail("magic")
	}
	p = 4
	if v := u32(); v < 2 {
		fail("version")
	}
	nTensors, nKV := u64(), u64()
	align := uint64(32)
	for range nKV {
		key, vt := str(), u32()
		if key == "general.alignment" && vt == 4 {
			align = uint64(u32())
			continue
		}
		skip(vt)
	}
	type info struct {
		name   string
		typ    tensor.DType
		n      int
		offset uint64
	}
	infos := make([]info, nTensors)
	for i := range infos {
		infos[i].name = str()
		nd := u32()
		infos[i].n = 1
		for range nd {
			infos[i].n *= int(u64())
		}
		infos[i].typ = tensor.DType(u32())
		infos[i].offset = u64()
	}
	base := (uint64(p) + align - 1) / align * align
	out := make(map[string]ggufTensor, len(infos))
	for _, in := range infos {
		size, err := tensor.RowBytes(in.typ, in.n)
		if err != nil {
			t.Fatalf("%s: tensor %s: %v", path, in.name, err)
		}
		start := base + in.offset
		if start+uint64(size) > uint64(len(b)) {
			t.Fatalf("%s: tensor %s runs past the end", path, in.name)
		}
		out[in.name] = ggufTensor{in.typ, in.n, b[start : start+uint64(size)]}
	}
	return out
}

func TestGoldenModelsQuantization(t *testing.T) {
	dir := testutil.SharedTestdata(t) + "/golden/models/"
	presets := []string{"llama-tiny", "qwen2-tiny", "qwen3-tiny", "deepseek2-tiny"}
	if testing.Short() {
		presets = presets[2:3]
	}
	for _, preset := range presets {
		f32 := readGGUFTensors(t, testutil.SharedFile(t, "golden/models/"+preset+"-f32.gguf"))
		for _, suffix := range []string{"f16", "q8_0", "q4_0"} {
			t.Run(preset+"-"+suffix, func(t *testing.T) {
				other := readGGUFTensors(t, dir+preset+"-"+suffix+".gguf")
				checked := 0
				for name, q := range other {
					src, ok := f32[name]
					if !ok || src.typ != tensor.F32 || q.typ == tensor.F32 {
						continue
					}
					x := make([]float32, src.n)
					if err := tensor.Dequantize(tensor.F32, x, src.data); err != nil {
						t.Fatal(err)
					}
					got := make([]byte, len(q.data))
					if err := tensor.Quantize(q.typ, got, x); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if i := firstDifference(got, q.data); i >= 0 {
						t.Errorf("%s (%v): quantized bytes differ from the file at byte %d", name, q.typ, i)
					}
					// And the file decodes without error to values close to f32.
					y := make([]float32, q.n)
					if err := tensor.Dequantize(q.typ, y, q.data); err != nil {
						t.Fatal(err)
					}
					if e := relativeRMS(y, x); e > goldenBound[q.typ] {
						t.Errorf("%s (%v): relative RMS error %.4f", name, q.typ, e)
					}
					checked++
				}
				if checked == 0 {
					t.Fatal("no quantized tensor found")
				}
				t.Logf("%d tensors byte-identical", checked)
			})
		}
	}
}

// goldenBound is the accepted relative RMS error of the golden files'
// weights (Gaussian, no outliers) per type.
var goldenBound = map[tensor.DType]float64{tensor.F16: 3e-4, tensor.Q8_0: 0.01, tensor.Q4_0: 0.15}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func relativeRMS(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / den)
}
