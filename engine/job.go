package engine

import (
	"image"
	"image/color"
	"time"
)

// Output selects what a job returns.
type Output int

const (
	// OutputRGBA is the cut-out: the input's pixels with the mask as straight
	// (not premultiplied) alpha.
	OutputRGBA Output = iota

	// OutputMask is the 8-bit grayscale mask at the image's own size.
	OutputMask
)

// Job is one background-removal request as the engine receives it.
type Job struct {
	// Image is the encoded image (PNG, JPEG, ...). The engine reads it only
	// during Remove and never keeps a reference after Remove returns.
	Image []byte

	// Output selects the cut-out or the mask.
	Output Output

	// Format is the output encoding: "png" (the default when empty) or
	// "jpeg". JPEG output has no alpha, so the cut-out is composited over
	// Background.
	Format string

	// Background is the colour a JPEG cut-out is composited over. The zero
	// value is black; callers wanting white set it.
	Background color.RGBA

	// MaxPixels caps width×height, checked from the image header before any
	// pixel buffer is allocated. Zero means no cap.
	MaxPixels int
}

// Timing is the time a job spent in each stage.
type Timing struct {
	// Queue is the wait for a preprocessing worker plus the wait from
	// queueing the preprocessed image to the start of its batch.
	Queue  time.Duration
	Pre    time.Duration // decode, orientation, resize to the model's input
	Infer  time.Duration // the backend's run of the whole batch
	Post   time.Duration // wait for a worker, normalize and resize the mask back
	Encode time.Duration // PNG or JPEG encoding
	Total  time.Duration // from Remove's start to its return
}

// Result is a finished job. Data lives in a pooled buffer: call Release once
// the bytes have been written out, and do not touch Data after that.
type Result struct {
	Data        []byte
	ContentType string
	Width       int
	Height      int
	Backend     string
	Model       string

	// Foreground is the bounding box of mask pixels at or above 128, in the
	// output's coordinates; empty when the mask has none.
	Foreground image.Rectangle

	// BatchSize is the number of images in the backend run that computed
	// this result, 1 when it ran alone.
	BatchSize int

	Timing  Timing
	release func()
}

// Release returns the result's buffers to their pool. It is safe to call
// more than once and on a nil Result.
func (r *Result) Release() {
	if r == nil || r.release == nil {
		return
	}
	r.release()
	r.release = nil
	r.Data = nil
}
