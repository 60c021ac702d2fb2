package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/tensor"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// allTypes are the weight types MatMul supports.
var allTypes = []tensor.DType{
	tensor.F32, tensor.F16, tensor.BF16,
	tensor.Q4_0, tensor.Q4_1, tensor.Q5_0, tensor.Q5_1, tensor.Q8_0, tensor.IQ4_NL,
	tensor.Q2_K, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.IQ4_XS,
	tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ3_XXS, tensor.IQ3_S, tensor.IQ1_S, tensor.IQ1_M,
}

// halfFields are the byte offsets of the f16 scale fields in a block.
var halfFields = map[tensor.DType][]int{
	tensor.Q4_0: {0}, tensor.Q4_1: {0, 2}, tensor.Q5_0: {0}, tensor.Q5_1: {0, 2},
	tensor.Q8_0: {0}, tensor.IQ4_NL: {0}, tensor.Q2_K: {80, 82}, tensor.Q3_K: {108},
	tensor.Q4_K: {0, 2}, tensor.Q5_K: {0, 2}, tensor.Q6_K: {208}, tensor.IQ4_XS: {0},
	tensor.IQ2_XXS: {0}, tensor.IQ2_XS: {0}, tensor.IQ2_S: {0}, tensor.IQ3_XXS: {0},
	tensor.IQ3_S: {0}, tensor.IQ1_S: {0}, // IQ1_M: see putIQ1MScale
}

