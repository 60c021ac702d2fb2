//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -set avx2pk -pkg kernel -out ../avx2pk_amd64.s -stubs ../avx2pk_stub_amd64.go"

import (
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// The AVX2 packed K path: long batches of the K-quants and of the codebook
// i-quants on CPUs without AVX-512 VNNI (avx2pk_amd64.s, _asm/avx2pk.go).
//
// The interleaved K groups (avx2InterK) are unpacked once per call into
// the packed K layouts of packedk_generic.go, which the 16-row × T-token
// AVX2 packed tiles read: each weight vector's unpacking is paid once for
// all tokens rather than once per tile of 4–8 tokens. Q3_K alone goes into
// a layout of its own, the Q6_K one with Q3_K's values 0..7 and scales −
// 32 (VPMADDUBSW cannot take the VNNI layout's folded values up to 252);
// its block sum Σ_g sc_g·(Σ u·q − 4·bsum_g) is Q3_K's K-quant isum. The
// codebook i-quants get a packed path (packedImpl) that packs their
// row-major blocks into the Q6_K layout (the AVX2 pack kernels a2IQPacks of
// avx2pk2_amd64.s; reference packGroupIQGeneric), as the VNNI path does,
// for the same tiles.
//
// Every tile adds in the K-quant (i-quant) order, so a token's result is
// the same bits whichever path ran (the interleaved or decode tiles, these,
// or the AVX-512 VNNI ones).

// a2pTileSet is one packed layout's 16-row × T-token tiles (T ≤ a2pMaxT).
type a2pTileSet = [packTokens + 1]func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int)

var (
	a2pTilesQ4_K = a2pTileSet{1: tileA2PQ4_K_16x1, 2: tileA2PQ4_K_16x2, 3: tileA2PQ4_K_16x3,
		4: tileA2PQ4_K_16x4, 5: tileA2PQ4_K_16x5, 6: tileA2PQ4_K_16x6}
	a2pTilesQ5_K = a2pTileSet{1: tileA2PQ5_K_16x1, 2: tileA2PQ5_K_16x2, 3: tileA2PQ5_K_16x3,
		4: tileA2PQ5_K_16x4, 5: tileA2PQ5_K_16x5, 6: tileA2PQ5_K_16x6}
	// a2pTilesK6: the Q6_K layout with offset k = 32 and values ≤ 63
	// (Q6_K, IQ1_S, IQ1_M, IQ3_S).
	a2pTilesK6 = a2pTileSet{1: tileA2PK6_16x1, 2: tileA2PK6_16x2, 3: tileA2PK6_16x3,
		4: tileA2PK6_16x4, 5: tileA2PK6_16x5, 6: tileA2PK6_16x6}
	// a2pTilesK3: the Q6_K layout with k = 4 (Q3_K).
	a2pTilesK3 = a2pTileSet{1: tileA2PK3_16x1, 2: tileA2PK3_16x2, 3: tileA2PK3_16x3,
		4: tileA2PK3_16x4, 5: tileA2PK3_16x5, 6: tileA2PK3_16x6}
	// a2pTilesKI: the Q6_K layout with k = 64 and values ≤ 126 (IQ2_XXS,
	// IQ2_XS, IQ2_S, IQ3_XXS).
	a2pTilesKI = a2pTileSet{1: tileA2PKI_16x1, 2: tileA2PKI_16x2, 3: tileA2PKI_16x3,
		4: tileA2PKI_16x4, 5: tileA2PKI_16x5, 6: tileA2PKI_16x6}
	a2pTilesQ2_K = a2pTileSet{1: tileA2PQ2_K_16x1, 2: tileA2PQ2_K_16x2, 3: tileA2PQ2_K_16x3,
		4: tileA2PQ2_K_16x4, 5: tileA2PQ2_K_16x5, 6: tileA2PQ2_K_16x6}
)

// a2pMaxT is the most tokens an AVX2 packed tile takes.
const a2pMaxT = 6

// a2pQ6Bytes is the bytes per block of the Q6_K packed layout.
const a2pQ6Bytes = 5184

// a2pMinUnpack is, per type, the fewest tokens for which an interleaved K
// group is unpacked for the packed tiles rather than read by the
// interleaved ones. Measured (BenchmarkAVX2PackedMin: 1536×1536 from
// cache, one thread, AVX-512 masked off on a shared and noisy 2-CPU Zen 4)
// the packed tiles lead from 8 tokens for Q5_K and Q3_K, from 12 for Q6_K
// and from 16 for Q4_K and Q2_K.
var a2pMinUnpack = map[tensor.DType]int{tensor.Q4_K: 16, tensor.Q5_K: 8, tensor.Q6_K: 12, tensor.Q2_K: 16, tensor.Q3_K: 8}

// withAVX2Unpack gives the AVX2 interleaved K implementations in m their
// unpack kernels and packed tiles, and the AVX2 quantizer.
func withAVX2Unpack(m map[tensor.DType]*interleavedImpl) map[tensor.DType]*interleavedImpl {
	for _, im := range m {
		im.quant = quantQ8_KxAVX2
	}
	for typ, u := range map[tensor.DType]struct {
		unpack func(p *byte, nb int, dst *byte)
		tiles  *a2pTileSet
		bytes  int
	}{
		tensor.Q4_K: {unpackA2PQ4_K, &a2pTilesQ4_K, packedKBlockBytes(tensor.Q4_K)},
		tensor.Q5_K: {unpackA2PQ5_K, &a2pTilesQ5_K, packedKBlockBytes(tensor.Q5_K)},
		tensor.Q6_K: {unpackA2PQ6_K, &a2pTilesK6, a2pQ6Bytes},
		tensor.Q3_K: {unpackA2PQ3_K, &a2pTilesK3, a2pQ6Bytes},
		tensor.Q2_K: {unpackA2PQ2_K, &a2pTilesQ2_K, packedKBlockBytes(tensor.Q2_K)},
	} {
		im := m[typ]
		if im == nil {
			continue
		}
		im.unpack, im.ptiles, im.packBytes, im.minUnpack = u.unpack, a2pTo8(u.tiles), u.bytes, a2pMinUnpack[typ]
	}
	return m
}

