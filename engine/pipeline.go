package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rmbgd/rmbgd/imaging"
	"github.com/rmbgd/rmbgd/models"
)

// ModelName is the name the API reports for the default model.
const ModelName = "isnet-general-use"

// Pipeline runs jobs end to end: decode, preprocess, inference in batches on
// its backend, postprocess and encode. It is safe for concurrent use. It owns
// its backend: one worker goroutine is the only caller of Backend.Run, and
// Close closes the backend.
type Pipeline struct {
	backend Backend
	side    int
	model   string
	log     *slog.Logger
	cfg     BatchConfig
	png     imaging.PNGEncoder

	// mu orders admission against Close, so that no job is admitted after
	// Close has started waiting.
	mu      sync.Mutex
	closed  bool
	feeders sync.WaitGroup // admitted jobs that have not yet queued or left
	active  sync.WaitGroup // admitted jobs whose Remove has not returned

	pending  atomic.Int64 // admitted jobs not yet taken off the ready queue
	inflight atomic.Int64 // admitted jobs whose Remove has not returned

	// batchTime is a moving average of a batch's inference time, and
	// runStart the start of the running batch (0 when none runs), both
	// in nanoseconds, for the expected wait of MaxQueueWait.
	batchTime atomic.Int64
	runStart  atomic.Int64

	// ready is the queue of preprocessed images. Its capacity equals that
	// of staged, so a job holding a staging place never blocks sending.
	ready chan *item

	// staged has a place for each job that holds a decoded image and has
	// not yet been taken into a batch, which bounds decoded-image memory.
	staged chan struct{}

	// workers has a place for each job decoding and preprocessing, or
	// postprocessing and encoding.
	workers chan struct{}

	stopped chan struct{} // closed when the batch worker returns

	// batchIn and batchOut are the contiguous batch tensors for runs of
	// more than one image; only the worker touches them.
	batchIn, batchOut []float32

	inputs  sync.Pool // *[]float32, 3×side×side
	outputs sync.Pool // *[]float32, side×side
	masks   sync.Pool // *[]uint8, grown to the largest image seen
	encoded sync.Pool // *wipingBuffer
}

// CPUConfig configures NewCPU. The zero value of each field is a default.
type CPUConfig struct {
	// ModelPath is the ONNX file; empty means the installed default model.
	ModelPath string

	// Threads is the number of kernel workers; 0 means one per core.
	Threads int

	// Logger receives start-up messages and inference errors; nil means
	// slog.Default().
	Logger *slog.Logger

	// PNG encodes cut-outs and masks; the zero value is the adaptive
	// level.
	PNG imaging.PNGEncoder

	// BatchConfig sets queueing and batching. A zero MaxBatch means
	// DefaultCPUMaxBatch, because on the CPU a larger batch gains no
	// throughput and costs latency and arena memory (see the package
	// documentation).
	BatchConfig
}

// DefaultCPUMaxBatch is the CPU backend's batch size when
// CPUConfig.MaxBatch is zero.
const DefaultCPUMaxBatch = 1

// NewCPU loads the model and returns a pipeline on the CPU backend, with an
// activation arena planned for MaxBatch images.
func NewCPU(cfg CPUConfig) (*Pipeline, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	path := cfg.ModelPath
	if path == "" {
		p, err := models.Locate(models.Default)
		if err != nil {
			return nil, err
		}
		path = p
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultCPUMaxBatch
	}
	if cfg.MaxBatch < 0 {
		return nil, fmt.Errorf("engine: negative max batch %d", cfg.MaxBatch)
	}

	start := time.Now()
	plan, err := models.LoadPlan(path, imaging.ModelSide)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	backend, err := NewCPUBackend(plan, cfg.MaxBatch, cfg.Threads)
	if err != nil {
		return nil, err
	}
	// The backend keeps its own packed copy of every weight tensor, so the
	// plan's copy (about 170 MB for ISNet) can go.
	for i := range plan.Steps {
		if c := plan.Steps[i].Conv; c != nil {
			c.Weight = nil
		}
	}
	log.Info("model loaded", "path", path, "steps", len(plan.Steps),
		"gmac", float64(plan.MACs)/1e9, "threads", backend.Threads(),
		"max_batch", backend.MaxBatch(), "arena_mib", backend.ArenaBytes()>>20,
		"duration_ms", time.Since(start).Milliseconds())

	p, err := NewPipeline(backend, PipelineConfig{Logger: log, PNG: cfg.PNG,
		BatchConfig: cfg.BatchConfig})
	if err != nil {
		backend.Close()
		return nil, err
	}
	return p, nil
}

