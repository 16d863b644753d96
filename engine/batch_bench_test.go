package engine

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/imaging"
	"github.com/rmbgd/rmbgd/models"
)

// BenchmarkBackendBatch runs the CPU backend on batches of 1, 2 and 4
// images in turn within each round, so that the batch sizes share the
// machine's noise. It reports the time per image and each batch size's
// throughput relative to batch 1 (speedup@n). Run it with -benchtime=3x
// or more, a multiple of three rounds.
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
	cpuSpent := make([]time.Duration, len(sizes))
	round := 0
	for b.Loop() {
		// Each round starts at a different size, so a drift in the
		// machine's load does not favour one of them.
		for j := range sizes {
			k := (round + j) % len(sizes)
			n := sizes[k]
			start, cpuStart := time.Now(), processCPUTime(b)
			if _, err := backend.Run(ctx, in[:n*3*side*side], out[:n*side*side], n); err != nil {
				b.Fatal(err)
			}
			spent[k] += time.Since(start)
			cpuSpent[k] += processCPUTime(b) - cpuStart
		}
		round++
	}
	for k, n := range sizes {
		perImage := spent[k].Seconds() * 1000 / float64(n*b.N)
		b.ReportMetric(perImage, fmt.Sprintf("ms/image@%d", n))
		cpuPerImage := cpuSpent[k].Seconds() * 1000 / float64(n*b.N)
		b.ReportMetric(cpuPerImage, fmt.Sprintf("cpu-ms/image@%d", n))
		b.ReportMetric(spent[0].Seconds()*float64(n)/spent[k].Seconds(), fmt.Sprintf("speedup@%d", n))
	}
}

// processCPUTime returns the user and system CPU time of the process so
// far. Per image, it is less sensitive than wall time to other processes
// taking the cores.
func processCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBatchStaging measures what a batch of more than one image adds
// per image: copying the preprocessed input into the batch tensor and the
// output back out, and wiping both batch slots afterwards.
func BenchmarkBatchStaging(b *testing.B) {
	side := imaging.ModelSide
	in := make([]float32, 3*side*side)
	out := make([]float32, side*side)
	batchIn := make([]float32, 2*len(in))
	batchOut := make([]float32, 2*len(out))
	b.SetBytes(int64(4 * (len(in) + len(out))))
	for b.Loop() {
		copy(batchIn[len(in):], in)
		copy(out, batchOut[len(out):])
		clear(batchIn[len(in):])
		clear(batchOut[len(out):])
	}
}

// busyBackend adds up the time its backend spends in Run.
type busyBackend struct {
	Backend
	busy time.Duration // written only by the pipeline's batch worker
}

func (b *busyBackend) Run(ctx context.Context, in, out []float32, n int) (time.Duration, error) {
	start := time.Now()
	d, err := b.Backend.Run(ctx, in, out, n)
	b.busy += time.Since(start)
	return d, err
}

func (b *busyBackend) Close() error { return nil }

// BenchmarkPipelineBusy sends six jobs at once through pipelines with
// MaxBatch 1 and 2 and reports the share of the wall time the backend was
// running (busy-%) and the images per second. Decoding, preprocessing and
// encoding run beside inference, so busy-% should miss 100 only by the
// first decode and the last encode of each round.
func BenchmarkPipelineBusy(b *testing.B) {
	const jobs = 6
	photo := testPhoto(b, 0)
	if dir := os.Getenv("RMBGD_REFERENCE_DIR"); dir != "" {
		var err error
		if photo, err = os.ReadFile(filepath.Join(dir, "coffee.png")); err != nil {
			b.Fatal(err)
		}
	}
	for _, maxBatch := range []int{1, 2} {
		b.Run(fmt.Sprintf("max-batch=%d", maxBatch), func(b *testing.B) {
			backend := &busyBackend{Backend: cpuBackend(b)}
			p, err := NewPipeline(backend, PipelineConfig{BatchConfig: BatchConfig{
				MaxBatch: maxBatch}})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			if err := p.Warm(context.Background()); err != nil {
				b.Fatal(err)
			}
			backend.busy = 0

			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				for range jobs {
					wg.Go(func() {
						res, err := p.Remove(context.Background(), Job{Image: photo})
						if err != nil {
							b.Error(err)
						}
						res.Release()
					})
				}
				wg.Wait()
			}
			wall := time.Since(start)
			b.ReportMetric(100*backend.busy.Seconds()/wall.Seconds(), "busy-%")
			b.ReportMetric(float64(jobs*b.N)/wall.Seconds(), "images/s")
		})
	}
}
