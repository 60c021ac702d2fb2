//go:build !amd64 || purego

package kernel

// Without SIMD, ExpSum and Sigmoid are the references.
var (
	expSum  = expSumGeneric
	sigmoid = sigmoidGeneric
)
