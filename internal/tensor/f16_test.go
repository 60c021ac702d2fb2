package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// f16Value is the definition of binary16 evaluated in float64:
// (-1)^s * 2^(e-15) * (1 + m/1024), or 2^-14 * m/1024 when e is 0.
func f16Value(h uint16) float64 {
	s, e, m := h>>15, int(h>>10)&0x1f, float64(h&0x3ff)
	var v float64
	switch e {
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		v = math.Inf(1)
	case 0:
		v = math.Ldexp(m/1024, -14)
	default:
		v = math.Ldexp(1+m/1024, e-15)
	}
	if s == 1 {
		v = -v
	}
	return v
}

func isNaN16(h uint16) bool { return h&0x7c00 == 0x7c00 && h&0x3ff != 0 }

func TestFloat16ToFloat32Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got := Float16ToFloat32(h)
		want := f16Value(h)
		if isNaN16(h) {
			// Quiet NaN, same sign, payload shifted into place.
			wantBits := uint32(h&0x8000)<<16 | 0x7fc00000 | uint32(h&0x3ff)<<13
			if math.Float32bits(got) != wantBits {
				t.Fatalf("Float16ToFloat32(%#04x) = %#08x, want %#08x", h, math.Float32bits(got), wantBits)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (h>>15 == 1) {
			t.Fatalf("Float16ToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestFloat16RoundTripExhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got := Float32ToFloat16(Float16ToFloat32(h))
		want := h
		if isNaN16(h) {
			want = h&0x8000 | 0x7e00 // ggml canonicalizes NaNs
		}
		if got != want {
			t.Fatalf("Float32ToFloat16(Float16ToFloat32(%#04x)) = %#04x, want %#04x", h, got, want)
		}
	}
}

// TestFloat32ToFloat16Midpoints checks rounding at and next to every midpoint
// between adjacent finite halves (the midpoints are exact float32 values).
func TestFloat32ToFloat16Midpoints(t *testing.T) {
	for i := range 0x7bff { // positive finite halves below the largest
		for _, sign := range []uint16{0, 0x8000} {
			lo, hi := uint16(i)|sign, uint16(i+1)|sign
			mid := float32((f16Value(lo) + f16Value(hi)) / 2)
			even := lo
			if lo&1 == 1 {
				even = hi
			}
			below := math.Nextafter32(mid, float32(f16Value(lo)))
			above := math.Nextafter32(mid, float32(f16Value(hi)))
			for _, c := range []struct {
				x    float32
				want uint16
			}{{mid, even}, {below, lo}, {above, hi}} {
				if got := Float32ToFloat16(c.x); got != c.want {
					t.Fatalf("Float32ToFloat16(%g) = %#04x, want %#04x (between %#04x and %#04x)", c.x, got, c.want, lo, hi)
				}
			}
		}
	}
}

func TestFloat32ToFloat16Cases(t *testing.T) {
	cases := []struct {
		x    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.1, 0x2e66},
		{65504, 0x7bff},
		{65519.996, 0x7bff},
		{65520, 0x7c00}, // midpoint to 2^16 ties to even: Inf
		{1e10, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{0x1p-14, 0x0400},                      // smallest normal
		{0x1p-24, 0x0001},                      // smallest subnormal
		{0x1p-25, 0x0000},                      // half of it ties to even: 0
		{math.Nextafter32(0x1p-25, 1), 0x0001}, // just above rounds up
		{0x1.8p-24, 0x0002},                    // 1.5 ulp ties to even: 2
		{0x1.ffcp-15, 0x0400},                  // largest subnormal + half ulp rounds into the normals
		{0x1p-130, 0x0000},                     // float32 subnormal
		{float32(math.NaN()), 0x7e00},
		{math.Float32frombits(0xffc00001), 0xfe00},
		{math.Float32frombits(0x7f800001), 0x7e00}, // signaling NaN
	}
	for _, c := range cases {
		if got := Float32ToFloat16(c.x); got != c.want {
			t.Errorf("Float32ToFloat16(%g = %#08x) = %#04x, want %#04x", c.x, math.Float32bits(c.x), got, c.want)
		}
	}
}

// refFloat32ToFloat16 is an independent reference: ggml's float trick from
// the FP16 library (scale to push the excess bits out, let the FPU round).
func refFloat32ToFloat16(f float32) uint16 {
	base := float32(abs32(f) * 0x1p112 * 0x1p-110)
	w := math.Float32bits(f)
	shl1 := w + w
	sign := w & 0x80000000
	bias := shl1 & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	nonsign := bits>>13&0x7c00 + bits&0x0fff
	if shl1 > 0xff000000 {
		nonsign = 0x7e00
	}
	return uint16(sign>>16 | nonsign)
}

// TestFloat32ToFloat16Sweep compares with the float-trick reference on every
// 251st float32 bit pattern (about 17 million inputs, all exponents).
func TestFloat32ToFloat16Sweep(t *testing.T) {
	step := uint64(251)
	if testing.Short() {
		step = 4093
	}
	for b := uint64(0); b < 1<<32; b += step {
		f := math.Float32frombits(uint32(b))
		if got, want := Float32ToFloat16(f), refFloat32ToFloat16(f); got != want {
			t.Fatalf("Float32ToFloat16(%#08x) = %#04x, want %#04x", b, got, want)
		}
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		x    float32
		want uint16
	}{
		{1, 0x3f80},
		{-1, 0xbf80},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // MaxFloat32 rounds to Inf
		{math.Float32frombits(0x00000001), 0x0000}, // subnormals round, not flush
		{math.Float32frombits(0x00008000), 0x0000},
		{math.Float32frombits(0x00018000), 0x0002},
		{float32(math.Inf(-1)), 0xff80},
		{math.Float32frombits(0x7f800001), 0x7fc0}, // signaling NaN made quiet
		{math.Float32frombits(0xffa12345), 0xffe1}, // payload and sign kept
	}
	for _, c := range cases {
		if got := Float32ToBF16(c.x); got != c.want {
			t.Errorf("Float32ToBF16(%#08x) = %#04x, want %#04x", math.Float32bits(c.x), got, c.want)
		}
	}
	for i := range 1 << 16 {
		h := uint16(i)
		f := BF16ToFloat32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToFloat32(%#04x) = %#08x", h, math.Float32bits(f))
		}
		want := h
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			want |= 0x40
		}
		if got := Float32ToBF16(f); got != want {
			t.Fatalf("Float32ToBF16(BF16ToFloat32(%#04x)) = %#04x, want %#04x", h, got, want)
		}
	}
}

// ggmlHash returns the FNV-1a-64 hash named key in testdata/ggml/hashes.txt,
// computed by the ggml oracle over ggml's own conversions.
func ggmlHash(t *testing.T, key string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ggml", "hashes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			h, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
	}
	t.Fatalf("hashes.txt: no %s", key)
	return 0
}

