package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// testInterleaveGeneric41 is TestInterleaveGeneric for Q4_1, Q5_1 and
// IQ4_XS: the Go references of their interleaved tiles against the
// reference row dots (Q4_1, Q5_1: the generic table's; IQ4_XS: the
// i-quant order's, dotIQOrdered), bit for bit, on every CPU.
func testInterleaveGeneric41(t *testing.T, rng *rand.Rand, typ tensor.DType) {
	const rows, n = 21, 3
	cols := 3 * typ.BlockSize()
	nb := cols / typ.BlockSize()
	w := randomMat(rng, typ, rows, cols)
	wi := interleave(w)
	if len(wi.Data) != InterleavedBytes(w) || InterleavedBytes(w) != 32*w.RowBytes() {
		t.Fatalf("%s: interleaved copy of %d bytes, want 32 rows of %d", typ, len(wi.Data), w.RowBytes())
	}
	x := randomVec(rng, n*cols)
	want := make([]float32, n*rows)
	got := make([]float32, n*rows)
	gb := packRows * w.RowBytes()
	if typ == tensor.IQ4_XS {
		a := make([]byte, nb*292)
		for tk := range n {
			quantizeRowQ8_KGeneric(a, x[tk*cols:(tk+1)*cols])
			for r := range rows {
				want[tk*rows+r] = dotIQOrdered(typ, w.Row(r), a, cols)
			}
		}
		const stride = packTokens * actKBytes
		act := make([]byte, nb*stride)
		for tk := range n {
			quantizeRowQ8_KxGeneric(act[tk*actKBytes:], x[tk*cols:(tk+1)*cols], stride, 0)
			for b := range nb {
				putIQOffsets(act[b*stride+tk*actKBytes:], -iqKinds[typ].k)
			}
		}
		for g := 0; g*packRows < rows; g++ {
			r0 := g * packRows
			tileInterleavedIQ4XSGeneric(wi.Data[g*gb:], act, stride, nb, n, min(packRows, rows-r0), got[r0:], rows)
		}
	} else {
		matMul(want, w, x, n, genericTable()[typ])
		const stride = packTokens * actBlockBytes
		act := make([]byte, nb*stride)
		for tk := range n {
			quantizeRowQ8_1xGeneric(act[tk*actBlockBytes:], x[tk*cols:(tk+1)*cols], stride)
		}
		for g := 0; g*packRows < rows; g++ {
			r0 := g * packRows
			tileInterleaved41Generic(typ, wi.Data[g*gb:], act, stride, nb, n, min(packRows, rows-r0), got[r0:], rows)
		}
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: out[%d] = %v, reference %v", typ, i, got[i], want[i])
		}
	}
}

// TestInterleaveUnpack41 checks the Q4_1, Q5_1 and IQ4_XS unpack kernels
// (interleaved group → packed group, for long batches) against packing
// the row-major rows, byte for byte in the matrix's rows.
func TestInterleaveUnpack41(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for _, typ := range []tensor.DType{tensor.Q4_1, tensor.Q5_1, tensor.IQ4_XS} {
		im := impl(typ).inter
		if im == nil || im.unpack == nil {
			t.Logf("no interleaved %s unpack kernel on this CPU (AVX-512 VNNI): skipped", typ)
			continue
		}
		const rows, nb = 21, 3
		w := randomMat(rng, typ, rows, nb*typ.BlockSize())
		wi := interleave(w)
		rb, bb := w.RowBytes(), im.packBytes
		for g := 0; g*packRows < rows; g++ {
			r0 := g * packRows
			valid := min(packRows, rows-r0)
			want := make([]byte, nb*bb)
			if typ == tensor.IQ4_XS {
				packGroupIQGeneric(typ, w.Data[r0*rb:], rb, valid, nb, want)
			} else {
				packGroup41Generic(typ, w.Data[r0*rb:], rb, valid, nb, want)
			}
			got := make([]byte, nb*bb)
			im.unpack(&wi.Data[r0*rb], nb, &got[0])
			// Rows past the matrix (zero in both layouts) may differ:
			// IQ4_XS's nibble 0 unpacks to its value −127 + 128, packing
			// pads with 0; MatMul never writes those rows. Every packed
			// vector holds a dword per row.
			for i := range got {
				if row := i % bb % 64 / 4; row < valid && got[i] != want[i] {
					t.Fatalf("%s group %d: unpack kernel byte %d = %d, packing gives %d", typ, g, i, got[i], want[i])
				}
			}
		}
	}
}

// FuzzInterleave41 checks MatMul of interleaved Q4_1, Q5_1 and IQ4_XS
// matrices against the row-major ones, bit for bit (any NaN matching any
// NaN), on weight bytes and activations from the fuzzer, with row counts
// and batch sizes that cross the row groups, the token tiles and the
// unpacking threshold.
func FuzzInterleave41(f *testing.F) {
	f.Add([]byte("seed"), uint8(0), uint8(17), uint8(2), uint8(1))
	f.Add([]byte{0xff, 0x7b, 0x00, 0x80}, uint8(1), uint8(33), uint8(3), uint8(17))
	f.Add([]byte("i-quant"), uint8(2), uint8(16), uint8(1), uint8(9))
	f.Add(make([]byte, 64), uint8(2), uint8(5), uint8(2), uint8(130))
	types := []tensor.DType{tensor.Q4_1, tensor.Q5_1, tensor.IQ4_XS}
	f.Fuzz(func(t *testing.T, data []byte, typ8, r8, b8, n8 uint8) {
		typ := types[int(typ8)%len(types)]
		if !CanInterleave(typ) {
			t.Skipf("no interleaved %s kernels on this CPU (AVX-512 VNNI)", typ)
		}
		rows, nb, n := int(r8%40)+1, int(b8%4)+1, int(n8%140)+1
		cols := typ.BlockSize() * nb
		w := make([]byte, rows*nb*typ.TypeSize())
		for i := range w {
			if len(data) > 0 {
				w[i] = data[i%len(data)] ^ byte(i*131)
			}
		}
		// Activations of one magnitude, so that every quant counts.
		x := make([]float32, n*cols)
		for i := range x {
			var b byte
			if len(data) > 0 {
				b = data[(7*i)%len(data)]
			}
			x[i] = float32(int8(b^byte(i*37))) / 8
		}
		m, err := tensor.NewMat(typ, rows, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		mi, _ := Interleave(m)
		want := make([]float32, n*rows)
		got := make([]float32, n*rows)
		MatMul(want, m, x, n)
		MatMul(got, mi, x, n)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("%s rows=%d cols=%d n=%d: out[%d] = %v, row-major gives %v", typ, rows, cols, n, i, got[i], want[i])
			}
		}
	})
}
