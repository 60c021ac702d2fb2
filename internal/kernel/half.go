package kernel

import (
	"math"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// f16Table maps every binary16 bit pattern to its float32 value, as ggml's
// table-driven GGML_FP16_TO_FP32 does (256 KiB, built at package init).
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = tensor.Float16ToFloat32(uint16(i))
	}
	return &t
}()

// h2f returns the float32 value of the little-endian binary16 at b[0:2].
func h2f(b []byte) float32 { return f16Table[uint16(b[0])|uint16(b[1])<<8] }

// bf2f returns the float32 value of bfloat16 bits h (exact).
func bf2f(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// floatToHalf is tensor.Float32ToFloat16: nearest binary16, ties to even,
// as F16C's VCVTPS2PH with round-to-nearest.
func floatToHalf(f float32) uint16 { return tensor.Float32ToFloat16(f) }

// floatToBF16 is tensor.Float32ToBF16 (ggml's GGML_FP32_TO_BF16).
func floatToBF16(f float32) uint16 { return tensor.Float32ToBF16(f) }

// halfToFloat is tensor.Float16ToFloat32.
func halfToFloat(h uint16) float32 { return f16Table[h] }
