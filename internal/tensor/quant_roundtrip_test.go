package tensor

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomRow returns n seeded values from a Gaussian with standard deviation
// scale, with one value in 64 multiplied by 5 (weights have outliers).
func randomRow(seed uint64, n int, scale float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	x := make([]float32, n)
	for i := range x {
		v := float32(r.NormFloat64()) * scale
		if r.IntN(64) == 0 {
			v *= 5
		}
		x[i] = v
	}
	return x
}

// relRMS returns rms(got - want) / rms(want).
func relRMS(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / den)
}

// roundTripBound is the largest accepted rms(dequant(quant(x)) - x)/rms(x)
// for randomRow data. Each is about 1.25 times what the reference quantizer
// achieves on 16384 values (measured: F16 2.1e-4, BF16 1.6e-3, Q8_0 0.0078,
// Q8_K 0.016 (one scale per 256 values), Q6_K 0.023, Q5_K 0.043, Q5_1 0.045,
// Q5_0 0.061, Q4_K 0.085, Q4_1 0.091, IQ4_NL 0.097, IQ4_XS 0.099, Q4_0 0.12,
// MXFP4 0.13, Q3_K 0.18, Q2_K 0.34). The ordering follows the bits per
// weight; a uniform b-bit grid over the block range gives roughly
// 2^-b * range/sqrt(12) / sigma.
var roundTripBound = map[DType]float64{
	F32: 0, F16: 3e-4, BF16: 2e-3,
	Q8_0: 0.01, Q8_1: 0.01, Q8_K: 0.02,
	Q6_K: 0.03, Q5_K: 0.055, Q5_1: 0.056, Q5_0: 0.076,
	Q4_K: 0.11, Q4_1: 0.115, IQ4_NL: 0.12, IQ4_XS: 0.125, Q4_0: 0.15,
	MXFP4: 0.17, Q3_K: 0.23, Q2_K: 0.43,
}

func TestRoundTripError(t *testing.T) {
	for typ, bound := range roundTripBound {
		if !CanQuantize(typ) || !CanDequantize(typ) {
			t.Fatalf("%v: not convertible both ways", typ)
		}
		bs := typ.BlockSize()
		if bs == 1 {
			bs = 32
		}
		for _, c := range []struct {
			blocks int
			scale  float32
		}{{1, 1}, {3, 0.02}, {7, 300}, {16384 / bs, 0.02}} {
			n := c.blocks * bs
			if testing.Short() && n > 4096 {
				continue
			}
			x := randomRow(uint64(n), n, c.scale)
			q := make([]byte, mustRowBytes(t, typ, n))
			if err := Quantize(typ, q, x); err != nil {
				t.Fatalf("%v: %v", typ, err)
			}
			y := make([]float32, n)
			if err := Dequantize(typ, y, q); err != nil {
				t.Fatalf("%v: %v", typ, err)
			}
			// Short rows are noisier; allow them 1.5x.
			limit := bound
			if n < 1024 {
				limit *= 1.5
			}
			if e := relRMS(y, x); e > limit {
				t.Errorf("%v, %d values, scale %g: relative RMS error %.5f, want <= %.5f", typ, n, c.scale, e, limit)
			}
		}
	}
}

// TestQuantizeWritesEveryByte checks that no output byte depends on what dst
// held before (fields cleared by ggml's memsets must be cleared here too).
func TestQuantizeWritesEveryByte(t *testing.T) {
	x := randomRow(3, 1024, 1)
	for i := 0; i < 256; i++ { // an all-zero super-block and group
		x[512+i] = 0
	}
	for typ := range roundTripBound {
		n := mustRowBytes(t, typ, len(x))
		a, b := make([]byte, n), bytes.Repeat([]byte{0xff}, n)
		if err := Quantize(typ, a, x); err != nil {
			t.Fatal(err)
		}
		if err := Quantize(typ, b, x); err != nil {
			t.Fatal(err)
		}
		if i := firstDiff(a, b); i >= 0 {
			t.Errorf("%v: byte %d depends on the old contents of dst", typ, i)
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name        string
		typ         DType
		n, nbytes   int
		unsupported bool
		msg         string
	}{
		{"not whole blocks", Q4_0, 31, 18, false, "not a whole number of 32-element blocks"},
		{"short src", Q4_0, 32, 17, false, "take 18 bytes, got 17"},
		{"long src", Q6_K, 256, 211, false, "take 210 bytes, got 211"},
		{"F16 odd bytes", F16, 3, 5, false, "take 6 bytes, got 5"},
		{"unknown type", DType(99), 32, 32, false, "unknown type id 99"},
		{"retired id", DType(4), 32, 32, false, "unknown type id 4"},
		{"TQ1_0", TQ1_0, 256, 54, true, "TQ1_0 is not supported yet"},
		{"TQ2_0", TQ2_0, 256, 66, true, "TQ2_0 is not supported yet"},
		{"I32", I32, 4, 16, true, "I32 is not supported yet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := make([]float32, c.n)
			src := make([]byte, c.nbytes)
			errD := Dequantize(c.typ, dst, src)
			errQ := Quantize(c.typ, src, dst)
			for _, err := range []error{errD, errQ} {
				if err == nil {
					t.Fatal("got nil error")
				}
				if got := errors.Is(err, ErrUnsupported); got != c.unsupported {
					t.Errorf("errors.Is(%q, ErrUnsupported) = %v, want %v", err, got, c.unsupported)
				}
				if !strings.Contains(err.Error(), c.msg) {
					t.Errorf("error %q does not contain %q", err, c.msg)
				}
			}
		})
	}
	// The codebook types decode but do not encode.
	for _, typ := range []DType{IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M} {
		dst := make([]float32, 256)
		src := make([]byte, typ.TypeSize())
		if err := Dequantize(typ, dst, src); err != nil {
			t.Errorf("Dequantize(%v): %v", typ, err)
		}
		err := Quantize(typ, src, dst)
		if want := typ.String() + " is not supported yet"; err == nil || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), want) {
			t.Errorf("Quantize(%v) = %v, want an error wrapping ErrUnsupported containing %q", typ, err, want)
		}
		if err := Dequantize(typ, dst[:255], src); err == nil || errors.Is(err, ErrUnsupported) {
			t.Errorf("Dequantize(%v, 255 elements) = %v, want a length error", typ, err)
		}
	}
	// Zero elements is a valid (empty) row.
	if err := Dequantize(Q4_K, nil, nil); err != nil {
		t.Errorf("empty row: %v", err)
	}
}

