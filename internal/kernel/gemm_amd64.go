//go:build !purego

package kernel

//go:generate sh -c "cd _asm && go run . -gemm -pkg kernel -out ../gemm_amd64.s -stubs ../gemm_stub_amd64.go"

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The Gemm micro-kernels of gemm_amd64.s need AVX-512F and FMA (12×32
// tiles) or AVX2 and FMA (6×16 tiles).
var (
	hasGemmAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasFMA
	hasGemmAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

var (
	gemmAVX512 = &gemmImplT{name: "avx512", rows: 12, cols: 32, tile: asmTile(gemmF32AVX512_12x32)}
	gemmAVX2   = &gemmImplT{name: "avx2", rows: 6, cols: 16, tile: asmTile(gemmF32AVX2_6x16)}
)

// gemmImpls lists the implementations this CPU runs, reference first and
// best last; gemmImpl is the best.
var gemmImpls = func() []*gemmImplT {
	im := []*gemmImplT{gemmGeneric}
	if hasGemmAVX2 {
		im = append(im, gemmAVX2)
	}
	if hasGemmAVX512 {
		im = append(im, gemmAVX512)
	}
	return im
}()

var gemmImpl = gemmImpls[len(gemmImpls)-1]

// asmTile adapts a generated micro-kernel (byte strides, pointers) to
// gemmTile (element strides, slices).
func asmTile(f func(a *float32, ars, aks int, b *float32, bks int, k int, c *float32, ldc int, load int)) gemmTile {
	return func(a []float32, ars, aks int, b []float32, bks int, k int, c []float32, ldc int, load bool) {
		l := 0
		if load {
			l = 1
		}
		f((*float32)(unsafe.Pointer(unsafe.SliceData(a))), 4*ars, 4*aks, (*float32)(unsafe.Pointer(unsafe.SliceData(b))), 4*bks, k,
			(*float32)(unsafe.Pointer(unsafe.SliceData(c))), 4*ldc, l)
	}
}
