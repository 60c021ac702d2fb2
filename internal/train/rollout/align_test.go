package rollout

import (
	"bytes"
	"testing"
	"unsafe"
)

// TestAlignedCopy: the copy Load makes of a misaligned image starts at a
// 32-byte boundary and holds the same bytes, whatever the source's length
// and offset (lengths vary the size class, so the heap hands out buffers
// at assorted alignments).
func TestAlignedCopy(t *testing.T) {
	src := make([]byte, 240)
	for i := range src {
		src[i] = byte(i*7 + 1)
	}
	for off := range 40 {
		for n := 1; off+n <= len(src); n += 7 {
			b := src[off : off+n]
			c := alignedCopy(b)
			if a := uintptr(unsafe.Pointer(unsafe.SliceData(c))) % 32; a != 0 {
				t.Errorf("offset %d: copy at address ≡ %d mod 32", off, a)
			}
			if !bytes.Equal(c, b) || cap(c) != len(b) {
				t.Errorf("offset %d: copy differs (len %d cap %d, want len %d)", off, len(c), cap(c), len(b))
			}
		}
	}
}