// PipelineConfig configures NewPipeline. The zero value of each field is a
// default.
type PipelineConfig struct {
	// Side is the model's input width and height in pixels; 0 means
	// imaging.ModelSide.
	Side int

	// Model is the model name reported in results; empty means ModelName.
	Model string

	// Logger receives inference errors; nil means slog.Default().
	Logger *slog.Logger

	// PNG encodes cut-outs and masks; the zero value is the adaptive
	// level.
	PNG imaging.PNGEncoder

	BatchConfig
}

// NewPipeline starts a pipeline, and its batch worker, on backend. The
// pipeline owns backend from then on and closes it in Close. It returns an
// error when the batch settings are invalid for backend.
func NewPipeline(backend Backend, cfg PipelineConfig) (*Pipeline, error) {
	batch, err := cfg.BatchConfig.withDefaults(backend)
	if err != nil {
		return nil, err
	}
	if err := cfg.PNG.Check(); err != nil {
		return nil, err
	}
	if cfg.Side == 0 {
		cfg.Side = imaging.ModelSide
	}
	if cfg.Model == "" {
		cfg.Model = ModelName
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	side := cfg.Side
	staging := batch.PreWorkers + batch.MaxBatch
	p := &Pipeline{backend: backend, side: side, model: cfg.Model, log: cfg.Logger, cfg: batch,
		png:     cfg.PNG,
		ready:   make(chan *item, staging),
		staged:  make(chan struct{}, staging),
		workers: make(chan struct{}, batch.PreWorkers),
		stopped: make(chan struct{}),
	}
	if batch.MaxBatch > 1 {
		p.batchIn = make([]float32, batch.MaxBatch*3*side*side)
		p.batchOut = make([]float32, batch.MaxBatch*side*side)
	}
	p.inputs.New = func() any { s := make([]float32, 3*side*side); return &s }
	p.outputs.New = func() any { s := make([]float32, side*side); return &s }
	p.masks.New = func() any { s := []uint8(nil); return &s }
	p.encoded.New = func() any { return new(wipingBuffer) }
	go p.serve()
	return p, nil
}

// Backend returns the backend's name, "cpu" or "cuda".
func (p *Pipeline) Backend() string { return p.backend.Name() }

// Model returns the model name reported in responses.
func (p *Pipeline) Model() string { return p.model }

// Batch returns the batch settings in effect, defaults filled in.
func (p *Pipeline) Batch() BatchConfig { return p.cfg }

// QueueDepth returns the number of jobs waiting for inference: admitted by
// Remove and not yet taken into a batch. Remove rejects a job with
// ErrOverloaded while it is MaxQueue.
func (p *Pipeline) QueueDepth() int { return int(p.pending.Load()) }

// InFlight returns the number of admitted jobs whose Remove has not
// returned: those queued, in a batch, or postprocessing and encoding.
func (p *Pipeline) InFlight() int { return int(p.inflight.Load()) }

// Warm runs the model once on a blank image through the batch worker, so
// that the first request does not pay for page faults in the arena and the
// kernel workers' start.
func (p *Pipeline) Warm(ctx context.Context) error {
	if err := p.admit(); err != nil {
		return fmt.Errorf("warm-up run: %w", err)
	}
	defer p.leave()
	if err := acquire(ctx, p.staged); err != nil {
		p.unfeed()
		return fmt.Errorf("warm-up run: %w", err)
	}

	start := time.Now()
	res, err := p.infer(ctx, p.getFloats(&p.inputs))
	if err != nil {
		return fmt.Errorf("warm-up run: %w", err)
	}
	p.putFloats(&p.outputs, res.out)
	p.log.Info("model warmed", "backend", p.Backend(),
		"duration_ms", time.Since(start).Milliseconds())
	return nil
}

// Remove runs one job. A job whose image header is unreadable or over
// job.MaxPixels fails at once with the typed errors of package imaging,
// before it takes a place in the queue. A full queue gives ErrOverloaded
// and a closed pipeline ErrClosed, also at once. A context that ends
// before the result is ready gives ctx.Err(), and an image whose context
// ends while it is queued never reaches the backend.
func (p *Pipeline) Remove(ctx context.Context, job Job) (*Result, error) {
	start := time.Now()
	if err := checkHeader(job); err != nil {
		return nil, err
	}
	if err := p.admit(); err != nil {
		return nil, err
	}
	defer p.leave()

	res := &Result{Backend: p.Backend(), Model: p.model}
	img, in, err := p.preprocess(ctx, job, &res.Timing)
	if err != nil {
		return nil, err
	}
	defer img.Release() // wipes the decoded pixels on every path

	out, err := p.infer(ctx, in)
	if err != nil {
		return nil, err
	}
	defer p.putFloats(&p.outputs, out.out)
	res.Timing.Queue += out.queued
	res.Timing.Infer = out.infer
	res.BatchSize = out.batch

	if err := p.postprocess(ctx, job, img, *out.out, res); err != nil {
		return nil, err
	}
	res.Timing.Total = time.Since(start)
	return res, nil
}

// checkHeader rejects an image whose format rmbgd does not decode, whose
// header is unreadable, or whose size is over job.MaxPixels.
func checkHeader(job Job) error {
	_, w, h, err := imaging.DecodeConfig(job.Image)
	if err != nil {
		return err
	}
	if job.MaxPixels > 0 && int64(w)*int64(h) > int64(job.MaxPixels) {
		return imaging.TooManyPixelsError{Width: w, Height: h, Max: job.MaxPixels}
	}
	return nil
}

// admit gives a job a place in the queue, or returns ErrClosed or
// ErrOverloaded. An admitted job calls leave when Remove returns, and
// unfeed if it leaves before it is queued.
func (p *Pipeline) admit() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.rejection(); err != nil {
		return err
	}
	p.pending.Add(1)
	p.inflight.Add(1)
	p.feeders.Add(1)
	p.active.Add(1)
	return nil
}

