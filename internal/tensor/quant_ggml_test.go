package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The vectors in testdata/ggml were written by testdata/ggmloracle/oracle.c,
// which runs ggml's own quantizers and dequantizers (llama.cpp as shipped
// with node-llama-cpp 3.21.1, the peer of ../shared/testdata/golden) on a
// seeded input. These tests demand bit-exact agreement.

// vectorFile is one <TYPE>.bin vector file.
type vectorFile struct {
	typ       DType
	nq        int
	quantized []byte
	nd        int
	raw       []byte
	dequant   []float32
}

type reader struct {
	b   []byte
	err bool
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.err = true
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.err = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) floats(n int) []float32 {
	b := r.bytes(4 * n)
	if b == nil {
		return nil
	}
	f := make([]float32, n)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

func readInput(t *testing.T) []float32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ggml", "input.bin"))
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{b: b}
	x := r.floats(int(r.u32()))
	if r.err || len(r.b) != 0 {
		t.Fatal("input.bin: malformed")
	}
	return x
}

func readVectors(t *testing.T, name string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ggml", name+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{b: b}
	if string(r.bytes(4)) != "GGQV" || r.u32() != 1 {
		t.Fatalf("%s.bin: bad header", name)
	}
	var v vectorFile
	v.typ = DType(r.u32())
	v.nq = int(r.u32())
	v.quantized = r.bytes(int(r.u32()))
	v.nd = int(r.u32())
	v.raw = r.bytes(int(r.u32()))
	v.dequant = r.floats(v.nd)
	if r.err || len(r.b) != 0 {
		t.Fatalf("%s.bin: malformed", name)
	}
	return v
}

// sameFloat reports whether a and b have the same bits, or are both NaN.
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// firstDiff returns the index of the first differing byte, or -1.
func firstDiff(a, b []byte) int {
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

var ggmlVectorTypes = []DType{F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, MXFP4,
	Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS,
	IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M}

func TestQuantizeMatchesGGML(t *testing.T) {
	in := readInput(t)
	for _, typ := range ggmlVectorTypes {
		t.Run(typ.String(), func(t *testing.T) {
			v := readVectors(t, typ.String())
			if v.typ != typ {
				t.Fatalf("file holds type %v", v.typ)
			}
			if v.nq == 0 {
				t.Skipf("no ggml quantization of %v without an importance matrix", typ)
			}
			got := make([]byte, len(v.quantized))
			if err := Quantize(typ, got, in[:v.nq]); err != nil {
				t.Fatal(err)
			}
			if i := firstDiff(got, v.quantized); i >= 0 {
				bs := typ.TypeSize()
				blk := i / bs
				n := 0
				for j := 0; j < len(got); j += bs {
					if !bytes.Equal(got[j:j+bs], v.quantized[j:j+bs]) {
						n++
					}
				}
				t.Errorf("%d of %d blocks differ; first: block %d byte %d\n got %x\nwant %x\ninput %v",
					n, len(got)/bs, blk, i%bs, got[blk*bs:(blk+1)*bs], v.quantized[blk*bs:(blk+1)*bs],
					in[blk*typ.BlockSize():(blk+1)*typ.BlockSize()])
			}
		})
	}
}

func TestDequantizeMatchesGGML(t *testing.T) {
	for _, typ := range ggmlVectorTypes {
		t.Run(typ.String(), func(t *testing.T) {
			v := readVectors(t, typ.String())
			if v.nd == 0 {
				t.Skipf("ggml has no dequantizer for %v", typ)
			}
			got := make([]float32, v.nd)
			if err := Dequantize(typ, got, v.raw); err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i := range got {
				if !sameFloat(got[i], v.dequant[i]) {
					if bad < 5 {
						t.Errorf("element %d (block %d): got %g (%#x), want %g (%#x)", i, i/typ.BlockSize(),
							got[i], math.Float32bits(got[i]), v.dequant[i], math.Float32bits(v.dequant[i]))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d elements differ", bad, len(got))
			}
		})
	}
}

// TestActivationQuantizersMatchGGMLCPU checks the x86 activation variants
// (and Q8_K, whose CPU quantizer is the reference) against the quantize_row_*
// functions of ggml's CPU backend.
func TestActivationQuantizersMatchGGMLCPU(t *testing.T) {
	in := readInput(t)
	b, err := os.ReadFile(filepath.Join("testdata", "ggml", "act.bin"))
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{b: b}
	n := int(r.u32())
	cases := []struct {
		name string
		typ  DType
		fn   func([]byte, []float32)
	}{
		{"Q8_0X86", Q8_0, QuantizeRowQ8_0X86},
		{"Q8_1X86", Q8_1, QuantizeRowQ8_1X86},
		{"Q8_K", Q8_K, QuantizeRowQ8_K},
	}
	for _, tc := range cases {
		want := r.bytes(int(r.u32()))
		if r.err {
			t.Fatal("act.bin: malformed")
		}
		t.Run(tc.name, func(t *testing.T) {
			got := make([]byte, len(want))
			tc.fn(got, in[:n])
			if i := firstDiff(got, want); i >= 0 {
				bs := tc.typ.TypeSize()
				blk := i / bs
				t.Errorf("block %d byte %d differs\n got %x\nwant %x", blk, i%bs, got[blk*bs:(blk+1)*bs], want[blk*bs:(blk+1)*bs])
			}
		})
	}
}

// TestLayoutsMatchGGML compares the layout table with ggml's
// ggml_blck_size/ggml_type_size for every type id ggml knows
// (testdata/ggml/sizes.txt), in both directions.
func TestLayoutsMatchGGML(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "ggml", "sizes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[DType]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var id uint32
		var name string
		var blck, size int
		if _, err := fmt.Sscan(line, &id, &name, &blck, &size); err != nil {
			t.Fatalf("sizes.txt: %q: %v", line, err)
		}
		typ := DType(id)
		seen[typ] = true
		if !typ.Known() {
			t.Errorf("type id %d (%s) is unknown here", id, name)
			continue
		}
		if !strings.EqualFold(typ.String(), name) || typ.BlockSize() != blck || typ.TypeSize() != size {
			t.Errorf("type id %d: got %s, %d elements, %d bytes; ggml: %s, %d, %d",
				id, typ, typ.BlockSize(), typ.TypeSize(), name, blck, size)
		}
	}
	for typ := range layouts {
		if !seen[typ] {
			t.Errorf("%v (id %d) is not a ggml type", typ, uint32(typ))
		}
	}
}
