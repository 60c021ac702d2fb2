//go:build !unix

package sysmem

// AllocHuge returns n zero bytes and a no-op release (see huge_unix.go).
func AllocHuge(n int) ([]byte, func() error, error) {
	return make([]byte, n), func() error { return nil }, nil
}