type fnv64 uint64

func newFNV() fnv64 { return 0xcbf29ce484222325 }

func (h *fnv64) write(b []byte) {
	for _, c := range b {
		*h = (*h ^ fnv64(c)) * 0x100000001b3
	}
}

func TestHalfToFloatMatchesGGML(t *testing.T) {
	for _, c := range []struct {
		key string
		fn  func(uint16) float32
	}{{"fp16_to_fp32", Float16ToFloat32}, {"bf16_to_fp32", BF16ToFloat32}} {
		h := newFNV()
		var b [4]byte
		for i := range 1 << 16 {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(c.fn(uint16(i))))
			h.write(b[:])
		}
		if want := ggmlHash(t, c.key); uint64(h) != want {
			t.Errorf("%s over all 2^16 inputs: hash %016x, ggml's %016x", c.key, uint64(h), want)
		}
	}
}

// TestFloatToHalfMatchesGGMLExhaustive converts all 2^32 float32 bit patterns
// and compares a hash of the results with ggml's. It takes about half a
// minute, so it runs only with SPUTNIK_LONG_TESTS=1.
func TestFloatToHalfMatchesGGMLExhaustive(t *testing.T) {
	if os.Getenv("SPUTNIK_LONG_TESTS") == "" {
		t.Skip("set SPUTNIK_LONG_TESTS=1 to convert all 2^32 float32 values")
	}
	for _, c := range []struct {
		key string
		fn  func(float32) uint16
	}{{"fp32_to_fp16", Float32ToFloat16}, {"fp32_to_bf16", Float32ToBF16}} {
		h := newFNV()
		buf := make([]byte, 2<<20)
		for lo := uint64(0); lo < 1<<32; lo += 1 << 20 {
			for i := range 1 << 20 {
				binary.LittleEndian.PutUint16(buf[2*i:], c.fn(math.Float32frombits(uint32(lo)+uint32(i))))
			}
			h.write(buf)
		}
		if want := ggmlHash(t, c.key); uint64(h) != want {
			t.Errorf("%s over all 2^32 inputs: hash %016x, ggml's %016x", c.key, uint64(h), want)
		}
	}
}

func ExampleFloat32ToFloat16() {
	h := Float32ToFloat16(0.1)
	fmt.Printf("%#04x %g\n", h, Float16ToFloat32(h))
	// Output: 0x2e66 0.099975586
}
