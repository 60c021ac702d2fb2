package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrUnsupported is wrapped by the errors of Dequantize and Quantize for a
// type id this package knows the layout of but cannot convert yet (for
// example TQ1_0, or Quantize to IQ1_S). Callers can test for it with
// errors.Is.
var ErrUnsupported = errors.New("not supported yet")

// dequantizers and quantizers convert whole rows. Each function may assume
// that len(src) and len(dst) have been checked against RowBytes.
var (
	dequantizers = map[DType]func(dst []float32, src []byte){
		F32:    dequantizeF32,
		F16:    dequantizeF16,
		BF16:   dequantizeBF16,
		Q4_0:   dequantizeQ4_0,
		Q4_1:   dequantizeQ4_1,
		Q5_0:   dequantizeQ5_0,
		Q5_1:   dequantizeQ5_1,
		Q8_0:   dequantizeQ8_0,
		Q8_1:   dequantizeQ8_1,
		MXFP4:  dequantizeMXFP4,
		Q2_K:   dequantizeQ2_K,
		Q3_K:   dequantizeQ3_K,
		Q4_K:   dequantizeQ4_K,
		Q5_K:   dequantizeQ5_K,
		Q6_K:   dequantizeQ6_K,
		Q8_K:   dequantizeQ8_K,
		IQ4_NL: dequantizeIQ4_NL,
		IQ4_XS: dequantizeIQ4_XS,
		// Codebook types: dequantization only (see quant_iq2.go).
		IQ2_XXS: dequantizeIQ2_XXS,
		IQ2_XS:  dequantizeIQ2_XS,
		IQ2_S:   dequantizeIQ2_S,
		IQ3_XXS: dequantizeIQ3_XXS,
		IQ3_S:   dequantizeIQ3_S,
		IQ1_S:   dequantizeIQ1_S,
		IQ1_M:   dequantizeIQ1_M,
	}
	quantizers = map[DType]func(dst []byte, src []float32){
		F32:    quantizeF32,
		F16:    quantizeF16,
		BF16:   quantizeBF16,
		Q4_0:   quantizeQ4_0,
		Q4_1:   quantizeQ4_1,
		Q5_0:   quantizeQ5_0,
		Q5_1:   quantizeQ5_1,
		Q8_0:   quantizeQ8_0,
		Q8_1:   quantizeQ8_1,
		MXFP4:  quantizeMXFP4,
		Q2_K:   quantizeQ2_K,
		Q3_K:   quantizeQ3_K,
		Q4_K:   quantizeQ4_K,
		Q5_K:   quantizeQ5_K,
		Q6_K:   quantizeQ6_K,
		Q8_K:   quantizeQ8_K,
		IQ4_NL: quantizeIQ4_NL,
		IQ4_XS: quantizeIQ4_XS,
	}
)

// CanDequantize reports whether Dequantize converts type t.
func CanDequantize(t DType) bool { _, ok := dequantizers[t]; return ok }

// CanQuantize reports whether Quantize produces type t.
func CanQuantize(t DType) bool { _, ok := quantizers[t]; return ok }

// Dequantize converts one row of type t to float32: len(dst) is the number of
// elements and must be a whole number of t's blocks, and len(src) must be
// exactly RowBytes(t, len(dst)). The values are those of ggml's
// dequantize_row_* (bit for bit, given the same block bytes). Every byte
// pattern is accepted (a NaN or Inf scale gives NaN or Inf values); only bad
// lengths, unknown types and unsupported types (wrapping ErrUnsupported) are
// errors. It never allocates and is safe for concurrent use.
func Dequantize(t DType, dst []float32, src []byte) error {
	f, ok := dequantizers[t]
	if !ok {
		return unsupported("dequantize", t)
	}
	if err := checkRow(t, len(dst), len(src)); err != nil {
		return fmt.Errorf("tensor: dequantize: %w", err)
	}
	f(dst, src)
	return nil
}

// Quantize converts one row of float32 values to type t: len(src) is the
// number of elements and must be a whole number of t's blocks, and len(dst)
// must be exactly RowBytes(t, len(src)). The bytes are those ggml's
// quantizer writes without an importance matrix (quantize_row_*_ref, or
// ggml_quantize_chunk for IQ4_NL/IQ4_XS), which is how llama-quantize
// produces files when no imatrix is given. Inputs should be finite; NaN or
// Inf values give unspecified (but never panicking) output. It never
// allocates and is safe for concurrent use.
func Quantize(t DType, dst []byte, src []float32) error {
	f, ok := quantizers[t]
	if !ok {
		return unsupported("quantize", t)
	}
	if err := checkRow(t, len(src), len(dst)); err != nil {
		return fmt.Errorf("tensor: quantize: %w", err)
	}
	f(dst, src)
	return nil
}

func unsupported(op string, t DType) error {
	if !t.Known() {
		return fmt.Errorf("tensor: %s: unknown type id %d", op, uint32(t))
	}
	return fmt.Errorf("tensor: %s: %s is %w", op, t, ErrUnsupported)
}

// checkRow checks that n elements of t fill whole blocks and take exactly
// nbytes bytes.
func checkRow(t DType, n, nbytes int) error {
	want, err := RowBytes(t, n)
	if err != nil {
		return err
	}
	if nbytes != want {
		return fmt.Errorf("%d elements of %s take %d bytes, got %d", n, t, want, nbytes)
	}
	return nil
}

// Block geometry of the types converted here (the same numbers as the layout
// table, named for the code that walks the blocks).
const (
	sizeQ4_0  = 18
	sizeQ4_1  = 20
	sizeQ5_0  = 22
	sizeQ5_1  = 24
	sizeQ8_0  = 34
	sizeQ8_1  = 36
	sizeMXFP4 = 17
	sizeQ2_K  = 84
	sizeQ3_K  = 110
	sizeQ4_K  = 144
	sizeQ5_K  = 176
	sizeQ6_K  = 210
	sizeQ8_K  = 292
	sizeIQ4NL = 18
	sizeIQ4XS = 136
)

// half reads the little-endian binary16 at b[0:2] as a float32.
func half(b []byte) float32 { return Float16ToFloat32(binary.LittleEndian.Uint16(b)) }

// putHalf stores f as a little-endian binary16 at b[0:2].
func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, Float32ToFloat16(f)) }

// nearestInt rounds f to the nearest integer, ties to even, the way ggml's
// nearest_int does: by adding 1.5*2^23 and reading the low mantissa bits.
// It is exact for |f| <= 4194303; beyond that (or for NaN) it returns a
// garbage value, as ggml does, but never panics. The float32 conversion keeps
// the caller's product from being fused into this addition.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912
	i := int32(math.Float32bits(v))
	return i&0x007fffff - 0x00400000
}

// roundf rounds half away from zero, as C's roundf.
func roundf(f float32) float32 { return float32(math.Round(float64(f))) }

func dequantizeF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func quantizeF32(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func dequantizeF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = half(src[2*i:])
	}
}

func quantizeF16(dst []byte, src []float32) {
	for i, v := range src {
		putHalf(dst[2*i:], v)
	}
}

func dequantizeBF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = BF16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func quantizeBF16(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], Float32ToBF16(v))
	}
}
