package kernel

import "fmt"

// Kernels of attention over an f16 KV cache, in the arithmetic of
// llama.cpp's f16-cache path: the query is rounded to f16 precision, its
// products with the keys are exact in float32 and summed in float32; the
// probabilities are rounded to f16 precision before they weight the
// values, again summed in float32.

// DotsF16 sets out[j] = scale·Σ_i q[i]·keys[j*stride+i] for j < len(out)
// and i < len(q): the scores of one query against len(out) f16 key rows
// stride elements apart. The SIMD version sums each product in one of 16
// float32 lanes, then the lanes; the reference sums in float64. It panics
// if keys is shorter than (len(out)−1)·stride + len(q).
//
// Each score depends only on q, its key row and scale, never on the number
// of keys or the key's position among them: calling DotsF16 once per page
// of a paged KV cache (any page sizes, including a short last page) gives
// bit for bit the scores of one call over all the keys.
func DotsF16(out, q []float32, keys []uint16, stride int, scale float32) {
	if len(out) == 0 {
		return
	}
	if len(keys) < (len(out)-1)*stride+len(q) {
		panic(fmt.Sprintf("kernel: DotsF16: %d keys of %d with stride %d need %d values, have %d", len(out), len(q), stride, (len(out)-1)*stride+len(q), len(keys)))
	}
	dotsF16(out, q, keys, stride, scale)
}

// WeightedSumF16 sets out[i] = Σ_j p[j]·values[j*stride+i] for i <
// len(out) and j < len(p): the attention output of one head from its
// probabilities and len(p) f16 value rows stride elements apart, added
// row by row (FMA in the SIMD version). It panics if values is shorter
// than (len(p)−1)·stride + len(out). It is clear(out) followed by
// AddWeightedSumF16.
func WeightedSumF16(out, p []float32, values []uint16, stride int) {
	clear(out)
	AddWeightedSumF16(out, p, values, stride)
}

// AddWeightedSumF16 adds Σ_j p[j]·values[j*stride+i] to out[i] for i <
// len(out) and j < len(p), row by row in j order into out's own values
// (each step one FMA in the SIMD version, a product and a sum in the
// reference). Element i's arithmetic depends only on i, len(out) and the
// sequence of (p[j], row j), so for a paged KV cache, WeightedSumF16 over
// the first page then AddWeightedSumF16 over each following page (any
// page sizes) gives bit for bit the result of one WeightedSumF16 over all
// the rows. It panics if values is shorter than (len(p)−1)·stride +
// len(out).
func AddWeightedSumF16(out, p []float32, values []uint16, stride int) {
	if len(p) == 0 {
		return
	}
	if len(values) < (len(p)-1)*stride+len(out) {
		panic(fmt.Sprintf("kernel: AddWeightedSumF16: %d rows of %d with stride %d need %d values, have %d", len(p), len(out), stride, (len(p)-1)*stride+len(out), len(values)))
	}
	weightedSumF16(out, p, values, stride)
}

// RoundF16 rounds every x[i] to the nearest binary16 value (ties to even;
// overflow to ±Inf), kept as float32.
func RoundF16(x []float32) { roundF16(x) }

// SoftmaxF16 is Softmax followed by RoundF16: the attention probabilities
// of llama.cpp's f16-cache path. The SIMD version's e^x is within 2 ulp of
// the reference's (like ggml's vectorized soft_max); the sum is in float64
// in both.
func SoftmaxF16(x []float32) { softmaxF16(x) }

// DotsF16Multi computes the scores of nq queries against the same nk key
// rows: for r < nq it does what
//
//	DotsF16(out[r*ostride:r*ostride+nk], q[r*d:(r+1)*d], keys, stride, scale)
//
// does, d = len(q)/nq, and each score is bit for bit the one of that call
// (so a query's scores never depend on the other queries of the call, nor
// on how keys are split into calls). The SIMD versions convert each key
// row once for several queries. It panics if len(q) is not a multiple of
// nq, if out is shorter than (nq−1)·ostride + nk or ostride < nk, or if
// keys is shorter than (nk−1)·stride + d.
func DotsF16Multi(out []float32, ostride, nk int, q []float32, nq int, keys []uint16, stride int, scale float32) {
	if nq <= 0 || nk <= 0 {
		return
	}
	d := len(q) / nq
	switch {
	case len(q)%nq != 0:
		panic(fmt.Sprintf("kernel: DotsF16Multi: %d query values are not %d queries", len(q), nq))
	case ostride < nk || len(out) < (nq-1)*ostride+nk:
		panic(fmt.Sprintf("kernel: DotsF16Multi: %d outputs with stride %d cannot hold %d×%d scores", len(out), ostride, nq, nk))
	case len(keys) < (nk-1)*stride+d:
		panic(fmt.Sprintf("kernel: DotsF16Multi: %d keys of %d with stride %d need %d values, have %d", nk, d, stride, (nk-1)*stride+d, len(keys)))
	}
	dotsF16Multi(out, ostride, nk, q, nq, keys, stride, scale)
}

// AddWeightedSumF16Multi adds the weighted sums of nq queries over the
// same nk value rows: for r < nq it does what
//
//	AddWeightedSumF16(out[r*d:(r+1)*d], p[r*pstride:r*pstride+nk], values, stride)
//
// does, d = len(out)/nq, bit for bit (each output element one chain of
// steps in row order from its own value, whatever the other queries). The
// SIMD versions convert each value row once for several queries. It
// panics if len(out) is not a multiple of nq, if p is shorter than
// (nq−1)·pstride + nk or pstride < nk, or if values is shorter than
// (nk−1)·stride + d.
func AddWeightedSumF16Multi(out []float32, nq int, p []float32, pstride, nk int, values []uint16, stride int) {
	if nq <= 0 || nk <= 0 {
		return
	}
	d := len(out) / nq
	switch {
	case len(out)%nq != 0:
		panic(fmt.Sprintf("kernel: AddWeightedSumF16Multi: %d outputs are not %d rows", len(out), nq))
	case pstride < nk || len(p) < (nq-1)*pstride+nk:
		panic(fmt.Sprintf("kernel: AddWeightedSumF16Multi: %d probabilities with stride %d cannot hold %d×%d", len(p), pstride, nq, nk))
	case len(values) < (nk-1)*stride+d:
		panic(fmt.Sprintf("kernel: AddWeightedSumF16Multi: %d rows of %d with stride %d need %d values, have %d", nk, d, stride, (nk-1)*stride+d, len(values)))
	}
	weightedSumF16Multi(out, nq, p, pstride, nk, values, stride)
}
