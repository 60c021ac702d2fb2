package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/parallel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// benchShapes are Qwen2-1.5B's matrix shapes: attention/output projection,
// FFN gate/up, FFN down (rows×cols).
var benchShapes = [][2]int{{1536, 1536}, {8960, 1536}, {1536, 8960}}

// BenchmarkMatMul reports weight bytes per second (SetBytes is the weight
// size, whatever n is) and, for n > 1, the token rate of that one matrix.
func BenchmarkMatMul(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, typ := range allTypes {
		for _, sh := range benchShapes {
			rows, cols := sh[0], sh[1]
			if cols%typ.BlockSize() != 0 {
				continue
			}
			w := randomMat(rng, typ, rows, cols)
			for _, n := range []int{1, 64} {
				x := randomVec(rng, n*cols)
				out := make([]float32, n*rows)
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("%s/%dx%d/n=%d/threads=%d", typ, rows, cols, n, threads)
					b.Run(name, func(b *testing.B) {
						parallel.SetThreads(threads)
						b.SetBytes(int64(len(w.Data)))
						b.ReportAllocs()
						cpu0 := cpuTime()
						best := time.Duration(math.MaxInt64)
						for b.Loop() {
							t0 := time.Now()
							MatMul(out, w, x, n)
							best = min(best, time.Since(t0))
						}
						reportCPU(b, cpu0, len(w.Data))
						reportBest(b, best, len(w.Data), n)
					})
				}
			}
		}
	}
}

// BenchmarkMatMulVariants compares every implementation available here
// (generic, avx2, avx512) on the 1536×1536 shape, one thread.
func BenchmarkMatMulVariants(b *testing.B) {
	defer parallel.SetThreads(0)
	parallel.SetThreads(1)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, v := range variants() {
		for _, typ := range allTypes {
			w := randomMat(rng, typ, 1536, 1536)
			for _, n := range []int{1, 64} {
				if v.name == "generic" && n > 1 {
					continue // minutes per call
				}
				x := randomVec(rng, n*1536)
				out := make([]float32, n*1536)
				b.Run(fmt.Sprintf("%s/%s/n=%d", v.name, typ, n), func(b *testing.B) {
					b.SetBytes(int64(len(w.Data)))
					b.ReportAllocs()
					cpu0 := cpuTime()
					for b.Loop() {
						matMul(out, w, x, n, v.table[typ])
					}
					reportCPU(b, cpu0, len(w.Data))
				})
			}
		}
	}
}

var _ = tensor.F32

// cpuTime returns the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportBest reports the fastest single call as weight GB/s ("bestGB/s")
// and, for n > 1, tokens per second ("best-tok/s"): on a machine shared
// with other jobs the mean mixes in time when the cores were taken away.
func reportBest(b *testing.B, best time.Duration, bytes, n int) {
	if best <= 0 || best == time.Duration(math.MaxInt64) {
		return
	}
	b.ReportMetric(float64(bytes)/best.Seconds()/1e9, "bestGB/s")
	if n > 1 {
		b.ReportMetric(float64(n)/best.Seconds(), "best-tok/s")
	}
}

// reportCPU reports weight GB per CPU-second ("cpuGB/s"): on a shared
// machine wall-clock rates swing with other load, while this is the
// kernel's own throughput per busy core (with 2 threads it includes time
// the worker spends spinning).
func reportCPU(b *testing.B, cpu0 time.Duration, bytes int) {
	if d := cpuTime() - cpu0; d > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/d.Seconds()/1e9, "cpuGB/s")
	}
}

// BenchmarkMatMulStream measures decode (n=1) from DRAM: it cycles through
// copies of an 8960×1536 matrix totalling ≥ 256 MB, more than any cache, so
// the GB/s figure compares with the machine's memory bandwidth. "bw" is the
// best call's rate as a fraction of the read bandwidth measured in the same
// run on as many threads (readBandwidthGBs: a STREAM-style pass of plain
// loads over 256 MiB), printed as BenchmarkReadBandwidth.
func BenchmarkMatMulStream(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(2, 2))
	bw := map[int]float64{}
	for _, tc := range streamCases() {
		typ := tc.typ
		const rows, cols = 8960, 1536
		one := randomMat(rng, typ, rows, cols)
		if tc.inter {
			one, _ = Interleave(one)
		}
		ws := streamCopies(one)
		x := randomVec(rng, cols)
		out := make([]float32, rows)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", tc, threads), func(b *testing.B) {
				parallel.SetThreads(threads)
				b.SetBytes(int64(len(one.Data)))
				b.ReportAllocs()
				cpu0 := cpuTime()
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
				reportCPU(b, cpu0, len(one.Data))
				reportBest(b, best, len(one.Data), 1)
				if _, ok := bw[threads]; !ok {
					bw[threads] = readBandwidthGBs(threads)
				}
				if r := bw[threads]; r > 0 {
					b.ReportMetric(float64(len(one.Data))/best.Seconds()/1e9/r, "bw")
				}
			})
		}
	}
}

