//go:build !amd64 || purego

package kernel

// Without the amd64 micro-kernels, Gemm runs the reference.
var (
	gemmImpls = []*gemmImplT{gemmGeneric}
	gemmImpl  = gemmGeneric
)
