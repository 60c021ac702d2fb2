package tensor

import (
	"encoding/binary"
	"math"
)

// The K-quants: 256-element super-blocks split into 16 groups of 16 (Q2_K,
// Q3_K, Q6_K) or 8 groups of 32 (Q4_K, Q5_K), each group with a small
// integer scale (and min) relative to the super-block's f16 scale(s). Q8_K
// is the activation format the K-quant dot products use. The code follows
// ggml's dequantize_row_* and quantize_row_*_ref operation by operation in
// float32; float32(a*b) + c keeps the compiler from fusing into an FMA.

// q3kScale returns the j-th (0..15) signed 6-bit group scale of a Q3_K block
// from its 12 scale bytes: the low 4 bits are nibbles of bytes 0..7 (low
// nibbles for j < 8, high nibbles for j >= 8), the high 2 bits are the
// 2-bit field j/4 of byte 8 + j%4; the stored value is biased by 32.
func q3kScale(s []byte, j int) int32 {
	var lo uint8
	if j < 8 {
		lo = s[j] & 0xf
	} else {
		lo = s[j-8] >> 4
	}
	hi := s[8+j%4] >> (2 * (j / 4)) & 3
	return int32(lo|hi<<4) - 32
}

// scaleMinK4 returns the 6-bit scale and min of group j (0..7) of a Q4_K or
// Q5_K block from its 12 scale bytes q (ggml's get_scale_min_k4): groups
// 0..3 keep scale and min in the low 6 bits of q[j] and q[j+4]; groups 4..7
// keep their low 4 bits in the nibbles of q[j+4] and their top 2 bits in the
// top bits of q[j-4] (scale) and q[j] (min).
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | q[j-4]>>6<<4, q[j+4]>>4 | q[j]>>6<<4
}

// pack2 stores 256 2-bit values into 64 bytes the Q2_K/Q3_K way: in each
// 128-element half, byte l holds elements l, l+32, l+64, l+96 at bits 0, 2,
// 4, 6.
func pack2(qs []byte, L *[256]uint8) {
	for j := 0; j < 256; j += 128 {
		for l := range 32 {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

func dequantizeQ2_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeQ2_K : (b+1)*sizeQ2_K]
		y := dst[b*256 : (b+1)*256]
		scales, qs := x[0:16], x[16:80]
		d, dmin := half(x[80:]), half(x[82:])
		// Element i sits in half i/128, at bits 2*((i%128)/32) of byte i%32
		// of that half's 32 bytes; group i/16 has scale byte scales[i/16].
		for g := range 16 {
			q := qs[32*(g/8)+16*(g%2) : 32*(g/8)+16*(g%2)+16]
			shift := 2 * ((g % 8) / 2)
			dl, ml := d*float32(scales[g]&0xf), float32(dmin*float32(scales[g]>>4))
			yg := y[16*g : 16*g+16]
			for l := range 16 {
				yg[l] = float32(dl*float32(q[l]>>shift&3)) - ml
			}
		}
	}
}

