package tensor

import "encoding/binary"

// The non-linear 4-bit types IQ4_NL (32-element blocks, one f16 scale) and
// IQ4_XS (256-element super-blocks, f16 scale plus eight 6-bit group
// scales). A 4-bit code indexes kvaluesIQ4NL. Within each 32-element group,
// element j is the low nibble of qs[j] for j < 16 and the high nibble of
// qs[j-16] otherwise. The quantizer is ggml's quantize_row_iq4_nl_impl
// without an importance matrix and with ntry = 7, as ggml_quantize_chunk
// (and so llama-quantize) runs it for both types.

// kvaluesIQ4NL is ggml's kvalues_iq4nl: 16 levels, denser near zero.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

func dequantizeIQ4_NL(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		x := src[b*sizeIQ4NL : (b+1)*sizeIQ4NL]
		y := dst[b*32 : (b+1)*32]
		d := half(x)
		for j, q := range x[2:18] {
			y[j] = d * float32(kvaluesIQ4NL[q&0xf])
			y[j+16] = d * float32(kvaluesIQ4NL[q>>4])
		}
	}
}

// iq4xsScale returns the signed 6-bit scale of group ib (0..7) of an IQ4_XS
// block: low 4 bits from nibble ib%2 of scalesL[ib/2], high 2 bits from bits
// 2ib..2ib+1 of scalesH, biased by 32.
func iq4xsScale(scalesH uint16, scalesL []byte, ib int) int32 {
	lo := int32(scalesL[ib/2]>>(4*(ib%2))) & 0xf
	hi := int32(scalesH>>(2*ib)) & 3
	return (lo | hi<<4) - 32
}

func dequantizeIQ4_XS(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeIQ4XS : (b+1)*sizeIQ4XS]
		y := dst[b*256 : (b+1)*256]
		d := half(x)
		scalesH := binary.LittleEndian.Uint16(x[2:])
		scalesL, qs := x[4:8], x[8:136]
		for ib := range 8 {
			dl := d * float32(iq4xsScale(scalesH, scalesL, ib))
			for j, q := range qs[16*ib : 16*ib+16] {
				y[32*ib+j] = dl * float32(kvaluesIQ4NL[q&0xf])
				y[32*ib+16+j] = dl * float32(kvaluesIQ4NL[q>>4])
			}
		}
	}
}

// bestIndexIQ4 returns the index of the level of kvaluesIQ4NL nearest x,
// ties going to the larger level (ggml's best_index_int8: a branch-free
// binary search on the midpoints, compared as 2x against sums of levels).
func bestIndexIQ4(x float32) uint8 {
	x2 := float32(x) + float32(x)
	idx := 0
	for step := 8; step > 0; step >>= 1 {
		j := idx + step
		if x2 >= float32(int32(kvaluesIQ4NL[j-1])+int32(kvaluesIQ4NL[j])) {
			idx = j
		}
	}
	return uint8(idx)
}

// iq4Fit returns the scale d of one 32-element group for levels kvaluesIQ4NL
// (x ≈ d*level), writing the level indices to L: it tries the inverse scales
// (itry + level[0])/max for itry in [-7, 7] and keeps the best weighted
// (x²) least-squares fit.
func iq4Fit(xb []float32, L []uint8) float32 {
	const ntry = 7
	var amax, max float32
	for _, v := range xb {
		if ax := abs32(v); ax > amax {
			amax, max = ax, v
		}
	}
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	v0 := float32(kvaluesIQ4NL[0])
	d := -max / v0 // ntry > 0
	id := 1 / d
	var sumqx, sumq2 float32
	for j, v := range xb {
		l := bestIndexIQ4(id * v)
		L[j] = l
		q, w := float32(kvaluesIQ4NL[l]), v*v
		sumqx += float32(w * q * v)
		sumq2 += float32(w * q * q)
	}
	d = 0
	if sumq2 > 0 {
		d = sumqx / sumq2
	}
	best := d * sumqx
	for itry := int32(-ntry); itry <= ntry; itry++ {
		id = float32(itry+int32(kvaluesIQ4NL[0])) / max
		sumqx, sumq2 = 0, 0
		for _, v := range xb {
			q, w := float32(kvaluesIQ4NL[bestIndexIQ4(id*v)]), v*v
			sumqx += float32(w * q * v)
			sumq2 += float32(w * q * q)
		}
		if sumq2 > 0 && sumqx*sumqx > best*sumq2 {
			d = sumqx / sumq2
			best = d * sumqx
		}
	}
	return d
}

// packIQ4 stores 32 level indices per group as nibbles (j | j+16 << 4).
func packIQ4(qs []byte, L []uint8) {
	for i := 0; i < len(L)/32; i++ {
		for j := range 16 {
			qs[16*i+j] = L[32*i+j] | L[32*i+16+j]<<4
		}
	}
}

func quantizeIQ4_NL(dst []byte, src []float32) {
	var L [32]uint8
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*sizeIQ4NL : (b+1)*sizeIQ4NL]
		d := iq4Fit(x, L[:])
		putHalf(y, d)
		// Re-pick the levels for the final (unrounded) scale.
		var id float32
		if d != 0 {
			id = 1 / d
		}
		for j, v := range x {
			L[j] = bestIndexIQ4(id * v)
		}
		packIQ4(y[2:18], L[:])
	}
}

func quantizeIQ4_XS(dst []byte, src []float32) {
	var (
		L      [256]uint8
		scales [8]float32
	)
	for b := 0; b < len(src)/256; b++ {
		x := src[b*256 : (b+1)*256]
		y := dst[b*sizeIQ4XS : (b+1)*sizeIQ4XS]
		var maxScale, amaxScale float32
		for ib := range 8 {
			scales[ib] = iq4Fit(x[32*ib:32*ib+32], L[32*ib:32*ib+32])
			if a := abs32(scales[ib]); a > amaxScale {
				amaxScale, maxScale = a, scales[ib]
			}
		}
		// Group scales are 6-bit multiples of d = -maxScale/32; the levels
		// are re-picked against each group's rounded scale.
		d := -maxScale / 32
		putHalf(y, d)
		var id float32
		if d != 0 {
			id = 1 / d
		}
		var scalesH uint16
		scalesL := y[4:8]
		for ib := range 8 {
			l := clampInt(nearestInt(id*scales[ib]), -32, 31)
			dl := d * float32(l)
			var idl float32
			if dl != 0 {
				idl = 1 / dl
			}
			for j, v := range x[32*ib : 32*ib+32] {
				L[32*ib+j] = bestIndexIQ4(idl * v)
			}
			l += 32
			if ib%2 == 0 {
				scalesL[ib/2] = uint8(l & 0xf)
			} else {
				scalesL[ib/2] |= uint8(l&0xf) << 4
			}
			scalesH |= uint16(l>>4) << (2 * (ib % 8))
		}
		binary.LittleEndian.PutUint16(y[2:], scalesH)
		packIQ4(y[8:136], L[:])
	}
}
