//go:build !unix

package gguf

import (
	"io"
	"os"
)

// mapFile reads the file into memory on systems without mmap support here.
// TODO(sputnik): use MapViewOfFile on Windows.
func mapFile(fh *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(fh, b); err != nil {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}

// adviseWillNeed is a no-op here: the file is read into memory at open.
func adviseWillNeed(mapping []byte, off, n int) {}

// adviseDontNeed is a no-op here: the file is read into memory at open.
func adviseDontNeed(mapping []byte, off, n int) {}
