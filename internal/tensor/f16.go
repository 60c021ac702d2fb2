package tensor

import "math"

// Float16ToFloat32 returns the value of the IEEE 754 binary16 number with
// bits h. Every finite half (including subnormals and ±0) converts exactly;
// ±Inf stays ±Inf. A NaN keeps its sign and payload and comes back quiet
// (the quiet bit set), as ggml's conversion does on x86.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f && mant != 0: // NaN
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	case exp == 0x1f: // Inf
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0: // zero or subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
	// Normal: rebias the exponent from 15 to 127.
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToFloat16 returns the binary16 bits nearest to f, rounding ties to
// even, as IEEE 754 and ggml's GGML_FP32_TO_FP16 do. Magnitudes from 65520
// up become ±Inf, magnitudes at or below 2^-25 become ±0, values in between
// that are below 2^-14 become subnormal halves. Any NaN becomes the quiet
// NaN 0x7E00 with f's sign, exactly as ggml's software conversion.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	switch {
	case abs > 0x7f800000: // NaN
		return sign | 0x7e00
	case abs >= 0x477ff000: // >= 65520, the midpoint of 65504 and 2^16: ties go to even, i.e. Inf
		return sign | 0x7c00
	case abs < 0x38800000: // below 2^-14: subnormal half or zero
		exp := abs >> 23
		if exp < 102 { // below 2^-25, less than half the smallest subnormal
			return sign
		}
		// value * 2^24 = m * 2^(exp-126); keep the integer part, round the rest.
		m := abs&0x7fffff | 0x800000
		shift := 126 - exp // 14..24
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++ // may carry into the exponent: the smallest normal, correctly
		}
		return sign | uint16(h)
	}
	// Normal half: rebias the exponent and round the 13 dropped mantissa bits.
	h := (abs>>23-127+15)<<10 | (abs&0x7fffff)>>13
	rem := abs & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry out of the mantissa bumps the exponent, up to Inf
	}
	return sign | uint16(h)
}

// BF16ToFloat32 returns the value of the bfloat16 number with bits h: the
// upper half of a float32, so the conversion is exact for every input.
func BF16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// Float32ToBF16 returns the bfloat16 bits nearest to f, rounding ties to even
// (ggml's GGML_FP32_TO_BF16, identical to Google Brain's conversion).
// Subnormals are kept, not flushed. A NaN keeps its sign and upper payload
// bits and is forced quiet.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
