package engine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rmbgd/rmbgd/imaging"
	"github.com/rmbgd/rmbgd/models"
)

// ModelName is the name the API reports for the default model.
const ModelName = "isnet-general-use"

// Pipeline runs jobs end to end: decode, preprocess, inference on its
// backend, postprocess and encode. It is safe for concurrent use: requests
// decode and encode in parallel and take turns on the backend.
type Pipeline struct {
	backend Backend
	side    int
	model   string
	log     *slog.Logger

	// turn admits one run into the backend at a time; a request waits here
	// (its queue time) until the previous run is done or its context ends.
	turn chan struct{}

	inputs  sync.Pool // *[]float32, 3×side×side
	outputs sync.Pool // *[]float32, side×side
	masks   sync.Pool // *[]uint8, grown to the largest image seen
	encoded sync.Pool // *bytes.Buffer
}

// CPUConfig configures NewCPU. The zero value of each field is a default.
type CPUConfig struct {
	// ModelPath is the ONNX file; empty means the installed default model.
	ModelPath string

	// Threads is the number of kernel workers; 0 means one per core.
	Threads int

	// Logger receives start-up messages; nil means slog.Default().
	Logger *slog.Logger
}

// NewCPU loads the model and returns a pipeline on the CPU backend.
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

	start := time.Now()
	plan, err := models.LoadPlan(path, imaging.ModelSide)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	backend, err := NewCPUBackend(plan, 1, cfg.Threads)
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
		"arena_mib", backend.ArenaBytes()>>20, "duration_ms", time.Since(start).Milliseconds())
	return NewPipeline(backend, imaging.ModelSide, ModelName, log), nil
}

// NewPipeline wraps a backend whose model takes side×side images.
func NewPipeline(backend Backend, side int, model string, log *slog.Logger) *Pipeline {
	if log == nil {
		log = slog.Default()
	}
	p := &Pipeline{backend: backend, side: side, model: model, log: log,
		turn: make(chan struct{}, 1)}
	p.inputs.New = func() any { s := make([]float32, 3*side*side); return &s }
	p.outputs.New = func() any { s := make([]float32, side*side); return &s }
	p.masks.New = func() any { s := []uint8(nil); return &s }
	p.encoded.New = func() any { return new(bytes.Buffer) }
	return p
}

// Backend returns the backend's name, "cpu" or "cuda".
func (p *Pipeline) Backend() string { return p.backend.Name() }

// Model returns the model name reported in answers.
func (p *Pipeline) Model() string { return p.model }

// Warm runs the model once on a blank image, so that the first request does
// not pay for page faults in the arena and the workers' start.
func (p *Pipeline) Warm(ctx context.Context) error {
	in := p.getFloats(&p.inputs)
	out := p.getFloats(&p.outputs)
	defer p.putFloats(&p.inputs, in)
	defer p.putFloats(&p.outputs, out)

	start := time.Now()
	if _, err := p.infer(ctx, *in, *out); err != nil {
		return fmt.Errorf("warm-up run: %w", err)
	}
	p.log.Info("model warmed", "backend", p.Backend(),
		"duration_ms", time.Since(start).Milliseconds())
	return nil
}

// Remove runs one job. Errors from decoding are the typed errors of package
// imaging; a context that ends before inference gives ctx.Err().
func (p *Pipeline) Remove(ctx context.Context, job Job) (*Result, error) {
	start := time.Now()
	res := &Result{Backend: p.Backend(), Model: p.model}

	img, err := imaging.Decode(job.Image, job.MaxPixels)
	if err != nil {
		return nil, err
	}
	defer img.Release() // wipes the decoded pixels on every path
	in := p.getFloats(&p.inputs)
	defer p.putFloats(&p.inputs, in)
	imaging.Preprocess(img, p.side, *in)
	res.Timing.Pre = time.Since(start)

	out := p.getFloats(&p.outputs)
	defer p.putFloats(&p.outputs, out)
	queued := time.Now()
	infer, err := p.infer(ctx, *in, *out)
	if err != nil {
		return nil, err
	}
	res.Timing.Infer = infer
	res.Timing.Queue = time.Since(queued) - infer

	postStart := time.Now()
	mask := p.getMask(img.Width * img.Height)
	imaging.Postprocess(*out, p.side, img, *mask)
	res.Width, res.Height = img.Width, img.Height
	res.Foreground = imaging.Foreground(*mask, img.Width, img.Height)
	res.Timing.Post = time.Since(postStart)

	encodeStart := time.Now()
	buf := p.encoded.Get().(*bytes.Buffer)
	err = encode(buf, job, img, *mask)
	p.putMask(mask)
	if err != nil {
		p.putBuffer(buf)
		return nil, err
	}
	res.Timing.Encode = time.Since(encodeStart)

	res.Data = buf.Bytes()
	res.ContentType = contentType(job)
	res.release = func() { p.putBuffer(buf) }
	res.Timing.Total = time.Since(start)
	return res, nil
}

// infer waits for the backend's turn and runs one image.
func (p *Pipeline) infer(ctx context.Context, in, out []float32) (time.Duration, error) {
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-p.turn }()

	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return p.backend.Run(ctx, in, out, 1)
}

func encode(buf *bytes.Buffer, job Job, img *imaging.Image, mask []uint8) error {
	switch {
	case job.Output == OutputMask:
		return imaging.EncodeMaskPNG(buf, mask, img.Width, img.Height)
	case job.Format == "jpeg":
		return imaging.EncodeCutoutJPEG(buf, img, mask, job.Background)
	default:
		return imaging.EncodeCutoutPNG(buf, img, mask)
	}
}

func contentType(job Job) string {
	if job.Output != OutputMask && job.Format == "jpeg" {
		return "image/jpeg"
	}
	return "image/png"
}

// Close releases the backend. Jobs must not be running.
func (p *Pipeline) Close() error { return p.backend.Close() }

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

func (p *Pipeline) putBuffer(buf *bytes.Buffer) {
	b := buf.Bytes()
	clear(b[:cap(b)])
	buf.Reset()
	p.encoded.Put(buf)
}
