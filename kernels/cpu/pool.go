package cpu

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Pool runs the work of one kernel call on a fixed set of worker
// goroutines. The calling goroutine is one of the workers, so a Pool of n
// workers starts n−1 goroutines. A call never waits for a helper that has
// not started: when other processes keep a helper's thread off its core,
// the caller does the units itself.
//
// A panic in a unit, on any worker, reaches the caller of the kernel. A
// helper recovers it and finishes its part of the call as usual. Once
// every helper has left the call, the call panics again with the first
// value, and the pool stays usable for the next call.
//
// A Pool is safe for concurrent use: calls from several goroutines are
// served one at a time, each with all workers. It is not reentrant, so a
// kernel must not be called from inside another kernel's work. A nil *Pool
// runs every kernel on the calling goroutine alone, and so does a Pool
// after Close.
type Pool struct {
	workers int

	mu     sync.Mutex // serializes kernel calls; guards job and closed
	job    job        // the call being served, written only while no helper is in it
	closed bool

	open     atomic.Bool  // helpers may join job
	inside   atomic.Int32 // helpers between joining and leaving job
	next     atomic.Int64 // next unit of job to claim
	done     atomic.Int64 // units of job finished
	finished chan struct{}
	wake     []chan struct{}

	fault atomic.Pointer[unitPanic] // first panic of a helper in job
}

// unitPanic is a panic recovered on a helper goroutine, with that
// goroutine's stack, for the caller to raise again.
type unitPanic struct {
	value any
	stack []byte
}

func (e *unitPanic) String() string {
	return fmt.Sprintf("%v [recovered on a kernel pool helper]\n%s", e.value, e.stack)
}

// NewPool starts a pool of the given number of workers; workers ≤ 0 means
// runtime.GOMAXPROCS(0). Close stops its goroutines.
func NewPool(workers int) *Pool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &Pool{
		workers:  workers,
		finished: make(chan struct{}, 1),
		wake:     make([]chan struct{}, workers-1),
	}
	for i := range p.wake {
		p.wake[i] = make(chan struct{}, 1)
		go p.serve(i+1, p.wake[i])
	}
	return p
}

// Workers returns the number of workers, the calling goroutine included;
// 1 for a nil Pool.
func (p *Pool) Workers() int {
	if p == nil {
		return 1
	}
	return p.workers
}

// Close stops the worker goroutines once the call in progress, if any, has
// finished. Later calls run on the calling goroutine. Close is idempotent.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, c := range p.wake {
		close(c)
	}
}

// serve is the loop of helper goroutine id. A helper announces itself in
// inside before it looks at open, and run clears open before it waits for
// inside to drain, so a helper either joins the current call or leaves it
// alone.
func (p *Pool) serve(id int, wake <-chan struct{}) {
	for range wake {
		p.inside.Add(1)
		if p.open.Load() && (p.job.maxWorkers <= 0 || id < p.job.maxWorkers) {
			p.claim(id)
		}
		p.inside.Add(-1)
	}
}

// run executes every unit of j. It copies j, so j may live on the caller's
// stack.
func (p *Pool) run(j *job) {
	if j.units <= 0 {
		return
	}
	if p == nil || p.workers == 1 || j.units == 1 {
		for u := 0; u < j.units; u++ {
			j.runUnit(u, 0)
		}
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for u := 0; u < j.units; u++ {
			j.runUnit(u, 0)
		}
		return
	}
	// On every return, a panic of the caller's own units included, the
	// helpers leave the call before the next one may start.
	defer p.leaveCall()
	p.job = *j
	p.next.Store(0)
	p.done.Store(0)
	p.open.Store(true)
	helpers := min(len(p.wake), j.units-1)
	if j.maxWorkers > 0 {
		helpers = min(helpers, j.maxWorkers-1)
	}
	for _, c := range p.wake[:helpers] {
		select {
		case c <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	if !p.claim(0) {
		<-p.finished
	}
}

// leaveCall closes the call to helpers, waits until none is inside it, and
// raises the first panic a helper recovered in it.
func (p *Pool) leaveCall() {
	p.open.Store(false)
	for p.inside.Load() != 0 {
		runtime.Gosched()
	}
	if fault := p.fault.Swap(nil); fault != nil {
		panic(fault)
	}
}

// runUnit runs unit u of p.job on worker id. On a helper it recovers a
// panic and keeps the first one for the caller, so the unit counts as done
// and the call ends as usual.
func (p *Pool) runUnit(u, id int) {
	if id != 0 {
		defer func() {
			if v := recover(); v != nil {
				p.fault.CompareAndSwap(nil, &unitPanic{value: v, stack: debug.Stack()})
			}
		}()
	}
	p.job.runUnit(u, id)
}

// claim runs units of p.job on worker id until none is left. It reports
// whether this worker finished the last unit; a helper that does signals
// finished instead.
func (p *Pool) claim(id int) (last bool) {
	for {
		u := int(p.next.Add(1) - 1)
		if u >= p.job.units {
			return last
		}
		p.runUnit(u, id)
		if p.done.Add(1) == int64(p.job.units) {
			if id != 0 {
				p.finished <- struct{}{}
			}
			last = true
		}
	}
}
