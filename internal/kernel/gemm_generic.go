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
	var acc [rows][cols]float64 // float32 values, kept in float64 between steps
	if load {
		for r := range rows {
			for j, v := range c[r*ldc : r*ldc+cols] {
				acc[r][j] = float64(v)
			}
		}
	}
	for i := range k {
		brow := b[i*bks : i*bks+cols]
		for r := range rows {
			x := float64(a[r*ars+i*aks])
			for j, y := range brow {
				acc[r][j] = float64(float32(math.FMA(x, float64(y), acc[r][j])))
			}
		}
	}
	for r := range rows {
		for j := range cols {
			c[r*ldc+j] = float32(acc[r][j])
		}
	}
}