func quantizeQ2_K(dst []byte, src []float32) {
	var (
		L       [256]uint8
		Laux    [16]uint8
		weights [16]float32
		mins    [16]float32
		scales  [16]float32
	)
	for b := 0; b < len(src)/256; b++ {
		x := src[b*256 : (b+1)*256]
		y := dst[b*sizeQ2_K : (b+1)*sizeQ2_K]
		var maxScale, maxMin float32
		for j := range 16 {
			xb := x[16*j : 16*j+16]
			for l, v := range xb {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQKX2Quants(3, xb, weights[:], L[16*j:16*j+16], Laux[:], -0.5, 0.1, 15, true)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		sc := y[0:16]
		if maxScale > 0 {
			iscale := 15 / maxScale
			for j := range sc {
				sc[j] = uint8(nearestInt(iscale * scales[j]))
			}
			putHalf(y[80:], maxScale/15)
		} else {
			clear(sc)
			putHalf(y[80:], 0)
		}
		if maxMin > 0 {
			iscale := 15 / maxMin
			for j := range sc {
				sc[j] |= uint8(nearestInt(iscale*mins[j]) << 4)
			}
			putHalf(y[82:], maxMin/15)
		} else {
			putHalf(y[82:], 0)
		}
		// Requantize against the stored (rounded) scales and mins.
		dAll, mAll := half(y[80:]), half(y[82:])
		for j := range 16 {
			d := dAll * float32(sc[j]&0xf)
			if d == 0 {
				continue
			}
			dm := float32(mAll * float32(sc[j]>>4))
			for i := 16 * j; i < 16*j+16; i++ {
				L[i] = uint8(clampInt(nearestInt((x[i]+dm)/d), 0, 3))
			}
		}
		pack2(y[16:80], &L)
	}
}

func dequantizeQ3_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeQ3_K : (b+1)*sizeQ3_K]
		y := dst[b*256 : (b+1)*256]
		hmask, qs, scales := x[0:32], x[32:96], x[96:108]
		d := half(x[108:])
		// The low 2 bits are placed as in Q2_K; the high bit of element i is
		// bit i/32 of hmask[i%32], and a clear high bit means "subtract 4".
		for g := range 16 {
			off := 16 * (g % 2)
			q := qs[32*(g/8)+off : 32*(g/8)+off+16]
			hm := hmask[off : off+16]
			shift, bit := 2*((g%8)/2), g/2
			dl := d * float32(q3kScale(scales, g))
			yg := y[16*g : 16*g+16]
			for l := range 16 {
				v := int32(q[l]>>shift&3) - 4 + 4*int32(hm[l]>>bit&1)
				yg[l] = dl * float32(v)
			}
		}
	}
}

func quantizeQ3_K(dst []byte, src []float32) {
	var (
		L      [256]int8
		scales [16]float32
	)
	for b := 0; b < len(src)/256; b++ {
		x := src[b*256 : (b+1)*256]
		y := dst[b*sizeQ3_K : (b+1)*sizeQ3_K]
		var maxScale, amax float32
		for j := range 16 {
			scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:16*j+16])
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		sc := y[96:108]
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := range 16 {
				l := int8(nearestInt(iscale * scales[j]))
				l = int8(clampInt(int32(l), -32, 31)) + 32
				if j < 8 {
					sc[j] = uint8(l) & 0xf
				} else {
					sc[j-8] |= (uint8(l) & 0xf) << 4
				}
				sc[8+j%4] |= uint8(l>>4) << (2 * (j / 4))
			}
			putHalf(y[108:], 1/iscale)
		} else {
			putHalf(y[108:], 0)
		}
		dAll := half(y[108:])
		for j := range 16 {
			d := dAll * float32(q3kScale(sc, j))
			if d == 0 {
				continue
			}
			for i := 16 * j; i < 16*j+16; i++ {
				L[i] = int8(clampInt(nearestInt(x[i]/d), -4, 3) + 4)
			}
		}
		// Levels 0..7: the high bit of element j goes to bit j/32 of
		// hmask[j%32], the low 2 bits to qs.
		hmask := y[0:32]
		clear(hmask)
		var low [256]uint8
		for j, l := range L {
			if l > 3 {
				hmask[j%32] |= 1 << (j / 32)
				l -= 4
			}
			low[j] = uint8(l)
		}
		pack2(y[32:96], &low)
	}
}

func dequantizeQ4_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeQ4_K : (b+1)*sizeQ4_K]
		y := dst[b*256 : (b+1)*256]
		d, dmin := half(x), half(x[2:])
		scales, qs := x[4:16], x[16:144]
		// Chunk c of 64 elements: 32 low nibbles of qs[32c:32c+32] with group
		// 2c, then the 32 high nibbles with group 2c+1.
		for c := range 4 {
			q := qs[32*c : 32*c+32]
			sc, m := scaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), float32(dmin*float32(m))
			sc, m = scaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), float32(dmin*float32(m))
			yc := y[64*c : 64*c+64]
			for l := range 32 {
				yc[l] = float32(d1*float32(q[l]&0xf)) - m1
				yc[l+32] = float32(d2*float32(q[l]>>4)) - m2
			}
		}
	}
}

