//go:build !purego

package kernel

// ExpSum and Sigmoid dispatch: the vector kernel set of this CPU (vecSIMD:
// AVX-512 or AVX2) or the references.
var (
	expSum  = choose(vecSIMD != nil, vecSIMD.expSumF32, expSumGeneric)
	sigmoid = choose(vecSIMD != nil, vecSIMD.sigmoid, sigmoidGeneric)
)
