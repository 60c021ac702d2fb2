package kernel

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// ReadBandwidth measures the memory read bandwidth of mem (at least 32 MiB;
// a few hundred MiB, more than any cache, for DRAM's) in GB/s on threads
// threads (0: parallel.Threads()): the ceiling of decode, which reads every
// weight once per token. It is a STREAM-style pass of plain loads
// (readMemGBs), takes well under a second, and restores the thread count.
// Give it memory on the pages the weights are on; with less than 32 MiB
// it returns 0.
func ReadBandwidth(mem []byte, threads int) float64 {
	if threads <= 0 {
		threads = parallel.Threads()
	}
	return readMemGBs(mem, threads)
}

// readMemGBs measures the read bandwidth of mem (at least 32 MiB) in GB/s:
// 32 MiB windows, cycling through mem so that no window is still cached
// when mem is much larger than the caches, each read by threads threads of
// the kernels' own pool (parallel.Run over 128 pieces, as MatMul hands out
// rows) with loads only (and software prefetch, as the decode kernels'
// streams have); the best of 64 windows, as the decode benchmarks take
// their best call.
func readMemGBs(mem []byte, threads int) float64 {
	if len(mem) < 32<<20 {
		return 0
	}
	defer parallel.SetThreads(parallel.Threads())
	parallel.SetThreads(threads)
	const window, pieces = 32 << 20, 128
	const piece = window / pieces
	best := time.Duration(1 << 62)
	var sink atomic.Uint64
	for pass := range 64 {
		s := mem[(pass%(len(mem)/window))*window:]
		start := time.Now()
		parallel.Run(pieces, parallel.Func(func(lo, hi int) {
			sink.Add(readBytes(s[lo*piece : hi*piece]))
		}))
		best = min(best, time.Since(start))
	}
	return float64(window) / best.Seconds() / 1e9
}

// readBytesGo reads b (a multiple of 32 bytes) and returns a value that
// depends on all of it: readBytes where there is no vector kernel.
func readBytesGo(b []byte) uint64 {
	var a0, a1, a2, a3 uint64
	for i := 0; i+32 <= len(b); i += 32 {
		a0 ^= binary.LittleEndian.Uint64(b[i:])
		a1 ^= binary.LittleEndian.Uint64(b[i+8:])
		a2 ^= binary.LittleEndian.Uint64(b[i+16:])
		a3 ^= binary.LittleEndian.Uint64(b[i+24:])
	}
	return a0 ^ a1 ^ a2 ^ a3
}
