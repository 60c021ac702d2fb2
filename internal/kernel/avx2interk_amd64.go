//go:build !purego

package kernel

import "github.com/sputnik-llm/sputnik/internal/tensor"

// avx2InterK returns the AVX2 interleaved kernels of the K-quants (none
// yet).
func avx2InterK() map[tensor.DType]*interleavedImpl { return nil }
