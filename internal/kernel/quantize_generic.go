package kernel

import (
	"encoding/binary"
	"math"
)

// Activation quantizers: how MatMul converts a float32 activation row into
// the type ggml pairs with the weight type (its vec_dot_type). Each writes
// len(x)/blockSize whole blocks to dst; len(x) is a multiple of the block
// size and dst is exactly RowBytes(type, len(x)) long.

// quantizeRowQ8_0Generic quantizes x into Q8_0 blocks exactly as llama.cpp's
// x86 quantize_row_q8_0 (the path its CPU backend runs on AVX/AVX2/AVX-512
// machines): per block of 32, amax = max|x|, d = amax/127 stored as f16,
// id = 127/amax (0 if amax is 0), q = round-half-to-even(x·id) in float32.
// ggml's portable quantize_row_q8_0_ref differs only in rare ties (it uses
// id = 1/d and rounds halves away from zero).
func quantizeRowQ8_0Generic(dst []byte, x []float32) {
	for b := 0; b < len(x)/32; b++ {
		xb := x[b*32 : b*32+32]
		blk := dst[b*34 : b*34+34]
		amax := float32(0)
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		id := float32(0)
		if amax != 0 {
			id = 127 / amax
		}
		binary.LittleEndian.PutUint16(blk, floatToHalf(d))
		for j, v := range xb {
			blk[2+j] = byte(int8(math.RoundToEven(float64(v * id))))
		}
	}
}

// quantizeRowQ8_1Generic is quantizeRowQ8_0Generic plus ggml's block sum:
// each 36-byte block holds d (f16), s = d·Σq (f16), then the 32 int8 q, as
// llama.cpp's x86 quantize_row_q8_1.
func quantizeRowQ8_1Generic(dst []byte, x []float32) {
	for b := 0; b < len(x)/32; b++ {
		xb := x[b*32 : b*32+32]
		blk := dst[b*36 : b*36+36]
		amax := float32(0)
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		id := float32(0)
		if amax != 0 {
			id = 127 / amax
		}
		sum := int32(0)
		for j, v := range xb {
			q := int8(math.RoundToEven(float64(v * id)))
			blk[4+j] = byte(q)
			sum += int32(q)
		}
		binary.LittleEndian.PutUint16(blk, floatToHalf(d))
		binary.LittleEndian.PutUint16(blk[2:], floatToHalf(d*float32(sum)))
	}
}

// quantizeRowQ8_KGeneric is ggml's quantize_row_q8_K_ref: per block of 256,
// find the value of largest magnitude max, iscale = -127/max,
// q = min(127, nearest_int(iscale·x)) (nearest_int rounds half to even),
// d = 1/iscale as float32, and bsums[j] = Σ q over the j-th group of 16.
// A block of zeros gets d = 0, q = 0, bsums = 0. Block layout (292 bytes):
// d float32, qs [256]int8, bsums [16]int16.
func quantizeRowQ8_KGeneric(dst []byte, x []float32) {
	for b := 0; b < len(x)/256; b++ {
		xb := x[b*256 : b*256+256]
		blk := dst[b*292 : b*292+292]
		var mx, amax float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax, mx = a, v
			}
		}
		if amax == 0 {
			clear(blk)
			continue
		}
		iscale := -127 / mx
		for j, v := range xb {
			blk[4+j] = byte(int8(min(127, roundToInt32(iscale*v))))
		}
		for j := 0; j < 16; j++ {
			s := int16(0)
			for _, q := range blk[4+16*j : 4+16*j+16] {
				s += int16(int8(q))
			}
			binary.LittleEndian.PutUint16(blk[260+2*j:], uint16(s))
		}
		binary.LittleEndian.PutUint32(blk, math.Float32bits(1/iscale))
	}
}

// convertRowF16Generic rounds x to binary16 (ties to even), as ggml converts
// activations for F16 weights.
func convertRowF16Generic(dst []byte, x []float32) {
	for i, v := range x {
		binary.LittleEndian.PutUint16(dst[2*i:], floatToHalf(v))
	}
}

// convertRowBF16Generic rounds x to bfloat16 (ties to even), as ggml converts
// activations for BF16 weights.
func convertRowBF16Generic(dst []byte, x []float32) {
	for i, v := range x {
		binary.LittleEndian.PutUint16(dst[2*i:], floatToBF16(v))
	}
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// roundToInt32 rounds v to the nearest int32, ties to even, as the SIMD
// quantizers' VCVTPS2DQ does: a value outside the int32 range or NaN (a
// block whose largest magnitude is below ~3.7e-37 makes −127/max
// overflow) gives math.MinInt32, the "integer indefinite" value, so that
// every path writes the same bytes.
func roundToInt32(v float32) int32 {
	q := math.RoundToEven(float64(v))
	if q >= -(1<<31) && q < 1<<31 {
		return int32(q)
	}
	return math.MinInt32
}
