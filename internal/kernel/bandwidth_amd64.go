//go:build !purego

package kernel

// readBytes reads b (a multiple of 256 bytes) with zmm loads where the CPU
// has AVX-512.
func readBytes(b []byte) uint64 {
	if hasAVX512 && len(b) > 0 {
		return readBytesAVX512(&b[0], len(b))
	}
	return readBytesGo(b)
}
