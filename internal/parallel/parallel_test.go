package parallel

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countTask counts how often each index is visited.
type countTask struct {
	hits []atomic.Int32
	bad  atomic.Int32 // empty or out-of-range subranges
}

func (c *countTask) Run(lo, hi int) {
	if lo >= hi || lo < 0 || hi > len(c.hits) {
		c.bad.Add(1)
		return
	}
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

func TestRunCoversOnce(t *testing.T) {
	defer SetThreads(0)
	for _, k := range []int{1, 2, 3, 4} {
		SetThreads(k)
		if got := Threads(); got != k {
			t.Fatalf("Threads() = %d after SetThreads(%d)", got, k)
		}
		for _, n := range []int{0, 1, 2, 3, 5, 7, 8, 9, 16, 100, 1000, 70000} {
			for rep := 0; rep < 20; rep++ {
				c := &countTask{hits: make([]atomic.Int32, n)}
				Run(n, c)
				if b := c.bad.Load(); b != 0 {
					t.Fatalf("threads=%d n=%d: %d bad subranges", k, n, b)
				}
				for i := range c.hits {
					if h := c.hits[i].Load(); h != 1 {
						t.Fatalf("threads=%d n=%d: index %d visited %d times, want 1", k, n, i, h)
					}
				}
			}
		}
	}
}

func TestForNestedAndConcurrent(t *testing.T) {
	defer SetThreads(0)
	SetThreads(3)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 200; rep++ {
				var sum atomic.Int64
				For(10, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						// A nested call runs inline; it must still cover its range.
						For(5, func(lo2, hi2 int) {
							for j := lo2; j < hi2; j++ {
								sum.Add(int64(i*5 + j))
							}
						})
					}
				})
				if got, want := sum.Load(), int64(49*50/2); got != want {
					t.Errorf("sum = %d, want %d", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestParkAndWake lets the workers park between jobs.
func TestParkAndWake(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	for rep := 0; rep < 5; rep++ {
		c := &countTask{hits: make([]atomic.Int32, 64)}
		Run(64, c)
		for i := range c.hits {
			if h := c.hits[i].Load(); h != 1 {
				t.Fatalf("index %d visited %d times, want 1", i, h)
			}
		}
		// Longer than spinTime: the worker parks.
		time.Sleep(2 * spinTime)
	}
}

type nopTask struct{ sink atomic.Int64 }

func (t *nopTask) Run(lo, hi int) { t.sink.Add(int64(hi - lo)) }

func TestRunAllocs(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	task := &nopTask{}
	if a := testing.AllocsPerRun(1000, func() { Run(64, task) }); a != 0 {
		t.Errorf("Run allocates %v times per call, want 0", a)
	}
}

// BenchmarkRun measures the dispatch cost of an (almost) empty job.
func BenchmarkRun(b *testing.B) {
	defer SetThreads(0)
	for _, k := range []int{1, 2} {
		SetThreads(k)
		task := &nopTask{}
		b.Run(map[int]string{1: "threads=1", 2: "threads=2"}[k], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Run(64, task)
			}
		})
	}
}
