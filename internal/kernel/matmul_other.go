//go:build !amd64 || purego

package kernel

// matImpls is the table MatMul uses: the reference, without SIMD.
var matImpls = genericTable()

// variants lists every implementation set available here.
func variants() []implVariant { return []implVariant{{"generic", matImpls}} }

// hasVNNIPath is false: there are no VNNI kernels here.
const hasVNNIPath = false
