package kernel

import (
	"fmt"
	"math"
	"sync"

	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// Vector kernels of the forward pass. Unless a comment says otherwise,
// slices passed together must have equal lengths (a mismatch panics: it is
// a programming error), outputs may alias inputs element for element
// (out == x), and every function is safe to call concurrently on disjoint
// outputs. None allocates.

func checkLen(op string, n int, others ...int) {
	for _, m := range others {
		if m != n {
			panic(fmt.Sprintf("kernel: %s: length mismatch %d vs %d", op, n, m))
		}
	}
}

// RMSNorm sets out[i] = (x[i]·s)·weight[i] with s = 1/sqrt(mean(x²)+eps),
// as llama.cpp's rms_norm followed by the multiplication by the norm weight:
// the squares are rounded to float32 and summed in float64, the mean and s
// are float32, and each output is rounded twice (x·s, then ·weight).
func RMSNorm(out, x, weight []float32, eps float32) {
	checkLen("RMSNorm", len(x), len(out), len(weight))
	if len(x) == 0 {
		return
	}
	sum := 0.0
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	s := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		out[i] = (v * s) * weight[i]
	}
}

// Softmax replaces x by softmax(x) in place: exp(x[i]−max x)/Σ exp(x[j]−max
// x), with the exponentials in float32 summed in float64 and the division
// done as a multiplication by the float32 reciprocal of the sum, as ggml's
// soft_max. Entries equal to −Inf become 0. An empty x is left alone.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	sum := 0.0
	for i, v := range x {
		e := exp32(v - mx)
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// SiLU sets out[i] = x[i]/(1+exp(−x[i])), the sigmoid-weighted linear unit.
func SiLU(out, x []float32) {
	checkLen("SiLU", len(x), len(out))
	for i, v := range x {
		out[i] = silu(v)
	}
}

// SwiGLU sets out[i] = silu(gate[i])·up[i], the gated activation of the
// LLaMA/Qwen feed-forward block. The SIMD version's e^x is within 2 ulp of
// the reference's (correctly rounded) one, as ggml's vectorized silu; long
// vectors are split across parallel.Threads() goroutines.
func SwiGLU(out, gate, up []float32) {
	checkLen("SwiGLU", len(gate), len(out), len(up))
	if len(out) < swigluParallelMin || parallel.Threads() == 1 {
		swiglu(out, gate, up)
		return
	}
	j := swigluPool.Get().(*swigluJob)
	j.out, j.gate, j.up = out, gate, up
	parallel.Run((len(out)+swigluChunk-1)/swigluChunk, j)
	*j = swigluJob{}
	swigluPool.Put(j)
}

// swigluParallelMin is the shortest SwiGLU split across threads, and
// swigluChunk the elements per work item.
const (
	swigluParallelMin = 1 << 15
	swigluChunk       = 1 << 12
)

// swigluJob is one parallel SwiGLU call (a parallel.Task).
type swigluJob struct{ out, gate, up []float32 }

var swigluPool = sync.Pool{New: func() any { return new(swigluJob) }}

// Run computes the chunks [lo, hi).
func (j *swigluJob) Run(lo, hi int) {
	a, b := lo*swigluChunk, min(hi*swigluChunk, len(j.out))
	swiglu(j.out[a:b], j.gate[a:b], j.up[a:b])
}

// Add sets out[i] = a[i] + b[i] (e.g. a residual connection).
func Add(out, a, b []float32) {
	checkLen("Add", len(a), len(out), len(b))
	for i := range a {
		out[i] = a[i] + b[i]
	}
}

// Mul sets out[i] = a[i]·b[i].
func Mul(out, a, b []float32) {
	checkLen("Mul", len(a), len(out), len(b))
	for i := range a {
		out[i] = a[i] * b[i]
	}
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// Dot returns Σ a[i]·b[i]: float32 products summed (in float32 lanes by the
// SIMD versions, in float64 by the reference).
func Dot(a, b []float32) float32 {
	checkLen("Dot", len(a), len(b))
	return vecDotF32(a, b)
}

// Axpy sets dst[i] += alpha·x[i] (one rounding per element with FMA in the
// SIMD version, two in the reference).
func Axpy(dst []float32, alpha float32, x []float32) {
	checkLen("Axpy", len(dst), len(x))
	axpyF32(dst, alpha, x)
}

// DotF16 returns Σ a[i]·b[i] for binary16 vectors (e.g. a query rounded to
// f16 against a cached key): the products of two halves are exact in
// float32 and are summed in float32 (float64 in the reference).
func DotF16(a, b []uint16) float32 {
	checkLen("DotF16", len(a), len(b))
	return vecDotF16(a, b)
}

// AxpyF16 sets dst[i] += alpha·src[i] for a binary16 src (e.g. accumulating
// a weighted cached value row), in float32 (FMA in the SIMD version, on
// the elements below the largest multiple of 16, a product and a sum on
// the others). Element i's arithmetic depends only on i and len(dst), as
// in AddWeightedSumF16: AxpyF16 over rows j in order gives bit for bit
// AddWeightedSumF16 over the same rows.
func AxpyF16(dst []float32, alpha float32, src []uint16) {
	checkLen("AxpyF16", len(dst), len(src))
	axpyF16(dst, alpha, src)
}

// ToF16 rounds src to binary16 (nearest, ties to even; overflow to ±Inf)
// into dst.
func ToF16(dst []uint16, src []float32) {
	checkLen("ToF16", len(src), len(dst))
	toF16(dst, src)
}

// FromF16 converts binary16 src to float32 (exact) into dst.
func FromF16(dst []float32, src []uint16) {
	checkLen("FromF16", len(src), len(dst))
	fromF16(dst, src)
}

func silu(v float32) float32 { return v / (1 + exp32(-v)) }

// exp32 is e^x rounded to float32 (what a correctly rounded expf returns,
// barring double rounding).
func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }
