//go:build linux

package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// madvCollapse is MADV_COLLAPSE (Linux 6.1+).
const madvCollapse = 25

// collapseHuge asks Linux to move the whole 2 MiB pages of b, just written,
// onto transparent huge pages now (MADV_COLLAPSE) where the system allows
// it. Decode reads every weight once per token: on 4 KiB pages a gigabyte
// of weights is a quarter of a million TLB entries, and under a hypervisor
// each miss walks two page tables (BenchmarkMatMulStreamPages: interleaved
// Q4_0 streamed 18% faster on 1 thread and 41% on 2 from 2 MiB pages). It
// is a hint: older kernels and errors leave b on small pages. Asking for
// huge pages before writing (MADV_HUGEPAGE) was slower to load here: with
// the "madvise" defrag setting every fault compacts memory.
func collapseHuge(b []byte) {
	const huge = 2 << 20
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (p + huge - 1) &^ (huge - 1)
	end := (p + uintptr(len(b))) &^ (huge - 1)
	if end > start {
		_ = unix.Madvise(b[start-p:end-p], madvCollapse)
	}
}
