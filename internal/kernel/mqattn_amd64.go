//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set mqattn -pkg kernel -out ../mqattn_amd64.s -stubs ../mqattn_stub_amd64.go"

// The multi-query attention kernels' dispatch: the set of the CPU's vector
// kernels (vecSIMD), else the single-query kernels in a loop.
var (
	dotsF16Multi        = choose(mqSIMD != nil, mqSIMD.dotsF16Multi, dotsF16MultiGeneric)
	weightedSumF16Multi = choose(mqSIMD != nil, mqSIMD.weightedSumF16Multi, weightedSumF16MultiGeneric)
)

var mqSIMD = func() *mqSet {
	switch vecSIMD {
	case vecAVX512:
		return mqAVX512
	case vecAVX2:
		return mqAVX2
	}
	return nil
}()

type (
	mqDotsFunc func(out *float32, os int, q *float32, qs int, k *uint16, ks int, nd int, scale float32)
	mqWsumFunc func(out *float32, os int, p *float32, ps int, v *uint16, vs int, nk int)
)

// mqSet is one instruction set's multi-query kernels, indexed by their
// number of queries (nil: none; one query runs the single-query kernel of
// vec). dots[q] scores 4 keys; wsum16[q] adds to 16 columns, wsumWide[q]
// (if set) to wsumCols[q].
type mqSet struct {
	vec      *vecSet
	dots     [5]mqDotsFunc
	dotsQ    int // largest q with dots[q]
	wsum16   [5]mqWsumFunc
	wsumWide [5]mqWsumFunc
	wsumCols [5]int
	wsumQ    int // largest q with wsum16[q]
}

var mqAVX512 = &mqSet{
	vec:      vecAVX512,
	dots:     [5]mqDotsFunc{2: dotsF16Q2x4AVX512, 3: dotsF16Q3x4AVX512, 4: dotsF16Q4x4AVX512},
	dotsQ:    4,
	wsum16:   [5]mqWsumFunc{2: weightedSumF16Q2x1AVX512, 3: weightedSumF16Q3x1AVX512, 4: weightedSumF16Q4x1AVX512},
	wsumWide: [5]mqWsumFunc{2: weightedSumF16Q2x4AVX512, 3: weightedSumF16Q3x4AVX512, 4: weightedSumF16Q4x4AVX512},
	wsumCols: [5]int{2: 64, 3: 64, 4: 64},
	wsumQ:    4,
}

var mqAVX2 = &mqSet{
	vec:      vecAVX2,
	dots:     [5]mqDotsFunc{2: dotsF16Q2x4AVX2, 3: dotsF16Q3x4AVX2},
	dotsQ:    3,
	wsum16:   [5]mqWsumFunc{2: weightedSumF16Q2x1AVX2, 3: weightedSumF16Q3x1AVX2},
	wsumWide: [5]mqWsumFunc{2: weightedSumF16Q2x2AVX2, 3: weightedSumF16Q3x2AVX2},
	wsumCols: [5]int{2: 32, 3: 32},
	wsumQ:    3,
}

// queryBlock returns how many of the rest queries the next kernel call
// takes, at most maxQ, leaving no single query behind when it can.
func queryBlock(rest, maxQ int) int {
	switch {
	case rest <= maxQ:
		return rest
	case rest == maxQ+1 && maxQ > 2:
		return maxQ - 1
	}
	return maxQ
}

// dotsF16Multi runs blocks of queries × 4 keys, a key tail by dot1 (which
// adds as the blocks do), and a single query by the single-query kernel;
// head sizes that are not a multiple of 16 go to the reference, as in
// vecSet.dotsF16.
func (m *mqSet) dotsF16Multi(out []float32, ostride, nk int, q []float32, nq int, keys []uint16, stride int, scale float32) {
	d := len(q) / nq
	nd := d / 16
	if nd == 0 || d%16 != 0 {
		dotsF16MultiGeneric(out, ostride, nk, q, nq, keys, stride, scale)
		return
	}
	for r := 0; r < nq; {
		qb := queryBlock(nq-r, m.dotsQ)
		if qb == 1 {
			m.vec.dotsF16(out[r*ostride:r*ostride+nk], q[r*d:(r+1)*d], keys, stride, scale)
			r++
			continue
		}
		f := m.dots[qb]
		j := 0
		for ; j+4 <= nk; j += 4 {
			f(&out[r*ostride+j], 4*ostride, &q[r*d], 4*d, &keys[j*stride], 2*stride, nd, scale)
		}
		for ; j < nk; j++ {
			for i := r; i < r+qb; i++ {
				out[i*ostride+j] = m.vec.dot1(&q[i*d], &keys[j*stride], nd) * scale
			}
		}
		r += qb
	}
}

// weightedSumF16Multi runs blocks of queries × wsumCols, then × 16
// columns, the rest of the columns by the reference, and a single query by
// the single-query kernel: column i's arithmetic depends only on i and d,
// as in vecSet.weightedSumF16.
func (m *mqSet) weightedSumF16Multi(out []float32, nq int, p []float32, pstride, nk int, values []uint16, stride int) {
	d := len(out) / nq
	for r := 0; r < nq; {
		qb := queryBlock(nq-r, m.wsumQ)
		if qb == 1 || d < 16 {
			for ; qb > 0; qb-- {
				m.vec.weightedSumF16(out[r*d:(r+1)*d], p[r*pstride:r*pstride+nk], values, stride)
				r++
			}
			continue
		}
		i := 0
		if f, cols := m.wsumWide[qb], m.wsumCols[qb]; f != nil {
			for ; i+cols <= d; i += cols {
				f(&out[r*d+i], 4*d, &p[r*pstride], 4*pstride, &values[i], 2*stride, nk)
			}
		}
		for ; i+16 <= d; i += 16 {
			m.wsum16[qb](&out[r*d+i], 4*d, &p[r*pstride], 4*pstride, &values[i], 2*stride, nk)
		}
		if i < d {
			for k := r; k < r+qb; k++ {
				weightedSumF16Generic(out[k*d+i:(k+1)*d], p[k*pstride:k*pstride+nk], values[i:], stride)
			}
		}
		r += qb
	}
}
