//go:build !purego

package kernel

import "github.com/sputnik-llm/sputnik/internal/tensor"

// avx2Inter32 returns the AVX2 interleaved kernels of the 32-element block
// types (none yet).
func avx2Inter32() map[tensor.DType]*interleavedImpl { return nil }
