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

// FuzzAttnKernels checks DotsF16 and WeightedSumF16 against their
// references on f16 rows from the fuzzer's bytes (finite values below 2^8),
// with the tolerances of TestAttnKernels.
func FuzzAttnKernels(f *testing.F) {
	f.Add([]byte("seed"), uint8(8), uint8(17), uint8(3))
	f.Add(make([]byte, 64), uint8(128), uint8(16), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, hd8, nk8, pad8 uint8) {
		hd, nk := int(hd8)%160+1, int(nk8)%40+1
		stride := hd + int(pad8%5)
		kv := make([]uint16, (nk-1)*stride+hd)
		for i := range kv {
			var h uint16
			if len(data) > 0 {
				h = uint16(data[(2*i)%len(data)]) | uint16(data[(2*i+1)%len(data)])<<8 ^ uint16(i*40503)
			}
			kv[i] = h &^ 0x4000 // exponent ≤ 15: finite, |v| < 2
		}
		q := make([]float32, hd)
		p := make([]float32, nk)
		for i := range q {
			q[i] = halfToFloat(kv[(i*7)%len(kv)] ^ 0x8000)
		}
		for j := range p {
			p[j] = float32(j%5) / 4
		}
		got, want := make([]float32, nk), make([]float32, nk)
		DotsF16(got, q, kv, stride, 0.5)
		dotsF16Generic(want, q, kv, stride, 0.5)
		for j := range nk {
			mag := 0.0
			for i := range hd {
				mag += math.Abs(float64(q[i] * halfToFloat(kv[j*stride+i])))
			}
			if d := math.Abs(float64(got[j] - want[j])); !(d <= 1e-6*mag*0.5+1e-30) {
				t.Fatalf("DotsF16 hd=%d nk=%d stride=%d: out[%d] = %v, want %v", hd, nk, stride, j, got[j], want[j])
			}
		}
		gotV, wantV := make([]float32, hd), make([]float32, hd)
		WeightedSumF16(gotV, p, kv, stride)
		weightedSumF16Generic(wantV, p, kv, stride)
		for i := range hd {
			mag := 0.0
			for j := range nk {
				mag += math.Abs(float64(p[j] * halfToFloat(kv[j*stride+i])))
			}
			if d := math.Abs(float64(gotV[i] - wantV[i])); !(d <= 1e-6*mag+1e-30) {
				t.Fatalf("WeightedSumF16 hd=%d nk=%d stride=%d: out[%d] = %v, want %v", hd, nk, stride, i, gotV[i], wantV[i])
			}
		}
	})
}
