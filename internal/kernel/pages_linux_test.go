//go:build linux && amd64 && !purego

package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// BenchmarkMatMulStreamPages is BenchmarkMatMulStream on weights in
// anonymous memory mapped with 4 KiB pages (MADV_NOHUGEPAGE) or 2 MiB
// pages (MADV_HUGEPAGE, where transparent huge pages are enabled), with
// the read bandwidth of that same memory ("readGB/s", plain loads over
// 16 MiB slices, best of 32) and the decode rate as a fraction of it
// ("bw"): what TLB misses cost decode. Under a hypervisor a TLB miss walks
// two page tables.
func BenchmarkMatMulStreamPages(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tc := range streamCases() {
		typ := tc.typ
		if typ == tensor.Q5_0 || typ == tensor.IQ4_NL || typ == tensor.Q5_K {
			continue
		}
		const rows, cols = 8960, 1536
		one := randomMat(rng, typ, rows, cols)
		if tc.inter {
			one, _ = Interleave(one)
		}
		sz := (len(one.Data) + 4095) &^ 4095
		copies := (256<<20)/sz + 1
		for _, huge := range []bool{false, true} {
			mem, err := unix.Mmap(-1, 0, copies*sz, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
			if err != nil {
				b.Fatal(err)
			}
			adv := unix.MADV_NOHUGEPAGE
			if huge {
				adv = unix.MADV_HUGEPAGE
			}
			if err := unix.Madvise(mem, adv); err != nil {
				b.Skipf("madvise: %v", err)
			}
			ws := make([]tensor.Mat, copies)
			for i := range ws {
				ws[i] = one
				ws[i].Data = mem[i*sz : i*sz+len(one.Data)]
				copy(ws[i].Data, one.Data)
			}
			x := randomVec(rng, cols)
			out := make([]float32, rows)
			pages := "4K"
			if huge {
				pages = "2M"
			}
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/pages=%s/threads=%d", tc, pages, threads), func(b *testing.B) {
					parallel.SetThreads(threads)
					b.SetBytes(int64(len(one.Data)))
					i := 0
					best := time.Duration(math.MaxInt64)
					for b.Loop() {
						t0 := time.Now()
						MatMul(out, ws[i], x, 1)
						best = min(best, time.Since(t0))
						if i++; i == len(ws) {
							i = 0
						}
					}
					dec := float64(len(one.Data)) / best.Seconds() / 1e9
					b.ReportMetric(dec, "bestGB/s")
					read := readMemGBs(mem, threads)
					b.ReportMetric(read, "readGB/s")
					b.ReportMetric(dec/read, "bw")
				})
			}
			if err := unix.Munmap(mem); err != nil {
				b.Fatal(err)
			}
		}
	}
}
