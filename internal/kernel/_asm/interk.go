package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The interleaved K-quant kernels (the "interk" set: Q4_K, Q5_K, Q6_K; the
// layouts are in the kernel package's interleavek.go) compute a 16-row ×
// T-token tile from a group of 16 weight rows interleaved at load time,
// against the packed K kernels' activation tiles, in the K-quant order
// (packedk_generic.go). The weight bytes are the file's, transposed by
// dword, so per block and sub-block (32 elements) the kernel unpacks eight
// vectors (vector k holds dword k of the sub-block of every row) with a
// few shifts and masks, then per token takes the packed K kernels' steps:
// eight VPDPBUSD with the activation dword broadcast from memory, a VPMULLD
// by the rows' sub-block scales and a VPADDD into the block's isum. The
// 6-bit scales and mins of Q4_K and Q5_K are unpacked once per block into
// a stack buffer (the packed K layout's int32 scales and int16 min pairs);
// Q6_K's int8 group scales are sign-extended in registers as the groups
// come (interK6Groups); d and dmin are converted from float16 once per
// block, and the block ends with the same float steps as the packed K
// kernels. A weight byte is read in the order it lies (the layouts are
// made so), which the hardware prefetchers follow: reading Q6_K's fields
// in another order halved its decode rate from DRAM.

// interKKind is a K-quant type with an interleaved layout.
type interKKind struct {
	name       string
	blockBytes int // group bytes per block (Q6_K: without d)
	scales     int // offset of the scale dwords
	// d is the offset of the 16 float16 d (then, Q4_K and Q5_K, dmin) in
	// the block, or (Q6_K, d < 0) the blocks go in pairs (interKWalk).
	d int
	// load returns the 32 unsigned values of dword k of sub-block j of
	// every row (lane r: row r) of the group block at p.
	load func(p GPVirtual, j, k int, c *packKConsts) VecVirtual
}

// interNibble returns the low (hi = false) or high nibbles of the 64 bytes
// at m.
func interNibble(m Mem, hi bool, c0f VecVirtual) VecVirtual {
	z := ZMM()
	if !hi {
		VPANDD(m, c0f, z)
		return z
	}
	VPSRLW(U8(4), m, z)
	VPANDD(c0f, z, z)
	return z
}

// interBits ors into z the bits of the 64 bytes at m that a word shift by
// shift (left if positive) moves under mask.
func interBits(z VecVirtual, m Mem, shift int, mask VecVirtual) {
	var h VecVirtual
	switch {
	case shift > 0:
		h = ZMM()
		VPSLLW(U8(shift), m, h)
	case shift < 0:
		h = ZMM()
		VPSRLW(U8(-shift), m, h)
	default:
		VPTERNLOGD(U8(0xf8), m, mask, z) // z |= m & mask
		return
	}
	VPTERNLOGD(U8(0xf8), mask, h, z) // z |= h & mask
}

var interKKinds = []interKKind{
	{"Q4_K", 2304, 0, 192, func(p GPVirtual, j, k int, c *packKConsts) VecVirtual {
		return interNibble(Mem{Base: p, Disp: 256 + 64*(8*(j/2)+k)}, j%2 == 1, c.c0f)
	}},
	{"Q5_K", 2816, 0, 192, func(p GPVirtual, j, k int, c *packKConsts) VecVirtual {
		z := interNibble(Mem{Base: p, Disp: 768 + 64*(8*(j/2)+k)}, j%2 == 1, c.c0f)
		interBits(z, Mem{Base: p, Disp: 256 + 64*k}, 4-j, c.c10) // fifth bit: bit j of qh
		return z
	}},
	{"Q6_K", 6720, 0, -1, func(p GPVirtual, j, k int, c *packKConsts) VecVirtual {
		h, i := j/4, j%4
		z := interNibble(Mem{Base: p, Disp: interK6Vec(h, i&1, k)}, i >= 2, c.c0f)
		interBits(z, Mem{Base: p, Disp: interK6Vec(h, -1, k)}, 4-2*i, c.c30) // top bits: bits 2i, 2i+1 of qh
		return z
	}},
}

// interKMasks holds the dword masks the scale unpacking ands with
// (broadcast from memory): 0x3f, 0x0f, 0x30 in every byte, 0xff.
var interKMasks Mem

// interKMask returns the broadcast dword of interKMasks with the byte mask b.
func interKMask(b uint32) Mem {
	return interKMasks.Offset(4 * map[uint32]int{0x3f3f3f3f: 0, 0x0f0f0f0f: 1, 0x30303030: 2, 0xff: 3}[b])
}

func genInterK() {
	genPackedKConsts()
	interKMasks = GLOBL("interkmasks", RODATA|NOPTR)
	for i, v := range []uint32{0x3f3f3f3f, 0x0f0f0f0f, 0x30303030, 0xff} {
		DATA(4*i, U32(v))
	}
	for _, k := range interKKinds {
		for T := 1; T <= packedKMaxT; T++ {
			interKTile(k, T)
		}
		interKUnpack(k)
	}
}

// interKUnpack generates unpackI<kind>: nb blocks of an interleaved K group
// into the packed K group layout (packedk.go), for the packed K tiles to
// serve long batches.
func interKUnpack(k interKKind) {
	six := k.name == "Q6_K"
	name := "unpackI" + k.name
	TEXT(name, NOSPLIT, "func(p *byte, nb int, dst *byte)")
	bb := 4992
	if six {
		bb = 5184
	}
	Doc(fmt.Sprintf("%s writes nb blocks of the interleaved %s group at p into the packed K group layout at dst (%d bytes per block, AVX-512).", name, k.name, bb))
	p := loadGP("p")
	nb := loadGP("nb")
	dst := loadGP("dst")
	dm, pw := interKWalk(p, k)
	c := &packKConsts{c0f: bcastDword(0x0f0f0f0f)}
	switch k.name {
	case "Q5_K":
		c.c10 = bcastDword(0x10101010)
	case "Q6_K":
		c.c30 = bcastDword(0x30303030)
	}
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	out := Mem{Base: dst, Disp: packKQuants}
	if six {
		interKScales6(p, k.scales, out)
	} else {
		interKScales(p, k.scales, out)
	}
	for j := 0; j < 8; j++ {
		for i := 0; i < 8; i++ {
			VMOVDQU32(k.load(p, j, i, c), Mem{Base: dst, Disp: 512*j + 64*i})
		}
	}
	f := ZMM()
	VCVTPH2PS(dm, f)
	if six {
		VMOVUPS(f, Mem{Base: dst, Disp: 5120})
	} else {
		VMOVUPS(f, Mem{Base: dst, Disp: 4864})
		g := ZMM()
		VCVTPH2PS(dm.Offset(32), g)
		VMOVUPS(g, Mem{Base: dst, Disp: 4928})
	}
	pw.next(p)
	ADDQ(U32(uint32(bb)), dst)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// packKQuants is the packed K group bytes of the weight values per block.
const packKQuants = 4096

// interKScales unpacks the 6-bit scales and mins of the 16 rows' Q4_K or
// Q5_K block at p (three dword vectors at scales) into the stack buffer
// buf as the packed K layout has them: [0, 512) sc[j][r] int32, [512, 768)
// the min pairs m_2i, m_2i+1 as int16.
func interKScales(p GPVirtual, scales int, buf Mem) {
	u0, u1, u2 := ZMM(), ZMM(), ZMM()
	VMOVDQU32(Mem{Base: p, Disp: scales}, u0)
	VMOVDQU32(Mem{Base: p, Disp: scales + 64}, u1)
	VMOVDQU32(Mem{Base: p, Disp: scales + 128}, u2)
	and := func(m uint32, x, dst VecVirtual) { VPANDD_BCST(interKMask(m), x, dst) }
	unpackScalesMinsK(u0, u1, u2, and, buf, buf.Offset(512))
}

// interKScales6 unpacks the int8 group scales of the 16 rows' Q6_K block
// at p (four dword vectors at scales) into the stack buffer buf:
// sc[g][r] int32 at 64g.
func interKScales6(p GPVirtual, scales int, buf Mem) {
	for k := 0; k < 4; k++ {
		g := ZMM()
		VMOVDQU32(Mem{Base: p, Disp: scales + 64*k}, g)
		for m := 0; m < 4; m++ {
			s := ZMM()
			if m < 3 {
				VPSLLD(U8(24-8*m), g, s)
				VPSRAD(U8(24), s, s)
			} else {
				VPSRAD(U8(24), g, s)
			}
			VMOVDQU32(s, buf.Offset(64*(4*k+m)))
		}
	}
}

// interKTile generates tileI<kind>_16xT.
func interKTile(k interKKind, T int) {
	six := k.name == "Q6_K"
	name := fmt.Sprintf("tileI%s_16x%d", k.name, T)
	var flags attr.Attribute // Q4_K, Q5_K: the scale buffer makes the frame too large for NOSPLIT
	if six {
		flags = NOSPLIT
	}
	TEXT(name, flags, "func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)")
	Doc(fmt.Sprintf("%s computes the 16×%d tile out[t*os+r] (rows r with bit r of mask set) of an interleaved %s group at p against %d tokens of interleaved K activations, nb blocks, in the K-quant order (AVX-512 VNNI).", name, T, k.name, T),
		fmt.Sprintf("Block b of the group is at p+%db, token t's block b at a+b*as+384t.", k.blockBytes))
	var buf Mem
	if !six {
		buf = AllocLocal(768)
	}
	p := loadGP("p")
	a := loadGP("a")
	as := loadGP("as")
	nb := loadGP("nb")
	dm, pw := interKWalk(p, k)
	acc := make([]Register, T)
	for t := range acc {
		acc[t] = highZ[t]
		VPXORD(acc[t], acc[t], acc[t])
	}
	// Zeroing a virtual register by xoring it with itself makes avo think
	// it is read, and so live since the function's start: zero registers
	// are copies of this one.
	zero := ZMM()
	VPXORD(zero, zero, zero)
	c := &packKConsts{c0f: bcastDword(0x0f0f0f0f)}
	switch k.name {
	case "Q5_K":
		c.c10 = bcastDword(0x10101010)
	case "Q6_K":
		c.c30 = bcastDword(0x30303030)
	}
	Label(name + "_loop")
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))
	act := func(t, off int) Mem { return Mem{Base: a, Disp: actK*t + off} }
	if !six {
		interKScales(p, k.scales, buf)
	}
	// avo allocates virtual vectors among Z0..Z15 only: the accumulators
	// and isums take Z16..Z31 by hand.
	isum := make([]Register, T)
	for t := range isum {
		isum[t] = highZ[packedKMaxT+t]
	}
	if six {
		interK6Groups(p, act, T, isum, c)
	}
	for j := 0; j < 8 && !six; j++ {
		n := j
		wv := make([]VecVirtual, 8)
		for i := range wv {
			wv[i] = k.load(p, j, i, c)
		}
		// Two tokens' chains interleaved.
		for t0 := 0; t0 < T; t0 += 2 {
			s := make([]VecVirtual, min(2, T-t0))
			for i := range s {
				s[i] = ZMM()
				VPXORD(zero, zero, s[i])
			}
			for i := 0; i < 8; i++ {
				for q := range s {
					vpdpbusdBcast(act(t0+q, 4+32*j+4*i), wv[i], s[q])
				}
			}
			for q := range s {
				if n == 0 {
					VPMULLD(buf.Offset(64*j), s[q], isum[t0+q])
				} else {
					VPMULLD(buf.Offset(64*j), s[q], s[q])
					VPADDD(s[q], isum[t0+q], isum[t0+q])
				}
			}
		}
	}
	dw := ZMM()
	VCVTPH2PS(dm, dw)
	var dmin VecVirtual
	if !six {
		dmin = ZMM()
		VCVTPH2PS(dm.Offset(32), dmin)
	}
	for t := 0; t < T; t++ {
		var msum VecVirtual
		if !six {
			// Σ_j m_j·(bsum_2j + bsum_2j+1)
			msum = ZMM()
			VPXORD(zero, zero, msum)
			for i := 0; i < 4; i++ {
				mp := ZMM()
				VMOVDQU32(buf.Offset(512+64*i), mp)
				vpdpwssdBcast(act(t, 292+4*i), mp, msum)
			}
		}
		VCVTDQ2PS(isum[t], isum[t])
		dd := ZMM()
		VMULPS_BCST(act(t, 0), dw, dd)
		VFMADD231PS(dd, isum[t], acc[t])
		if !six {
			VCVTDQ2PS(msum, msum)
			ddm := ZMM()
			VMULPS_BCST(act(t, 0), dmin, ddm)
			VFNMADD231PS(ddm, msum, acc[t])
		}
	}
	pw.next(p)
	ADDQ(as, a)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	storeTileRows(acc[:T])
}

