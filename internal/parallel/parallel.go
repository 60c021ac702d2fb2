// Package parallel is Sputnik's one worker pool. Kernels split a loop over
// [0, n) into contiguous chunks and run them on Threads() goroutines: the
// calling goroutine plus Threads()-1 persistent workers.
//
// A decode step calls the pool a few hundred times, so dispatch is cheap:
// no allocation, no channel operation while the workers are awake. Idle
// workers spin (yielding the processor) for a short while after each job so
// that the next job finds them running, then park on a channel until woken.
// Chunks are handed out dynamically, so a worker that is late to wake (or a
// core busy with something else) delays nothing: the caller takes the work.
//
// Use Run with a pointer to a reused struct that implements Task to dispatch
// with zero heap allocations; For is the convenient form for closures (which
// usually allocate, since the closure escapes to the workers).
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Task is a loop body: Run(lo, hi) processes indices [lo, hi). Run is called
// concurrently from several goroutines on disjoint ranges that together cover
// [0, n) exactly once; it must not call Run or For on this pool's behalf
// expecting parallelism (a nested call runs inline on the calling goroutine).
type Task interface {
	Run(lo, hi int)
}

// Func adapts a function to Task.
type Func func(lo, hi int)

// Run calls f(lo, hi).
func (f Func) Run(lo, hi int) { f(lo, hi) }

// chunksPerThread is how many chunks each thread's share of [0, n) is cut
// into, so that a slow thread can be helped by the others.
const chunksPerThread = 16

// spinTime is how long an idle worker keeps polling for the next job before
// it parks. Between two kernels of a decode step the gap is usually shorter.
const spinTime = 200 * time.Microsecond

// The job state is one 64-bit word, so that joining a job and taking a chunk
// is a single compare-and-swap:
//
//	bits 63..32  active: goroutines currently inside the job (caller included)
//	bits 31..16  next:   index of the next chunk to hand out
//	bits 15..0   total:  number of chunks in the job
//
// A job is open while next < total. The caller publishes a job only when the
// previous one has active == 0 and next == total, and a worker reads the job
// fields only after a successful join (active+1, next+1) on an open job, so
// those fields are never written while a worker may read them.
const (
	maxChunks   = 1<<16 - 1
	activeShift = 32
	nextShift   = 16
	fieldMask   = 1<<16 - 1
)

func unpack(s uint64) (active, next, total uint64) {
	return s >> activeShift, (s >> nextShift) & fieldMask, s & fieldMask
}

type worker struct {
	sleeping atomic.Bool   // set by the worker before it parks
	wake     chan struct{} // capacity 1; a token is sent only after sleeping was cleared by CAS
}

type pool struct {
	mu sync.Mutex // held by the goroutine dispatching a job; guards the job fields and workers

	// The current job, written by the dispatcher before it opens the job.
	task   Task
	n      int
	chunks int

	state atomic.Uint64 // see above
	stop  atomic.Bool   // asks every worker to exit

	workers []*worker
	wg      sync.WaitGroup // counts running workers
}

var (
	p       pool
	threads atomic.Int32
	once    sync.Once
)

func initPool() {
	once.Do(func() {
		p.mu.Lock()
		p.startLocked(runtime.GOMAXPROCS(0))
		p.mu.Unlock()
	})
}

// Threads returns the number of goroutines For and Run use, the caller
// included. It is at least 1. The default is runtime.GOMAXPROCS(0) at the
// first use of the package.
func Threads() int {
	initPool()
	return int(threads.Load())
}

