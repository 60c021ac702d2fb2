//go:build !amd64 || purego

package kernel

// matImpls is the table MatMul uses: the reference, without SIMD.
var matImpls = genericTable()

// variants lists every implementation set available here.
func variants() []implVariant { return []implVariant{{"generic", matImpls}} }

var (
	vecDotF32 = vecDotF32Generic
	axpyF32   = axpyF32Generic
	vecDotF16 = vecDotF16Generic
	axpyF16   = axpyF16Generic
	toF16     = toF16Generic
	fromF16   = fromF16Generic
)
