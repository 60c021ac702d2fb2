//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set avx2k -pkg kernel -out ../avx2k_amd64.s -stubs ../avx2k_stub_amd64.go"

import (
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// avx2TilesQ4_K, avx2TilesQ5_K, avx2TilesQ6_K, avx2TilesQ2_K,
// avx2TilesQ3_K and avx2TilesIQ4_XS are the AVX2 16-row ×
// T-token interleaved K kernels (T ≤ 8, avx2k_amd64.s).
var (
	avx2TilesQ4_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileA2Q4_K_16x1, 2: tileA2Q4_K_16x2, 3: tileA2Q4_K_16x3, 4: tileA2Q4_K_16x4,
		5: tileA2Q4_K_16x5, 6: tileA2Q4_K_16x6, 7: tileA2Q4_K_16x7, 8: tileA2Q4_K_16x8,
	}
	avx2TilesQ5_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileA2Q5_K_16x1, 2: tileA2Q5_K_16x2, 3: tileA2Q5_K_16x3, 4: tileA2Q5_K_16x4,
		5: tileA2Q5_K_16x5, 6: tileA2Q5_K_16x6, 7: tileA2Q5_K_16x7, 8: tileA2Q5_K_16x8,
	}
	avx2TilesQ6_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileA2Q6_K_16x1, 2: tileA2Q6_K_16x2, 3: tileA2Q6_K_16x3, 4: tileA2Q6_K_16x4,
		5: tileA2Q6_K_16x5, 6: tileA2Q6_K_16x6, 7: tileA2Q6_K_16x7, 8: tileA2Q6_K_16x8,
	}
	avx2TilesQ2_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileA2Q2_K_16x1, 2: tileA2Q2_K_16x2, 3: tileA2Q2_K_16x3, 4: tileA2Q2_K_16x4,
		5: tileA2Q2_K_16x5, 6: tileA2Q2_K_16x6, 7: tileA2Q2_K_16x7, 8: tileA2Q2_K_16x8,
	}
	avx2TilesQ3_K = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileA2Q3_K_16x1, 2: tileA2Q3_K_16x2, 3: tileA2Q3_K_16x3, 4: tileA2Q3_K_16x4,
		5: tileA2Q3_K_16x5, 6: tileA2Q3_K_16x6, 7: tileA2Q3_K_16x7, 8: tileA2Q3_K_16x8,
	}
	avx2TilesIQ4_XS = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int){
		1: tileA2IQ4_XS_16x1, 2: tileA2IQ4_XS_16x2, 3: tileA2IQ4_XS_16x3, 4: tileA2IQ4_XS_16x4,
		5: tileA2IQ4_XS_16x5, 6: tileA2IQ4_XS_16x6, 7: tileA2IQ4_XS_16x7, 8: tileA2IQ4_XS_16x8,
	}
)

// avx2KMaxT is the most tokens an AVX2 K tile of Q4_K and Q5_K takes,
// avx2KMaxT6 Q6_K's, Q2_K's and Q3_K's (Q6_K's 8-token kernels, twice as
// long as the 4-token ones, measured slower).
var avx2KMaxT, avx2KMaxT6 = 8, 4

// avx2InterK returns the AVX2 interleaved kernels of the K-quants and
// IQ4_XS: the interleaved layouts (interleavek.go, interleavek23.go,
// interleave41.go) against Q8_K activation blocks in the packed K path's
// tiles (the bytes the AVX-512 quantizer writes; the tiles read only
// their Q8_K part; withAVX2Unpack sets the AVX2 quantizer), adding in the K-quant
// (IQ4_XS: i-quant) order as the VNNI tiles do.
//
// Measured with AVX-512 masked off (GODEBUG=cpu.avx512f=off) on a shared,
// noisy 2-CPU Zen 4: 1536×1536 from cache, one thread, GMAC/s at 1 and 512
// tokens: Q4_K 46 and 76, Q5_K 23 and 48, Q6_K 26 and 35–60, Q2_K 44 and
// 72, Q3_K 31 and 61, IQ4_XS 34 and 46 (the pure-Go row dots they replace:
// about 0.5); decode from DRAM (BenchmarkMatMulStream) 20–43 GB/s.
func avx2InterK() map[tensor.DType]*interleavedImpl {
	im := func(tiles *[packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int), maxT int) *interleavedImpl {
		return &interleavedImpl{blockElems: 256, actBytes: actKBytes, maxT: maxT, quant: quantQ8_KxGo, tiles: tiles}
	}
	return withAVX2Unpack(map[tensor.DType]*interleavedImpl{
		tensor.Q4_K: im(&avx2TilesQ4_K, avx2KMaxT),
		tensor.Q5_K: im(&avx2TilesQ5_K, avx2KMaxT),
		tensor.Q6_K: im(&avx2TilesQ6_K, avx2KMaxT6),
		tensor.Q2_K: im(&avx2TilesQ2_K, avx2KMaxT6),
		tensor.Q3_K: im(&avx2TilesQ3_K, avx2KMaxT6),
		// IQ4_XS (interleave41.go's layout) in the i-quant order
		// (packiq_generic.go), which is the K-quant one without mins.
		tensor.IQ4_XS: im(&avx2TilesIQ4_XS, avx2KMaxT6),
	})
}

// setKOrdered gives the types of t that have interleaved kernels adding in
// the K-quant or i-quant order (inter, from avx2InterK) that order's row
// dot (dotKOrdered, dotIQOrdered) for their row-major matrices, so that a
// row-major and an interleaved matrix give the same bits in t.
func setKOrdered(t *implTable, inter map[tensor.DType]*interleavedImpl) {
	for typ := range inter {
		im := *t[typ]
		im.dot = func(w, a []byte, cols int) float32 { return dotKOrdered(typ, w, a, cols) }
		if _, ok := iqKinds[typ]; ok {
			im.dot = func(w, a []byte, cols int) float32 { return dotIQOrdered(typ, w, a, cols) }
		}
		im.block, im.packed = nil, nil
		t[typ] = &im
	}
}

// quantQ8_KxGo is quantizeRowQ8_KxGeneric with the signature of the
// interleaved paths' quantizers: a token row's nb interleaved K
// activation blocks, stride bytes apart, with −k·Σq given negk = −k.
func quantQ8_KxGo(x *float32, out *byte, nb int, stride int, negk int) {
	xs := unsafe.Slice(x, 256*nb)
	o := unsafe.Slice(out, (nb-1)*stride+actKBytes)
	quantizeRowQ8_KxGeneric(o, xs, stride, negk)
}
