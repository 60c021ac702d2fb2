package main

// The packiq set (packiq_amd64.s): the i-quants' decode tiles in the
// packed path's order. IQ4_XS and the codebook types IQ1_S, IQ1_M,
// IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S reach the packed int8 prefill
// path through the Q6_K layout and tiles (the kernel package's
// packiq_generic.go): per 256-block the exact int32 sum over 16 groups of
// 16, then acc = fma(float32(isum), (d·c)·d_a, acc) with the type's
// constant c. Their decode tiles here take the same float steps
// (iqOrdered): the block's integer sum reduced to one lane, then one
// scalar fused multiply-add, so that a token's result is the same bits on
// either path.
func genPackIQ() {
	iqOrdered = true
	genConsts()
	genIQ()
	genIQ4XSConsts()
	for T := 1; T <= 2; T++ {
		iq4xs(T) // avo fails to allocate registers for T ≥ 3
	}
}
