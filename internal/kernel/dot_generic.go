package kernel

import (
	"encoding/binary"
	"math"
)

// Reference row dot products, one per weight type. Each takes one weight row
// w (cols elements of the weight type) and one activation row a (cols
// elements of the activation type ggml pairs with it, see actType) and
// returns Σ_c W[c]·A[c] with llama.cpp's arithmetic:
//
//   - float types: products of the (rounded) values in float32 — exact for
//     f16×f16 and bf16×bf16 — summed here in float64 (ggml's scalar path
//     sums in ggml_float = double; its SIMD path in float32 lanes);
//   - 32-element quants: per block an exact integer dot isum = Σ qw·qa,
//     then sum = fma(float32(isum), d_w·d_a, sum) and, for the types with
//     a minimum (Q4_1, Q5_1; value d·q + m), sum = fma(m_w, s_a, sum),
//     blocks in order: the canonical order every implementation of these
//     types follows bit for bit (ggml adds (d_w·d_a)·isum + m_w·s_a with
//     separate roundings);
//   - K-quants and IQ4_XS: per 256-block exact integer sums over the
//     sub-block scales, times d_w·d_a, minus dmin_w·d_a·Σ min·bsum, summed
//     over blocks in float32 (ggml's vec_dot_qX_K_q8_K reference formulas).
//
// Only the order of float additions differs between these and ggml.

func dotF32Generic(w, a []byte, cols int) float32 {
	s := 0.0
	for i := 0; i < cols; i++ {
		wv := math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
		av := math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:]))
		s += float64(wv * av)
	}
	return float32(s)
}

func dotF16Generic(w, a []byte, cols int) float32 {
	s := 0.0
	for i := 0; i < cols; i++ {
		s += float64(h2f(w[2*i:]) * h2f(a[2*i:]))
	}
	return float32(s)
}

func dotBF16Generic(w, a []byte, cols int) float32 {
	s := 0.0
	for i := 0; i < cols; i++ {
		wv := bf2f(binary.LittleEndian.Uint16(w[2*i:]))
		av := bf2f(binary.LittleEndian.Uint16(a[2*i:]))
		s += float64(wv * av)
	}
	return float32(s)
}

// dotQ8_0Generic: Q8_0 block = d f16, qs [32]int8 (34 bytes) × Q8_0.
func dotQ8_0Generic(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, ab := w[b*34:b*34+34], a[b*34:b*34+34]
		var isum int32
		for j := 0; j < 32; j++ {
			isum += int32(int8(wb[2+j])) * int32(int8(ab[2+j]))
		}
		sum = fma32(float32(isum), h2f(wb)*h2f(ab), sum)
	}
	return sum
}

// dotQ4_0Generic: Q4_0 block = d f16, qs [16]byte (18 bytes); element j is
// (qs[j]&15)-8 and element j+16 is (qs[j]>>4)-8. × Q8_0.
func dotQ4_0Generic(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, ab := w[b*18:b*18+18], a[b*34:b*34+34]
		var isum int32
		for j := 0; j < 16; j++ {
			q := wb[2+j]
			isum += (int32(q&15) - 8) * int32(int8(ab[2+j]))
			isum += (int32(q>>4) - 8) * int32(int8(ab[18+j]))
		}
		sum = fma32(float32(isum), h2f(wb)*h2f(ab), sum)
	}
	return sum
}

// dotQ4_1Generic: Q4_1 block = d f16, m f16, qs [16]byte (20 bytes); value
// = d·q + m with unsigned nibbles. × Q8_1: d_w·d_a·Σq_w·q_a + m_w·s_a,
// the two terms added by two FMAs per block (packed41_generic.go).
func dotQ4_1Generic(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, ab := w[b*20:b*20+20], a[b*36:b*36+36]
		var isum int32
		for j := 0; j < 16; j++ {
			q := wb[4+j]
			isum += int32(q&15) * int32(int8(ab[4+j]))
			isum += int32(q>>4) * int32(int8(ab[20+j]))
		}
		sum = fma32(float32(isum), h2f(wb)*h2f(ab), sum)
		sum = fma32(h2f(wb[2:]), h2f(ab[2:]), sum)
	}
	return sum
}

// dotQ5_0Generic: Q5_0 block = d f16, qh uint32, qs [16]byte (22 bytes);
// element j = ((qs[j]&15) | bit j of qh <<4) - 16, element j+16 =
// ((qs[j]>>4) | bit j+16 of qh <<4) - 16. × Q8_0.
func dotQ5_0Generic(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, ab := w[b*22:b*22+22], a[b*34:b*34+34]
		qh := binary.LittleEndian.Uint32(wb[2:])
		var isum int32
		for j := 0; j < 16; j++ {
			q := wb[6+j]
			lo := int32(q&15|byte(qh>>j&1)<<4) - 16
			hi := int32(q>>4|byte(qh>>(j+16)&1)<<4) - 16
			isum += lo*int32(int8(ab[2+j])) + hi*int32(int8(ab[18+j]))
		}
		sum = fma32(float32(isum), h2f(wb)*h2f(ab), sum)
	}
	return sum
}

// dotQ5_1Generic: Q5_1 block = d f16, m f16, qh uint32, qs [16]byte (24
// bytes); unsigned 5-bit values. × Q8_1 like Q4_1.
func dotQ5_1Generic(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, ab := w[b*24:b*24+24], a[b*36:b*36+36]
		qh := binary.LittleEndian.Uint32(wb[4:])
		var isum int32
		for j := 0; j < 16; j++ {
			q := wb[8+j]
			lo := int32(q&15 | byte(qh>>j&1)<<4)
			hi := int32(q>>4 | byte(qh>>(j+16)&1)<<4)
			isum += lo*int32(int8(ab[4+j])) + hi*int32(int8(ab[20+j]))
		}
		sum = fma32(float32(isum), h2f(wb)*h2f(ab), sum)
		sum = fma32(h2f(wb[2:]), h2f(ab[2:]), sum)
	}
	return sum
}

// iq4nlValues is ggml's kvalues_iq4nl: the 16 non-uniform levels of IQ4_NL
// and IQ4_XS.
var iq4nlValues = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// dotIQ4_NLGeneric: IQ4_NL block = d f16, qs [16]byte (18 bytes); element j
// is iq4nlValues[qs[j]&15], element j+16 is iq4nlValues[qs[j]>>4]. × Q8_0.
func dotIQ4_NLGeneric(w, a []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, ab := w[b*18:b*18+18], a[b*34:b*34+34]
		var isum int32
		for j := 0; j < 16; j++ {
			q := wb[2+j]
			isum += int32(iq4nlValues[q&15]) * int32(int8(ab[2+j]))
			isum += int32(iq4nlValues[q>>4]) * int32(int8(ab[18+j]))
		}
		sum = fma32(float32(isum), h2f(wb)*h2f(ab), sum)
	}
	return sum
}

// fma32 returns x·y + z rounded once to float32, as a float32 FMA
// instruction does. The product is exact in float64; the sum is rounded to
// odd in float64 (its exact error, by TwoSum, decides the last bit), and a
// round-to-odd result with 53 ≥ 24+2 bits rounds to float32 as the exact
// value would.
func fma32(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	zz := float64(z)
	s := p + zz
	bb := s - p
	e := (p - (s - bb)) + (zz - bb)
	if e != 0 && !math.IsInf(s, 0) {
		b := math.Float64bits(s)
		if b&1 == 0 {
			if (e > 0) == (s > 0) {
				b++
			} else {
				b--
			}
			s = math.Float64frombits(b)
		}
	}
	return float32(s)
}
