//go:build !amd64 || purego

package kernel

// Without SIMD the vector kernels are the references.
var (
	vecDotF32 = vecDotF32Generic
	axpyF32   = axpyF32Generic
	vecDotF16 = vecDotF16Generic
	axpyF16   = axpyF16Generic
	toF16     = toF16Generic
	fromF16   = fromF16Generic
	swiglu    = swigluGeneric

	dotsF16        = dotsF16Generic
	weightedSumF16 = weightedSumF16Generic
	roundF16       = roundF16Generic
	softmaxF16     = softmaxF16Generic
)
