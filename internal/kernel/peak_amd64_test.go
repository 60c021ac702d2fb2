//go:build !purego

package kernel

import (
	"sync"
	"time"
)

// vnniPeakGMACs measures the int8 multiply-accumulate ceiling of threads
// cores running independent zmm VPDPBUSD (vnniPeak), in GMAC/s: the best
// of 20 short runs (about 0.3 ms each), so that other load on the machine
// lowers it as little as possible. It returns 0 without AVX-512 VNNI.
func vnniPeakGMACs(threads int) float64 {
	if !hasVNNI {
		return 0
	}
	const rounds = 1 << 16 // 2^26 multiply-adds per thread
	best := time.Duration(1 << 62)
	for range 20 {
		var wg sync.WaitGroup
		start := time.Now()
		for range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				vnniPeak(rounds)
			}()
		}
		wg.Wait()
		best = min(best, time.Since(start))
	}
	return float64(rounds) * 1024 * float64(threads) / best.Seconds() / 1e9
}

// readBuf is the buffer readBandwidthGBs streams: 256 MiB, far more than
// any cache, filled so that every page is backed by its own memory.
var readBuf = sync.OnceValue(func() []byte {
	b := make([]byte, 256<<20)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
})

// readBandwidthGBs measures the memory read bandwidth of threads threads
// streaming readBuf: readMemGBs. It returns 0 without AVX-512 or AVX2.
func readBandwidthGBs(threads int) float64 {
	if !hasAVX512 && !hasAVX2 {
		return 0
	}
	return readMemGBs(readBuf(), threads)
}
