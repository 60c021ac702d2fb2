package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// allTypes are the weight types MatMul supports.
var allTypes = []tensor.DType{
	tensor.F32, tensor.F16, tensor.BF16,
	tensor.Q4_0, tensor.Q4_1, tensor.Q5_0, tensor.Q5_1, tensor.Q8_0, tensor.IQ4_NL,
	tensor.Q2_K, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.IQ4_XS,
}

// halfFields are the byte offsets of the f16 scale fields in a block.
var halfFields = map[tensor.DType][]int{
	tensor.Q4_0: {0}, tensor.Q4_1: {0, 2}, tensor.Q5_0: {0}, tensor.Q5_1: {0, 2},
	tensor.Q8_0: {0}, tensor.IQ4_NL: {0}, tensor.Q2_K: {80, 82}, tensor.Q3_K: {108},
	tensor.Q4_K: {0, 2}, tensor.Q5_K: {0, 2}, tensor.Q6_K: {208}, tensor.IQ4_XS: {0},
}

// randomMat returns rows×cols weights of type t: random quant bytes with
// finite random scales, or random floats for the float types.
func randomMat(rng *rand.Rand, t tensor.DType, rows, cols int) tensor.Mat {
	rb, err := tensor.RowBytes(t, cols)
	if err != nil {
		panic(err)
	}
	data := make([]byte, rows*rb)
	switch t {
	case tensor.F32:
		for i := 0; i < rows*cols; i++ {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(rng.NormFloat64())))
		}
	case tensor.F16:
		for i := 0; i < rows*cols; i++ {
			binary.LittleEndian.PutUint16(data[2*i:], floatToHalf(float32(rng.NormFloat64())))
		}
	case tensor.BF16:
		for i := 0; i < rows*cols; i++ {
			binary.LittleEndian.PutUint16(data[2*i:], floatToBF16(float32(rng.NormFloat64())))
		}
	default:
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		ts := t.TypeSize()
		for b := 0; b < len(data)/ts; b++ {
			for _, off := range halfFields[t] {
				d := float32(rng.Float64()*0.02 + 0.001)
				if rng.IntN(4) == 0 {
					d = -d
				}
				binary.LittleEndian.PutUint16(data[b*ts+off:], floatToHalf(d))
			}
		}
	}
	m, err := tensor.NewMat(t, rows, cols, data)
	if err != nil {
		panic(err)
	}
	return m
}

func randomVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// refMatMul is MatMul done the slow obvious way with the reference table:
// convert each activation row, then one reference row dot per output.
func refMatMul(w tensor.Mat, x []float32, n int) []float32 {
	im := genericTable()[w.Type]
	arb, _ := tensor.RowBytes(im.act, w.Cols)
	out := make([]float32, n*w.Rows)
	for t := 0; t < n; t++ {
		xt := x[t*w.Cols : (t+1)*w.Cols]
		a := make([]byte, arb)
		if im.convert == nil {
			for i, v := range xt {
				binary.LittleEndian.PutUint32(a[4*i:], math.Float32bits(v))
			}
		} else {
			im.convert(a, xt)
		}
		for r := 0; r < w.Rows; r++ {
			out[t*w.Rows+r] = im.dot(w.Row(r), a, w.Cols)
		}
	}
	return out
}

// matTol is the allowed |fast − reference| for one output: the
// implementations differ only in the order of float32 additions, so the
// error is bounded by a few float32 epsilons of the output scale. scale is
// the root mean square of all reference outputs of the call.
func matTol(want, scale float32) float64 {
	return 1e-5 * (math.Abs(float64(want)) + float64(scale))
}

func rms(v []float32) float32 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return float32(math.Sqrt(s / float64(max(1, len(v)))))
}

const guard = 8 // guard elements on each side of an output

// colCases returns awkward column counts for type t.
func colCases(t tensor.DType) []int {
	bs := t.BlockSize()
	if bs == 1 {
		return []int{1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 256, 257}
	}
	return []int{bs, 2 * bs, 3 * bs, 5 * bs, 8 * bs, 9 * bs}
}

func TestMatMulAllImplementations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, v := range variants() {
		t.Logf("implementation %s", v.name)
		for _, typ := range allTypes {
			for _, cols := range colCases(typ) {
				for _, rows := range []int{1, 2, 3, 7, 17} {
					for _, n := range []int{1, 2, 3, 5, 16} {
						name := fmt.Sprintf("%s/%s/%dx%d/n=%d", v.name, typ, rows, cols, n)
						w := randomMat(rng, typ, rows, cols)
						x := randomVec(rng, n*cols)
						want := refMatMul(w, x, n)
						buf := make([]float32, n*rows+2*guard)
						for i := range buf {
							buf[i] = 12345
						}
						out := buf[guard : guard+n*rows]
						matMul(out, w, x, n, v.table[typ])
						for i := 0; i < guard; i++ {
							if buf[i] != 12345 || buf[len(buf)-1-i] != 12345 {
								t.Fatalf("%s: write outside the output", name)
							}
						}
						scale := rms(want)
						for i := range want {
							if d := math.Abs(float64(out[i] - want[i])); !(d <= matTol(want[i], scale)) {
								t.Fatalf("%s: out[%d] = %v, want %v (diff %g)", name, i, out[i], want[i], d)
							}
						}
					}
				}
			}
		}
	}
}

func TestMatMulAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range allTypes {
		cols := 512
		w := randomMat(rng, typ, 64, cols)
		x := randomVec(rng, 4*cols)
		out := make([]float32, 4*64)
		MatMul(out, w, x, 4) // warm the scratch pool
		if a := testing.AllocsPerRun(50, func() { MatMul(out, w, x, 4) }); a != 0 {
			t.Errorf("%s: MatMul allocates %v times per call, want 0", typ, a)
		}
	}
}
