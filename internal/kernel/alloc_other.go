//go:build !linux

package kernel

// collapseHuge does nothing here (see alloc_linux.go).
func collapseHuge(b []byte) {}
