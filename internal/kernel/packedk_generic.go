package kernel

import (
	"encoding/binary"
	"math"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// The K-quant order and the packed K-quant prefill path.
//
// The AVX-512 VNNI kernels of Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (decode
// tiles and packed prefill alike) add in one order, dotKOrdered's: per
// 256-element block b the exact int32 sums
//
//	Q4_K, Q5_K: isum = Σ_j sc_j·Σ_{l<32} u[32j+l]·q[32j+l]  (8 sub-blocks)
//	            msum = Σ_j m_j·(bsum[2j] + bsum[2j+1])
//	Q6_K:       isum = Σ_g sc_g·Σ_{l<16} u[16g+l]·q[16g+l] − 32·Σ_g sc_g·bsum[g]  (16 groups)
//	Q3_K:       isum = Σ_g sc_g·Σ_{l<16} u[16g+l]·q[16g+l] − 4·Σ_g sc_g·bsum[g]
//	Q2_K:       isum = Σ_g sc_g·Σ_{l<16} u[16g+l]·q[16g+l],  msum = Σ_g m_g·bsum[g]
//
// (u the unsigned weight values, sc the scales (Q3_K: the 6-bit scale −
// 32), q and bsum the Q8_K activation block's quants and group-of-16
// sums), then
//
//	acc = fma(float32(isum), d_w·d_a, acc)
//	acc = fma(−float32(msum), dmin_w·d_a, acc)   (Q2_K, Q4_K, Q5_K)
//
// one float32 accumulator per (row, token), blocks in order. The integer
// sums are ggml's; only the float steps differ from the reference row dots
// (dotk_generic.go, ggml's order), by rounding.
//
// Packed K group, per 256-element block (packedKBlockBytes bytes), 16 rows:
//
//	[0, 4096)     u[v][r][i] = element 4v+i of row r as an unsigned byte
//	              (v < 64, r < 16, i < 4): vector v holds dword v of every row
//	Q4_K, Q5_K:
//	[4096, 4608)  sc[j][r] int32, sub-block j's scale (j < 8)
//	[4608, 4864)  mn[i][r] = m_2i, m_2i+1 as two int16 (i < 4)
//	[4864, 4928)  d[r] float32
//	[4928, 4992)  dmin[r] float32
//	Q6_K:
//	[4096, 5120)  sc[g][r] int32, group g's scale (g < 16)
//	[5120, 5184)  d[r] float32
//
// Q2_K and Q3_K carry their group scales in the values themselves (their
// products with the 2- and 3-bit values fit a byte), so that a block is
// one VPDPBUSD chain per row and token with no scale multiplies:
//
//	[0, 4096)     Q2_K: sc_g·u, in [0, 45]; Q3_K: sc_g·(u−4) + 124, in
//	              [0, 252] (g = the element's group of 16), laid out as u
//	Q2_K:
//	[4096, 4608)  mn[i][r] = m_2i, m_2i+1 as two int16 (i < 8)
//	[4608, 4672)  d[r] float32
//	[4672, 4736)  dmin[r] float32
//	Q3_K:
//	[4096, 4160)  d[r] float32
//
// Interleaved K activations, actKBytes = 384 bytes per token and block:
//
//	[0, 292)    the token quantized to Q8_K (d float32, qs [256]int8,
//	            bsums [16]int16)
//	[292, 308)  the pair sums bsum[2i]+bsum[2i+1] as int16 (Q4_K, Q5_K mins)
//	[308, 312)  −k·Σq as int32, k the packed values' offset (Q3_K: 124,
//	            a block's sum starts there; 0 for the other types)
//	[312, 320)  zero
//	[320, 384)  −32·bsum[g] as int32 (Q6_K: a group's sum starts there, so
//	            that Σ u·q − 32·Σq = Σ (u−32)·q; interleaved Q3_K's tiles
//	            get −4·f_g·bsum[g] there instead, see interleavek23.go)
//
// In tile i of packTokens tokens, block b of token t is at i·nb·6144 +
// b·6144 + t·384.
const (
	actKBytes   = 384  // interleaved K activation bytes per token and block
	packKQuants = 4096 // packed group bytes of the weight values per block
)

// packedKBlockBytes returns the packed group bytes per block of K type t
// (0 if t has no packed K layout).
func packedKBlockBytes(t tensor.DType) int {
	switch t {
	case tensor.Q4_K, tensor.Q5_K:
		return 4992
	case tensor.Q6_K:
		return 5184
	case tensor.Q2_K:
		return 4736
	case tensor.Q3_K:
		return 4160
	}
	return 0
}

// k23Offset is the offset of Q3_K's packed values, sc·(u−4) + k23Offset:
// it makes the extremes −124 and 128 of sc·(u−4) unsigned bytes.
const k23Offset = 124

// packedKOffset returns the offset k of K type t's packed values (the
// activations carry −k·Σq): k23Offset for Q3_K, else 0.
func packedKOffset(t tensor.DType) int32 {
	if t == tensor.Q3_K {
		return k23Offset
	}
	return 0
}

// kBlock is one decoded K-quant block.
type kBlock struct {
	u       [256]byte // unsigned values: Q2_K 0..3, Q3_K 0..7, Q4_K 0..15, Q5_K 0..31, Q6_K 0..63
	sc      [16]int32 // sub-block (Q4_K, Q5_K: 8) or group (16) scales
	mn      [16]int32 // Q4_K, Q5_K: sub-block mins; Q2_K: group mins
	d, dmin float32
}

// decodeK decodes the K block blk of type t into p.
func decodeK(t tensor.DType, blk []byte, p *kBlock) {
	switch t {
	case tensor.Q4_K, tensor.Q5_K:
		p.d, p.dmin = h2f(blk), h2f(blk[2:])
		qs := blk[16:144]
		if t == tensor.Q5_K {
			qs = blk[48:176]
		}
		for j := range 8 {
			p.sc[j], p.mn[j] = scaleMinK4(j, blk[4:16])
			shift := uint(4 * (j & 1))
			for l := range 32 {
				v := qs[32*(j/2)+l] >> shift & 15
				if t == tensor.Q5_K {
					v |= (blk[16+l] >> j & 1) << 4
				}
				p.u[32*j+l] = v
			}
		}
	case tensor.Q6_K:
		p.d = h2f(blk[208:])
		for g := range 16 {
			p.sc[g] = int32(int8(blk[192+g]))
		}
		for h := range 2 {
			ql, qh := blk[64*h:64*h+64], blk[128+32*h:128+32*h+32]
			for i := range 4 {
				for l := range 32 {
					lo := ql[l+32*(i&1)] >> (4 * uint(i/2)) & 15
					hi := qh[l] >> (2 * uint(i)) & 3
					p.u[128*h+32*i+l] = lo | hi<<4
				}
			}
		}
	case tensor.Q2_K, tensor.Q3_K:
		// In each half of 128 values, 2-bit plane p of qs[l] (l < 32) is
		// elements 32p+l; Q3_K's third bit of element 128h+32p+l is bit
		// 4h+p of hmask[l].
		qs := blk[16:80]
		if t == tensor.Q3_K {
			qs = blk[32:96]
			p.d = h2f(blk[108:])
			for g, s := range q3KScales(blk[96:108]) {
				p.sc[g] = s - 32
			}
		} else {
			p.d, p.dmin = h2f(blk[80:]), h2f(blk[82:])
			for g := range 16 {
				p.sc[g], p.mn[g] = int32(blk[g]&15), int32(blk[g]>>4)
			}
		}
		for h := range 2 {
			for pl := range 4 {
				for l := range 32 {
					v := qs[32*h+l] >> (2 * uint(pl)) & 3
					if t == tensor.Q3_K {
						v |= (blk[l] >> uint(4*h+pl) & 1) << 2
					}
					p.u[128*h+32*pl+l] = v
				}
			}
		}
	default:
		panic("kernel: decodeK: unsupported type " + t.String())
	}
}

// kSums returns the exact integer sums isum and msum of the decoded block
// p of type t with the Q8_K block ab (see the order above).
func kSums(t tensor.DType, p *kBlock, ab []byte) (isum, msum int32) {
	_, q8 := q8K(ab)
	if t == tensor.Q6_K || t == tensor.Q3_K || t == tensor.Q2_K {
		var off int32 // Σ_g sc_g·bsum[g]
		for g := range 16 {
			var s int32
			for l := 16 * g; l < 16*g+16; l++ {
				s += int32(p.u[l]) * int32(int8(q8[l]))
			}
			isum += p.sc[g] * s
			off += p.sc[g] * q8KBsum(ab, g)
			msum += p.mn[g] * q8KBsum(ab, g)
		}
		switch t {
		case tensor.Q6_K:
			return isum - 32*off, 0
		case tensor.Q3_K:
			return isum - 4*off, 0
		}
		return isum, msum
	}
	for j := range 8 {
		var s int32
		for l := 32 * j; l < 32*j+32; l++ {
			s += int32(p.u[l]) * int32(int8(q8[l]))
		}
		isum += p.sc[j] * s
		msum += p.mn[j] * (q8KBsum(ab, 2*j) + q8KBsum(ab, 2*j+1))
	}
	return isum, msum
}

// kStep is one block's float step of the K-quant order for type t: acc
// plus d_w·d_a·isum, then (Q2_K, Q4_K, Q5_K) minus dmin_w·d_a·msum, each a
// fused multiply-add.
func kStep(t tensor.DType, acc float32, isum, msum int32, dw, dmin, da float32) float32 {
	acc = fma32(float32(isum), dw*da, acc)
	if kHasMins(t) {
		acc = fma32(-float32(msum), dmin*da, acc)
	}
	return acc
}

// kHasMins reports whether K type t has block minimums (and so msum).
func kHasMins(t tensor.DType) bool {
	return t == tensor.Q2_K || t == tensor.Q4_K || t == tensor.Q5_K
}

// dotKOrdered is the row dot of a Q2_K..Q6_K weight row w with a
// Q8_K activation row a (cols elements) in the order of the AVX-512 VNNI
// kernels (see above).
func dotKOrdered(t tensor.DType, w, a []byte, cols int) float32 {
	var acc float32
	var p kBlock
	ts := t.TypeSize()
	for b := range cols / 256 {
		decodeK(t, w[b*ts:], &p)
		ab := a[b*292 : b*292+292]
		isum, msum := kSums(t, &p, ab)
		acc = kStep(t, acc, isum, msum, p.d, p.dmin, q8KScale(ab))
	}
	return acc
}

// q8KScale returns a Q8_K block's scale d.
func q8KScale(ab []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(ab)) }

