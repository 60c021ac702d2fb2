package tensor

import (
	"encoding/binary"
	"math"
)

// The 32-element block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and MXFP4.
// Element j of a 4-bit block is the low nibble of qs[j] for j < 16 and the
// high nibble of qs[j-16] otherwise. The code follows ggml's
// quantize_row_*_ref and dequantize_row_* operation by operation, in
// float32; a product that feeds an addition is wrapped in float32(...) so
// that the compiler cannot fuse them into an FMA and change the rounding.

// abs32 returns |f| (clears the sign bit, like C's fabsf).
func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

func dequantizeQ4_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		x := src[b*sizeQ4_0 : (b+1)*sizeQ4_0]
		y := dst[b*32 : (b+1)*32]
		d := half(x)
		qs := x[2:18]
		for j := range 16 {
			y[j] = float32(int32(qs[j]&0xf)-8) * d
			y[j+16] = float32(int32(qs[j]>>4)-8) * d
		}
	}
}

func quantizeQ4_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*sizeQ4_0 : (b+1)*sizeQ4_0]
		// The scale maps the value of largest magnitude, with its sign, to -8.
		var amax, max float32
		for _, v := range x {
			if amax < abs32(v) {
				amax, max = abs32(v), v
			}
		}
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		for j := range 16 {
			xi0 := min(15, int8(float32(x[j]*id)+8.5))
			xi1 := min(15, int8(float32(x[j+16]*id)+8.5))
			y[2+j] = uint8(xi0) | uint8(xi1)<<4
		}
	}
}

func dequantizeQ4_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		x := src[b*sizeQ4_1 : (b+1)*sizeQ4_1]
		y := dst[b*32 : (b+1)*32]
		d, m := half(x), half(x[2:])
		qs := x[4:20]
		for j := range 16 {
			y[j] = float32(float32(qs[j]&0xf)*d) + m
			y[j+16] = float32(float32(qs[j]>>4)*d) + m
		}
	}
}

func quantizeQ4_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*sizeQ4_1 : (b+1)*sizeQ4_1]
		min_, max := float32(math.MaxFloat32), float32(-math.MaxFloat32)
		for _, v := range x {
			if v < min_ {
				min_ = v
			}
			if v > max {
				max = v
			}
		}
		d := (max - min_) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		putHalf(y[2:], min_)
		for j := range 16 {
			xi0 := min(15, int8(float32((x[j]-min_)*id)+0.5))
			xi1 := min(15, int8(float32((x[j+16]-min_)*id)+0.5))
			y[4+j] = uint8(xi0) | uint8(xi1)<<4
		}
	}
}

func dequantizeQ5_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		x := src[b*sizeQ5_0 : (b+1)*sizeQ5_0]
		y := dst[b*32 : (b+1)*32]
		d := half(x)
		qh := binary.LittleEndian.Uint32(x[2:])
		qs := x[6:22]
		for j := range 16 {
			h0 := uint8(qh>>j<<4) & 0x10
			h1 := uint8(qh>>(j+12)) & 0x10
			y[j] = float32(int32(qs[j]&0xf|h0)-16) * d
			y[j+16] = float32(int32(qs[j]>>4|h1)-16) * d
		}
	}
}

func quantizeQ5_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*sizeQ5_0 : (b+1)*sizeQ5_0]
		var amax, max float32
		for _, v := range x {
			if amax < abs32(v) {
				amax, max = abs32(v), v
			}
		}
		d := max / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		var qh uint32
		for j := range 16 {
			xi0 := uint8(min(31, int8(float32(x[j]*id)+16.5)))
			xi1 := uint8(min(31, int8(float32(x[j+16]*id)+16.5)))
			y[6+j] = xi0&0xf | (xi1&0xf)<<4
			qh |= uint32(xi0&0x10) >> 4 << j
			qh |= uint32(xi1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(y[2:], qh)
	}
}

