//go:build !purego

package kernel

import (
	"sync"
	"sync/atomic"
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

// readBandwidthGBs measures the memory read bandwidth of threads
// goroutines streaming 16 MiB slices of readBuf (each its share of a slice;
// readBytesAVX512, loads only), cycling through the buffer so that no
// slice is still cached, in GB/s: the best of 48 slices, as the decode
// benchmarks take their best call. It returns 0 without AVX-512.
func readBandwidthGBs(threads int) float64 {
	if !hasAVX512 {
		return 0
	}
	buf := readBuf()
	const slice = 16 << 20
	share := slice / threads &^ 255
	best := time.Duration(1 << 62)
	var sink atomic.Uint64
	for pass := range 48 {
		s := buf[(pass%(len(buf)/slice))*slice:]
		var wg sync.WaitGroup
		start := time.Now()
		for i := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sink.Add(readBytesAVX512(&s[i*share], share))
			}()
		}
		wg.Wait()
		best = min(best, time.Since(start))
	}
	return float64(share*threads) / best.Seconds() / 1e9
}
