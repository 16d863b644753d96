package engine

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// panicBackend is a backend without a model. Run panics while panics is
// above zero, and afterwards writes 1 in a centred square and 0 around it.
type panicBackend struct {
	side   int
	panics atomic.Int32 // number of runs left that panic
	runs   atomic.Int32
}

func (b *panicBackend) Name() string  { return "fake" }
func (b *panicBackend) MaxBatch() int { return 1 }
func (b *panicBackend) Close() error  { return nil }

func (b *panicBackend) Run(_ context.Context, _, out []float32, _ int) (time.Duration, error) {
	b.runs.Add(1)
	if b.panics.Add(-1) >= 0 {
		panic("fake backend fault")
	}
	for i := range out {
		x, y := i%b.side, i/b.side
		if abs(x-b.side/2) < b.side/4 && abs(y-b.side/2) < b.side/4 {
			out[i] = 1
		} else {
			out[i] = 0
		}
	}
	return time.Millisecond, nil
}

// TestBackendPanicFailsBatch runs a job on a backend whose Run panics once.
// The job must fail with errBackendPanic, the log must contain the panic value
// and its stack, and the next job must succeed on the same worker. Without
// the recover in Pipeline.run, the panic ends the test binary.
func TestBackendPanicFailsBatch(t *testing.T) {
	const side = 32
	b := &panicBackend{side: side}
	b.panics.Store(1)
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	p, err := NewPipeline(b, PipelineConfig{Side: side, Logger: log,
		BatchConfig: BatchConfig{MaxBatch: 1}})
	if err != nil {
		t.Fatal(err)
	}
	photo := testPhoto(t, 0)

	res, err := p.Remove(context.Background(), Job{Image: photo, Output: OutputMask})
	if !errors.Is(err, errBackendPanic) {
		res.Release()
		t.Fatalf("job on a panicking run: %v, want errBackendPanic", err)
	}
	for _, want := range []string{`"msg":"inference panicked"`, `"level":"ERROR"`,
		`"panic":"fake backend fault"`, `"stack":"goroutine `, "panicBackend"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log does not contain %s:\n%s", want, logged.String())
		}
	}
	if strings.Contains(logged.String(), "inference failed") {
		t.Errorf("the panic is logged twice:\n%s", logged.String())
	}

	res, err = p.Remove(context.Background(), Job{Image: photo, Output: OutputMask})
	if err != nil {
		t.Fatalf("job after the panic: %v", err)
	}
	mask, err := png.Decode(bytes.NewReader(res.Data))
	res.Release()
	if err != nil {
		t.Fatalf("decode mask: %v", err)
	}
	gray, ok := mask.(*image.Gray)
	if !ok {
		t.Fatalf("mask is %T, want *image.Gray", mask)
	}
	if got, want := gray.Bounds(), image.Rect(0, 0, 320, 240); got != want {
		t.Fatalf("mask bounds %v, want %v", got, want)
	}
	if centre := gray.GrayAt(160, 120).Y; centre < 200 {
		t.Errorf("mask is %d at the centre, want at least 200", centre)
	}
	if corner := gray.GrayAt(5, 5).Y; corner > 55 {
		t.Errorf("mask is %d at a corner, want at most 55", corner)
	}

	if runs := b.runs.Load(); runs != 2 {
		t.Errorf("backend ran %d times, want 2", runs)
	}
	if got := p.InFlight(); got != 0 {
		t.Errorf("InFlight = %d after both jobs returned, want 0", got)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