func dequantizeQ5_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		x := src[b*sizeQ5_1 : (b+1)*sizeQ5_1]
		y := dst[b*32 : (b+1)*32]
		d, m := half(x), half(x[2:])
		qh := binary.LittleEndian.Uint32(x[4:])
		qs := x[8:24]
		for j := range 16 {
			h0 := uint8(qh>>j<<4) & 0x10
			h1 := uint8(qh>>(j+12)) & 0x10
			y[j] = float32(float32(qs[j]&0xf|h0)*d) + m
			y[j+16] = float32(float32(qs[j]>>4|h1)*d) + m
		}
	}
}

func quantizeQ5_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*sizeQ5_1 : (b+1)*sizeQ5_1]
		min_, max := float32(math.MaxFloat32), float32(-math.MaxFloat32)
		for _, v := range x {
			if v < min_ {
				min_ = v
			}
			if v > max {
				max = v
			}
		}
		d := (max - min_) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		putHalf(y[2:], min_)
		var qh uint32
		for j := range 16 {
			xi0 := uint8(float32((x[j]-min_)*id) + 0.5)
			xi1 := uint8(float32((x[j+16]-min_)*id) + 0.5)
			y[8+j] = xi0&0xf | (xi1&0xf)<<4
			qh |= uint32(xi0&0x10) >> 4 << j
			qh |= uint32(xi1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(y[4:], qh)
	}
}

func dequantizeQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		x := src[b*sizeQ8_0 : (b+1)*sizeQ8_0]
		y := dst[b*32 : (b+1)*32]
		d := half(x)
		for j, q := range x[2:34] {
			y[j] = float32(int8(q)) * d
		}
	}
}

// quantizeQ8_0 is ggml's quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d)
// with ties away from zero.
func quantizeQ8_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*sizeQ8_0 : (b+1)*sizeQ8_0]
		var amax float32
		for _, v := range x {
			if a := abs32(v); !(amax > a) {
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		for j, v := range x {
			y[2+j] = uint8(int8(roundf(v * id)))
		}
	}
}

// Q8_1 is Q8_0 plus s = d*sum(qs), used for the activations that meet Q4_1 and
// Q5_1 weights. ggml has no dequantizer for it; here it is qs*d.
func dequantizeQ8_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		x := src[b*sizeQ8_1 : (b+1)*sizeQ8_1]
		y := dst[b*32 : (b+1)*32]
		d := half(x)
		for j, q := range x[4:36] {
			y[j] = float32(int8(q)) * d
		}
	}
}

func quantizeQ8_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*sizeQ8_1 : (b+1)*sizeQ8_1]
		var amax float32
		for _, v := range x {
			if a := abs32(v); !(amax > a) {
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		var sum int32
		for j, v := range x {
			q := int8(roundf(v * id))
			y[4+j] = uint8(q)
			sum += int32(q)
		}
		putHalf(y[2:], float32(sum)*d)
	}
}

// quantizeQ8x86 is the activation quantizer of ggml-cpu on x86-64 with AVX or
// AVX2 (quantize_row_q8_0 / quantize_row_q8_1 in ggml-cpu/arch/x86): the
// inverse scale is 127/amax rather than 1/(amax/127), and the rounding is
// to nearest with ties to even. With q81 it also fills Q8_1's s field.
func quantizeQ8x86(dst []byte, src []float32, q81 bool) {
	size, off := sizeQ8_0, 2
	if q81 {
		size, off = sizeQ8_1, 4
	}
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*size : (b+1)*size]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		putHalf(y, d)
		var sum int32
		for j, v := range x {
			q := int32(math.RoundToEven(float64(v * id)))
			sum += q
			y[off+j] = uint8(int8(min(127, max(-128, q)))) // the packs saturate
		}
		if q81 {
			putHalf(y[2:], d*float32(sum))
		}
	}
}

// QuantizeRowQ8_0 quantizes src into Q8_0 blocks in dst exactly as ggml's
// reference quantize_row_q8_0_ref (the quantizer of Q8_0 model files, and
// llama.cpp's activation quantizer on CPUs without AVX or NEON). len(src)
// must be a multiple of 32 and len(dst) must be len(src)/32*34; otherwise it
// panics, since kernels call it with buffers they sized themselves.
func QuantizeRowQ8_0(dst []byte, src []float32) {
	mustRow(Q8_0, len(src), len(dst))
	quantizeQ8_0(dst, src)
}