// Admissible returns nil when a job that arrived now would find a place
// in the queue, and otherwise the error that Remove would return at once:
// ErrClosed or an [*OverloadedError]. It reserves nothing, so a job can
// still be rejected when it arrives later, after its body is read. A
// server calls it when a request's header is in, to turn the request away
// before its body costs bandwidth and memory.
func (p *Pipeline) Admissible() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rejection()
}

// rejection returns why a job would not be admitted now, or nil. The
// caller holds p.mu.
func (p *Pipeline) rejection() error {
	if p.closed {
		return ErrClosed
	}
	pending := p.pending.Load()
	if pending >= int64(p.cfg.MaxQueue) {
		return &OverloadedError{Wait: p.expectedWait(pending)}
	}
	if limit := p.cfg.MaxQueueWait; limit >= 0 {
		wait := p.expectedWait(pending)
		if limit == 0 {
			limit = time.Duration(p.batchTime.Load()) * 3 / 4
		}
		if wait > limit {
			return &OverloadedError{Wait: wait}
		}
	}
	return nil
}

// expectedWait estimates how long a job admitted now waits for its
// inference to start, with pending jobs ahead of it: the rest of the
// running batch, then one batch time for each full batch ahead.
func (p *Pipeline) expectedWait(pending int64) time.Duration {
	per := time.Duration(p.batchTime.Load())
	wait := time.Duration(pending/int64(p.cfg.MaxBatch)) * per
	if start := p.runStart.Load(); start != 0 {
		wait += max(0, per-time.Duration(time.Now().UnixNano()-start))
	}
	return wait
}

// recordBatchTime adds a batch's inference time to the moving average,
// with weight 1/4 so that the estimate follows a change of load within a
// few batches.
func (p *Pipeline) recordBatchTime(d time.Duration) {
	old := p.batchTime.Load()
	if old == 0 {
		p.batchTime.Store(int64(d))
		return
	}
	p.batchTime.Store(old + (int64(d)-old)/4)
}

func (p *Pipeline) unfeed() {
	p.pending.Add(-1)
	p.feeders.Done()
}

func (p *Pipeline) leave() {
	p.inflight.Add(-1)
	p.active.Done()
}