// packGroupKGeneric packs nb blocks of rows ≤ 16 weight rows of K type t
// (row r at w[r*ws:]) into dst (nb·packedKBlockBytes(t) bytes); the rows
// from rows to 15 are packed as zeros.
func packGroupKGeneric(t tensor.DType, w []byte, ws, rows, nb int, dst []byte) {
	bb, ts := packedKBlockBytes(t), t.TypeSize()
	var p kBlock
	for b := range nb {
		o := dst[b*bb : (b+1)*bb]
		clear(o)
		for r := range rows {
			decodeK(t, w[r*ws+b*ts:], &p)
			if t == tensor.Q2_K || t == tensor.Q3_K {
				packK23(t, o, r, &p)
				continue
			}
			putPackedK(t, o, r, &p)
		}
	}
}

// putPackedK writes the decoded block p of K type t as row r of the
// packed K group block o.
func putPackedK(t tensor.DType, o []byte, r int, p *kBlock) {
	put32 := func(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
	pair := func(a, b int32) uint32 { return uint32(uint16(int16(a))) | uint32(uint16(int16(b)))<<16 }
	for v := range 64 {
		copy(o[64*v+4*r:64*v+4*r+4], p.u[4*v:4*v+4])
	}
	if t == tensor.Q6_K {
		for g := range 16 {
			put32(o, packKQuants+64*g+4*r, uint32(p.sc[g]))
		}
		put32(o, 5120+4*r, math.Float32bits(p.d))
		return
	}
	for j := range 8 {
		put32(o, packKQuants+64*j+4*r, uint32(p.sc[j]))
	}
	for i := range 4 {
		put32(o, 4608+64*i+4*r, pair(p.mn[2*i], p.mn[2*i+1]))
	}
	put32(o, 4864+4*r, math.Float32bits(p.d))
	put32(o, 4928+4*r, math.Float32bits(p.dmin))
}

// packK23 writes row r of the decoded Q2_K or Q3_K block p into the
// packed block o.
func packK23(t tensor.DType, o []byte, r int, p *kBlock) {
	put32 := func(off int, v uint32) { binary.LittleEndian.PutUint32(o[off:], v) }
	for e := range 256 {
		g, v := e/16, int32(p.u[e])
		if t == tensor.Q3_K {
			v = p.sc[g]*(v-4) + k23Offset
		} else {
			v *= p.sc[g]
		}
		o[64*(e/4)+4*r+e%4] = byte(v)
	}
	if t == tensor.Q3_K {
		put32(4096+4*r, math.Float32bits(p.d))
		return
	}
	for i := range 8 {
		put32(4096+64*i+4*r, uint32(uint16(int16(p.mn[2*i])))|uint32(uint16(int16(p.mn[2*i+1])))<<16)
	}
	put32(4608+4*r, math.Float32bits(p.d))
	put32(4672+4*r, math.Float32bits(p.dmin))
}

// quantizeRowQ8_KxGeneric quantizes one token row x (256·nb floats) as
// quantizeRowQ8_KGeneric and writes its nb interleaved K activation blocks
// stride bytes apart into dst, with −k·Σq given negk = −k.
func quantizeRowQ8_KxGeneric(dst []byte, x []float32, stride, negk int) {
	for b := range len(x) / 256 {
		o := dst[b*stride : b*stride+actKBytes]
		quantizeRowQ8_KGeneric(o[:292], x[256*b:256*b+256])
		putPairSums(o, negk)
	}
}

// putPairSums writes the pair sums, −k·Σq (given negk = −k), the padding
// and the Q6_K offsets of the interleaved K activation block o from its
// Q8_K block o[:292].
func putPairSums(o []byte, negk int) {
	var sum int32
	for i := range 8 {
		s := q8KBsum(o, 2*i) + q8KBsum(o, 2*i+1)
		binary.LittleEndian.PutUint16(o[292+2*i:], uint16(int16(s)))
		sum += s
	}
	binary.LittleEndian.PutUint32(o[308:], uint32(int32(negk)*sum))
	clear(o[312:320])
	for g := range 16 {
		binary.LittleEndian.PutUint32(o[320+4*g:], uint32(-32*q8KBsum(o, g)))
	}
}

// tilePackedKGeneric computes out[t*os+r] for t < T tokens and r < rows of
// one packed K group p of type t against a tile of interleaved K
// activations a (block b of token t at a[b*as+384*t:]), nb blocks, in the
// K-quant order, from the packed layouts.
func tilePackedKGeneric(typ tensor.DType, p, a []byte, as, nb, T, rows int, out []float32, os int) {
	bb := packedKBlockBytes(typ)
	i32 := func(b []byte, off int) int32 { return int32(binary.LittleEndian.Uint32(b[off:])) }
	i16 := func(b []byte, off int) int32 { return int32(int16(binary.LittleEndian.Uint16(b[off:]))) }
	f32 := func(b []byte, off int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[off:])) }
	if typ == tensor.Q2_K || typ == tensor.Q3_K {
		tilePackedK23Generic(typ, p, a, as, nb, T, rows, out, os)
		return
	}
	groups, gsize := 8, 32
	if typ == tensor.Q6_K {
		groups, gsize = 16, 16
	}
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				pb, ab := p[b*bb:], a[b*as+actKBytes*t:]
				var isum, msum int32
				for g := range groups {
					var s int32
					if typ == tensor.Q6_K {
						s = i32(ab, 320+4*g) // −32·bsum[g]
					}
					for v := g * gsize / 4; v < (g+1)*gsize/4; v++ {
						for i := range 4 {
							s += int32(pb[64*v+4*r+i]) * int32(int8(ab[4+4*v+i]))
						}
					}
					isum += s * i32(pb, packKQuants+64*g+4*r)
				}
				da := f32(ab, 0)
				if typ == tensor.Q6_K {
					acc = kStep(typ, acc, isum, 0, f32(pb, 5120+4*r), 0, da)
					continue
				}
				for i := range 4 {
					o := 4608 + 64*i + 4*r
					msum += i16(pb, o)*i16(ab, 292+4*i) + i16(pb, o+2)*i16(ab, 294+4*i)
				}
				acc = kStep(typ, acc, isum, msum, f32(pb, 4864+4*r), f32(pb, 4928+4*r), da)
			}
			out[t*os+r] = acc
		}
	}
}