func TestCanConvert(t *testing.T) {
	want := []DType{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K,
		Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS, MXFP4}
	for _, typ := range want {
		if !CanDequantize(typ) || !CanQuantize(typ) {
			t.Errorf("%v: CanDequantize %v, CanQuantize %v, want both", typ, CanDequantize(typ), CanQuantize(typ))
		}
	}
	for _, typ := range []DType{IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S} {
		if !CanDequantize(typ) || CanQuantize(typ) {
			t.Errorf("%v: CanDequantize %v, CanQuantize %v, want true, false", typ, CanDequantize(typ), CanQuantize(typ))
		}
	}
	for _, typ := range []DType{TQ1_0, TQ2_0, I8, F64, DType(99)} {
		if CanDequantize(typ) || CanQuantize(typ) {
			t.Errorf("%v: reported convertible", typ)
		}
	}
}

func TestRowHelpersPanicOnBadLength(t *testing.T) {
	for name, fn := range map[string]func(){
		"Q8_0":    func() { QuantizeRowQ8_0(make([]byte, 33), make([]float32, 32)) },
		"Q8_1":    func() { QuantizeRowQ8_1(make([]byte, 36), make([]float32, 33)) },
		"Q8_0X86": func() { QuantizeRowQ8_0X86(make([]byte, 35), make([]float32, 32)) },
		"Q8_1X86": func() { QuantizeRowQ8_1X86(make([]byte, 0), make([]float32, 32)) },
		"Q8_K":    func() { QuantizeRowQ8_K(make([]byte, 292), make([]float32, 32)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on mismatched lengths", name)
				}
			}()
			fn()
		}()
	}
}

// TestQuantizeNonFinite feeds NaN, Inf and huge values: the output is
// unspecified but Quantize must not panic and must be deterministic.
func TestQuantizeNonFinite(t *testing.T) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.MaxFloat32, -math.MaxFloat32, 1e30, 1e-45, 0}
	x := make([]float32, 512)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(r.NormFloat64())
		if r.IntN(4) == 0 {
			x[i] = specials[r.IntN(len(specials))]
		}
	}
	for typ := range roundTripBound {
		a := make([]byte, mustRowBytes(t, typ, len(x)))
		b := make([]byte, len(a))
		if err := Quantize(typ, a, x); err != nil {
			t.Fatal(err)
		}
		Quantize(typ, b, x)
		if !bytes.Equal(a, b) {
			t.Errorf("%v: nondeterministic output", typ)
		}
		y := make([]float32, len(x))
		if err := Dequantize(typ, y, a); err != nil {
			t.Fatal(err)
		}
	}
}

// fuzzTypes are the types FuzzDequantize draws from: every known id plus
// unknown ones.
var fuzzTypes = []DType{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K,
	Q5_K, Q6_K, Q8_K, IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, I8, I16,
	I32, I64, F64, IQ1_M, TQ1_0, TQ2_0, MXFP4, DType(4), DType(31), DType(1000)}

