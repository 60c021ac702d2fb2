//go:build !purego

package kernel

// readBytes reads b (a multiple of 256 bytes) with zmm loads where the CPU
// has AVX-512, ymm loads where it has AVX2.
func readBytes(b []byte) uint64 {
	switch {
	case len(b) == 0:
	case hasAVX512:
		return readBytesAVX512(&b[0], len(b))
	case hasAVX2:
		return readBytesAVX2(&b[0], len(b))
	}
	return readBytesGo(b)
}