// streamCase is a weight type, row-major or interleaved (Interleave).
type streamCase struct {
	typ   tensor.DType
	inter bool
}

func (c streamCase) String() string {
	if c.inter {
		return c.typ.String() + "-interleaved"
	}
	return c.typ.String()
}

// streamCases are the decode benchmarks' weight types: the common ones,
// and the interleaved layout of those that have one on this CPU.
func streamCases() []streamCase {
	var cs []streamCase
	for _, typ := range append([]tensor.DType{tensor.F32, tensor.Q8_0, tensor.Q4_0, tensor.Q5_0, tensor.IQ4_NL, tensor.F16, tensor.BF16, tensor.Q4_K, tensor.Q6_K, tensor.Q5_K, tensor.Q2_K, tensor.Q3_K, tensor.Q4_1, tensor.Q5_1}, packedIQTypes...) {
		cs = append(cs, streamCase{typ: typ})
		if CanInterleave(typ) {
			cs = append(cs, streamCase{typ: typ, inter: true})
		}
	}
	return cs
}

// streamCopies returns copies of one totalling ≥ 256 MB, more than any
// cache, for benchmarks that stream weights from DRAM.
func streamCopies(one tensor.Mat) []tensor.Mat {
	ws := make([]tensor.Mat, (256<<20)/len(one.Data)+1)
	for i := range ws {
		ws[i] = one
		ws[i].Data = append([]byte(nil), one.Data...)
	}
	return ws
}

// BenchmarkReadBandwidth reports the memory read bandwidth the decode
// benchmarks compare with, on 1 and 2 threads.
func BenchmarkReadBandwidth(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			var r float64
			for b.Loop() {
				r = readBandwidthGBs(threads)
			}
			if r == 0 {
				b.Skip("no AVX-512 on this CPU")
			}
			b.ReportMetric(r, "GB/s")
		})
	}
}

// BenchmarkMatMulPrefill measures a 512-token prompt through the packed
// types on Qwen2-1.5B's shapes, as multiply-accumulates per second, and
// as a fraction of the VNNI ceiling measured in the same run ("peak", the
// best of a few runs of independent VPDPBUSD on as many threads; absent
// without VNNI). "best-GMAC/s" and "best-peak" use the fastest call and
// "cpu-GMAC/s" the process's CPU time (with 2 threads it includes the
// workers' spinning): on a shared machine the mean mixes in time when the
// cores were taken away.
func BenchmarkMatMulPrefill(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(3, 3))
	peak := map[int]float64{}
	for _, typ := range append(append(append(append([]tensor.DType{}, packedTypes...), packedKTypes...), packedIQTypes...), packed41Types...) {
		for _, sh := range benchShapes {
			rows, cols := sh[0], sh[1]
			w := randomMat(rng, typ, rows, cols)
			const n = 512
			x := randomVec(rng, n*cols)
			out := make([]float32, n*rows)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%dx%d/n=%d/threads=%d", typ, rows, cols, n, threads), func(b *testing.B) {
					parallel.SetThreads(threads)
					if _, ok := peak[threads]; !ok {
						peak[threads] = vnniPeakGMACs(threads)
					}
					b.ReportAllocs()
					best := time.Duration(math.MaxInt64)
					cpu0 := cpuTime()
					for b.Loop() {
						t0 := time.Now()
						MatMul(out, w, x, n)
						best = min(best, time.Since(t0))
					}
					macs := float64(rows * cols * n)
					rate := macs * float64(b.N) / b.Elapsed().Seconds() / 1e9
					b.ReportMetric(rate, "GMAC/s")
					b.ReportMetric(macs/best.Seconds()/1e9, "best-GMAC/s")
					if d := cpuTime() - cpu0; d > 0 {
						b.ReportMetric(macs*float64(b.N)/d.Seconds()/1e9*float64(threads), "cpu-GMAC/s")
					}
					if p := peak[threads]; p > 0 {
						b.ReportMetric(rate/p, "peak")
						b.ReportMetric(macs/best.Seconds()/1e9/p, "best-peak")
					}
				})
			}
		}
	}
}

