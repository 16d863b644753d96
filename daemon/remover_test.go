package daemon

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sync/atomic"
	"time"

	"github.com/rmbgd/rmbgd/engine"
	"github.com/rmbgd/rmbgd/imaging"
)

// pngRemover is a small real Remover for the HTTP tests: it decodes PNG
// with image/png, returns the imaging package's typed errors where the
// engine would, and responds with a mask made by thresholding luminance.
// Images that start with one of the trigger prefixes below make it
// misbehave instead.
type pngRemover struct {
	// block, when set, makes Remove wait for it to close (or ctx to end).
	block chan struct{}

	started atomic.Int32 // Remove calls so far
	last    atomic.Pointer[engine.Job]

	// full makes Admissible report a full queue, with a 2.5 s wait, and
	// Remove reject the job the same way.
	full atomic.Bool
}

var (
	pngMagic = []byte("\x89PNG\r\n\x1a\n")

	// triggerPanic makes Remove panic with a value that quotes the image.
	triggerPanic = []byte("PANIC")
	// triggerSlow makes Remove wait until its context ends.
	triggerSlow = []byte("SLOW!")
	// triggerFail makes Remove return errSecret.
	triggerFail = []byte("FAIL!")
	// triggerBusy makes Remove return engine.ErrOverloaded.
	triggerBusy = []byte("BUSY!")
	// triggerWait makes Remove return an OverloadedError with a 2.5 s wait.
	triggerWait = []byte("WAIT!")
)

// Admissible reports a full queue while r.full is set, as
// engine.Pipeline.Admissible does.
func (r *pngRemover) Admissible() error {
	if r.full.Load() {
		return &engine.OverloadedError{Wait: 2500 * time.Millisecond}
	}
	return nil
}

func (r *pngRemover) Backend() string { return "cpu" }
func (r *pngRemover) Model() string   { return "test-threshold" }

func (r *pngRemover) Remove(ctx context.Context, job engine.Job) (*engine.Result, error) {
	r.started.Add(1)
	jobCopy := job
	jobCopy.Image = nil
	r.last.Store(&jobCopy)
	if err := r.Admissible(); err != nil {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(job.Image, triggerPanic):
		panic("cannot handle image starting " + string(job.Image[:min(len(job.Image), 32)]))
	case bytes.HasPrefix(job.Image, triggerSlow):
		<-ctx.Done()
		return nil, ctx.Err()
	case bytes.HasPrefix(job.Image, triggerFail):
		return nil, errSecret
	case bytes.HasPrefix(job.Image, triggerBusy):
		return nil, engine.ErrOverloaded
	case bytes.HasPrefix(job.Image, triggerWait):
		return nil, &engine.OverloadedError{Wait: 2500 * time.Millisecond}
	}
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	start := time.Now()
	switch {
	case bytes.HasPrefix(job.Image, pngMagic):
	case bytes.HasPrefix(job.Image, []byte("BM")):
		return nil, imaging.UnsupportedFormatError{Format: "bmp"}
	default:
		return nil, imaging.UnsupportedFormatError{Format: "unknown"}
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(job.Image))
	if err != nil {
		return nil, imaging.DecodeError{Format: "png", Err: err}
	}
	if job.MaxPixels > 0 && cfg.Width*cfg.Height > job.MaxPixels {
		return nil, imaging.TooManyPixelsError{Width: cfg.Width, Height: cfg.Height,
			Max: job.MaxPixels}
	}
	img, err := png.Decode(bytes.NewReader(job.Image))
	if err != nil {
		return nil, imaging.DecodeError{Format: "png", Err: err}
	}

	res := &engine.Result{Width: cfg.Width, Height: cfg.Height, Backend: r.Backend(),
		Model: r.Model(), BatchSize: 1}
	mask := thresholdMask(img)
	res.Foreground = foreground(mask)
	var out bytes.Buffer
	switch {
	case job.Output == engine.OutputMask:
		err = png.Encode(&out, mask)
		res.ContentType = "image/png"
	case job.Format == "jpeg":
		err = jpeg.Encode(&out, composite(img, mask, job.Background), nil)
		res.ContentType = "image/jpeg"
	default:
		err = png.Encode(&out, cutout(img, mask))
		res.ContentType = "image/png"
	}
	if err != nil {
		return nil, err
	}
	res.Data = out.Bytes()
	res.Timing = engine.Timing{Pre: 1500 * time.Microsecond, Infer: 2 * time.Millisecond,
		Post: 300 * time.Microsecond, Encode: time.Since(start)}
	res.Timing.Total = res.Timing.Pre + res.Timing.Infer + res.Timing.Post + res.Timing.Encode
	return res, nil
}

// thresholdMask is 255 where a pixel's luminance is at least 128.
func thresholdMask(img image.Image) *image.Gray {
	b := img.Bounds()
	mask := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			g := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray)
			if g.Y >= 128 {
				mask.SetGray(x, y, color.Gray{Y: 255})
			}
		}
	}
	return mask
}

func foreground(mask *image.Gray) image.Rectangle {
	var r image.Rectangle
	b := mask.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if mask.GrayAt(x, y).Y >= 128 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func cutout(img image.Image, mask *image.Gray) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(mask.Bounds())
	for y := range b.Dy() {
		for x := range b.Dx() {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			c.A = mask.GrayAt(x, y).Y
			if c.A == 0 {
				c = color.NRGBA{} // as the engine writes a transparent pixel
			}
			out.SetNRGBA(x, y, c)
		}
	}
	return out
}

func composite(img image.Image, mask *image.Gray, bg color.RGBA) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(mask.Bounds())
	for y := range b.Dy() {
		for x := range b.Dx() {
			if mask.GrayAt(x, y).Y >= 128 {
				out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
			} else {
				out.SetRGBA(x, y, bg)
			}
		}
	}
	return out
}

var errSecret = errors.New("engine failed on SECRET-ENGINE-DETAIL")
