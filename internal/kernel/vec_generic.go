package kernel

// Reference versions of the vector kernels that have SIMD variants.

// vecDotF32Generic: float32 products summed in float64.
func vecDotF32Generic(a, b []float32) float32 {
	s := 0.0
	for i := range a {
		s += float64(a[i] * b[i])
	}
	return float32(s)
}

// axpyF32Generic: dst[i] += alpha·x[i], rounded once per product and sum.
func axpyF32Generic(dst []float32, alpha float32, x []float32) {
	for i := range dst {
		dst[i] += alpha * x[i]
	}
}

// vecDotF16Generic: exact half×half products summed in float64.
func vecDotF16Generic(a, b []uint16) float32 {
	s := 0.0
	for i := range a {
		s += float64(f16Table[a[i]] * f16Table[b[i]])
	}
	return float32(s)
}

func axpyF16Generic(dst []float32, alpha float32, src []uint16) {
	for i := range dst {
		dst[i] += float32(alpha * f16Table[src[i]]) // no FMA: product, then sum
	}
}

func toF16Generic(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = floatToHalf(v)
	}
}

func fromF16Generic(dst []float32, src []uint16) {
	for i, h := range src {
		dst[i] = f16Table[h]
	}
}

// swigluGeneric: out[i] = silu(gate[i])·up[i] with e^x correctly rounded
// (exp32).
func swigluGeneric(out, gate, up []float32) {
	for i, g := range gate {
		out[i] = silu(g) * up[i]
	}
}

// dotsF16Generic: exact products (for f16-precision q) summed in float64,
// then scaled.
func dotsF16Generic(out, q []float32, keys []uint16, stride int, scale float32) {
	for j := range out {
		k := keys[j*stride : j*stride+len(q)]
		s := 0.0
		for i, v := range q {
			s += float64(v * f16Table[k[i]])
		}
		out[j] = float32(s) * scale
	}
}

// weightedSumF16Generic: out += Σ_j p[j]·v_j row by row, two roundings
// per step.
func weightedSumF16Generic(out, p []float32, values []uint16, stride int) {
	for j, pj := range p {
		v := values[j*stride : j*stride+len(out)]
		for i := range out {
			out[i] += float32(pj * f16Table[v[i]]) // no FMA: product, then sum
		}
	}
}

func roundF16Generic(x []float32) {
	for i, v := range x {
		x[i] = f16Table[floatToHalf(v)]
	}
}

func softmaxF16Generic(x []float32) {
	Softmax(x)
	roundF16Generic(x)
}
