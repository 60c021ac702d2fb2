package kernel

import "math"

// TODO(kernel): switch to tensor.Float16ToFloat32 / Float32ToFloat16 /
// Float32ToBF16 once internal/tensor's conversions are committed; these are
// local copies of the same IEEE conversions so the kernel builds on its own.

// f16Table maps every binary16 bit pattern to its float32 value, as ggml's
// table-driven GGML_FP16_TO_FP32 does (256 KiB).
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = halfToFloat(uint16(i))
	}
	return &t
}()

// halfToFloat converts binary16 bits to float32 exactly (NaNs come back quiet).
func halfToFloat(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f && mant != 0:
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0:
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// floatToHalf returns the binary16 bits nearest to f, ties to even, like
// F16C's VCVTPS2PH with round-to-nearest. NaN becomes a quiet NaN.
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	switch {
	case abs > 0x7f800000:
		return sign | 0x7e00
	case abs >= 0x477ff000: // >= 65520 rounds to Inf
		return sign | 0x7c00
	case abs < 0x38800000: // below 2^-14: subnormal or zero
		exp := abs >> 23
		if exp < 102 {
			return sign
		}
		m := abs&0x7fffff | 0x800000
		shift := 126 - exp
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	// Normal: drop 13 mantissa bits with round-to-nearest-even; a carry may
	// bump the exponent (up to Inf, handled above by the 65520 bound).
	h := (abs - (127-15)<<23) >> 13
	rem := abs & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

// h2f returns the float32 value of the little-endian binary16 at b[0:2].
func h2f(b []byte) float32 { return f16Table[uint16(b[0])|uint16(b[1])<<8] }

// bf2f returns the float32 value of bfloat16 bits h (exact).
func bf2f(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// floatToBF16 is ggml's GGML_FP32_TO_BF16: round to nearest even; a NaN
// stays a quiet NaN.
func floatToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
