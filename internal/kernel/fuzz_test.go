package kernel

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// FuzzMatMulQ8_0 checks every Q8_0 implementation against the reference on
// weights and activations taken from the fuzzer's bytes, within the
// magnitude-relative tolerance of TestMatMulAllImplementations. Scales are
// forced finite and activations finite and bounded, as real models are.
func FuzzMatMulQ8_0(f *testing.F) {
	f.Add([]byte("seed"), uint8(3), uint8(2), uint8(5))
	f.Add(make([]byte, 300), uint8(1), uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, r8, b8, n8 uint8) {
		rows, nb, n := int(r8%9)+1, int(b8%6)+1, int(n8%7)+1
		cols := 32 * nb
		w := make([]byte, rows*nb*34)
		for i := range w {
			if len(data) > 0 {
				w[i] = data[i%len(data)] ^ byte(i*131)
			}
		}
		for b := 0; b < rows*nb; b++ {
			w[b*34+1] &= 0x3b // f16 exponent ≤ 14: finite scales below 2
		}
		x := make([]float32, n*cols)
		for i := range x {
			var u uint32
			if len(data) > 0 {
				u = binary.LittleEndian.Uint32([]byte{data[(4*i)%len(data)], data[(4*i+1)%len(data)], data[(4*i+2)%len(data)], byte(i)})
			}
			v := math.Float32frombits(u)
			if v != v || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e6 {
				v = float32(i%7) - 3
			}
			x[i] = v
		}
		m, err := tensor.NewMat(tensor.Q8_0, rows, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		want := refMatMul(m, x, n)
		mag := magnitudes(dequantRows(t, tensor.Q8_0, w, rows, cols), activations(t, tensor.Q8_0, x, n, cols))
		for _, v := range variants() {
			got := make([]float32, n*rows)
			matMul(got, m, x, n, v.table[tensor.Q8_0])
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); !(d <= matTol(mag[i])) {
					t.Fatalf("%s: rows=%d cols=%d n=%d out[%d] = %v, want %v", v.name, rows, cols, n, i, got[i], want[i])
				}
			}
		}
	})
}