// tilePackedK23Generic is tilePackedKGeneric for Q2_K and Q3_K: per block
// and (row, token) isum = −k·Σq + Σ_e u'[e]·q[e] over the packed values u'
// (the group scales and Q3_K's offset inside), msum (Q2_K) the mins times
// the activations' bsums, then kStep.
func tilePackedK23Generic(typ tensor.DType, p, a []byte, as, nb, T, rows int, out []float32, os int) {
	bb := packedKBlockBytes(typ)
	i32 := func(b []byte, off int) int32 { return int32(binary.LittleEndian.Uint32(b[off:])) }
	i16 := func(b []byte, off int) int32 { return int32(int16(binary.LittleEndian.Uint16(b[off:]))) }
	f32 := func(b []byte, off int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[off:])) }
	for t := range T {
		for r := range rows {
			var acc float32
			for b := range nb {
				pb, ab := p[b*bb:], a[b*as+actKBytes*t:]
				isum := i32(ab, 308)
				for e := range 256 {
					isum += int32(pb[64*(e/4)+4*r+e%4]) * int32(int8(ab[4+e]))
				}
				da := f32(ab, 0)
				if typ == tensor.Q3_K {
					acc = kStep(typ, acc, isum, 0, f32(pb, 4096+4*r), 0, da)
					continue
				}
				var msum int32
				for i := range 8 {
					o := 4096 + 64*i + 4*r
					msum += i16(pb, o)*i16(ab, 260+4*i) + i16(pb, o+2)*i16(ab, 262+4*i)
				}
				acc = kStep(typ, acc, isum, msum, f32(pb, 4608+4*r), f32(pb, 4672+4*r), da)
			}
			out[t*os+r] = acc
		}
	}
}