// interK6Groups adds into isum[t] (t < T) the scaled group sums of the
// interleaved Q6_K block at p: per half h, nibble vector set c and dword
// half, four ql and four qh vectors are loaded once each and give the
// values of group 2(4h+c)+half (low nibbles) and 2(4h+c+2)+half (high),
// whose chains start from −32·bsum; each group's scale is sign-extended
// from its byte in registers.
func interK6Groups(p GPVirtual, act func(t, off int) Mem, T int, isum []Register, c *packKConsts) {
	first := true
	for h := 0; h < 2; h++ {
		for half := 0; half < 2; half++ {
			for cs := 0; cs < 2; cs++ {
				jl, jh := 4*h+cs, 4*h+cs+2
				gl, gh := 2*jl+half, 2*jh+half
				// The scales first: their lines lead the block.
				sc := [2]VecVirtual{}
				for i, g := range []int{gl, gh} {
					sc[i] = ZMM()
					sm := Mem{Base: p, Disp: 64 * (g / 4)}
					if m := g % 4; m < 3 {
						VPSLLD(U8(24-8*m), sm, sc[i])
						VPSRAD(U8(24), sc[i], sc[i])
					} else {
						VPSRAD(U8(24), sm, sc[i])
					}
				}
				wl, wh := make([]VecVirtual, 4), make([]VecVirtual, 4)
				for w := 0; w < 4; w++ {
					ql, qh := ZMM(), ZMM()
					VMOVDQU32(Mem{Base: p, Disp: interK6Vec(h, -1, 4*half+w)}, qh)
					VMOVDQU32(Mem{Base: p, Disp: interK6Vec(h, cs, 4*half+w)}, ql)
					// low nibbles | bits 2cs, 2cs+1 of qh at 4, 5
					wl[w] = ZMM()
					VPANDD(ql, c.c0f, wl[w])
					t := ZMM()
					VPSLLW(U8(4-2*cs), qh, t)
					VPTERNLOGD(U8(0xf8), c.c30, t, wl[w])
					// high nibbles | bits 2cs+4, 2cs+5 of qh at 4, 5
					wh[w] = ZMM()
					VPSRLW(U8(4), ql, wh[w])
					VPANDD(c.c0f, wh[w], wh[w])
					if cs == 1 {
						VPSRLW(U8(2), qh, qh)
					}
					VPTERNLOGD(U8(0xf8), c.c30, qh, wh[w])
				}
				for t := 0; t < T; t++ {
					sa, sb := ZMM(), ZMM()
					VPBROADCASTD(act(t, 320+4*gl), sa)
					VPBROADCASTD(act(t, 320+4*gh), sb)
					for w := 0; w < 4; w++ {
						vpdpbusdBcast(act(t, 4+32*jl+16*half+4*w), wl[w], sa)
						vpdpbusdBcast(act(t, 4+32*jh+16*half+4*w), wh[w], sb)
					}
					VPMULLD(sc[0], sa, sa)
					VPMULLD(sc[1], sb, sb)
					if first {
						VPADDD(sb, sa, isum[t])
					} else {
						VPADDD(sa, isum[t], isum[t])
						VPADDD(sb, isum[t], isum[t])
					}
				}
				first = false
			}
		}
	}
}

