//go:build !purego

package kernel

import "github.com/sputnik-llm/sputnik/internal/tensor"

// avx2Inter returns the interleaved kernels of the CPUs without AVX-512
// VNNI (AVX2, FMA, F16C): those of the 32-element block types
// (avx2Inter32) and of the K-quants (avx2InterK). They read the same
// interleaved layouts as the VNNI kernels and add in the same order, so
// that a matrix gives the same bits on either kind of CPU.
func avx2Inter() map[tensor.DType]*interleavedImpl {
	m := map[tensor.DType]*interleavedImpl{}
	for _, part := range []map[tensor.DType]*interleavedImpl{avx2Inter32(), avx2InterK()} {
		for typ, im := range part {
			m[typ] = im
		}
	}
	return m
}