// quantizeKX is the common part of the Q4_K and Q5_K reference quantizers:
// 8 groups of 32 fitted by makeQKX2Quants with levels 0..nmax, 6-bit scales
// and mins relative to f16 d and dmin written to y[0:16], and the final
// levels (requantized against the stored scales) returned in L.
func quantizeKX(y []byte, x []float32, nmax int32, rmin float32, nstep int32, L *[256]uint8) {
	var (
		Laux    [32]uint8
		weights [32]float32
		mins    [8]float32
		scales  [8]float32
	)
	var maxScale, maxMin float32
	for j := range 8 {
		xb := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xb {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xb {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(nmax, xb, weights[:], L[32*j:32*j+32], Laux[:], rmin, 0.1, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	q := y[4:16]
	for j := range 8 {
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		if j < 4 {
			q[j], q[j+4] = ls, lm
		} else {
			q[j+4] = ls&0xf | (lm&0xf)<<4
			q[j-4] |= ls >> 4 << 6
			q[j] |= lm >> 4 << 6
		}
	}
	putHalf(y, maxScale/63)
	putHalf(y[2:], maxMin/63)
	dAll, mAll := half(y), half(y[2:])
	for j := range 8 {
		sc, m := scaleMinK4(j, q)
		d := dAll * float32(sc)
		if d == 0 {
			continue
		}
		dm := float32(mAll * float32(m))
		for i := 32 * j; i < 32*j+32; i++ {
			L[i] = uint8(clampInt(nearestInt((x[i]+dm)/d), 0, nmax))
		}
	}
}

func quantizeQ4_K(dst []byte, src []float32) {
	var L [256]uint8
	for b := 0; b < len(src)/256; b++ {
		y := dst[b*sizeQ4_K : (b+1)*sizeQ4_K]
		quantizeKX(y, src[b*256:(b+1)*256], 15, -1, 20, &L)
		qs := y[16:144]
		for c := range 4 {
			for l := range 32 {
				qs[32*c+l] = L[64*c+l] | L[64*c+l+32]<<4
			}
		}
	}
}

func dequantizeQ5_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeQ5_K : (b+1)*sizeQ5_K]
		y := dst[b*256 : (b+1)*256]
		d, dmin := half(x), half(x[2:])
		scales, qh, qs := x[4:16], x[16:48], x[48:176]
		// As Q4_K; the 5th bit of element l of chunk c is bit 2c (low
		// nibbles) or 2c+1 (high nibbles) of qh[l].
		for c := range 4 {
			q := qs[32*c : 32*c+32]
			sc, m := scaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), float32(dmin*float32(m))
			sc, m = scaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), float32(dmin*float32(m))
			yc := y[64*c : 64*c+64]
			for l := range 32 {
				lo := q[l]&0xf | qh[l]>>(2*c)&1<<4
				hi := q[l]>>4 | qh[l]>>(2*c+1)&1<<4
				yc[l] = float32(d1*float32(lo)) - m1
				yc[l+32] = float32(d2*float32(hi)) - m2
			}
		}
	}
}

