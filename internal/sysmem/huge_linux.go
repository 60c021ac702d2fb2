//go:build linux

package sysmem

import "golang.org/x/sys/unix"

func adviseHuge(b []byte) error { return unix.Madvise(b, unix.MADV_HUGEPAGE) }
