package kernel

import "fmt"

// ExpSum replaces x[i] by e^((x[i]−m)·scale) and returns the sum of the
// new values: the exponentials of a softmax of scale·x whose maximum m is
// subtracted first (scale > 0), in one pass. The SIMD version's e^x is
// within 2 ulp of the reference's and its sum adds in 16 float32 lanes
// then the lanes (the reference adds in float64). An empty x gives 0.
func ExpSum(x []float32, m, scale float32) float32 { return expSum(x, m, scale) }

// Sigmoid sets out[i] = 1/(1+e^−x[i]), the logistic function (the gate of
// SiLU: silu(x) = x·Sigmoid(x)). The SIMD version's e^x is within 2 ulp of
// the reference's.
func Sigmoid(out, x []float32) {
	if len(out) != len(x) {
		panic(fmt.Sprintf("kernel: Sigmoid: length mismatch %d vs %d", len(out), len(x)))
	}
	sigmoid(out, x)
}

// expSumGeneric is ExpSum's reference: exp32 of each value, summed in
// float64.
func expSumGeneric(x []float32, m, scale float32) float32 {
	s := 0.0
	for i, v := range x {
		e := exp32((v - m) * scale)
		x[i] = e
		s += float64(e)
	}
	return float32(s)
}

// sigmoidGeneric is Sigmoid's reference.
func sigmoidGeneric(out, x []float32) {
	for i, v := range x {
		out[i] = 1 / (1 + exp32(-v))
	}
}
