package tensor

import (
	"encoding/binary"
	"math"
	"testing"
)

// Hand-built blocks checked against the published definition of each layout
// (ggml-common.h / ggml-quants.c). The blocks are assembled here from the
// layout description, element by element, independently of the package's
// packing code; scales are powers of two or small integers so every expected
// value is exact.

func f16(f float32) []byte {
	return binary.LittleEndian.AppendUint16(nil, Float32ToFloat16(f))
}

// layoutCase is one hand-built block (or row of blocks) and its values.
type layoutCase struct {
	name string
	typ  DType
	src  []byte
	want []float64
}

func legacyLayoutCases() []layoutCase {
	var cases []layoutCase

	// Q4_0: d = 0.5; element j < 16 is the low nibble of qs[j] = j, element
	// j+16 the high nibble = 15-j; x = (q-8)*d.
	{
		b := make([]byte, 18)
		copy(b, f16(0.5))
		want := make([]float64, 32)
		for j := range 16 {
			b[2+j] = byte(j) | byte(15-j)<<4
			want[j] = float64(j-8) * 0.5
			want[j+16] = float64(15-j-8) * 0.5
		}
		cases = append(cases, layoutCase{"Q4_0 nibbles 0..15", Q4_0, b, want})
	}
	// Q4_1: d = 0.25, m = -1.5; x = q*d + m.
	{
		b := make([]byte, 20)
		copy(b, f16(0.25))
		copy(b[2:], f16(-1.5))
		want := make([]float64, 32)
		for j := range 16 {
			lo, hi := (3*j)%16, (5*j+1)%16
			b[4+j] = byte(lo) | byte(hi)<<4
			want[j] = float64(lo)*0.25 - 1.5
			want[j+16] = float64(hi)*0.25 - 1.5
		}
		cases = append(cases, layoutCase{"Q4_1 d=0.25 m=-1.5", Q4_1, b, want})
	}
	// Q5_0: d = 2; the 5th bit of element j is bit j of the u32 qh; x = (q-16)*d.
	{
		b := make([]byte, 22)
		copy(b, f16(2))
		want := make([]float64, 32)
		var qh uint32
		for j := range 32 {
			q := (7*j + 3) % 32
			qh |= uint32(q>>4) << j
			if j < 16 {
				b[6+j] |= byte(q & 0xf)
			} else {
				b[6+j-16] |= byte(q&0xf) << 4
			}
			want[j] = float64(q-16) * 2
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
		cases = append(cases, layoutCase{"Q5_0 5th bits in qh", Q5_0, b, want})
	}
	// Q5_1: d = 0.125, m = 3; x = q*d + m.
	{
		b := make([]byte, 24)
		copy(b, f16(0.125))
		copy(b[2:], f16(3))
		want := make([]float64, 32)
		var qh uint32
		for j := range 32 {
			q := (11*j + 5) % 32
			qh |= uint32(q>>4) << j
			if j < 16 {
				b[8+j] |= byte(q & 0xf)
			} else {
				b[8+j-16] |= byte(q&0xf) << 4
			}
			want[j] = float64(q)*0.125 + 3
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
		cases = append(cases, layoutCase{"Q5_1 d=0.125 m=3", Q5_1, b, want})
	}
	// Q8_0 and Q8_1: x = int8(q)*d; Q8_1's s field does not enter.
	for _, typ := range []DType{Q8_0, Q8_1} {
		off := 2
		if typ == Q8_1 {
			off = 4
		}
		b := make([]byte, typ.TypeSize())
		copy(b, f16(-0.0625))
		if typ == Q8_1 {
			copy(b[2:], f16(1000))
		}
		want := make([]float64, 32)
		for j := range 32 {
			q := int8(8*j - 128)
			b[off+j] = byte(q)
			want[j] = float64(q) * -0.0625
		}
		cases = append(cases, layoutCase{typ.String() + " int8 -128..120", typ, b, want})
	}
	// MXFP4: scale 2^(e-127) with e = 129 (4); codes are E2M1: sign bit 3,
	// magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6.
	{
		e2m1 := []float64{0, 0.5, 1, 1.5, 2, 3, 4, 6}
		b := make([]byte, 17)
		b[0] = 129
		want := make([]float64, 32)
		for j := range 32 {
			code := (j * 5) % 16
			if j < 16 {
				b[1+j] |= byte(code)
			} else {
				b[1+j-16] |= byte(code) << 4
			}
			v := e2m1[code&7] * 4
			if code&8 != 0 {
				v = -v
			}
			want[j] = v
		}
		cases = append(cases, layoutCase{"MXFP4 e=129", MXFP4, b, want})
	}
	// IQ4_NL: x = d*kvalues[code], d = 0.5.
	{
		kv := []float64{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
		b := make([]byte, 18)
		copy(b, f16(0.5))
		want := make([]float64, 32)
		for j := range 16 {
			b[2+j] = byte(j) | byte(15-j)<<4
			want[j] = kv[j] * 0.5
			want[j+16] = kv[15-j] * 0.5
		}
		cases = append(cases, layoutCase{"IQ4_NL codes 0..15", IQ4_NL, b, want})
	}
	return cases
}

// set2 stores the 2-bit value q of element i (0..255) the Q2_K/Q3_K way:
// byte 32*(i/128) + i%32 of qs, bits 2*((i%128)/32).
func set2(qs []byte, i int, q int) {
	qs[32*(i/128)+i%32] |= byte(q&3) << (2 * ((i % 128) / 32))
}

func kLayoutCases() []layoutCase {
	var cases []layoutCase

	// Q2_K: 16 groups of 16; scales[g] = sc | m<<4; x = d*sc*q - dmin*m.
	{
		b := make([]byte, 84)
		d, dmin := 0.5, 0.25
		copy(b[80:], f16(float32(d)))
		copy(b[82:], f16(float32(dmin)))
		want := make([]float64, 256)
		for g := range 16 {
			b[g] = byte(g) | byte(15-g)<<4
		}
		for i := range 256 {
			q := (i*3 + i/64) % 4
			set2(b[16:80], i, q)
			g := i / 16
			want[i] = d*float64(g)*float64(q) - dmin*float64(15-g)
		}
		cases = append(cases, layoutCase{"Q2_K scales and mins", Q2_K, b, want})
	}
	// Q3_K: 16 signed 6-bit scales s+32 packed as: low 4 bits in the low
	// nibble of byte g (g < 8) or the high nibble of byte g-8 (g >= 8); high
	// 2 bits in byte 8+g%4 at bit 2*(g/4). q in -4..3: low 2 bits in qs,
	// "high bit" hmask bit i/32 of byte i%32 set when q >= 0.
	{
		b := make([]byte, 110)
		hmask, qs, sc := b[0:32], b[32:96], b[96:108]
		copy(b[108:], f16(0.25))
		scales := [16]int{-32, 31, -1, 0, 1, 17, -17, 5, -5, 30, -30, 12, -12, 2, -2, 9}
		for g, s := range scales {
			u := s + 32
			if g < 8 {
				sc[g] |= byte(u & 0xf)
			} else {
				sc[g-8] |= byte(u&0xf) << 4
			}
			sc[8+g%4] |= byte(u>>4) << (2 * (g / 4))
		}
		want := make([]float64, 256)
		for i := range 256 {
			q := (i*5+i/32)%8 - 4
			u := q + 4
			set2(qs, i, u&3)
			if u >= 4 {
				hmask[i%32] |= 1 << (i / 32)
			}
			want[i] = 0.25 * float64(scales[i/16]) * float64(q)
		}
		cases = append(cases, layoutCase{"Q3_K hmask and 6-bit scales", Q3_K, b, want})
	}
	// Q4_K and Q5_K: 8 groups of 32 with 6-bit scale sc and min m:
	// groups 0..3 in the low 6 bits of bytes g (sc) and g+4 (m); groups
	// 4..7 low 4 bits in byte g+4 (sc low nibble, m high nibble), top 2 bits
	// in bits 6..7 of byte g-4 (sc) and g (m). Element i: chunk c = i/64,
	// nibble (i%64)/32 of qs[32c + i%32]; for Q5_K the 5th bit is bit
	// 2c + (i%64)/32 of qh[i%32]. x = d*sc*q - dmin*m.
	for _, typ := range []DType{Q4_K, Q5_K} {
		b := make([]byte, typ.TypeSize())
		d, dmin := 0.5, 0.125
		copy(b, f16(float32(d)))
		copy(b[2:], f16(float32(dmin)))
		scb := b[4:16]
		scs := [8]int{1, 63, 32, 17, 60, 3, 45, 33}
		mins := [8]int{62, 0, 5, 31, 2, 63, 19, 48}
		for g := range 8 {
			if g < 4 {
				scb[g] |= byte(scs[g])
				scb[g+4] |= byte(mins[g])
			} else {
				scb[g+4] |= byte(scs[g]&0xf) | byte(mins[g]&0xf)<<4
				scb[g-4] |= byte(scs[g]>>4) << 6
				scb[g] |= byte(mins[g]>>4) << 6
			}
		}
		qs, nmax := b[16:144], 16
		var qh []byte
		if typ == Q5_K {
			qh, qs, nmax = b[16:48], b[48:176], 32
		}
		want := make([]float64, 256)
		for i := range 256 {
			q := (i*7 + i/16) % nmax
			c, hiNib := i/64, (i%64)/32
			qs[32*c+i%32] |= byte(q&0xf) << (4 * hiNib)
			if q >= 16 {
				qh[i%32] |= 1 << (2*c + hiNib)
			}
			g := i / 32
			want[i] = d*float64(scs[g])*float64(q) - dmin*float64(mins[g])
		}
		cases = append(cases, layoutCase{typ.String() + " get_scale_min_k4", typ, b, want})
	}
	// Q6_K: q in 0..63, x = d*scales[i/16]*(q-32) with int8 scales. In
	// half h = i/128, with r = i%128, l = r%32, k = r/32: the low 4 bits
	// sit in ql[64h + l + 32*(k%2)] (low nibble for k < 2, high for k >= 2),
	// the top 2 bits in qh[32h + l] at bit 2k.
	{
		b := make([]byte, 210)
		ql, qh, sc := b[0:128], b[128:192], b[192:208]
		copy(b[208:], f16(0.0625))
		scales := [16]int8{-128, 127, 1, -1, 64, -64, 3, -3, 100, -100, 7, -7, 33, -33, 0, 50}
		for g, s := range scales {
			sc[g] = byte(s)
		}
		want := make([]float64, 256)
		for i := range 256 {
			q := (i*13 + i/64) % 64
			h, r := i/128, i%128
			l, k := r%32, r/32
			ql[64*h+l+32*(k%2)] |= byte(q&0xf) << (4 * (k / 2))
			qh[32*h+l] |= byte(q>>4) << (2 * k)
			want[i] = 0.0625 * float64(scales[i/16]) * float64(q-32)
		}
		cases = append(cases, layoutCase{"Q6_K ql/qh interleave", Q6_K, b, want})
	}
	// Q8_K: float32 d, int8 qs, int16 bsums (ignored by dequantization).
	{
		b := make([]byte, 292)
		binary.LittleEndian.PutUint32(b, math.Float32bits(-0.75))
		want := make([]float64, 256)
		for i := range 256 {
			q := int8(i*37 + 11)
			b[4+i] = byte(q)
			want[i] = -0.75 * float64(q)
		}
		for g := range 16 {
			binary.LittleEndian.PutUint16(b[260+2*g:], 0xdead)
		}
		cases = append(cases, layoutCase{"Q8_K float32 d", Q8_K, b, want})
	}
	// IQ4_XS: group scale ls = scales_l nibble (g%2) of byte g/2 | 2 bits
	// 2g of scales_h << 4, x = d*(ls-32)*kvalues[code].
	{
		kv := []float64{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
		b := make([]byte, 136)
		copy(b, f16(0.25))
		ls := [8]int{0, 63, 32, 31, 33, 1, 47, 16}
		var sh uint16
		for g, s := range ls {
			b[4+g/2] |= byte(s&0xf) << (4 * (g % 2))
			sh |= uint16(s>>4) << (2 * g)
		}
		binary.LittleEndian.PutUint16(b[2:], sh)
		want := make([]float64, 256)
		for i := range 256 {
			code := (i*3 + i/32) % 16
			g, j := i/32, i%32
			if j < 16 {
				b[8+16*g+j] |= byte(code)
			} else {
				b[8+16*g+j-16] |= byte(code) << 4
			}
			want[i] = 0.25 * float64(ls[g]-32) * kv[code]
		}
		cases = append(cases, layoutCase{"IQ4_XS 6-bit group scales", IQ4_XS, b, want})
	}
	return cases
}

func TestDequantizeLayouts(t *testing.T) {
	cases := append(legacyLayoutCases(), kLayoutCases()...)
	// Two copies of a block must decode to two copies of its values.
	for _, c := range append([]layoutCase(nil), cases...) {
		two := append(append([]byte(nil), c.src...), c.src...)
		cases = append(cases, layoutCase{c.name + " x2", c.typ, two, append(append([]float64(nil), c.want...), c.want...)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := make([]float32, len(c.want))
			if err := Dequantize(c.typ, got, c.src); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if float64(got[i]) != c.want[i] {
					t.Fatalf("element %d: got %g, want %g", i, got[i], c.want[i])
				}
			}
		})
	}
}

// TestQuantizeExactGrid checks that values already on a type's grid survive
// a quantize/dequantize round trip unchanged.
func TestQuantizeExactGrid(t *testing.T) {
	// Q8_0: values k*d with |k| <= 127 and max 127*d come back unchanged.
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32((i*37)%255-127) / 8
	}
	x[5] = 127.0 / 8
	x[40] = -127.0 / 8
	for _, typ := range []DType{Q8_0, Q8_1, Q8_K, F16, BF16, F32} {
		n := len(x)
		if typ == Q8_K {
			n = 256
		}
		in := make([]float32, n)
		copy(in, x)
		q := make([]byte, mustRowBytes(t, typ, n))
		if err := Quantize(typ, q, in); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, n)
		if err := Dequantize(typ, out, q); err != nil {
			t.Fatal(err)
		}
		for i := range in {
			if out[i] != in[i] {
				t.Errorf("%v: element %d: got %g, want %g", typ, i, out[i], in[i])
				break
			}
		}
	}
}

// TestQuantizeSideFields checks the fields that the dequantizers ignore:
// Q8_1's s = d*sum(q) and Q8_K's bsums.
func TestQuantizeSideFields(t *testing.T) {
	x := randomRow(1, 512, 2)
	q81 := make([]byte, 512/32*36)
	QuantizeRowQ8_1(q81, x)
	for b := 0; b < 512/32; b++ {
		blk := q81[36*b:]
		sum := 0
		for _, q := range blk[4:36] {
			sum += int(int8(q))
		}
		// ggml multiplies by the unrounded d = amax/127.
		var amax float32
		for _, v := range x[32*b : 32*b+32] {
			amax = max(amax, abs32(v))
		}
		want := Float32ToFloat16(float32(sum) * (amax / 127))
		if got := binary.LittleEndian.Uint16(blk[2:]); got != want {
			t.Errorf("Q8_1 block %d: s = %#04x, want %#04x (d*%d)", b, got, want, sum)
		}
	}
	q8k := make([]byte, 2*292)
	QuantizeRowQ8_K(q8k, x)
	for b := range 2 {
		blk := q8k[292*b:]
		for g := range 16 {
			sum := 0
			for _, q := range blk[4+16*g : 4+16*g+16] {
				sum += int(int8(q))
			}
			if got := int(int16(binary.LittleEndian.Uint16(blk[260+2*g:]))); got != sum {
				t.Errorf("Q8_K block %d: bsums[%d] = %d, want %d", b, g, got, sum)
			}
		}
	}
}

func mustRowBytes(t testing.TB, typ DType, n int) int {
	t.Helper()
	nb, err := RowBytes(typ, n)
	if err != nil {
		t.Fatal(err)
	}
	return nb
}
