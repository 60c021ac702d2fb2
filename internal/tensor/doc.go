// Package tensor describes tensor element types: the GGML type ids used in
// GGUF files, their block layouts and byte sizes, and the scalar (reference)
// conversions between quantized blocks and float32. The SIMD kernels in
// package kernel are tested against these conversions.
//
// A quantized type stores a row of n values as n/BlockSize() blocks of
// TypeSize() bytes each. Rows are always whole blocks. All multi-byte fields
// are little-endian; "f16" is an IEEE binary16 scale. Block layouts, in byte
// order (ggml's ggml-common.h), with the value each element decodes to:
//
//	F32     4 bytes: float32
//	F16     2 bytes: binary16
//	BF16    2 bytes: bfloat16 (the top half of a float32)
//	Q4_0    32 elts, 18 B: f16 d, qs[16] nibbles; x = d*(q-8)
//	Q4_1    32 elts, 20 B: f16 d, f16 m, qs[16]; x = d*q + m
//	Q5_0    32 elts, 22 B: f16 d, qh[4] (5th bits, u32), qs[16]; x = d*(q-16)
//	Q5_1    32 elts, 24 B: f16 d, f16 m, qh[4], qs[16]; x = d*q + m
//	Q8_0    32 elts, 34 B: f16 d, int8 qs[32]; x = d*q
//	Q8_1    32 elts, 36 B: f16 d, f16 s = d*sum(q), int8 qs[32]; x = d*q
//	MXFP4   32 elts, 17 B: E8M0 exponent e, qs[16] E2M1 codes; x = 2^(e-127)*fp4(q)
//	Q2_K   256 elts, 84 B: scales[16] (4-bit scale | 4-bit min << 4), qs[64] 2-bit,
//	                       f16 d, f16 dmin; x = d*sc*q - dmin*m per group of 16
//	Q3_K   256 elts, 110 B: hmask[32] (high bits), qs[64] low 2 bits, scales[12]
//	                       (16 x 6-bit, bias 32), f16 d; x = d*sc*(q-4)
//	Q4_K   256 elts, 144 B: f16 d, f16 dmin, scales[12] (8 x 6-bit scale + min),
//	                       qs[128] nibbles; x = d*sc*q - dmin*m per group of 32
//	Q5_K   256 elts, 176 B: f16 d, f16 dmin, scales[12], qh[32], qs[128]; as Q4_K, 5-bit q
//	Q6_K   256 elts, 210 B: ql[128] low 4 bits, qh[64] high 2 bits, int8 scales[16],
//	                       f16 d; x = d*sc*(q-32) per group of 16
//	Q8_K   256 elts, 292 B: float32 d, int8 qs[256], int16 bsums[16] (sums of 16 q); x = d*q
//	IQ4_NL  32 elts, 18 B: f16 d, qs[16] nibbles; x = d*kvalues[q] (16 non-linear levels)
//	IQ4_XS 256 elts, 136 B: f16 d, u16 scales_h, scales_l[4], qs[128];
//	                       x = d*(sc-32)*kvalues[q], sc a 6-bit scale per group of 32
//
// The codebook ("grid") types store, per group of 8 elements, an index into
// a fixed table of 8 (or 2×4) magnitudes plus sign bits; sc is a 4-bit
// (IQ1: 3-bit) scale, s a sign (+1/−1), delta = ±1/8:
//
//	IQ2_XXS 256 elts, 66 B: f16 d, per 32: 4 x 8-bit index, u32 of 4 x 7-bit signs + sc;
//	                        x = d*(0.5+sc)/4*grid[i][j]*s
//	IQ2_XS  256 elts, 74 B: f16 d, u16 qs[32] (9-bit index, 7-bit signs), scales[8]
//	                        (a nibble per 16); x as IQ2_XXS
//	IQ2_S   256 elts, 82 B: f16 d, qs[32] index low bits, signs[32], qh[8] index bits 8-9,
//	                        scales[8]; x as IQ2_XXS
//	IQ3_XXS 256 elts, 98 B: f16 d, qs[64] (index per 4 elts), per 32: u32 of signs + sc;
//	                        x = d*(0.5+sc)/2*grid[i][j]*s
//	IQ3_S   256 elts, 110 B: f16 d, qs[64], qh[8] index bit 8, signs[32], scales[4]
//	                        (a nibble per 32); x = d*(1+2sc)*grid[i][j]*s
//	IQ1_S   256 elts, 50 B: f16 d, qs[32], u16 qh[8] (index bits 8-10, sc, delta sign
//	                        per 32); x = d*(2sc+1)*(grid[i][j]+delta), grid values -1/0/1
//	IQ1_M   256 elts, 56 B: qs[32], qh[16] (index bits 8-10 and delta sign per 8),
//	                        scales[8] (3-bit sc per 16; d's f16 bits in the top nibbles);
//	                        x as IQ1_S
//
// The codebooks (GridIQ2_XXS … GridIQ1_S, iq_grids.go) are generated from
// values read back from ggml's dequantizers (see internal/gengrids).
//
// The exact bit placement of each type (nibble order, Q3_K's scale packing,
// Q4_K's get_scale_min_k4, Q6_K's ql/qh interleave) is documented at its
// dequantizer. Dequantize and Quantize reproduce ggml's scalar reference
// code bit for bit. The codebook types can be dequantized but not quantized
// (ggml quantizes them only with an importance matrix): Quantize reports
// ErrUnsupported for them, as Dequantize and Quantize do for the other known
// types (TQ1_0, TQ2_0, the integer types and F64).
package tensor
