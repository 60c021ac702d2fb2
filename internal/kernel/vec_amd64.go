//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set avx2vec -pkg kernel -out ../avx2vec_amd64.s -stubs ../avx2vec_stub_amd64.go"

// The vector kernels' dispatch: the AVX-512 set (hasAVX512), else the AVX2
// set (hasAVX2: AVX2, FMA, F16C), else the references. The two SIMD sets
// have the same wrappers (vecSet's methods) and give the same bits: each
// AVX2 kernel keeps the 16 lanes of its AVX-512 twin in two ymm registers
// and adds them in the same order.
var (
	vecDotF32 = choose(vecSIMD != nil, vecSIMD.dotF32, vecDotF32Generic)
	axpyF32   = choose(vecSIMD != nil, vecSIMD.axpyF32, axpyF32Generic)
	vecDotF16 = choose(vecSIMD != nil, vecSIMD.dotF16, vecDotF16Generic)
	axpyF16   = choose(vecSIMD != nil, vecSIMD.axpyF16, axpyF16Generic)
	toF16     = choose(vecSIMD != nil, vecSIMD.toF16, toF16Generic)
	fromF16   = choose(vecSIMD != nil, vecSIMD.fromF16, fromF16Generic)
	swiglu    = choose(vecSIMD != nil, vecSIMD.swiglu, swigluGeneric)

	dotsF16        = choose(vecSIMD != nil, vecSIMD.dotsF16, dotsF16Generic)
	weightedSumF16 = choose(vecSIMD != nil, vecSIMD.weightedSumF16, weightedSumF16Generic)
	roundF16       = choose(vecSIMD != nil, vecSIMD.roundF16, roundF16Generic)
	softmaxF16     = choose(vecSIMD != nil, vecSIMD.softmaxF16, softmaxF16Generic)
)

// vecSIMD is the vector kernel set of this CPU, nil for the references.
var vecSIMD = func() *vecSet {
	switch {
	case hasAVX512:
		return vecAVX512
	case hasAVX2:
		return vecAVX2
	}
	return nil
}()

func choose[F any](ok bool, fast, generic F) F {
	if ok {
		return fast
	}
	return generic
}

// vecSet is one instruction set's vector kernels, each on 16-element steps
// (n counts steps), and the shapes of its attention kernels.
type vecSet struct {
	dot32   func(a, b *float32, n int) float32
	dot16   func(a, b *uint16, n int) float32
	axpy32  func(dst *float32, alpha float32, src *float32, n int)
	axpy16  func(dst *float32, alpha float32, src *uint16, n int)
	to16    func(dst *uint16, src *float32, n int)
	from16  func(dst *float32, src *uint16, n int)
	swi     func(out, gate, up *float32, n int)
	expSum  func(x *float32, n int, m, scale float32) float32
	sigm    func(dst, src *float32, n int)
	exp     func(dst, src *float32, n int) // for tests
	round16 func(x *float32, n int)

	// dots computes dotsKeys scores, dot1 one score with the same sum order.
	dots     func(out *float32, q *float32, k *uint16, ks int, nd int, scale float32)
	dotsKeys int
	dot1     func(a *float32, b *uint16, n int) float32
	// wsumWide adds to wsumCols columns, wsum16 to 16.
	wsumWide func(out *float32, p *float32, v *uint16, vs int, nk int)
	wsumCols int
	wsum16   func(out *float32, p *float32, v *uint16, vs int, nk int)

	max        func(x *float32, n int) float32
	expSub     func(x *float32, n int, m float32) float64
	scaleRound func(x *float32, s float32, n int)
}

var vecAVX512 = &vecSet{
	dot32: dotF32AVX512, dot16: dotF16AVX512, axpy32: axpyF32AVX512, axpy16: axpyF16AVX512,
	to16: toF16AVX512, from16: fromF16AVX512, swi: swigluAVX512,
	expSum: expSumAVX512, sigm: sigmoidAVX512, exp: expAVX512, round16: roundF16AVX512,
	dots: dotsF16x16AVX512, dotsKeys: 16, dot1: dotF32F16AVX512,
	wsumWide: weightedSumF16x8AVX512, wsumCols: 128, wsum16: weightedSumF16x1AVX512,
	max: maxAVX512, expSub: expSubAVX512, scaleRound: scaleRoundF16AVX512,
}

var vecAVX2 = &vecSet{
	dot32: dotF32AVX2, dot16: dotF16AVX2, axpy32: axpyF32AVX2, axpy16: axpyF16AVX2,
	to16: toF16AVX2, from16: fromF16AVX2, swi: swigluAVX2,
	expSum: expSumAVX2, sigm: sigmoidAVX2, exp: expAVX2, round16: roundF16AVX2,
	dots: dotsF16x4AVX2, dotsKeys: 4, dot1: dotF32F16AVX2,
	wsumWide: weightedSumF16x4AVX2, wsumCols: 64, wsum16: weightedSumF16x1AVX2,
	max: maxAVX2, expSub: expSubAVX2, scaleRound: scaleRoundF16AVX2,
}

