package kernel

import (
	"fmt"
	"github.com/sputnik-llm/sputnik/internal/testutil"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/parallel"
)

// gemmCase builds the operands of an m×n×k product with the given layouts,
// strides a little wider than needed, and C with a guard band of NaNs
// around the m×n block (in the padding of each row and after the last).
func gemmCase(rng *rand.Rand, m, n, k int, ta, tb, acc bool) *GemmArgs {
	g := &GemmArgs{M: m, N: n, K: k, TransA: ta, TransB: tb, Acc: acc}
	mk := func(rows, cols int) ([]float32, int) {
		ld := cols + 3
		x := make([]float32, max(rows*ld, 1))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x, ld
	}
	if ta {
		g.A, g.LDA = mk(k, m)
	} else {
		g.A, g.LDA = mk(m, k)
	}
	if tb {
		g.B, g.LDB = mk(n, k)
	} else {
		g.B, g.LDB = mk(k, n)
	}
	g.LDC = n + 5
	g.C = make([]float32, m*g.LDC+7)
	for i := range g.C {
		g.C[i] = float32(math.NaN())
	}
	for i := range m {
		for j := range n {
			g.C[i*g.LDC+j] = float32(rng.NormFloat64())
		}
	}
	return g
}

// gemmWant returns the float64 product (plus C's start values with Acc)
// and, per element, Σ|terms| for the tolerance.
func gemmWant(g *GemmArgs) (want, mag []float64) {
	want, mag = make([]float64, g.M*g.N), make([]float64, g.M*g.N)
	for i := range g.M {
		for j := range g.N {
			s, a := 0.0, 0.0
			if g.Acc {
				s = float64(g.C[i*g.LDC+j])
				a = math.Abs(s)
			}
			for p := range g.K {
				var b float32
				if g.TransB {
					b = g.B[j*g.LDB+p]
				} else {
					b = g.B[p*g.LDB+j]
				}
				t := float64(g.aAt(i, p)) * float64(b)
				s += t
				a += math.Abs(t)
			}
			want[i*g.N+j], mag[i*g.N+j] = s, a
		}
	}
	return want, mag
}

func cloneArgs(g *GemmArgs) *GemmArgs {
	h := *g
	h.C = append([]float32(nil), g.C...)
	return &h
}

// TestGemm runs every implementation on awkward shapes (partial tiles in
// both directions, k = 0 and 1, k over several packing passes) and every
// layout, against a float64
// product: each element within 1e-6·Σ|terms|·sqrt(k+1), the guard band
// untouched; and the SIMD implementations agree with each other bit for
// bit (one FMA chain per element in all of them).
func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, sh := range [][3]int{{1, 1, 1}, {1, 32, 5}, {12, 32, 64}, {13, 33, 7}, {5, 70, 300}, {25, 31, 0}, {40, 64, 129}, {7, 3, 2}, {13, 40, 1030}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					m, n, k := sh[0], sh[1], sh[2]
					name := fmt.Sprintf("%dx%dx%d/ta=%v/tb=%v/acc=%v", m, n, k, ta, tb, acc)
					base := gemmCase(rng, m, n, k, ta, tb, acc)
					want, mag := gemmWant(base)
					var simd []float32
					for _, im := range gemmImpls {
						g := cloneArgs(base)
						gemm(g, im)
						for i := range m {
							for j := range n {
								got, w := float64(g.C[i*g.LDC+j]), want[i*n+j]
								if tol := 1e-6 * mag[i*n+j] * math.Sqrt(float64(k+1)); !(math.Abs(got-w) <= tol) {
									t.Fatalf("%s %s: C[%d][%d] = %v, want %v (tolerance %.3g)", im.name, name, i, j, got, w, tol)
								}
							}
							for j := n; j < g.LDC && i*g.LDC+j < len(g.C); j++ {
								if !math.IsNaN(float64(g.C[i*g.LDC+j])) {
									t.Fatalf("%s %s: wrote C[%d][%d] outside the product", im.name, name, i, j)
								}
							}
						}
						for i := m * g.LDC; i < len(g.C); i++ {
							if !math.IsNaN(float64(g.C[i])) {
								t.Fatalf("%s %s: wrote past the last row", im.name, name)
							}
						}
						if im == gemmGeneric {
							continue
						}
						if simd == nil {
							simd = g.C
						} else if i := firstDiff32(simd, g.C); i >= 0 {
							t.Fatalf("%s %s: C value %d is %v, the other SIMD set %v", im.name, name, i, g.C[i], simd[i])
						}
					}
				}
			}
		}
	}
}

func firstDiff32(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(math.IsNaN(float64(a[i])) && math.IsNaN(float64(b[i]))) {
			return i
		}
	}
	return -1
}

// TestGemmInvariance checks that an element's value does not depend on
// the rest of the product: the rows [3, 20) of a product computed alone
// (a sub-matrix of A, so other tiles and padding) and with 1 or 2 threads
// equal those rows of the whole product, bit for bit.
func TestGemmInvariance(t *testing.T) {
	defer parallel.SetThreads(0)
	rng := rand.New(rand.NewPCG(61, 62))
	for _, im := range gemmImpls {
		for _, ta := range []bool{false, true} {
			full := gemmCase(rng, 40, 70, 97, ta, false, true)
			ref := cloneArgs(full)
			parallel.SetThreads(2)
			gemm(ref, im)
			for _, threads := range []int{1, 2} {
				parallel.SetThreads(threads)
				sub := cloneArgs(full)
				sub.M = 17
				if ta {
					sub.A = full.A[3:]
				} else {
					sub.A = full.A[3*full.LDA:]
				}
				sub.C = sub.C[3*sub.LDC:]
				gemm(sub, im)
				for i := range 17 {
					for j := range 70 {
						got, want := sub.C[i*sub.LDC+j], ref.C[(i+3)*ref.LDC+j]
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s ta=%v %d threads: C[%d][%d] = %v alone, %v in the whole product", im.name, ta, threads, i+3, j, got, want)
						}
					}
				}
			}
		}
	}
}

func TestGemmAllocs(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	rng := rand.New(rand.NewPCG(71, 72))
	g := gemmCase(rng, 50, 70, 40, false, true, false)
	Gemm(g)
	if n := testing.AllocsPerRun(20, func() { Gemm(g) }); n != 0 {
		t.Errorf("Gemm allocated %v times per call, want 0", n)
	}
}

// BenchmarkGemm times the shapes of a training step of the r1-tiny recipe
// (4080 tokens, dim 192, FFN 512): a forward projection, an input
// gradient and a weight gradient.
func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(81, 82))
	for _, tc := range []struct {
		name        string
		m, n, k     int
		ta, tb, acc bool
	}{
		{"forward-4080x1024x192", 4080, 1024, 192, false, true, false},
		{"input-4080x192x1024", 4080, 192, 1024, false, false, false},
		{"weight-1024x192x4080", 1024, 192, 4080, true, false, true},
	} {
		g := gemmCase(rng, tc.m, tc.n, tc.k, tc.ta, tc.tb, tc.acc)
		for _, im := range gemmImpls[1:] {
			b.Run(tc.name+"/"+im.name, func(b *testing.B) {
				for b.Loop() {
					gemm(g, im)
				}
				b.ReportMetric(float64(tc.m*tc.n*tc.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
