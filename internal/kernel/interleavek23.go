package kernel

import "github.com/sputnik-llm/sputnik/internal/tensor"

// Interleaved Q2_K and Q3_K groups: as interleavek.go's, the file's bytes
// of 16 rows transposed by dword (lane r of a 64-byte vector: row r), the
// fields in the order the kernels first read them. A 2-bit plane byte
// qs[32h+l] (l < 32) holds elements 128h+32p+l in bits 2p, 2p+1 (p < 4),
// so the transposed qs vector of half h and dword w holds, per row, four
// elements 128h+32p+4w+i of each plane p: groups of 16 elements 8h+2p+w/4.
//
//	Q2_K (1344 bytes, block b at 1344b):
//	[0, 256)      sc[k][r][i] = byte 4k+i of row r's 16 scale bytes (k < 4):
//	              the low nibble is group 4k+i's scale, the high its min
//	[256, 1280)   qs[v][r][i] = byte 4v+i of row r's 64 plane bytes
//	              (v = 8h+w < 16)
//	[1280, 1312)  d[r] float16
//	[1312, 1344)  dmin[r] float16
//	Q3_K (1760 bytes and 32 of d, in pairs of blocks 3520 bytes long so
//	that every vector is 64-byte aligned: block 2i at 3520i, its d at
//	3520i+1728, block 2i+1's d at 3520i+1760 and the block at 3520i+1792):
//	[0, 192)      s[k][r][i] = byte 4k+i of row r's 12 packed 6-bit scale
//	              bytes (k < 3)
//	then vectors of 64 bytes, [r][i] for row r (interK3Vec places them):
//	hm(w)         byte 4w+i of row r's 32 hmask bytes (w < 8): bit 4h+p
//	              is the third bit of element 128h+32p+4w+i
//	qs(h, w)      byte 32h+4w+i of row r's 64 plane bytes
//	              in the order the kernels first read them: hm(0..3),
//	              qs(0, 0..3), hm(4..7), qs(0, 4..7), qs(1, 0..7)
//	d             d[r] float16
//
// The kernels add in the K-quant order (packedk_generic.go) with the
// packed K path's activations, so an interleaved Mat gives every token the
// bits the row-major one gives. They scale each group of 16 after its
// exact sum (_asm/interk23.go); Q3_K's activations carry −4·f_g·bsum[g]
// at [320, 384) instead of Q6_K's −32·bsum[g] (quantQ8_KxQ3_K), f_g = 2
// for groups 4k+2, 4k+3 (odd planes) and 1 otherwise, where the kernels
// start group g's sum.

// interK3Vec returns the offset in an interleaved Q3_K block of the
// vector hm(w) (h < 0) or qs(h, w) (see above).
func interK3Vec(h, w int) int {
	switch h {
	case -1:
		return 192 + 512*(w/4) + 64*(w%4)
	case 0:
		return 448 + 512*(w/4) + 64*(w%4)
	}
	return 1216 + 64*w
}

// interleaveGroupK23 writes block b of row r (blk, a Q2_K or Q3_K block)
// into the interleaved group block p (Q3_K: its d at dat).
func interleaveGroupK23(t tensor.DType, p, blk []byte, r int, dst []byte, dat int) {
	if t == tensor.Q2_K {
		putDwords(p, blk[0:16], r, 0, 0)
		putDwords(p, blk[16:80], r, 256, 0)
		p[1280+2*r], p[1281+2*r] = blk[80], blk[81]
		p[1312+2*r], p[1313+2*r] = blk[82], blk[83]
		return
	}
	putDwords(p, blk[96:108], r, 0, 0)
	for w := range 8 {
		putDwords(p, blk[4*w:][:4], r, interK3Vec(-1, w), 0)
		for h := range 2 {
			putDwords(p, blk[32+32*h+4*w:][:4], r, interK3Vec(h, w), 0)
		}
	}
	dst[dat+2*r], dst[dat+2*r+1] = blk[108], blk[109]
}

// decodeInterK23 decodes row r's Q2_K or Q3_K block at p (its d at
// g[dat:], Q3_K) into kb, as decodeK decodes the row-major block.
func decodeInterK23(t tensor.DType, g, p []byte, dat, r int, kb *kBlock) {
	at := func(off, i int) byte { return p[off+4*r+i] }
	// qs byte 32h+4w+i of the row
	qs := func(h, w, i int) byte {
		if t == tensor.Q2_K {
			return at(256+64*(8*h+w), i)
		}
		return at(interK3Vec(h, w), i)
	}
	for h := range 2 {
		for w := range 8 {
			for i := range 4 {
				z := qs(h, w, i)
				var hm byte
				if t == tensor.Q3_K {
					hm = at(interK3Vec(-1, w), i)
				}
				for pl := range 4 {
					v := z >> (2 * uint(pl)) & 3
					if t == tensor.Q3_K {
						v |= (hm >> uint(4*h+pl) & 1) << 2
					}
					kb.u[128*h+32*pl+4*w+i] = v
				}
			}
		}
	}
	if t == tensor.Q2_K {
		for gr := range 16 {
			s := at(64*(gr/4), gr%4)
			kb.sc[gr], kb.mn[gr] = int32(s&15), int32(s>>4)
		}
		kb.d, kb.dmin = h2f(p[1280+2*r:]), h2f(p[1312+2*r:])
		return
	}
	var s [12]byte
	for k := range 3 {
		for i := range 4 {
			s[4*k+i] = at(64*k, i)
		}
	}
	for gr, v := range q3KScales(s[:]) {
		kb.sc[gr] = v - 32
	}
	kb.d = h2f(g[dat+2*r:])
}