// QuantizeRowQ8_1 is QuantizeRowQ8_0 for Q8_1 (quantize_row_q8_1_ref):
// len(dst) must be len(src)/32*36.
func QuantizeRowQ8_1(dst []byte, src []float32) {
	mustRow(Q8_1, len(src), len(dst))
	quantizeQ8_1(dst, src)
}

// QuantizeRowQ8_0X86 quantizes src into Q8_0 blocks the way llama.cpp's CPU
// backend quantizes activations on x86-64 with AVX/AVX2 (the machines its
// reference outputs usually come from): d = amax/127 stored as f16,
// q = round-half-even(x * (127/amax)). It differs from QuantizeRowQ8_0 in the
// last unit of some q. Lengths are as for QuantizeRowQ8_0; it panics on
// mismatch.
func QuantizeRowQ8_0X86(dst []byte, src []float32) {
	mustRow(Q8_0, len(src), len(dst))
	quantizeQ8x86(dst, src, false)
}

// QuantizeRowQ8_1X86 is QuantizeRowQ8_0X86 for Q8_1, with s = d*sum(q)
// computed from the unsaturated integers as ggml does.
func QuantizeRowQ8_1X86(dst []byte, src []float32) {
	mustRow(Q8_1, len(src), len(dst))
	quantizeQ8x86(dst, src, true)
}

// mustRow panics if n elements of t do not take exactly nbytes bytes.
func mustRow(t DType, n, nbytes int) {
	if err := checkRow(t, n, nbytes); err != nil {
		panic("tensor: " + err.Error())
	}
}

// kvaluesMXFP4 are the E2M1 values doubled (0, ±0.5, ... ±6 times 2), indexed
// by the 4-bit code; the block scale is halved to compensate.
var kvaluesMXFP4 = [16]int8{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

// e8m0Half returns 2^(e-128): half the E8M0 scale 2^(e-127).
func e8m0Half(e uint8) float32 {
	if e < 2 {
		return math.Float32frombits(0x00200000 << e) // subnormal 2^-128, 2^-127
	}
	return math.Float32frombits(uint32(e-1) << 23)
}

func dequantizeMXFP4(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		x := src[b*sizeMXFP4 : (b+1)*sizeMXFP4]
		y := dst[b*32 : (b+1)*32]
		d := e8m0Half(x[0])
		for j, q := range x[1:17] {
			y[j] = float32(kvaluesMXFP4[q&0xf]) * d
			y[j+16] = float32(kvaluesMXFP4[q>>4]) * d
		}
	}
}

// bestIndexMXFP4 returns the first code whose value times e is nearest x.
func bestIndexMXFP4(x, e float32) uint8 {
	best, bestErr := uint8(0), abs32(float32(float32(kvaluesMXFP4[0])*e)-x)
	for i := 1; i < 16; i++ {
		if err := abs32(float32(float32(kvaluesMXFP4[i])*e) - x); err < bestErr {
			best, bestErr = uint8(i), err
		}
	}
	return best
}

func quantizeMXFP4(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*sizeMXFP4 : (b+1)*sizeMXFP4]
		var amax float32
		for _, v := range x {
			if amax < abs32(v) {
				amax = abs32(v)
			}
		}
		// e = floor(log2(amax)) - 2 + 127: the largest code (6) times the scale
		// covers amax. The conversion wraps like C's on x86 for tiny amax.
		var e uint8
		if amax > 0 {
			e = uint8(int32(math.Floor(math.Log2(float64(amax)))) - 2 + 127)
		}
		d := e8m0Half(e)
		y[0] = e
		for j := range 16 {
			y[1+j] = bestIndexMXFP4(x[j], d) | bestIndexMXFP4(x[j+16], d)<<4
		}
	}
}
