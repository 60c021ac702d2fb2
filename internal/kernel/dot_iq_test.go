package kernel

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// iqTypes are the codebook weight types (all paired with Q8_K).
var iqTypes = []tensor.DType{tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S,
	tensor.IQ3_XXS, tensor.IQ3_S, tensor.IQ1_S, tensor.IQ1_M}

// ggmlDots is testdata/ggml/dots.bin of package tensor, written by its
// ggmloracle: activation rows, their Q8_K rows from ggml's CPU backend, and
// per weight type random rows with ggml's row dots against each of them.
type ggmlDots struct {
	cols, nact int
	act        []float32 // [nact][cols]
	q8k        []byte    // [nact][actBytes]
	actBytes   int
	types      []ggmlDotType
}

type ggmlDotType struct {
	typ      tensor.DType
	rows     int
	rowBytes int
	w        []byte    // [rows][rowBytes]
	simd     []float32 // [rows][nact] the CPU backend's vec_dot (zen4 build)
	generic  []float32 // [rows][nact] ggml_vec_dot_*_q8_K_generic
}

func readGGMLDots(t *testing.T) *ggmlDots {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "tensor", "testdata", "ggml", "dots.bin"))
	if err != nil {
		t.Fatal(err)
	}
	bad := func() { t.Helper(); t.Fatal("dots.bin: malformed") }
	u32 := func() int {
		if len(b) < 4 {
			bad()
		}
		v := binary.LittleEndian.Uint32(b)
		b = b[4:]
		return int(v)
	}
	bytes := func(n int) []byte {
		if n < 0 || len(b) < n {
			bad()
		}
		v := b[:n]
		b = b[n:]
		return v
	}
	floats := func(n int) []float32 {
		raw := bytes(4 * n)
		f := make([]float32, n)
		for i := range f {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return f
	}
	if string(bytes(4)) != "GGQD" || u32() != 1 {
		bad()
	}
	d := &ggmlDots{cols: u32(), nact: u32()}
	d.act = floats(d.nact * d.cols)
	d.actBytes = u32()
	d.q8k = bytes(d.nact * d.actBytes)
	for n := u32(); n > 0; n-- {
		dt := ggmlDotType{typ: tensor.DType(u32()), rows: u32(), rowBytes: u32()}
		dt.w = bytes(dt.rows * dt.rowBytes)
		dt.simd = floats(dt.rows * d.nact)
		dt.generic = floats(dt.rows * d.nact)
		d.types = append(d.types, dt)
	}
	if len(b) != 0 {
		bad()
	}
	return d
}

// iqDotTol is the allowed |ours − ggml| for a row dot of magnitude mag
// (Σ|w·a| of the dequantized operands). The integer sums are exact on both
// sides; the float parts differ only in rounding: ggml's SIMD code adds the
// 8 per-block terms in vector lanes (and may fuse d·bsum), the generic C
// code fuses where we round twice. Each of the ≤ 2 roundings per block is
// at most 2^-24 of that block's magnitude, so 8 blocks stay well below
// 2^-20·mag ≈ 9.5e-7·mag; a wrong sign, index or scale is off by percents.
func iqDotTol(mag float64) float64 { return 0x1p-20*mag + 1e-30 }

// TestIQDotsMatchGGML runs the reference row dots on ggml's own weight rows
// and Q8_K rows and compares with ggml's vec_dot (the CPU backend's SIMD
// code) and with ggml's portable generic C code.
func TestIQDotsMatchGGML(t *testing.T) {
	d := readGGMLDots(t)
	ad := dequantRows(t, tensor.Q8_K, d.q8k, d.nact, d.cols)
	seen := map[tensor.DType]bool{}
	for _, dt := range d.types {
		seen[dt.typ] = true
		t.Run(dt.typ.String(), func(t *testing.T) {
			im := genericTable()[dt.typ]
			if im == nil || im.act != tensor.Q8_K {
				t.Fatalf("no Q8_K implementation for %v", dt.typ)
			}
			wd := dequantRows(t, dt.typ, dt.w, dt.rows, d.cols)
			mag := magnitudes(wd, ad) // [nact][rows]
			var worstSIMD, worstGeneric, worstRel float64
			exact := 0 // dots bit-identical to ggml's generic C
			for r := 0; r < dt.rows; r++ {
				for k := 0; k < d.nact; k++ {
					got := im.dot(dt.w[r*dt.rowBytes:(r+1)*dt.rowBytes], d.q8k[k*d.actBytes:(k+1)*d.actBytes], d.cols)
					m := mag[k*dt.rows+r]
					if got == dt.generic[r*d.nact+k] {
						exact++
					}
					for _, ref := range []struct {
						name  string
						want  float32
						worst *float64
					}{
						{"vec_dot", dt.simd[r*d.nact+k], &worstSIMD},
						{"generic", dt.generic[r*d.nact+k], &worstGeneric},
					} {
						diff := math.Abs(float64(got) - float64(ref.want))
						if !(diff <= iqDotTol(m)) {
							t.Errorf("row %d act %d: got %v, ggml %s %v (diff %g, magnitude %g)", r, k, got, ref.name, ref.want, diff, m)
						}
						*ref.worst = max(*ref.worst, diff/m)
						if ref.want != 0 {
							worstRel = max(worstRel, diff/math.Abs(float64(ref.want)))
						}
					}
				}
			}
			t.Logf("%d dots (%d bit-identical to generic C): worst |diff|/Σ|w·a| %.2g vs vec_dot, %.2g vs generic; worst |diff|/|ggml| %.2g",
				dt.rows*d.nact, exact, worstSIMD, worstGeneric, worstRel)
		})
	}
	for _, typ := range iqTypes {
		if !seen[typ] {
			t.Errorf("dots.bin has no rows of %v", typ)
		}
	}
}

// TestIQMatMulMatchesGGML goes through MatMul from float32 activations:
// every implementation's Q8_K conversion must give ggml's bytes, and the
// outputs ggml's dots within iqDotTol.
func TestIQMatMulMatchesGGML(t *testing.T) {
	d := readGGMLDots(t)
	ad := dequantRows(t, tensor.Q8_K, d.q8k, d.nact, d.cols)
	for _, v := range variants() {
		for _, dt := range d.types {
			im := v.table[dt.typ]
			if im == nil {
				t.Fatalf("%s: %v unsupported", v.name, dt.typ)
			}
			q := make([]byte, d.actBytes)
			for k := 0; k < d.nact; k++ {
				im.convert(q, d.act[k*d.cols:(k+1)*d.cols])
				if string(q) != string(d.q8k[k*d.actBytes:(k+1)*d.actBytes]) {
					t.Fatalf("%s/%v: activation row %d converts to other Q8_K bytes than ggml's", v.name, dt.typ, k)
				}
			}
			w, err := tensor.NewMat(dt.typ, dt.rows, d.cols, dt.w)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, d.nact*dt.rows)
			matMul(out, w, d.act, d.nact, im)
			mag := magnitudes(dequantRows(t, dt.typ, dt.w, dt.rows, d.cols), ad)
			for k := 0; k < d.nact; k++ {
				for r := 0; r < dt.rows; r++ {
					got, want := out[k*dt.rows+r], dt.simd[r*d.nact+k]
					if diff := math.Abs(float64(got - want)); !(diff <= iqDotTol(mag[k*dt.rows+r])) {
						t.Errorf("%s/%v: out[%d][%d] = %v, ggml %v", v.name, dt.typ, k, r, got, want)
					}
				}
			}
		}
	}
}