// a2pTo8 returns tiles with the 7- and 8-token tiles made of two smaller
// ones (a2pSplit): the paths step through the tokens by maxT, which must
// divide packTokens (an activation tile), so 8 rather than a2pMaxT.
func a2pTo8(tiles *a2pTileSet) *a2pTileSet {
	t := *tiles
	for T := a2pMaxT + 1; T <= 8; T++ {
		t[T] = a2pSplit(tiles, T)
	}
	return &t
}

// a2pSplit returns a T-token tile (a2pMaxT < T ≤ 2·a2pMaxT) made of two
// smaller ones of tiles, for the interleaved implementations whose maxT
// is larger than a2pMaxT.
func a2pSplit(tiles *a2pTileSet, T int) func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int) {
	t0 := T / 2
	f0, f1 := tiles[t0], tiles[T-t0]
	return func(p *byte, a *byte, as int, nb int, out *float32, os int, mask int) {
		f0(p, a, as, nb, out, os, mask)
		f1(p, (*byte)(unsafe.Add(unsafe.Pointer(a), t0*actKBytes)), as, nb, (*float32)(unsafe.Add(unsafe.Pointer(out), 4*t0*os)), os, mask)
	}
}

// unpackInterKA2Generic is the reference of the AVX2 unpack kernels: the
// nb blocks of the interleaved group g of K type t in the packed layout
// of the AVX2 packed tiles (Q3_K: the Q6_K layout of its values 0..7 and
// scales − 32; the other types packedk_generic.go's) into dst.
func unpackInterKA2Generic(t tensor.DType, g []byte, nb int, dst []byte) {
	if t != tensor.Q3_K {
		unpackInterKGeneric(t, g, nb, dst)
		return
	}
	var kb kBlock
	for b := range nb {
		o := dst[b*a2pQ6Bytes : (b+1)*a2pQ6Bytes]
		for r := range packRows {
			decodeInterK(t, g, b, r, &kb)
			putPackedK(tensor.Q6_K, o, r, &kb)
		}
	}
}

// a2pIQMinTokens is the smallest batch the AVX2 packed i-quant path takes;
// smaller ones go to the one-row tiles (avx2IQ13Tiles, avx2IQ2Tiles),
// which add in the same order. Measured as a2pMinUnpack
// (BenchmarkAVX2PackedMin), the packed path leads from 8 tokens (by 6–20%
// for IQ2_XXS, IQ1_S and IQ3_XXS; at 4 it trails by a quarter): the AVX2
// pack kernels (a2IQPacks) cost 23–34 ns per row and block, the Go pack
// they replaced about 160.
var a2pIQMinTokens = 8

// setAVX2PackedIQ gives the codebook i-quants of t (the avx2 set, after
// setAVX2IQ13 and setAVX2IQ2) the AVX2 packed path: their blocks packed
// into the Q6_K layout (a2IQPacks), the AVX2 packed tiles of their offset, and
// Q8_K activations with their offsets (the VNNI path's bytes); and the
// row-major Q8_K activations of t the AVX2 quantizer (setAVX2RowQuant).
func setAVX2PackedIQ(t *implTable) {
	setAVX2RowQuant(t)
	for typ, tiles := range map[tensor.DType]*a2pTileSet{
		tensor.IQ2_XXS: &a2pTilesKI, tensor.IQ2_XS: &a2pTilesKI, tensor.IQ2_S: &a2pTilesKI,
		tensor.IQ3_XXS: &a2pTilesKI, tensor.IQ3_S: &a2pTilesK6,
		tensor.IQ1_S: &a2pTilesK6, tensor.IQ1_M: &a2pTilesK6,
	} {
		if t[typ] == nil || t[typ].block == nil {
			continue
		}
		im := *t[typ]
		im.packed = &packedImpl{k: iqKinds[typ].k, minTokens: a2pIQMinTokens, pack: a2IQPacks[typ], quant: quantQ8_KxIQAVX2,
			tiles: a2pTo8(tiles), blockElems: 256, blockBytes: a2pQ6Bytes, actBytes: actKBytes, maxT: 8}
		t[typ] = &im
	}
}

// packIQGo returns packGroupIQGeneric for i-quant type t with the
// signature of the pack kernels: 16 rows at w, ws bytes apart, nb blocks
// (the baseline of BenchmarkAVX2PackIQ).
func packIQGo(t tensor.DType) func(w *byte, ws int, nb int, dst *byte) {
	ts := t.TypeSize()
	return func(w *byte, ws int, nb int, dst *byte) {
		packGroupIQGeneric(t, unsafe.Slice(w, (packRows-1)*ws+nb*ts), ws, packRows, nb, unsafe.Slice(dst, nb*a2pQ6Bytes))
	}
}

// quantQ8_KxIQGo is quantQ8_KxIQAVX512 in Go: interleaved K activation
// blocks with the group offsets negk·bsum_g of an i-quant.
func quantQ8_KxIQGo(x *float32, out *byte, nb int, stride int, negk int) {
	quantQ8_KxGo(x, out, nb, stride, 0)
	if negk == -32 {
		return
	}
	o := unsafe.Slice(out, (nb-1)*stride+actKBytes)
	for b := range nb {
		putIQOffsets(o[b*stride:], int32(negk))
	}
}
