package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// ErrOverloaded is returned by Remove, at once and before any decoding,
// when MaxQueue jobs are already waiting for inference or a new job would
// wait longer than MaxQueueWait. The error is an [*OverloadedError]. The
// daemon responds to it with 503 and a Retry-After header.
var ErrOverloaded = errors.New("engine: queue is full")

// OverloadedError is the error of a job that the queue rejected. It
// matches ErrOverloaded with errors.Is.
type OverloadedError struct {
	// Wait is the expected wait for inference that the job would have
	// had, from the jobs ahead of it and the recent inference time.
	Wait time.Duration
}

func (e *OverloadedError) Error() string {
	return fmt.Sprintf("engine: queue is full (expected wait %v)", e.Wait.Round(time.Millisecond))
}

// Is reports whether target is ErrOverloaded.
func (e *OverloadedError) Is(target error) bool { return target == ErrOverloaded }

// ErrClosed is returned by Remove and Warm after Close has begun.
var ErrClosed = errors.New("engine: pipeline is closed")

// errBackendPanic is the error of the jobs of a batch whose Backend.Run
// panicked. The daemon has no mapping for it, so it responds with 500
// internal.
var errBackendPanic = errors.New("engine: backend panicked")

// Defaults for the zero values of BatchConfig's fields.
const (
	DefaultMaxDelay = 2 * time.Millisecond
	DefaultMaxQueue = 64
)

// BatchConfig sets how the pipeline queues and batches jobs. The zero value
// of each field is its default; negative values are invalid, except for
// MaxQueueWait.
type BatchConfig struct {
	// MaxBatch is the maximum number of images in one Backend.Run. Zero
	// means the backend's own MaxBatch; more than that is an error.
	MaxBatch int

	// MaxDelay is the longest a batch that is not full waits for more
	// ready images, counted from the time its oldest image was queued.
	// Zero means DefaultMaxDelay. It is unused when MaxBatch is 1.
	MaxDelay time.Duration

	// MaxQueue is the maximum number of jobs waiting for inference:
	// waiting to be decoded, being decoded and preprocessed, or ready. A
	// job beyond it gets ErrOverloaded. Zero means DefaultMaxQueue.
	MaxQueue int

	// MaxQueueWait bounds a new job's expected wait for inference: the
	// rest of the running batch plus one recent batch time for each full
	// batch of jobs ahead of it. A job that would wait longer gets
	// ErrOverloaded, so accepted jobs keep a bounded latency when arrivals
	// outrun the backend. Zero means three quarters of a batch time: a job
	// joins a full batch waiting behind the running one only when that one
	// is past its first quarter, so a job accepted under overload waits at
	// most 0.75 batch times. A negative value turns the bound off. Before
	// the first run the expected wait is zero.
	MaxQueueWait time.Duration

	// PreWorkers is the maximum number of jobs that decode and preprocess,
	// or postprocess and encode, at the same time. Zero means GOMAXPROCS.
	PreWorkers int
}

