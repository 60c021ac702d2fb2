package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// A blockKind describes one 32-element weight block type with a minimum
// (Q4_1, Q5_1) and how its dot product with a Q8_1 activation block is
// formed with VPDPBUSD, which multiplies unsigned (the weights' q) by signed
// bytes (the activations). Each block then contributes cvt(isum)·(d_w·d_a)
// to eight float32 lanes and m_w·s_a to the first. The main set no longer
// emits these row tiles : Q4_1 and Q5_1 have row-group and
// packed kernels of their own (pack41.go, the "pack41" set), which reuse
// the block loads here.
type blockKind struct {
	name   string
	wBytes int // bytes per weight block
	wD     int // offset of the weight block's f16 scale
	wM     int // offset of the f16 minimum
	aBytes int // bytes per activation block: 36 (Q8_1)
	aQS    int // offset of the activation quants
	load   func(wp, iw GPVirtual) VecVirtual
}

// Constants shared by the generated functions.
var (
	nibShift Mem // words: 0 ×8 then 4 ×8, for VPSRLVW nibble unpacking
)

func genConsts() {
	nibShift = GLOBL("nibshift", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint16(0)
		if i >= 8 {
			v = 4
		}
		DATA(2*i, U16(v))
	}
}

// bcastByte returns a ymm with every byte equal to b.
func bcastByte(b uint8) VecVirtual {
	g := GP32()
	MOVL(U32(uint32(b)*0x01010101), g)
	y := YMM()
	VPBROADCASTD(g, y)
	return y
}

// nibbles loads the 16 packed bytes at disp(wp)(iw) and returns the 32
// nibbles as bytes: low nibbles in the low 16 bytes, high nibbles above.
func nibbles(wp, iw GPVirtual, disp int, mask VecVirtual) VecVirtual {
	return nibblesAt(Mem{Base: wp, Index: iw, Scale: 1, Disp: disp}, mask)
}

// nibblesAt is nibbles for the 16 bytes at m.
func nibblesAt(m Mem, mask VecVirtual) VecVirtual {
	y := YMM()
	VBROADCASTI32X4(m, y)
	VPSRLVW(nibShift, y, y)
	VPANDD(mask, y, y)
	return y
}

// highBits returns a ymm whose byte j is 0x10 if bit j of the uint32 at
// disp(wp)(iw) is set, else 0.
func highBits(wp, iw GPVirtual, disp int, c10 VecVirtual) VecVirtual {
	return highBitsAt(Mem{Base: wp, Index: iw, Scale: 1, Disp: disp}, c10)
}

// highBitsAt is highBits for the uint32 at m.
func highBitsAt(m Mem, c10 VecVirtual) VecVirtual {
	g := GP32()
	MOVL(m, g)
	k := K()
	KMOVD(g, k)
	y := YMM()
	VMOVDQU8_Z(c10, k, y)
	return y
}

func blockKinds(c0f, c10 func() VecVirtual) []blockKind {
	return []blockKind{
		{name: "Q4_1", wBytes: 20, wD: 0, wM: 2, aBytes: 36, aQS: 4,
			load: func(wp, iw GPVirtual) VecVirtual { return nibbles(wp, iw, 4, c0f()) }},
		{name: "Q5_1", wBytes: 24, wD: 0, wM: 2, aBytes: 36, aQS: 4,
			load: func(wp, iw GPVirtual) VecVirtual {
				y := nibbles(wp, iw, 8, c0f())
				VPORD(highBits(wp, iw, 4, c10()), y, y)
				return y
			}},
	}
}

// tileShapes are the (rows, tokens) tiles of the float kernels.
var tileShapes = [][2]int{{1, 1}, {2, 1}, {4, 1}, {1, 2}, {1, 3}, {1, 4}, {2, 2}, {2, 3}, {2, 4}}

// halfBcast loads the f16 at m and returns it converted and broadcast to
// eight float32 lanes.
func halfBcast(m Mem) VecVirtual {
	y := YMM()
	VPBROADCASTW(m, y)
	VCVTPH2PS(y.AsX(), y)
	return y
}

// halfLane0 loads the f16 at m and returns it as float32 in lane 0 of a
// ymm whose other lanes are zero.
func halfLane0(m Mem) VecVirtual {
	g := GP32()
	MOVWLZX(m, g)
	x := XMM()
	VMOVD(g, x)
	y := YMM()
	VCVTPH2PS(x, y)
	return y
}

// hsumStore adds the eight lanes of acc and stores the sum at m.
func hsumStore(acc Register, m Mem) {
	x, y := XMM(), XMM()
	VEXTRACTF32X4(U8(1), acc, x)
	VADDPS(acc.(Vec).AsX(), x, x)
	VPERMILPS(U8(0x4e), x, y)
	VADDPS(y, x, x)
	VPERMILPS(U8(0xb1), x, y)
	VADDPS(y, x, x)
	VMOVSS(x, m)
}

// ptrs returns n pointers base, base+stride, base+2·stride, ...
func ptrs(base, stride GPVirtual, n int) []GPVirtual {
	p := []GPVirtual{base}
	for i := 1; i < n; i++ {
		q := GP64()
		MOVQ(p[i-1], q)
		ADDQ(stride, q)
		p = append(p, q)
	}
	return p
}

// loadGP loads the named integer or pointer argument into a new register.
func loadGP(name string) GPVirtual {
	r := GP64()
	Load(Param(name), r)
	return r
}

// highY are the registers used for accumulators, highest first.
var highY = []Register{Y31, Y30, Y29, Y28, Y27, Y26, Y25, Y24, Y23, Y22, Y21, Y20, Y19, Y18, Y17, Y16}

// prefetchDist is how far ahead (bytes) the block kernels prefetch each
// weight row.
var prefetchDist = 32768
