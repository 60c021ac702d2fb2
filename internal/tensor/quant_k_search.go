package tensor

import "math"

// The scale searches behind ggml's K-quant reference quantizers
// (make_qx_quants, make_q3_quants, make_qkx2_quants in ggml-quants.c),
// ported operation by operation in float32 so that the quantized bytes match
// ggml's. Products that feed a sum are wrapped in float32(...), which stops
// the compiler from fusing them into FMAs (ggml's reference code is compiled
// without FMA contraction).

// groupMaxEps is ggml's GROUP_MAX_EPS: groups whose largest magnitude is
// below it are stored as all zeros.
const groupMaxEps = 1e-15

func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

// makeQXQuants finds a scale for a symmetric quantization of x to the
// integers [-nmax, nmax-1], stores the levels plus nmax in L and returns the
// scale (x ≈ scale*(L-nmax)). It starts from the scale that maps the value of
// largest magnitude to -nmax and, unless rmseType is 0, tries 18 nearby
// scales, keeping the one with the smallest weighted squared error. The
// weights are qw if not nil, otherwise chosen by rmseType: 1 → x², 2 → 1,
// 3 → |x|, else √|x|. A negative rmseType returns after the first
// refinement.
func makeQXQuants(nmax int32, x []float32, L []int8, rmseType int, qw []float32) float32 {
	var max, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, max = ax, v
		}
	}
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	iscale := float32(-nmax) / max
	if rmseType == 0 {
		for i, v := range x {
			l := nearestInt(iscale * v)
			L[i] = int8(nmax + clampInt(l, -nmax, nmax-1))
		}
		return 1 / iscale
	}
	returnEarly := false
	if rmseType < 0 {
		rmseType, returnEarly = -rmseType, true
	}
	weight := func(i int) float32 {
		switch {
		case qw != nil:
			return qw[i]
		case rmseType == 1:
			return x[i] * x[i]
		case rmseType == 2:
			return 1
		case rmseType == 3:
			return abs32(x[i])
		}
		return sqrt32(abs32(x[i]))
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w, fl := weight(i), float32(l)
		sumlx += float32(w * v * fl)
		suml2 += float32(w * fl * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	if returnEarly {
		if suml2 > 0 {
			return 0.5 * (scale + 1/iscale)
		}
		return 1 / iscale
	}
	best := scale * sumlx
	for is := int32(-9); is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / max
		sumlx, suml2 = 0, 0
		for i, v := range x {
			fl := float32(clampInt(nearestInt(iscale*v), -nmax, nmax-1))
			w := weight(i)
			sumlx += float32(w * v * fl)
			suml2 += float32(w * fl * fl)
		}
		if suml2 > 0 && sumlx*sumlx > best*suml2 {
			for i, v := range x {
				L[i] = int8(nmax + clampInt(nearestInt(iscale*v), -nmax, nmax-1))
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is makeQXQuants for Q3_K (weights x²), refined instead by up
// to five passes that move single levels while that lowers the error. L gets
// the levels plus nmax.
func makeQ3Quants(nmax int32, x []float32, L []int8) float32 {
	var max, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, max = ax, v
		}
	}
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	iscale := float32(-nmax) / max
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
		L[i] = int8(l)
		w, fl := v*v, float32(l)
		sumlx += float32(w * v * fl)
		suml2 += float32(w * fl * fl)
	}
	for range 5 {
		changed := false
		for i, v := range x {
			w, fl := v*v, float32(L[i])
			slx := sumlx - float32(w*v*fl)
			if !(slx > 0) {
				continue
			}
			sl2 := suml2 - float32(w*fl*fl)
			newL := clampInt(nearestInt(v*sl2/slx), -nmax, nmax-1)
			if newL == int32(L[i]) {
				continue
			}
			fn := float32(newL)
			slx += float32(w * v * fn)
			sl2 += float32(w * fn * fn)
			if sl2 > 0 && slx*slx*suml2 > sumlx*sumlx*sl2 {
				L[i], sumlx, suml2 = int8(newL), slx, sl2
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for i := range L {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// makeQKX2Quants finds a scale and a minimum for an asymmetric quantization
// x ≈ scale*L - theMin with L in [0, nmax] (theMin >= 0). It starts from the
// range [min(x, 0), max(x)], then tries nstep+1 inverse scales
// (rmin + rdelta*is + nmax)/range, refitting scale and min by weighted least
// squares and keeping the lowest weighted error (absolute if useMAD,
// squared otherwise). Laux is scratch of len(x).
func makeQKX2Quants(nmax int32, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int32, useMAD bool) (scale, theMin float32) {
	min, max := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < len(x); i++ {
		if x[i] < min {
			min = x[i]
		}
		if x[i] > max {
			max = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if min > 0 {
		min = 0
	}
	if max == min {
		clear(L)
		return 0, -min
	}
	errOf := func(diff float32) float32 {
		if useMAD {
			return abs32(diff)
		}
		return diff * diff
	}
	iscale := float32(nmax) / (max - min)
	scale = 1 / iscale
	var bestError float32
	for i, v := range x {
		L[i] = uint8(clampInt(nearestInt(iscale*(v-min)), 0, nmax))
		diff := float32(scale*float32(L[i])) + min - v
		bestError += float32(weights[i] * errOf(diff))
	}
	if nstep < 1 {
		return scale, -min
	}
	for is := int32(0); is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + float32(nmax)) / (max - min)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := uint8(clampInt(nearestInt(iscale*(v-min)), 0, nmax))
			Laux[i] = l
			w, fl := weights[i], float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(w * fl * fl)
			sumXL += float32(w * fl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if !(D > 0) {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		var curError float32
		for i, v := range x {
			diff := float32(thisScale*float32(Laux[i])) + thisMin - v
			curError += float32(weights[i] * errOf(diff))
		}
		if curError < bestError {
			copy(L, Laux)
			bestError, scale, min = curError, thisScale, thisMin
		}
	}
	return scale, -min
}

// clampInt returns l limited to [lo, hi] (ggml's MAX(lo, MIN(hi, l))).
func clampInt(l, lo, hi int32) int32 { return max(lo, min(hi, l)) }
