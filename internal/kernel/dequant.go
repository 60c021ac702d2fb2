package kernel

import (
	"fmt"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// DequantizeRow writes row i of w (0 <= i < w.Rows) as float32 to dst,
// which must hold exactly w.Cols values — an embedding lookup. It uses
// tensor.Dequantize (ggml's dequantize_row_* arithmetic) and fails only if
// that does not support w.Type. It panics if i or len(dst) is out of range.
// Safe for concurrent use.
//
// TODO(kernel): a SIMD version if embedding lookups ever show in profiles;
// one row per token is a few microseconds in the reference.
func DequantizeRow(dst []float32, w tensor.Mat, i int) error {
	if len(dst) != w.Cols {
		panic(fmt.Sprintf("kernel: DequantizeRow: dst has %d values, want %d", len(dst), w.Cols))
	}
	if err := tensor.Dequantize(w.Type, dst, w.Row(i)); err != nil {
		return fmt.Errorf("kernel: DequantizeRow: %w", err)
	}
	return nil
}