// withDefaults validates c and fills in its zero fields for backend.
func (c BatchConfig) withDefaults(backend Backend) (BatchConfig, error) {
	if c.MaxBatch < 0 || c.MaxDelay < 0 || c.MaxQueue < 0 || c.PreWorkers < 0 {
		return c, fmt.Errorf("engine: negative batch setting in %+v", c)
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = backend.MaxBatch()
	}
	if c.MaxBatch > backend.MaxBatch() {
		return c, fmt.Errorf("engine: max batch %d exceeds the %s backend's limit of %d",
			c.MaxBatch, backend.Name(), backend.MaxBatch())
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	if c.PreWorkers == 0 {
		c.PreWorkers = runtime.GOMAXPROCS(0)
	}
	return c, nil
}

// Item states: the worker and the waiting Remove race to move an item out
// of itemWaiting, and the loser of that race cleans up.
const (
	itemWaiting   int32 = iota
	itemDone            // the worker has sent the outcome
	itemAbandoned       // Remove returned first; the worker releases the output
)

// item is one preprocessed image in the ready queue. Once queued, its input
// tensor belongs to the worker.
type item struct {
	ctx      context.Context
	in       *[]float32
	enqueued time.Time
	state    atomic.Int32
	done     chan outcome // buffered: the worker never blocks on it
}

// outcome is the worker's result for one item.
type outcome struct {
	out    *[]float32    // the item's model output; nil on error
	queued time.Duration // from queueing to the start of its batch
	infer  time.Duration // the batch's run
	batch  int           // images in its batch
	err    error
}

// serve is the batch worker, the only goroutine that calls Backend.Run. It
// runs until the ready queue is closed and drained.
func (p *Pipeline) serve() {
	defer close(p.stopped)
	batch := make([]*item, 0, p.cfg.MaxBatch)
	for {
		var ok bool
		batch, ok = p.collect(batch[:0])
		if !ok {
			return
		}
		batch = p.prune(batch)
		if len(batch) > 0 {
			p.runBatch(batch)
		}
		clear(batch)
	}
}

// collect waits for a ready item, then gathers more until the batch is full
// or MaxDelay has passed since the first item was queued. It returns false
// once the queue is closed and empty.
func (p *Pipeline) collect(batch []*item) ([]*item, bool) {
	first, ok := <-p.ready
	if !ok {
		return batch, false
	}
	batch = p.take(batch, first)
	if p.cfg.MaxBatch == 1 {
		return batch, true
	}

	wait := time.NewTimer(time.Until(first.enqueued.Add(p.cfg.MaxDelay)))
	defer wait.Stop()
	for len(batch) < p.cfg.MaxBatch {
		select {
		case it, ok := <-p.ready:
			if !ok {
				return batch, true
			}
			batch = p.take(batch, it)
		case <-wait.C:
			// The timer may fire while items are waiting: take those that
			// are already here without waiting any longer.
			for len(batch) < p.cfg.MaxBatch {
				select {
				case it, ok := <-p.ready:
					if !ok {
						return batch, true
					}
					batch = p.take(batch, it)
				default:
					return batch, true
				}
			}
		}
	}
	return batch, true
}

// take moves an item from the ready queue into the batch, freeing its
// staging place, or drops it when its context is already done.
func (p *Pipeline) take(batch []*item, it *item) []*item {
	<-p.staged
	p.pending.Add(-1)
	if it.ctx.Err() != nil {
		p.drop(it)
		return batch
	}
	return append(batch, it)
}

// prune drops the items whose context ended while the batch was forming,
// so that they never cost inference.
func (p *Pipeline) prune(batch []*item) []*item {
	live := batch[:0]
	for _, it := range batch {
		if it.ctx.Err() != nil {
			p.drop(it)
			continue
		}
		live = append(live, it)
	}
	clear(batch[len(live):])
	return live
}

func (p *Pipeline) drop(it *item) {
	p.putFloats(&p.inputs, it.in)
	it.in = nil
	p.finish(it, outcome{err: it.ctx.Err()})
}

// runBatch runs the items as one batch and hands each its output.
func (p *Pipeline) runBatch(batch []*item) {
	n := len(batch)
	ctx, stop := batchContext(batch)
	defer stop()

	outs := make([]*[]float32, n)
	for k := range outs {
		outs[k] = p.getFloats(&p.outputs)
	}
	in, out := p.stage(batch, outs)

	start := time.Now()
	p.runStart.Store(start.UnixNano())
	infer, err := p.run(ctx, in, out, n)
	p.runStart.Store(0)
	if err == nil {
		p.recordBatchTime(infer)
	}
	if err == nil && n > 1 {
		plane := p.side * p.side
		for k, o := range outs {
			copy(*o, out[k*plane:(k+1)*plane])
		}
	}
	p.unstage(batch, n)
	if err != nil && ctx.Err() == nil && !errors.Is(err, errBackendPanic) {
		p.log.Error("inference failed", "backend", p.backend.Name(), "batch", n, "error", err)
	}

	for k, it := range batch {
		res := outcome{out: outs[k], queued: start.Sub(it.enqueued), infer: infer, batch: n}
		if err != nil {
			p.putFloats(&p.outputs, outs[k])
			res = outcome{err: fmt.Errorf("inference: %w", err)}
			if e := it.ctx.Err(); e != nil {
				res.err = e
			}
		}
		p.finish(it, res)
	}
}

// run calls Backend.Run and turns a panic in it into errBackendPanic, so a
// bug fails one batch's jobs and the worker goes on to the next batch. It
// logs the panic value and stack, which name code and not request data.
//
// The CPU kernel pool raises a panic of one of its helper goroutines again
// on the goroutine that called the kernel, so those are recovered here too.
// TODO: a panic on any other goroutine a backend starts ends the process.
func (p *Pipeline) run(ctx context.Context, in, out []float32, n int) (
	infer time.Duration, err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		p.log.Error("inference panicked", "backend", p.backend.Name(), "batch", n,
			"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		infer, err = 0, errBackendPanic
	}()
	return p.backend.Run(ctx, in, out, n)
}

// stage returns the batch's input and output tensors. A batch of one uses
// the item's own tensors. A larger batch copies each input into its slot of
// the batch buffer, because the backend takes one contiguous tensor.
func (p *Pipeline) stage(batch []*item, outs []*[]float32) (in, out []float32) {
	if len(batch) == 1 {
		return *batch[0].in, *outs[0]
	}
	size := 3 * p.side * p.side
	for k, it := range batch {
		copy(p.batchIn[k*size:(k+1)*size], *it.in)
		p.putFloats(&p.inputs, it.in)
		it.in = nil
	}
	n := len(batch)
	return p.batchIn[:n*size], p.batchOut[:n*p.side*p.side]
}

// unstage wipes what a run of n images left in the batch buffers and
// releases the input of a batch of one.
func (p *Pipeline) unstage(batch []*item, n int) {
	if n == 1 {
		p.putFloats(&p.inputs, batch[0].in)
		batch[0].in = nil
		return
	}
	clear(p.batchIn[:n*3*p.side*p.side])
	clear(p.batchOut[:n*p.side*p.side])
}

// finish hands an outcome to the item's Remove, or releases the output
// when that Remove has already returned.
func (p *Pipeline) finish(it *item, res outcome) {
	if it.state.CompareAndSwap(itemWaiting, itemDone) {
		it.done <- res
		return
	}
	if res.out != nil {
		p.putFloats(&p.outputs, res.out)
	}
}

// batchContext returns a context for a batch's run that is cancelled once
// the context of every item in it is done, so that a batch whose callers
// have all gone stops within one layer. stop releases it.
func batchContext(batch []*item) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var live atomic.Int32
	live.Store(int32(len(batch)))
	stops := make([]func() bool, len(batch))
	for k, it := range batch {
		stops[k] = context.AfterFunc(it.ctx, func() {
			if live.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}