// The methods below run the 16-element kernels on the longest prefix that
// is a multiple of 16 and the reference on the rest.

func (v *vecSet) dotF32(a, b []float32) float32 {
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		s = v.dot32(&a[0], &b[0], n/16)
	}
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

func (v *vecSet) dotF16(a, b []uint16) float32 {
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		s = v.dot16(&a[0], &b[0], n/16)
	}
	for i := n; i < len(a); i++ {
		s += f16Table[a[i]] * f16Table[b[i]]
	}
	return s
}

func (v *vecSet) axpyF32(dst []float32, alpha float32, x []float32) {
	n := len(dst) &^ 15
	if n > 0 {
		v.axpy32(&dst[0], alpha, &x[0], n/16)
	}
	axpyF32Generic(dst[n:], alpha, x[n:len(dst)])
}

func (v *vecSet) axpyF16(dst []float32, alpha float32, src []uint16) {
	n := len(dst) &^ 15
	if n > 0 {
		v.axpy16(&dst[0], alpha, &src[0], n/16)
	}
	axpyF16Generic(dst[n:], alpha, src[n:len(dst)])
}

func (v *vecSet) toF16(dst []uint16, src []float32) {
	n := len(src) &^ 15
	if n > 0 {
		_ = dst[n-1]
		v.to16(&dst[0], &src[0], n/16)
	}
	toF16Generic(dst[n:], src[n:])
}

func (v *vecSet) fromF16(dst []float32, src []uint16) {
	n := len(src) &^ 15
	if n > 0 {
		_ = dst[n-1]
		v.from16(&dst[0], &src[0], n/16)
	}
	fromF16Generic(dst[n:], src[n:])
}

func (v *vecSet) swiglu(out, gate, up []float32) {
	n := len(out) &^ 15
	if n > 0 {
		_, _ = gate[n-1], up[n-1]
		v.swi(&out[0], &gate[0], &up[0], n/16)
	}
	swigluGeneric(out[n:], gate[n:], up[n:])
}

// dotsF16 runs dotsKeys keys at a time when len(q) is a multiple of 16,
// the rest one by one (dot1 adds as dots does).
func (v *vecSet) dotsF16(out, q []float32, keys []uint16, stride int, scale float32) {
	nd := len(q) / 16
	if nd == 0 || len(q)%16 != 0 {
		dotsF16Generic(out, q, keys, stride, scale)
		return
	}
	j := 0
	for ; j+v.dotsKeys <= len(out); j += v.dotsKeys {
		v.dots(&out[j], &q[0], &keys[j*stride], 2*stride, nd, scale)
	}
	for ; j < len(out); j++ {
		out[j] = v.dot1(&q[0], &keys[j*stride], nd) * scale
	}
}

// weightedSumF16 adds to out wsumCols columns at a time, then 16, then the
// rest by the reference: column i's arithmetic depends only on i and
// len(out).
func (v *vecSet) weightedSumF16(out, p []float32, values []uint16, stride int) {
	i := 0
	for ; i+v.wsumCols <= len(out); i += v.wsumCols {
		v.wsumWide(&out[i], &p[0], &values[i], 2*stride, len(p))
	}
	for ; i+16 <= len(out); i += 16 {
		v.wsum16(&out[i], &p[0], &values[i], 2*stride, len(p))
	}
	if i < len(out) {
		weightedSumF16Generic(out[i:], p, values[i:], stride)
	}
}

func (v *vecSet) roundF16(x []float32) {
	n := len(x) &^ 15
	if n > 0 {
		v.round16(&x[0], n/16)
	}
	roundF16Generic(x[n:])
}

// softmaxF16: the maximum, exponentials and scaling in SIMD on the longest
// multiple of 16, the reference's scalar steps on the rest.
func (v *vecSet) softmaxF16(x []float32) {
	n := len(x) &^ 15
	if n == 0 {
		softmaxF16Generic(x)
		return
	}
	mx := v.max(&x[0], n/16)
	for _, e := range x[n:] {
		mx = max(mx, e)
	}
	sum := v.expSub(&x[0], n/16, mx)
	for i := n; i < len(x); i++ {
		e := exp32(x[i] - mx)
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	v.scaleRound(&x[0], inv, n/16)
	for i := n; i < len(x); i++ {
		x[i] = f16Table[floatToHalf(x[i]*inv)]
	}
}

func (v *vecSet) expSumF32(x []float32, m, scale float32) float32 {
	n := len(x) &^ 15
	var s float32
	if n > 0 {
		s = v.expSum(&x[0], n/16, m, scale)
	}
	for i := n; i < len(x); i++ {
		e := exp32((x[i] - m) * scale)
		x[i] = e
		s += e
	}
	return s
}

func (v *vecSet) sigmoid(out, x []float32) {
	n := len(x) &^ 15
	if n > 0 {
		v.sigm(&out[0], &x[0], n/16)
	}
	sigmoidGeneric(out[n:], x[n:])
}
