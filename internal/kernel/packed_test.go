package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// packedTypes are the weight types of the packed prefill path.
var packedTypes = []tensor.DType{tensor.Q8_0, tensor.Q4_0, tensor.Q5_0, tensor.IQ4_NL}

// packedReference runs the packed path's reference kernels (quantize, pack,
// tile) over a whole MatMul.
func packedReference(w tensor.Mat, x []float32, n int) []float32 {
	k, _ := packedKindOf(w.Type)
	nb := w.Cols / 32
	tiles := (n + packTokens - 1) / packTokens
	const tileBytes = packTokens * actBlockBytes
	act := make([]byte, tiles*nb*tileBytes)
	for t := range n {
		quantizeRowQ8_0xGeneric(act[(t/packTokens)*nb*tileBytes+(t%packTokens)*actBlockBytes:], x[t*w.Cols:(t+1)*w.Cols], tileBytes, k)
	}
	out := make([]float32, n*w.Rows)
	group := make([]byte, nb*packBlockBytes)
	for r0 := 0; r0 < w.Rows; r0 += packRows {
		rows := min(packRows, w.Rows-r0)
		packGroupGeneric(w.Type, w.Data[r0*w.RowBytes():], w.RowBytes(), rows, nb, group)
		for t0 := 0; t0 < n; t0 += packTokens {
			tilePackedGeneric(group, act[(t0/packTokens)*nb*tileBytes:], tileBytes, nb, min(packTokens, n-t0), rows,
				out[t0*w.Rows+r0:], w.Rows)
		}
	}
	return out
}

// TestPackedReference checks the packed layouts and the reference kernels
// against the row-dot reference: the same integer block sums and scales,
// so the results differ only in the order of float32 additions.
func TestPackedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, typ := range packedTypes {
		for _, cols := range []int{32, 96, 288} {
			for _, rows := range []int{1, 16, 17, 35} {
				for _, n := range []int{1, 16, 17, 33} {
					name := fmt.Sprintf("%s/%dx%d/n=%d", typ, rows, cols, n)
					w := randomMat(rng, typ, rows, cols)
					x := randomVec(rng, n*cols)
					want := refMatMul(w, x, n)
					got := packedReference(w, x, n)
					mag := magnitudes(dequantRows(t, typ, w.Data, rows, cols), activations(t, typ, x, n, cols))
					for i := range want {
						if d := math.Abs(float64(got[i] - want[i])); !(d <= matTol(mag[i])) {
							t.Fatalf("%s: out[%d] = %v, want %v (diff %g)", name, i, got[i], want[i], d)
						}
					}
				}
			}
		}
	}
}

// FuzzMatMulPacked checks every implementation of the packed types (the
// K-quants', Q4_1 and Q5_1 among them) against the reference on weights and
// activations from the fuzzer's bytes, with batch sizes and row counts that
// cross the token tiles and row groups of the packed path (and the
// tolerance of TestMatMulAllImplementations; Q4_1 and Q5_1, whose every
// implementation adds in the reference's order, bit for bit).
func FuzzMatMulPacked(f *testing.F) {
	f.Add([]byte("seed"), uint8(0), uint8(17), uint8(2), uint8(18))
	f.Add(make([]byte, 300), uint8(1), uint8(33), uint8(1), uint8(2))
	f.Add([]byte{0xff, 0x80, 0x7f, 0x01}, uint8(2), uint8(16), uint8(3), uint8(40))
	f.Add([]byte("K-quants"), uint8(4), uint8(17), uint8(2), uint8(20))                  // Q4_K, packed
	f.Add([]byte{0x3f, 0xc1, 0x00, 0xff}, uint8(6), uint8(33), uint8(1), uint8(17))      // Q6_K, packed
	f.Add([]byte("UD-Q2_K_XL"), uint8(7), uint8(19), uint8(3), uint8(21))                // Q2_K, packed
	f.Add([]byte{0xaa, 0x55, 0x0f, 0xf0, 0x81}, uint8(8), uint8(40), uint8(2), uint8(9)) // Q3_K, packed
	f.Add([]byte("minimum"), uint8(9), uint8(17), uint8(3), uint8(19))                   // Q4_1, packed
	f.Add([]byte{0x7b, 0x3c, 0x10, 0xee}, uint8(10), uint8(33), uint8(2), uint8(1))      // Q5_1, decode
	f.Fuzz(func(t *testing.T, data []byte, typ8, r8, b8, n8 uint8) {
		types := append(append(append([]tensor.DType{}, packedTypes...), packedKTypes...), packed41Types...)
		typ := types[int(typ8)%len(types)]
		rows, nb, n := int(r8%48)+1, int(b8%6)+1, int(n8%40)+1
		cols := typ.BlockSize() * nb
		ts := typ.TypeSize()
		w := make([]byte, rows*nb*ts)
		for i := range w {
			if len(data) > 0 {
				w[i] = data[i%len(data)] ^ byte(i*131)
			}
		}
		for b := 0; b < rows*nb; b++ {
			for _, off := range halfFields[typ] {
				w[b*ts+off+1] &= 0x3b // f16 exponent ≤ 14: finite scales below 2
			}
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
		m, err := tensor.NewMat(typ, rows, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		want := refMatMul(m, x, n)
		mag := magnitudes(dequantRows(t, typ, w, rows, cols), activations(t, typ, x, n, cols))
		exact := slices.Contains(packed41Types, typ)
		for _, v := range variants() {
			got := make([]float32, n*rows)
			matMul(got, m, x, n, v.table[typ])
			for i := range got {
				if exact {
					// Large activations overflow Q8_1's f16 block sum s
					// (as in ggml): Inf and NaN outputs must match too.
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
						t.Fatalf("%s %s: rows=%d cols=%d n=%d out[%d] = %v, want %v bit for bit", v.name, typ, rows, cols, n, i, got[i], want[i])
					}
					continue
				}
				if d := math.Abs(float64(got[i] - want[i])); !(d <= matTol(mag[i])) {
					t.Fatalf("%s %s: rows=%d cols=%d n=%d out[%d] = %v, want %v", v.name, typ, rows, cols, n, i, got[i], want[i])
				}
			}
		}
	})
}