// SetThreads sets the number of goroutines For and Run use (the caller
// included); k < 1 means runtime.GOMAXPROCS(0). It waits for a running job
// to finish and then restarts the workers, so it is slow: call it at start-up
// or between benchmarks, not per token. It is safe to call concurrently with
// For and Run.
func SetThreads(k int) {
	initPool()
	if k < 1 {
		k = runtime.GOMAXPROCS(0)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if k == int(threads.Load()) {
		return
	}
	p.stopLocked()
	p.startLocked(k)
}

func (p *pool) startLocked(k int) {
	if k > 255 {
		k = 255 // active must fit its field with room to spare
	}
	threads.Store(int32(k))
	p.stop.Store(false)
	p.workers = make([]*worker, k-1)
	for i := range p.workers {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers[i] = w
		p.wg.Add(1)
		go p.work(w)
	}
}

func (p *pool) stopLocked() {
	p.stop.Store(true)
	for _, w := range p.workers {
		if w.sleeping.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	p.wg.Wait()
	p.workers = nil
}

// For calls fn on contiguous subranges of [0, n) from Threads() goroutines,
// the calling one included, and returns when all calls have returned. The
// subranges are disjoint, non-empty and cover [0, n). For n <= 0 it does
// nothing; for n == 1, one thread, or when the pool is already busy (a
// concurrent or nested call) it calls fn(0, n) directly.
//
// fn must be safe to call concurrently on disjoint ranges. A closure passed
// to For usually escapes and so costs one allocation; use Run with a reused
// Task where that matters.
func For(n int, fn func(lo, hi int)) {
	Run(n, Func(fn))
}

// Run is For with a Task: it calls t.Run on contiguous subranges of [0, n)
// covering it exactly once, from up to Threads() goroutines, and returns when
// all have returned. Passing a pointer to a long-lived struct makes the call
// allocation-free.
func Run(n int, t Task) {
	if n <= 0 {
		return
	}
	initPool()
	k := int(threads.Load())
	if n == 1 || k == 1 || !p.mu.TryLock() {
		t.Run(0, n)
		return
	}
	chunks := k * chunksPerThread
	if chunks > n {
		chunks = n
	}
	if chunks > maxChunks {
		chunks = maxChunks
	}
	p.task, p.n, p.chunks = t, n, chunks
	// Open the job with the caller already active, then wake parked workers.
	p.state.Store(1<<activeShift | uint64(chunks))
	for _, w := range p.workers {
		if w.sleeping.Load() && w.sleeping.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	// Work alongside the workers. The caller is already counted active.
	for i, ok := p.grab(); ok; i, ok = p.grab() {
		lo, hi := chunkRange(int(i), n, chunks)
		t.Run(lo, hi)
	}
	p.state.Add(^uint64(1<<activeShift - 1)) // active--
	// Wait for workers still inside a chunk.
	for i := 0; p.state.Load()>>activeShift != 0; i++ {
		if i > 64 {
			runtime.Gosched()
		}
	}
	p.task = nil // do not keep the caller's data reachable
	p.mu.Unlock()
}

// chunkRange returns chunk i of [0, n) cut into chunks nearly equal parts.
func chunkRange(i, n, chunks int) (lo, hi int) {
	return i * n / chunks, (i + 1) * n / chunks
}

// work is a worker goroutine's loop: wait for an open job, help with it,
// repeat until stopped.
func (p *pool) work(w *worker) {
	defer p.wg.Done()
	for p.wait(w) {
		p.help()
	}
}

// wait returns true when a job may be open and false when the worker must
// exit. It spins for spinTime, then parks.
func (p *pool) wait(w *worker) bool {
	start := time.Now()
	for i := 0; ; i++ {
		if p.stop.Load() {
			return false
		}
		if _, next, total := unpack(p.state.Load()); next < total {
			return true
		}
		if i&63 == 63 && time.Since(start) > spinTime {
			break
		}
		runtime.Gosched()
	}
	// Park. The dispatcher clears sleeping with a CAS before sending a token,
	// so a worker that finds a job after announcing sleep must either win the
	// CAS back or consume the token that is on its way.
	w.sleeping.Store(true)
	if _, next, total := unpack(p.state.Load()); next < total || p.stop.Load() {
		if w.sleeping.CompareAndSwap(true, false) {
			return !p.stop.Load()
		}
	}
	<-w.wake
	return !p.stop.Load()
}

// help joins the open job, if it is still open, and runs chunks until none
// are left.
func (p *pool) help() {
	var i uint64 // chunk index taken by the join
	for {
		s := p.state.Load()
		_, next, total := unpack(s)
		if next >= total {
			return
		}
		if p.state.CompareAndSwap(s, s+1<<activeShift+1<<nextShift) {
			i = next
			break
		}
	}
	// Joined: the job fields are stable until this worker leaves.
	t, n, chunks := p.task, p.n, p.chunks
	for ok := true; ok; {
		lo, hi := chunkRange(int(i), n, chunks)
		t.Run(lo, hi)
		i, ok = p.grab()
	}
	p.state.Add(^uint64(1<<activeShift - 1)) // active--
}

// grab takes the next chunk of the open job for a goroutine that is already
// counted active. It reports false when no chunk is left.
func (p *pool) grab() (uint64, bool) {
	for {
		s := p.state.Load()
		_, next, total := unpack(s)
		if next >= total {
			return 0, false
		}
		if p.state.CompareAndSwap(s, s+1<<nextShift) {
			return next, true
		}
	}
}
