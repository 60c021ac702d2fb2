//go:build !amd64 || purego

package kernel

// readBytes reads b (see bandwidth.go).
func readBytes(b []byte) uint64 { return readBytesGo(b) }
