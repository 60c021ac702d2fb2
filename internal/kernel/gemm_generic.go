package kernel

import "math"

// gemmGeneric is the reference implementation of Gemm: 4×16 tiles of
// gemmTileGeneric.
var gemmGeneric = &gemmImplT{name: "generic", rows: 4, cols: 16, tile: gemmTileGeneric}

// gemmTileGeneric is the reference micro-kernel (see gemmTile): for each
// element, c = fma(a(r,i), b(i,j), c) for i = 0…k−1, each fused step
// computed in float64 (exact product, one rounding of the sum to float64)
// and rounded to float32.
func gemmTileGeneric(a []float32, ars, aks int, b []float32, bks int, k int, c []float32, ldc int, load bool) {
	const rows, cols = 4, 16
	for r := range rows {
		for j := range cols {
			var acc float32
			if load {
				acc = c[r*ldc+j]
			}
			for i := range k {
				acc = float32(math.FMA(float64(a[r*ars+i*aks]), float64(b[i*bks+j]), float64(acc)))
			}
			c[r*ldc+j] = acc
		}
	}
}
