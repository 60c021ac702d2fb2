//go:build !amd64 || purego

package kernel

// Without SIMD the multi-query kernels are the single-query ones in a loop.
var (
	dotsF16Multi        = dotsF16MultiGeneric
	weightedSumF16Multi = weightedSumF16MultiGeneric
)
