package kernel

// dotsF16MultiGeneric: the single-query kernel (dotsF16, whichever this
// build dispatches to) once per query; the reference of DotsF16Multi.
func dotsF16MultiGeneric(out []float32, ostride, nk int, q []float32, nq int, keys []uint16, stride int, scale float32) {
	d := len(q) / nq
	for r := range nq {
		dotsF16(out[r*ostride:r*ostride+nk], q[r*d:(r+1)*d], keys, stride, scale)
	}
}

// weightedSumF16MultiGeneric: the single-query kernel (weightedSumF16)
// once per query; the reference of AddWeightedSumF16Multi.
func weightedSumF16MultiGeneric(out []float32, nq int, p []float32, pstride, nk int, values []uint16, stride int) {
	d := len(out) / nq
	for r := range nq {
		weightedSumF16(out[r*d:(r+1)*d], p[r*pstride:r*pstride+nk], values, stride)
	}
}