// interKWalkT is the walk of a kernel over the blocks of an interleaved K
// group from p: where each block's d is and how p moves on.
type interKWalkT struct {
	step  int       // bytes from one block to the next
	dstep GPVirtual // Q6_K: 3392 from an even block, 3328 from an odd one
	doff  GPVirtual // Q6_K: d's offset from the block, 3328 or −32
}

// interKWalk starts the walk of k's blocks from p and returns the
// memory operand of the current block's d.
func interKWalk(p GPVirtual, k interKKind) (Mem, *interKWalkT) {
	if k.d >= 0 {
		return Mem{Base: p, Disp: k.d}, &interKWalkT{step: k.blockBytes}
	}
	// Q6_K, blocks in pairs: block 2i at 6720i, its d at +3328, then
	// block 2i+1's d and block 2i+1 at 6720i+3392 (d at −32).
	w := &interKWalkT{dstep: GP64(), doff: GP64()}
	MOVQ(U32(3392), w.dstep)
	MOVQ(U32(3328), w.doff)
	return Mem{Base: p, Index: w.doff, Scale: 1}, w
}

// next moves p to the next block.
func (w *interKWalkT) next(p GPVirtual) {
	if w.dstep == nil {
		ADDQ(U32(uint32(w.step)), p)
		return
	}
	ADDQ(w.dstep, p)
	XORQ(U8(3392^3328), w.dstep)
	XORQ(I32(3328^-32), w.doff)
}

// interK6Vec is the kernel package's: the offset in an interleaved Q6_K
// block of the vector qh(h, w) (c < 0) or ql(h, c, w).
func interK6Vec(h, c, w int) int {
	o := 256 + 1536*h + 768*(w/4)
	switch c {
	case -1:
		return o + 128*(w%4)
	case 0:
		return o + 128*(w%4) + 64
	}
	return o + 512 + 64*(w%4)
}
