//go:build !purego

package kernel

// matImpls is the table MatMul uses: the best implementation per type for
// this CPU (see bestTable).
var matImpls = bestTable()

// bestTable starts from the reference and overrides each type whose SIMD
// kernels this CPU can run.
func bestTable() *implTable {
	return genericTable()
}

// variants lists every implementation set this CPU can run, reference
// first.
func variants() []implVariant {
	return []implVariant{{"generic", genericTable()}}
}

var (
	vecDotF32 = vecDotF32Generic
	axpyF32   = axpyF32Generic
	vecDotF16 = vecDotF16Generic
	axpyF16   = axpyF16Generic
	toF16     = toF16Generic
	fromF16   = fromF16Generic
)
