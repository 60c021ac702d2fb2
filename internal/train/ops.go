package train

import (
	"math"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// mat views the first rows·cols values of w as a float32 matrix
// [rows][cols] for kernel.MatMul.
func mat(w []float32, rows, cols int) tensor.Mat {
	w = w[:rows*cols]
	var data []byte
	if len(w) > 0 {
		data = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), 4*len(w))
	}
	return tensor.Mat{Type: tensor.F32, Rows: rows, Cols: cols, Data: data}
}

// matMul sets out ([n][rows]) = x ([n][cols]) · wᵀ for w [rows][cols].
func matMul(out, w []float32, rows, cols int, x []float32, n int) {
	kernel.MatMul(out[:n*rows], mat(w, rows, cols), x[:n*cols], n)
}

// transpose sets dst[c*ld+r] = src[r*cols+c] for the source rows [0,
// rows) and columns [c0, c1): the transpose of src ([rows][cols]) into dst
// ([cols][ld], ld ≥ rows). With pad set, it also zeroes dst's columns
// [rows, ld) of those rows, so that a MatMul over ld columns adds nothing
// from them.
func transpose(dst []float32, ld int, src []float32, rows, cols, c0, c1 int, pad bool) {
	c := c0
	// 8×8 tiles: eight source rows of eight values each become eight
	// destination rows of eight values.
	for ; c+8 <= c1; c += 8 {
		r := 0
		for ; r+8 <= rows; r += 8 {
			s0 := src[r*cols+c:][:8]
			s1 := src[(r+1)*cols+c:][:8]
			s2 := src[(r+2)*cols+c:][:8]
			s3 := src[(r+3)*cols+c:][:8]
			s4 := src[(r+4)*cols+c:][:8]
			s5 := src[(r+5)*cols+c:][:8]
			s6 := src[(r+6)*cols+c:][:8]
			s7 := src[(r+7)*cols+c:][:8]
			for j := range 8 {
				d := dst[(c+j)*ld+r:][:8]
				d[0], d[1], d[2], d[3] = s0[j], s1[j], s2[j], s3[j]
				d[4], d[5], d[6], d[7] = s4[j], s5[j], s6[j], s7[j]
			}
		}
		for ; r < rows; r++ {
			s := src[r*cols+c:][:8]
			for j, v := range s {
				dst[(c+j)*ld+r] = v
			}
		}
	}
	for ; c < c1; c++ {
		for r := range rows {
			dst[c*ld+r] = src[r*cols+c]
		}
	}
	if pad && ld > rows {
		for c := c0; c < c1; c++ {
			clear(dst[c*ld+rows : (c+1)*ld])
		}
	}
}

// roundUp16 returns k rounded up to a multiple of 16: the MatMul kernels
// run 16 columns at a time, and a row length that is not a multiple of 16
// ends in a slow scalar tail, so operands are zero-padded to this width.
func roundUp16(k int) int { return (k + 15) &^ 15 }

// The constants of expf.
const (
	log2e = 1.44269504088896341
	ln2hi = 0.693359375
	ln2lo = -2.12194440e-4
)

// expf returns e^x in float32, within 3e-7 relative error for x in [−87,
// 88] (Cody–Waite reduction by ln 2 and a degree-6 polynomial); x is
// clamped to that range, so the result is never 0 or +Inf.
func expf(x float32) float32 {
	if x < -87 { // plain comparisons: min and max of floats also order NaNs and zeros, at a cost
		x = -87
	}
	if x > 88 {
		x = 88
	}
	k := int32(x*log2e + 128.5) // round(x/ln 2) + 128; the sum is positive, so int32 floors it
	kf := float32(k - 128)
	r := x - kf*ln2hi - kf*ln2lo
	y := (((((1.3981999507e-3*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r+5.0000001201e-1)*r+1)*r + 1
	return y * math.Float32frombits(uint32(k-1)<<23) // 2^(k−128)
}
