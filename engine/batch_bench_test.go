package engine

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/imaging"
	"github.com/rmbgd/rmbgd/models"
)

// BenchmarkBackendBatch runs the CPU backend on batches of 1, 2 and 4
// images in turn within each round, so that the batch sizes share the
// machine's noise. It reports the time per image and each batch size's
// throughput relative to batch 1 (speedup@n).
func BenchmarkBackendBatch(b *testing.B) {
	const maxBatch = 4
	plan, err := models.LoadPlan(modelPath(b), imaging.ModelSide)
	if err != nil {
		b.Fatal(err)
	}
	backend, err := NewCPUBackend(plan, maxBatch, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer backend.Close()
	b.Logf("arena for a batch of %d: %d MiB", maxBatch, backend.ArenaBytes()>>20)

	side := imaging.ModelSide
	in := make([]float32, maxBatch*3*side*side)
	for i := range in {
		in[i] = float32(0.5 * math.Sin(float64(i)*0.001))
	}
	out := make([]float32, maxBatch*side*side)
	ctx := context.Background()
	sizes := []int{1, 2, 4}
	spent := make([]time.Duration, len(sizes))
	for b.Loop() {
		for k, n := range sizes {
			start := time.Now()
			if _, err := backend.Run(ctx, in[:n*3*side*side], out[:n*side*side], n); err != nil {
				b.Fatal(err)
			}
			spent[k] += time.Since(start)
		}
	}
	for k, n := range sizes {
		perImage := spent[k].Seconds() * 1000 / float64(n*b.N)
		b.ReportMetric(perImage, fmt.Sprintf("ms/image@%d", n))
		b.ReportMetric(spent[0].Seconds()*float64(n)/spent[k].Seconds(), fmt.Sprintf("speedup@%d", n))
	}
}
