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

// transpose sets dst ([cols][rows]) to the transpose of src ([rows][cols])
// for the source columns [c0, c1).
func transpose(dst, src []float32, rows, cols, c0, c1 int) {
	// Strips of 8 source columns: each source row is read 8 values at a
	// time and each of the 8 destination rows is written in order.
	for c := c0; c < c1; c += 8 {
		w := min(8, c1-c)
		if w < 8 {
			for r := range rows {
				s := src[r*cols+c : r*cols+c+w]
				for j, v := range s {
					dst[(c+j)*rows+r] = v
				}
			}
			continue
		}
		d0 := dst[c*rows : (c+1)*rows]
		d1 := dst[(c+1)*rows : (c+2)*rows]
		d2 := dst[(c+2)*rows : (c+3)*rows]
		d3 := dst[(c+3)*rows : (c+4)*rows]
		d4 := dst[(c+4)*rows : (c+5)*rows]
		d5 := dst[(c+5)*rows : (c+6)*rows]
		d6 := dst[(c+6)*rows : (c+7)*rows]
		d7 := dst[(c+7)*rows : (c+8)*rows]
		for r := range rows {
			s := src[r*cols+c : r*cols+c+8 : r*cols+c+8]
			d0[r], d1[r], d2[r], d3[r] = s[0], s[1], s[2], s[3]
			d4[r], d5[r], d6[r], d7[r] = s[4], s[5], s[6], s[7]
		}
	}
}

// expf returns e^x in float32 within about 2 ulp for x in [−87, 88]
// (Cody–Waite reduction by ln 2 and a degree-6 polynomial); 0 below that
// range and +Inf above it.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	if x < -87 {
		return 0
	}
	if x > 88 {
		return float32(math.Inf(1))
	}
	t := x * log2e
	var k int32
	if t >= 0 {
		k = int32(t + 0.5)
	} else {
		k = int32(t - 0.5)
	}
	kf := float32(k)
	r := x - kf*ln2hi - kf*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	return y * math.Float32frombits(uint32(k+127)<<23)
}