// FuzzDequantize decodes arbitrary bytes as any type with any element count:
// it must return an error or succeed, never panic, and succeed exactly when
// the type is supported and the lengths agree.
func FuzzDequantize(f *testing.F) {
	for i, typ := range fuzzTypes {
		n := typ.BlockSize()
		f.Add(uint8(i), uint16(n), make([]byte, typ.TypeSize()))
		f.Add(uint8(i), uint16(2*n), bytes.Repeat([]byte{0xff}, 2*typ.TypeSize()))
		f.Add(uint8(i), uint16(n+1), make([]byte, typ.TypeSize()))
	}
	f.Fuzz(func(t *testing.T, ti uint8, n uint16, src []byte) {
		typ := fuzzTypes[int(ti)%len(fuzzTypes)]
		dst := make([]float32, n)
		err := Dequantize(typ, dst, src)
		want, rerr := RowBytes(typ, int(n))
		ok := CanDequantize(typ) && rerr == nil && want == len(src)
		if (err == nil) != ok {
			t.Fatalf("Dequantize(%v, %d elements, %d bytes): err = %v, want success %v", typ, n, len(src), err, ok)
		}
	})
}

// FuzzQuantize quantizes arbitrary float32 bit patterns (NaN, Inf, huge,
// subnormal): never a panic, and decoding the result never fails.
func FuzzQuantize(f *testing.F) {
	f.Add(uint8(0), bytes.Repeat([]byte{0x7f, 0xc0, 0, 0}, 256))
	f.Add(uint8(5), bytes.Repeat([]byte{1, 0, 0x80, 0x7f}, 300))
	f.Add(uint8(12), make([]byte, 4096))
	types := []DType{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, MXFP4,
		Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS}
	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		typ := types[int(ti)%len(types)]
		bs := typ.BlockSize()
		n := len(data) / 4 / bs * bs
		x := make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		q := make([]byte, mustRowBytes(t, typ, n))
		if err := Quantize(typ, q, x); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(typ, x, q); err != nil {
			t.Fatal(err)
		}
		if typ == Q8_0 {
			r := make([]byte, len(q))
			QuantizeRowQ8_0X86(r, x)
			QuantizeRowQ8_1X86(make([]byte, n/32*36), x)
		}
	})
}

func BenchmarkDequantize(b *testing.B) {
	const n = 1 << 16
	x := randomRow(1, n, 1)
	for _, typ := range fuzzTypes[:] {
		if !CanDequantize(typ) {
			continue
		}
		src := make([]byte, mustRowBytes(b, typ, n))
		if CanQuantize(typ) {
			if err := Quantize(typ, src, x); err != nil {
				b.Fatal(err)
			}
		} else {
			// Random codebook blocks; bit 6 of every byte is cleared, so
			// every f16 scale has an exponent below 16 (finite).
			r := rand.New(rand.NewPCG(1, 2))
			for i := range src {
				src[i] = byte(r.Uint32()) & 0xbf
			}
		}
		dst := make([]float32, n)
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				Dequantize(typ, dst, src)
			}
		})
	}
}

// BenchmarkQuantize measures the quantizers; SetBytes counts float32 input.
func BenchmarkQuantize(b *testing.B) {
	const n = 1 << 14
	x := randomRow(1, n, 1)
	run := func(name string, nbytes int, fn func(dst []byte)) {
		dst := make([]byte, nbytes)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(4 * n)
			b.ReportAllocs()
			for b.Loop() {
				fn(dst)
			}
		})
	}
	for _, typ := range fuzzTypes {
		if !CanQuantize(typ) {
			continue
		}
		run(typ.String(), mustRowBytes(b, typ, n), func(dst []byte) { Quantize(typ, dst, x) })
	}
	run("Q8_0X86", n/32*34, func(dst []byte) { QuantizeRowQ8_0X86(dst, x) })
	run("Q8_1X86", n/32*36, func(dst []byte) { QuantizeRowQ8_1X86(dst, x) })
}

// TestGuardBands checks that Quantize and Dequantize write nothing past
// len(dst) even when the slice's capacity allows it.
func TestGuardBands(t *testing.T) {
	const guard = 64
	for typ := range roundTripBound {
		bs := typ.BlockSize()
		for _, blocks := range []int{1, 2, 5} {
			n := blocks * bs
			x := randomRow(uint64(n), n, 1)
			nb := mustRowBytes(t, typ, n)
			q := bytes.Repeat([]byte{0xa5}, nb+guard)[:nb]
			if err := Quantize(typ, q, x); err != nil {
				t.Fatal(err)
			}
			for i, c := range q[nb : nb+guard] {
				if c != 0xa5 {
					t.Fatalf("%v, %d blocks: Quantize wrote byte %d past the end", typ, blocks, i)
				}
			}
			y := make([]float32, n+guard)
			for i := range y {
				y[i] = -7
			}
			if err := Dequantize(typ, y[:n], q); err != nil {
				t.Fatal(err)
			}
			for i, v := range y[n:] {
				if v != -7 {
					t.Fatalf("%v, %d blocks: Dequantize wrote element %d past the end", typ, blocks, i)
				}
			}
		}
	}
}