// acquire takes a place in sem, or returns ctx.Err() if ctx ends first.
func acquire(ctx context.Context, sem chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// preprocess waits for a staging place and a worker, decodes the image and
// writes the model input. It records the wait in t.Queue and the work in
// t.Pre. On success the job holds its staging place until the batch worker
// takes it; on error the job has left the queue.
func (p *Pipeline) preprocess(ctx context.Context, job Job, t *Timing) (*imaging.Image,
	*[]float32, error) {
	start := time.Now()
	if err := acquire(ctx, p.staged); err != nil {
		p.unfeed()
		return nil, nil, err
	}
	if err := acquire(ctx, p.workers); err != nil {
		<-p.staged
		p.unfeed()
		return nil, nil, err
	}
	defer func() { <-p.workers }()
	decodeStart := time.Now()
	t.Queue = decodeStart.Sub(start)

	img, err := imaging.Decode(job.Image, job.MaxPixels)
	if err != nil {
		<-p.staged
		p.unfeed()
		return nil, nil, err
	}
	in := p.getFloats(&p.inputs)
	imaging.Preprocess(img, p.side, *in)
	t.Pre = time.Since(decodeStart)
	return img, in, nil
}

// infer queues a preprocessed input, whose ownership passes to the batch
// worker, and waits for its output. The caller must hold a staging place,
// which the worker frees. When ctx ends first, infer returns ctx.Err() at
// once and the worker releases the output later.
func (p *Pipeline) infer(ctx context.Context, in *[]float32) (outcome, error) {
	it := &item{ctx: ctx, in: in, enqueued: time.Now(), done: make(chan outcome, 1)}
	p.ready <- it
	p.feeders.Done()

	select {
	case res := <-it.done:
		return res, res.err
	case <-ctx.Done():
		if it.state.CompareAndSwap(itemWaiting, itemAbandoned) {
			return outcome{}, ctx.Err()
		}
		if res := <-it.done; res.out != nil {
			p.putFloats(&p.outputs, res.out)
		}
		return outcome{}, ctx.Err()
	}
}

// postprocess waits for a worker, turns the model output into the mask at
// the image's size and encodes the result into res.
func (p *Pipeline) postprocess(ctx context.Context, job Job, img *imaging.Image, out []float32,
	res *Result) error {
	start := time.Now()
	if err := acquire(ctx, p.workers); err != nil {
		return err
	}
	defer func() { <-p.workers }()

	mask := p.getMask(img.Width * img.Height)
	defer p.putMask(mask)
	imaging.Postprocess(out, p.side, img, *mask)
	res.Width, res.Height = img.Width, img.Height
	res.Foreground = imaging.Foreground(*mask, img.Width, img.Height)
	encodeStart := time.Now()
	res.Timing.Post = encodeStart.Sub(start)

	buf := p.encoded.Get().(*wipingBuffer)
	if err := p.encode(buf, job, img, *mask); err != nil {
		p.putBuffer(buf)
		return err
	}
	res.Timing.Encode = time.Since(encodeStart)
	res.Data = buf.Bytes()
	res.ContentType = contentType(job)
	res.release = func() { p.putBuffer(buf) }
	return nil
}

func (p *Pipeline) encode(buf *wipingBuffer, job Job, img *imaging.Image, mask []uint8) error {
	switch {
	case job.Output == OutputMask:
		return p.png.EncodeMask(buf, mask, img.Width, img.Height)
	case job.Format == "jpeg":
		return imaging.EncodeCutoutJPEG(buf, img, mask, job.Background)
	default:
		return p.png.EncodeCutout(buf, img, mask)
	}
}

func contentType(job Job) string {
	if job.Output != OutputMask && job.Format == "jpeg" {
		return "image/jpeg"
	}
	return "image/png"
}

// Close stops admitting jobs (Remove and Warm return ErrClosed), lets every
// admitted job finish, or fail with its context's error, stops the batch
// worker and closes the backend. It waits for all of that, so a caller
// that must not wait long cancels the jobs' contexts. Later calls return
// nil at once.
func (p *Pipeline) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()

	p.feeders.Wait() // no job can queue after this
	close(p.ready)
	<-p.stopped
	p.active.Wait()
	return p.backend.Close()
}

func (p *Pipeline) getFloats(pool *sync.Pool) *[]float32 { return pool.Get().(*[]float32) }

// putFloats zeroes a tensor buffer before it goes back to its pool, so no
// image survives its request in a free buffer.
func (p *Pipeline) putFloats(pool *sync.Pool, s *[]float32) {
	clear(*s)
	pool.Put(s)
}

func (p *Pipeline) getMask(n int) *[]uint8 {
	m := p.masks.Get().(*[]uint8)
	if cap(*m) < n {
		*m = make([]uint8, n)
	}
	*m = (*m)[:n]
	return m
}

func (p *Pipeline) putMask(m *[]uint8) {
	clear(*m)
	p.masks.Put(m)
}

func (p *Pipeline) putBuffer(buf *wipingBuffer) {
	buf.wipe()
	p.encoded.Put(buf)
}