// putIQ1MScale stores the f16 bits h as the scale of the IQ1_M block blk:
// nibble i in the top nibble of the block's i-th u16 scale word.
func putIQ1MScale(blk []byte, h uint16) {
	for i := range 4 {
		b := &blk[48+2*i+1]
		*b = *b&0x0f | byte(h>>(4*i)&15)<<4
	}
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
			if t == tensor.IQ1_M {
				putIQ1MScale(data[b*ts:], floatToHalf(float32(rng.Float64()*0.02+0.001)))
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

// dequantRows returns the float64 values of rows×cols elements of type t
// (via tensor.Dequantize, the independent reference for every layout).
func dequantRows(t testing.TB, typ tensor.DType, data []byte, rows, cols int) [][]float64 {
	t.Helper()
	rb, err := tensor.RowBytes(typ, cols)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, rows)
	f := make([]float32, cols)
	for r := range out {
		if err := tensor.Dequantize(typ, f, data[r*rb:(r+1)*rb]); err != nil {
			t.Fatal(err)
		}
		out[r] = make([]float64, cols)
		for c, v := range f {
			out[r][c] = float64(v)
		}
	}
	return out
}

// activations returns the activation rows MatMul's reference pairs with
// weight type typ (x converted to F16/BF16/Q8_0/Q8_1/Q8_K), dequantized.
func activations(t testing.TB, typ tensor.DType, x []float32, n, cols int) [][]float64 {
	t.Helper()
	im := genericTable()[typ]
	if im.convert == nil {
		out := make([][]float64, n)
		for i := range out {
			out[i] = make([]float64, cols)
			for c := range out[i] {
				out[i][c] = float64(x[i*cols+c])
			}
		}
		return out
	}
	arb, _ := tensor.RowBytes(im.act, cols)
	buf := make([]byte, n*arb)
	for i := 0; i < n; i++ {
		im.convert(buf[i*arb:(i+1)*arb], x[i*cols:(i+1)*cols])
	}
	return dequantRows(t, im.act, buf, n, cols)
}

// magnitudes returns Σ_c |W[r][c]|·|A[t][c]| for every output [t][r]: the
// scale that float32 rounding errors of the dot products are relative to.
func magnitudes(wd, ad [][]float64) []float64 {
	rows, n := len(wd), len(ad)
	m := make([]float64, n*rows)
	for t := 0; t < n; t++ {
		for r := 0; r < rows; r++ {
			s := 0.0
			for c := range wd[r] {
				s += math.Abs(wd[r][c] * ad[t][c])
			}
			m[t*rows+r] = s
		}
	}
	return m
}

// matTol is the allowed |fast − reference| for one output of magnitude
// mag (see magnitudes). The integer block sums are exact in every
// implementation; they differ only in the order of the float32 additions
// of the scaled block terms (plus lane sums and float tails), each
// contributing at most 2^-24·mag. 1e-5 ≈ 168·2^-24 covers the worst case
// for the test shapes (up to 144 blocks or steps per row), and is far below
// any real error (a wrong bit position or scale is off by percents).
func matTol(mag float64) float64 { return 1e-5*mag + 1e-30 }

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
				rowsList, nList := []int{1, 2, 3, 7, 8, 17}, []int{1, 2, 3, 4, 5, 7, 14, 16}
				if testing.Short() {
					rowsList, nList = []int{1, 3, 17}, []int{1, 3, 16}
				}
				for _, rows := range rowsList {
					for _, n := range nList {
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
						mag := magnitudes(dequantRows(t, typ, w.Data, rows, cols), activations(t, typ, x, n, cols))
						for i := range want {
							if d := math.Abs(float64(out[i] - want[i])); !(d <= matTol(mag[i])) {
								t.Fatalf("%s: out[%d] = %v, want %v (diff %g)", name, i, out[i], want[i], d)
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulAllocs checks that MatMul does not allocate in steady state,
// for one token (decode), a few, and a prompt-sized batch (packed path).
func TestMatMulAllocs(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range allTypes {
		cols := 512
		w := randomMat(rng, typ, 64, cols)
		for _, n := range []int{1, 4, 64} {
			x := randomVec(rng, n*cols)
			out := make([]float32, n*64)
			MatMul(out, w, x, n) // warm the scratch pools
			if a := testing.AllocsPerRun(50, func() { MatMul(out, w, x, n) }); a != 0 {
				t.Errorf("%s n=%d: MatMul allocates %v times per call, want 0", typ, n, a)
			}
		}
	}
}

// TestReferenceDot checks each reference row dot against the float64 dot of
// tensor.Dequantize'd weights and activations: this pins the block layouts
// and the integer formulas to ggml's dequantization. The tolerance is
// relative to Σ|w·a|: 1e-5, except Q4_1/Q5_1 whose m·s term uses ggml's
// f16-rounded block sum s (2^-11 relative).
func TestReferenceDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, typ := range allTypes {
		for _, cols := range colCases(typ) {
			w := randomMat(rng, typ, 3, cols)
			x := randomVec(rng, 2*cols)
			wd := dequantRows(t, typ, w.Data, 3, cols)
			ad := activations(t, typ, x, 2, cols)
			got := refMatMul(w, x, 2)
			mag := magnitudes(wd, ad)
			rel := 1e-5
			if typ == tensor.Q4_1 || typ == tensor.Q5_1 {
				rel = 1.0 / 2048
			}
			for tk := 0; tk < 2; tk++ {
				for r := 0; r < 3; r++ {
					want := 0.0
					for c := 0; c < cols; c++ {
						want += wd[r][c] * ad[tk][c]
					}
					i := tk*3 + r
					if d := math.Abs(float64(got[i]) - want); d > rel*mag[i]+1e-30 {
						t.Fatalf("%s cols=%d out[%d][%d] = %v, want %v (magnitude %g)", typ, cols, tk, r, got[i], want, mag[i])
					}
				}
			}
		}
	}
}

// TestActivationQuantizers checks the kernel's activation converters
// byte for byte against package tensor's ggml ports: llama.cpp's x86
// quantize_row_q8_0/q8_1 and quantize_row_q8_K_ref.
func TestActivationQuantizers(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{256, 512, 2304} {
		x := randomVec(rng, n)
		x[5] = 0
		for i := 64; i < 96; i++ { // an all-zero block
			x[i] = 0
		}
		// A block with amax = 127, so id = 1 and halves are exact ties
		// (x86 llama.cpp rounds them to even).
		x[128], x[129], x[130], x[131], x[132] = 127, 2.5, -3.5, 0.5, -0.5
		x[140] = -127 // ties in magnitude: Q8_K takes the first (+127)
		if n >= 512 {
			clear(x[256:512]) // an all-zero Q8_K block
		}
		cases := []struct {
			name string
			typ  tensor.DType
			mine func([]byte, []float32)
			ref  func([]byte, []float32)
		}{
			{"Q8_0", tensor.Q8_0, quantizeRowQ8_0Generic, tensor.QuantizeRowQ8_0X86},
			{"Q8_1", tensor.Q8_1, quantizeRowQ8_1Generic, tensor.QuantizeRowQ8_1X86},
			{"Q8_K", tensor.Q8_K, quantizeRowQ8_KGeneric, tensor.QuantizeRowQ8_K},
		}
		for _, v := range variants() {
			type qcase = struct {
				name string
				typ  tensor.DType
				mine func([]byte, []float32)
				ref  func([]byte, []float32)
			}
			cases = append(cases,
				qcase{v.name + "/Q8_0", tensor.Q8_0, v.table[tensor.Q8_0].convert, tensor.QuantizeRowQ8_0X86},
				qcase{v.name + "/Q8_1", tensor.Q8_1, v.table[tensor.Q4_1].convert, tensor.QuantizeRowQ8_1X86},
				qcase{v.name + "/Q8_K", tensor.Q8_K, v.table[tensor.Q4_K].convert, tensor.QuantizeRowQ8_K})
		}
		for _, c := range cases {
			rb, _ := tensor.RowBytes(c.typ, n)
			got, want := make([]byte, rb), make([]byte, rb)
			c.mine(got, x)
			c.ref(want, x)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s n=%d: byte %d = %#x, want %#x", c.name, n, i, got[i], want[i])
				}
			}
		}
	}
}

// TestMatMulLongBatch covers batches longer than one token chunk.
func TestMatMulLongBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, typ := range []tensor.DType{tensor.Q8_0, tensor.Q4_K, tensor.F16} {
		rows, cols, n := 19, 256, 2*tokenChunk+3
		w := randomMat(rng, typ, rows, cols)
		x := randomVec(rng, n*cols)
		want := refMatMul(w, x, n)
		mag := magnitudes(dequantRows(t, typ, w.Data, rows, cols), activations(t, typ, x, n, cols))
		out := make([]float32, n*rows)
		MatMul(out, w, x, n)
		for i := range want {
			if d := math.Abs(float64(out[i] - want[i])); !(d <= matTol(mag[i])) {
				t.Fatalf("%s: out[%d] = %v, want %v", typ, i, out[i], want[i])
			}
		}
	}
}

// TestMatMulConcurrent calls MatMul from several goroutines at once: the
// pool runs one job at a time and the others inline; results must not mix.
func TestMatMulConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const rows, cols, n = 64, 512, 3
	var ws []tensor.Mat
	var xs, wants [][]float32
	for i := 0; i < 4; i++ {
		typ := []tensor.DType{tensor.Q8_0, tensor.Q4_K, tensor.F16, tensor.Q4_0}[i]
		w := randomMat(rng, typ, rows, cols)
		x := randomVec(rng, n*cols)
		out := make([]float32, n*rows)
		MatMul(out, w, x, n)
		ws, xs, wants = append(ws, w), append(xs, x), append(wants, out)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			out := make([]float32, n*rows)
			for rep := 0; rep < 50; rep++ {
				MatMul(out, ws[g], xs[g], n)
				for i := range out {
					if out[i] != wants[g][i] {
						errs <- fmt.Sprintf("goroutine %d rep %d: out[%d] = %v, want %v", g, rep, i, out[i], wants[g][i])
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
