package engine

import (
	"context"
	"time"
)

// Backend runs the model on a batch of preprocessed images. Implementations
// are not safe for concurrent Run calls; the pipeline serializes them.
type Backend interface {
	// Name returns the backend's name as the API reports it: "cpu" or "cuda".
	Name() string

	// MaxBatch returns the largest batch Run accepts.
	MaxBatch() int

	// Run computes out (n×1×side×side) from in (n×3×side×side) and returns
	// the time the model itself took.
	Run(ctx context.Context, in, out []float32, n int) (time.Duration, error)

	// Close releases the backend's memory and workers.
	Close() error
}
