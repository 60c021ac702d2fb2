package kernel

import "github.com/sputnik-llm/sputnik/internal/tensor"

// genericTable returns the reference implementation of every supported
// weight type: the activation type ggml pairs with it, its converter and its
// row dot (see dot_generic.go, dotk_generic.go, dot_iq_generic.go,
// quantize_generic.go).
func genericTable() *implTable {
	var t implTable
	set := func(w, act tensor.DType, convert func([]byte, []float32), dot func(w, a []byte, cols int) float32) {
		t[w] = &matImpl{act: act, convert: convert, dot: dot}
	}
	set(tensor.F32, tensor.F32, nil, dotF32Generic)
	set(tensor.F16, tensor.F16, convertRowF16Generic, dotF16Generic)
	set(tensor.BF16, tensor.BF16, convertRowBF16Generic, dotBF16Generic)
	set(tensor.Q4_0, tensor.Q8_0, quantizeRowQ8_0Generic, dotQ4_0Generic)
	set(tensor.Q4_1, tensor.Q8_1, quantizeRowQ8_1Generic, dotQ4_1Generic)
	set(tensor.Q5_0, tensor.Q8_0, quantizeRowQ8_0Generic, dotQ5_0Generic)
	set(tensor.Q5_1, tensor.Q8_1, quantizeRowQ8_1Generic, dotQ5_1Generic)
	set(tensor.Q8_0, tensor.Q8_0, quantizeRowQ8_0Generic, dotQ8_0Generic)
	set(tensor.IQ4_NL, tensor.Q8_0, quantizeRowQ8_0Generic, dotIQ4_NLGeneric)
	set(tensor.Q2_K, tensor.Q8_K, quantizeRowQ8_KGeneric, dotQ2_KGeneric)
	set(tensor.Q3_K, tensor.Q8_K, quantizeRowQ8_KGeneric, dotQ3_KGeneric)
	set(tensor.Q4_K, tensor.Q8_K, quantizeRowQ8_KGeneric, dotQ4_KGeneric)
	set(tensor.Q5_K, tensor.Q8_K, quantizeRowQ8_KGeneric, dotQ5_KGeneric)
	set(tensor.Q6_K, tensor.Q8_K, quantizeRowQ8_KGeneric, dotQ6_KGeneric)
	set(tensor.IQ4_XS, tensor.Q8_K, quantizeRowQ8_KGeneric, dotIQ4_XSGeneric)
	set(tensor.IQ2_XXS, tensor.Q8_K, quantizeRowQ8_KGeneric, dotIQ2_XXSGeneric)
	set(tensor.IQ2_XS, tensor.Q8_K, quantizeRowQ8_KGeneric, dotIQ2_XSGeneric)
	set(tensor.IQ2_S, tensor.Q8_K, quantizeRowQ8_KGeneric, dotIQ2_SGeneric)
	set(tensor.IQ3_XXS, tensor.Q8_K, quantizeRowQ8_KGeneric, dotIQ3_XXSGeneric)
	set(tensor.IQ3_S, tensor.Q8_K, quantizeRowQ8_KGeneric, dotIQ3_SGeneric)
	set(tensor.IQ1_S, tensor.Q8_K, quantizeRowQ8_KGeneric, dotIQ1_SGeneric)
	set(tensor.IQ1_M, tensor.Q8_K, quantizeRowQ8_KGeneric, dotIQ1_MGeneric)
	return &t
}

// implVariant is one named set of implementations, for tests and benchmarks.
type implVariant struct {
	name  string
	table *implTable
}

// Path names the implementation set MatMul uses in this process: "generic"
// (the pure-Go references: the purego tag, or a CPU without the features
// of any SIMD set), "avx2", "avx512" (AVX-512 float kernels, AVX2 integer
// ones) or "avx512-vnni" (every AVX-512 VNNI kernel, the packed int8
// prefill path among them). Benchmarks print it next to their figures.
func Path() string {
	vs := variants()
	name := vs[len(vs)-1].name
	if name == "avx512" && hasVNNIPath {
		return "avx512-vnni"
	}
	return name
}