func quantizeQ5_K(dst []byte, src []float32) {
	var L [256]uint8
	for b := 0; b < len(src)/256; b++ {
		y := dst[b*sizeQ5_K : (b+1)*sizeQ5_K]
		quantizeKX(y, src[b*256:(b+1)*256], 31, -0.5, 15, &L)
		qh, qs := y[16:48], y[48:176]
		clear(qh)
		for c := range 4 {
			m1, m2 := uint8(1)<<(2*c), uint8(2)<<(2*c)
			for j := range 32 {
				l1, l2 := L[64*c+j], L[64*c+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				qs[32*c+j] = l1 | l2<<4
			}
		}
	}
}

func dequantizeQ6_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeQ6_K : (b+1)*sizeQ6_K]
		y := dst[b*256 : (b+1)*256]
		d := half(x[208:])
		// Half n (128 elements) uses ql[64n:64n+64], qh[32n:32n+32] and
		// scales[8n:8n+8]. For l < 32, byte ql[l] holds the low 4 bits of
		// elements l (low nibble) and l+64 (high nibble), ql[l+32] those of
		// l+32 and l+96; qh[l] holds their top 2 bits at bits 0, 2, 4, 6 for
		// l, l+32, l+64, l+96. Values are biased by 32.
		for n := range 2 {
			ql, qh := x[64*n:64*n+64], x[128+32*n:128+32*n+32]
			sc := x[192+8*n : 192+8*n+8]
			yn := y[128*n : 128*n+128]
			for l := range 32 {
				is := l / 16
				q1 := int32(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				yn[l] = d * float32(int8(sc[is])) * float32(q1)
				yn[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				yn[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				yn[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
		}
	}
}

func quantizeQ6_K(dst []byte, src []float32) {
	var (
		L      [256]int8
		scales [16]float32
	)
	for b := 0; b < len(src)/256; b++ {
		x := src[b*256 : (b+1)*256]
		y := dst[b*sizeQ6_K : (b+1)*sizeQ6_K]
		var maxScale, maxAbs float32
		for ib := range 16 {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16], 1, nil)
			scales[ib] = s
			if a := abs32(s); a > maxAbs {
				maxAbs, maxScale = a, s
			}
		}
		if maxAbs < groupMaxEps {
			clear(y)
			continue
		}
		iscale := -128 / maxScale
		putHalf(y[208:], 1/iscale)
		sc := y[192:208]
		for ib := range 16 {
			sc[ib] = uint8(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		d0 := half(y[208:])
		for j := range 16 {
			d := d0 * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for i := 16 * j; i < 16*j+16; i++ {
				L[i] = int8(clampInt(nearestInt(x[i]/d), -32, 31) + 32)
			}
		}
		for n := range 2 {
			ql, qh := y[64*n:64*n+64], y[128+32*n:128+32*n+32]
			Ln := L[128*n : 128*n+128]
			for l := range 32 {
				q1, q2, q3, q4 := uint8(Ln[l]), uint8(Ln[l+32]), uint8(Ln[l+64]), uint8(Ln[l+96])
				ql[l] = q1&0xf | (q3&0xf)<<4
				ql[l+32] = q2&0xf | (q4&0xf)<<4
				qh[l] = q1>>4 | q2>>4<<2 | q3>>4<<4 | q4>>4<<6
			}
		}
	}
}

func dequantizeQ8_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		x := src[b*sizeQ8_K : (b+1)*sizeQ8_K]
		y := dst[b*256 : (b+1)*256]
		d := math.Float32frombits(binary.LittleEndian.Uint32(x))
		for j, q := range x[4:260] {
			y[j] = d * float32(int8(q))
		}
	}
}

// quantizeQ8_K is quantize_row_q8_K_ref: the value of largest magnitude maps
// to -127 (so d = -max/127 is negative when that value is positive), and
// bsums[g] = sum of the 16 quants of group g. An all-zero block is written
// as all zero bytes (ggml leaves its bsums unwritten).
func quantizeQ8_K(dst []byte, src []float32) {
	for b := 0; b < len(src)/256; b++ {
		x := src[b*256 : (b+1)*256]
		y := dst[b*sizeQ8_K : (b+1)*sizeQ8_K]
		var max, amax float32
		for _, v := range x {
			if ax := abs32(v); ax > amax {
				amax, max = ax, v
			}
		}
		if amax == 0 {
			clear(y)
			continue
		}
		iscale := -127 / max
		qs := y[4:260]
		for j, v := range x {
			qs[j] = uint8(int8(min(127, nearestInt(iscale*v))))
		}
		for g := range 16 {
			var sum int32
			for _, q := range qs[16*g : 16*g+16] {
				sum += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(y[260+2*g:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(y, math.Float32bits(1/iscale))
	}
}

// QuantizeRowQ8_K quantizes src into Q8_K blocks exactly as ggml's
// quantize_row_q8_K_ref, which is also what llama.cpp's CPU backend uses for
// the activations of K-quant matmuls on x86. len(src) must be a multiple of
// 256 and len(dst) must be len(src)/256*292; otherwise it panics.
func QuantizeRowQ8_K(dst []byte, src []float32) {
	mustRow(Q8_K, len(src), len(dst))
	quantizeQ8_K(dst, src)
}