// BenchmarkVNNIPeak reports the int8 VPDPBUSD ceiling BenchmarkMatMulPrefill
// compares with, on 1 and 2 threads.
func BenchmarkVNNIPeak(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			var p float64
			for b.Loop() {
				p = vnniPeakGMACs(threads)
			}
			if p == 0 {
				b.Skip("no AVX-512 VNNI on this CPU")
			}
			b.ReportMetric(p, "GMAC/s")
		})
	}
}

// BenchmarkMatMulStreamBatch measures batched decode from DRAM, the
// server's main path: n tokens (one per sequence) against an 8960×1536
// matrix cycled through copies totalling ≥ 256 MB, so the weights stream
// from memory once for all n tokens, on 2 threads. bestGB/s is weight bytes
// per second and "bw" its fraction of the read bandwidth on 2 threads;
// best-GMAC/s the multiply-adds and "peak" their fraction of the VNNI
// ceiling on 2 threads (BenchmarkVNNIPeak): small batches should be
// bandwidth-bound, large ones compute-bound.
func BenchmarkMatMulStreamBatch(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(2, 3))
	read, peak := readBandwidthGBs(2), vnniPeakGMACs(2)
	for _, tc := range streamCases() {
		typ := tc.typ
		if typ == tensor.Q5_K {
			continue
		}
		const rows, cols = 8960, 1536
		one := randomMat(rng, typ, rows, cols)
		if tc.inter {
			one, _ = Interleave(one)
		}
		ws := streamCopies(one)
		for _, n := range []int{1, 2, 4, 16, 64} {
			x := randomVec(rng, n*cols)
			out := make([]float32, n*rows)
			b.Run(fmt.Sprintf("%s/n=%d", tc, n), func(b *testing.B) {
				parallel.SetThreads(2)
				b.SetBytes(int64(len(one.Data)))
				b.ReportAllocs()
				i := 0
				best := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					MatMul(out, ws[i], x, n)
					best = min(best, time.Since(t0))
					if i++; i == len(ws) {
						i = 0
					}
				}
				reportBest(b, best, len(one.Data), n)
				if read > 0 {
					b.ReportMetric(float64(len(one.Data))/best.Seconds()/1e9/read, "bw")
				}
				macs := float64(rows*cols*n) / best.Seconds() / 1e9
				b.ReportMetric(macs, "best-GMAC/s")
				if peak > 0 {
					b.ReportMetric(macs/peak, "peak")
				}
			})
		}
	}
}

// BenchmarkMatMulPrefillFloat is BenchmarkMatMulPrefill for the float
// weight types (one 1536×1536 matrix, 512 tokens).
func BenchmarkMatMulPrefillFloat(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16} {
		const rows, cols, n = 1536, 1536, 512
		w := randomMat(rng, typ, rows, cols)
		x := randomVec(rng, n*cols)
		out := make([]float32, n*rows)
		b.Run(fmt.Sprintf("%s/%dx%d/n=%d", typ, rows, cols, n), func(b *testing.B) {
			parallel.SetThreads(2)
			b.ReportAllocs()
			for b.Loop() {
				MatMul(out, w, x, n)
			}
			b.ReportMetric(float64(rows*cols*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

// BenchmarkMatMulInterleaved compares the interleaved layout with the
// row-major one on a 1536×1536 matrix that stays in the cache, one thread,
// for every type with an interleaved layout here, as multiply-accumulates
// per second of the fastest call ("best-GMAC/s").
func BenchmarkMatMulInterleaved(b *testing.B) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(3, 5))
	for _, tc := range streamCases() {
		if !CanInterleave(tc.typ) {
			continue
		}
		const rows, cols = 1536, 1536
		w := randomMat(rng, tc.typ, rows, cols)
		if tc.inter {
			w, _ = Interleave(w)
		}
		for _, n := range []int{1, 16, 64, 512} {
			x := randomVec(rng, n*cols)
			out := make([]float32, n*rows)
			b.Run(fmt.Sprintf("%s/n=%d", tc, n), func(b *testing.B) {
				parallel.SetThreads(1)
				b.ReportAllocs()
				best := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					MatMul(out, w, x, n)
					best = min(best, time.Since(t0))
				}
				b.ReportMetric(float64(rows*cols*n)/best.Seconds()/1e9, "best-GMAC/s")
			})
		}
	}
}
