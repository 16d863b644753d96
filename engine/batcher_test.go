package engine

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBackend wraps the shared CPU backend. It counts the runs and images
// that reach the model, can hold every run at its start until release is
// called, and leaves the shared backend open on Close.
type testBackend struct {
	Backend
	runs, images atomic.Int64
	closed       atomic.Bool

	gate    chan struct{} // nil: runs start at once
	started chan int      // the size of each held run, as it starts
	once    sync.Once
}

func (b *testBackend) Run(ctx context.Context, in, out []float32, n int) (time.Duration, error) {
	if b.gate != nil {
		b.started <- n
		select {
		case <-b.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	b.runs.Add(1)
	b.images.Add(int64(n))
	return b.Backend.Run(ctx, in, out, n)
}

func (b *testBackend) Close() error {
	b.closed.Store(true)
	return nil
}

// release lets held runs, present and future, through.
func (b *testBackend) release() { b.once.Do(func() { close(b.gate) }) }

// newTestPipeline starts a pipeline on the shared backend. With gated, every
// run waits for release; the pipeline is closed when the test ends.
func newTestPipeline(t *testing.T, cfg BatchConfig, gated bool) (*Pipeline, *testBackend) {
	t.Helper()
	b := &testBackend{Backend: cpuBackend(t)}
	if gated {
		b.gate = make(chan struct{})
		b.started = make(chan int, 16)
	}
	p, err := NewPipeline(b, PipelineConfig{BatchConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if gated {
			b.release()
		}
		p.Close()
	})
	return p, b
}

// testPhoto encodes a small synthetic photo as PNG: a gradient background
// with a disc (kind 0) or a tilted bar (kind 1) in front.
func testPhoto(t testing.TB, kind int) []byte {
	t.Helper()
	w, h := 320, 240
	if kind == 1 {
		w, h = 200, 280
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(60 + x*80/w), uint8(90 + y*60/h), 170, 255}
			dx, dy := x-w/2, y-h/2
			if kind == 0 && dx*dx+dy*dy < (h/3)*(h/3) {
				c = color.RGBA{220, 40, 30, 255}
			}
			if kind == 1 && abs(dx-dy/3) < w/8 && abs(dy) < h/3 {
				c = color.RGBA{30, 30, 30, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// removeMask runs a mask job and returns the decoded mask and the result's
// batch size.
func removeMask(t *testing.T, p *Pipeline, photo []byte) (*image.Gray, int) {
	t.Helper()
	res, err := p.Remove(context.Background(), Job{Image: photo, Output: OutputMask})
	if err != nil {
		t.Error(err)
		return nil, 0
	}
	defer res.Release()
	img, err := png.Decode(bytes.NewReader(res.Data))
	if err != nil {
		t.Errorf("decode mask: %v", err)
		return nil, 0
	}
	gray, ok := img.(*image.Gray)
	if !ok {
		t.Errorf("mask is %T, want *image.Gray", img)
		return nil, 0
	}
	return gray, res.BatchSize
}

// waitFor polls cond until it holds, failing the test after a generous
// limit that only a hung pipeline reaches.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatchMatchesAlone runs two different photos alone and then together
// in one batch, and compares their masks pixel by pixel.
func TestBatchMatchesAlone(t *testing.T) {
	photos := [][]byte{testPhoto(t, 0), testPhoto(t, 1)}

	single, _ := newTestPipeline(t, BatchConfig{MaxBatch: 1}, false)
	alone := make([]*image.Gray, len(photos))
	for i, photo := range photos {
		var size int
		alone[i], size = removeMask(t, single, photo)
		if size != 1 {
			t.Errorf("photo %d alone: batch size %d, want 1", i, size)
		}
	}

	// A minute of MaxDelay makes the worker wait for the second photo.
	batched, b := newTestPipeline(t, BatchConfig{MaxBatch: 2, MaxDelay: time.Minute}, false)
	together := make([]*image.Gray, len(photos))
	sizes := make([]int, len(photos))
	var wg sync.WaitGroup
	for i, photo := range photos {
		wg.Go(func() { together[i], sizes[i] = removeMask(t, batched, photo) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if runs, images := b.runs.Load(), b.images.Load(); runs != 1 || images != 2 {
		t.Errorf("backend ran %d times on %d images, want 1 run of 2", runs, images)
	}

	for i := range photos {
		if sizes[i] != 2 {
			t.Errorf("photo %d: batch size %d, want 2", i, sizes[i])
		}
		if alone[i].Bounds() != together[i].Bounds() {
			t.Fatalf("photo %d: mask %v in a batch, %v alone", i, together[i].Bounds(),
				alone[i].Bounds())
		}
		worst := 0
		for k := range alone[i].Pix {
			worst = max(worst, abs(int(alone[i].Pix[k])-int(together[i].Pix[k])))
		}
		t.Logf("photo %d: max difference %d/255", i, worst)
		if worst > 1 {
			t.Errorf("photo %d: mask differs by %d/255 in a batch, want <= 1", i, worst)
		}
	}
}

// TestQueueDropsDoneItems holds the backend on one job while three more
// queue: one is cancelled, one passes its deadline, one stays live. Only the
// live one may reach the backend after the first.
func TestQueueDropsDoneItems(t *testing.T) {
	p, b := newTestPipeline(t, BatchConfig{MaxBatch: 2}, true)
	photo := testPhoto(t, 0)
	remove := func(ctx context.Context) <-chan error {
		errc := make(chan error, 1)
		go func() {
			res, err := p.Remove(ctx, Job{Image: photo, Output: OutputMask})
			if err == nil && res.BatchSize != 1 {
				err = errors.New("live job ran in a batch of more than one")
			}
			res.Release()
			errc <- err
		}()
		return errc
	}

	first := remove(context.Background())
	if n := <-b.started; n != 1 {
		t.Fatalf("first run has %d images, want 1", n)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	defer cancel()
	expiring, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	errCancelled := remove(cancelled)
	errExpired := remove(expiring)
	errLive := remove(context.Background())
	waitFor(t, "three queued jobs", func() bool { return len(p.ready) == 3 })
	if got := p.QueueDepth(); got != 3 {
		t.Errorf("QueueDepth = %d with three queued jobs, want 3", got)
	}
	if got := p.InFlight(); got != 4 {
		t.Errorf("InFlight = %d with one running and three queued, want 4", got)
	}

	cancel()
	if err := <-errCancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled job: %v, want context.Canceled", err)
	}
	if err := <-errExpired; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired job: %v, want context.DeadlineExceeded", err)
	}

	b.release()
	if err := <-first; err != nil {
		t.Errorf("first job: %v", err)
	}
	if err := <-errLive; err != nil {
		t.Errorf("live job: %v", err)
	}
	if runs, images := b.runs.Load(), b.images.Load(); runs != 2 || images != 2 {
		t.Errorf("backend ran %d times on %d images, want 2 runs of 1", runs, images)
	}
	if got := p.QueueDepth(); got != 0 {
		t.Errorf("QueueDepth = %d after all jobs returned, want 0", got)
	}
}

// TestFullQueueOverloaded fills a queue of one while the backend is held and
// checks that the next job is rejected at once.
func TestFullQueueOverloaded(t *testing.T) {
	p, b := newTestPipeline(t, BatchConfig{MaxBatch: 1, MaxQueue: 1}, true)
	photo := testPhoto(t, 0)
	remove := func(ctx context.Context) <-chan error { return removeAsync(ctx, p, photo) }

	first := remove(context.Background())
	<-b.started
	if err := p.Admissible(); err != nil {
		t.Errorf("Admissible with an empty queue: %v, want nil", err)
	}
	queued, cancel := context.WithCancel(context.Background())
	defer cancel()
	second := remove(queued)
	waitFor(t, "a queued job", func() bool { return p.QueueDepth() == 1 })

	// The backend is still held, so a Remove that waited would never return.
	_, err := p.Remove(context.Background(), Job{Image: photo, Output: OutputMask})
	if !errors.Is(err, ErrOverloaded) {
		t.Errorf("Remove on a full queue: %v, want ErrOverloaded", err)
	}
	if err := p.Admissible(); !errors.Is(err, ErrOverloaded) {
		t.Errorf("Admissible on a full queue: %v, want ErrOverloaded", err)
	}

	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("queued job: %v, want context.Canceled", err)
	}
	b.release()
	if err := <-first; err != nil {
		t.Errorf("first job: %v", err)
	}
	if runs := b.runs.Load(); runs != 1 {
		t.Errorf("backend ran %d times, want 1", runs)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Admissible(); !errors.Is(err, ErrClosed) {
		t.Errorf("Admissible after Close: %v, want ErrClosed", err)
	}
}

// TestCloseDrains closes the pipeline while one job runs and two are
// queued: the running and the live queued job finish, the cancelled one
// gets its error, later jobs get ErrClosed and no goroutine is left.
func TestCloseDrains(t *testing.T) {
	cpuBackend(t) // its kernel workers are not part of the count
	baseline := runtime.NumGoroutine()
	b := &testBackend{Backend: cpuBackend(t), gate: make(chan struct{}),
		started: make(chan int, 16)}
	p, err := NewPipeline(b, PipelineConfig{BatchConfig: BatchConfig{MaxBatch: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.release()

	photo := testPhoto(t, 1)
	remove := func(ctx context.Context) <-chan error {
		errc := make(chan error, 1)
		go func() {
			res, err := p.Remove(ctx, Job{Image: photo})
			if err == nil && len(res.Data) == 0 {
				err = errors.New("empty result")
			}
			res.Release()
			errc <- err
		}()
		return errc
	}
	running := remove(context.Background())
	<-b.started
	cancelled, cancel := context.WithCancel(context.Background())
	defer cancel()
	errCancelled := remove(cancelled)
	errLive := remove(context.Background())
	waitFor(t, "two queued jobs", func() bool { return len(p.ready) == 2 })

	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	waitFor(t, "Close to start", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.closed
	})
	if _, err := p.Remove(context.Background(), Job{Image: photo}); !errors.Is(err, ErrClosed) {
		t.Errorf("Remove while closing: %v, want ErrClosed", err)
	}
	if err := p.Warm(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Warm while closing: %v, want ErrClosed", err)
	}
	cancel()
	b.release()

	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if !b.closed.Load() {
		t.Error("Close did not close the backend")
	}
	for name, errc := range map[string]<-chan error{"running": running, "live": errLive} {
		if err := <-errc; err != nil {
			t.Errorf("%s job: %v", name, err)
		}
	}
	if err := <-errCancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled job: %v, want context.Canceled", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if runs := b.runs.Load(); runs != 2 {
		t.Errorf("backend ran %d times, want 2", runs)
	}
	waitFor(t, "the pipeline's goroutines to end", func() bool {
		return runtime.NumGoroutine() <= baseline
	})
}

// TestBatchConfigDefaults checks the defaults and the rejected settings.
func TestBatchConfigDefaults(t *testing.T) {
	b := cpuBackend(t)
	tests := []struct {
		name    string
		in      BatchConfig
		want    BatchConfig
		wantErr bool
	}{
		{name: "zero", in: BatchConfig{}, want: BatchConfig{MaxBatch: testMaxBatch,
			MaxDelay: DefaultMaxDelay, MaxQueue: DefaultMaxQueue,
			PreWorkers: runtime.GOMAXPROCS(0)}},
		{name: "set", in: BatchConfig{MaxBatch: 1, MaxDelay: time.Second, MaxQueue: 3,
			PreWorkers: 5}, want: BatchConfig{MaxBatch: 1, MaxDelay: time.Second,
			MaxQueue: 3, PreWorkers: 5}},
		{name: "batch over backend", in: BatchConfig{MaxBatch: testMaxBatch + 1},
			wantErr: true},
		{name: "negative delay", in: BatchConfig{MaxDelay: -time.Millisecond}, wantErr: true},
		{name: "negative queue", in: BatchConfig{MaxQueue: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults(b)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("withDefaults(%+v) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("withDefaults(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// TestCancelStorm cancels many jobs at staggered times, before admission,
// while they wait for a staging place, while they preprocess and while
// they are queued, with one live job among them. Every cancelled job must
// return context.Canceled without reaching the backend, and every place
// and counter must be returned.
func TestCancelStorm(t *testing.T) {
	p, b := newTestPipeline(t, BatchConfig{MaxBatch: 2}, true)
	photo := testPhoto(t, 0)
	remove := func(ctx context.Context) <-chan error { return removeAsync(ctx, p, photo) }

	first := remove(context.Background())
	<-b.started
	const jobs = 14
	cancels := make([]context.CancelFunc, jobs)
	errs := make([]<-chan error, jobs)
	for i := range jobs {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		if i%5 == 0 {
			cancel()
		}
		errs[i] = remove(ctx)
	}
	live := remove(context.Background())
	for i, cancel := range cancels {
		time.Sleep(time.Duration(i%4) * time.Millisecond)
		cancel()
	}
	for i, errc := range errs {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("job %d: %v, want context.Canceled", i, err)
		}
	}

	b.release()
	for name, errc := range map[string]<-chan error{"first": first, "live": live} {
		if err := <-errc; err != nil {
			t.Errorf("%s job: %v", name, err)
		}
	}
	if images := b.images.Load(); images != 2 {
		t.Errorf("backend ran %d images, want 2", images)
	}
	waitFor(t, "the worker to drop the cancelled jobs", func() bool { return len(p.ready) == 0 })
	if got := p.QueueDepth(); got != 0 {
		t.Errorf("QueueDepth = %d after all jobs returned, want 0", got)
	}
	if got := p.InFlight(); got != 0 {
		t.Errorf("InFlight = %d after all jobs returned, want 0", got)
	}
	if got := len(p.staged); got != 0 {
		t.Errorf("%d staging places still taken, want 0", got)
	}
	if got := len(p.workers); got != 0 {
		t.Errorf("%d workers still taken, want 0", got)
	}
}

// TestQueueWaitBound holds one run in the backend, which started half a
// second ago with a batch time of one second on record. A second job,
// arriving with half a second left, is admitted under the default bound
// of three quarters of a batch and queues behind it. A third would wait
// about 1.5 s: the bound decides whether it is admitted.
func TestQueueWaitBound(t *testing.T) {
	cases := []struct {
		name  string
		limit time.Duration
		admit bool
	}{
		{"default", 0, false},
		{"shorter than the wait", 1200 * time.Millisecond, false},
		{"longer than the wait", 5 * time.Second, true},
		{"off", -1, true},
	}
	photo := testPhoto(t, 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, b := newTestPipeline(t, BatchConfig{MaxBatch: 1, MaxQueueWait: c.limit}, true)
			p.batchTime.Store(int64(time.Second))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			remove := func() <-chan error { return removeAsync(ctx, p, photo) }

			first := remove()
			<-b.started
			p.runStart.Store(time.Now().Add(-500 * time.Millisecond).UnixNano())
			second := remove()
			waitFor(t, "a queued job", func() bool { return p.QueueDepth() == 1 })
			third := remove()
			if c.admit {
				waitFor(t, "a second queued job", func() bool { return p.QueueDepth() == 2 })
			} else {
				err := <-third
				var overloaded *OverloadedError
				if !errors.As(err, &overloaded) || !errors.Is(err, ErrOverloaded) {
					t.Fatalf("third job: %v, want an OverloadedError", err)
				}
				if overloaded.Wait < time.Second || overloaded.Wait > 1500*time.Millisecond {
					t.Errorf("expected wait %v, want between 1 s and 1.5 s", overloaded.Wait)
				}
			}

			cancel()
			b.release()
			for _, errc := range []<-chan error{first, second} {
				if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("held job: %v", err)
				}
			}
			if c.admit {
				if err := <-third; err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("third job: %v", err)
				}
			}
		})
	}
}

// TestQueueWaitEarlyInRun sends a job just after a one-second run has
// started: the default bound of three quarters of a batch rejects it, and
// a bound of two seconds admits it.
func TestQueueWaitEarlyInRun(t *testing.T) {
	photo := testPhoto(t, 0)
	for _, c := range []struct {
		limit time.Duration
		admit bool
	}{{0, false}, {2 * time.Second, true}} {
		p, b := newTestPipeline(t, BatchConfig{MaxBatch: 1, MaxQueueWait: c.limit}, true)
		p.batchTime.Store(int64(time.Second))
		ctx, cancel := context.WithCancel(context.Background())
		first := removeAsync(ctx, p, photo)
		<-b.started

		second := removeAsync(ctx, p, photo)
		if c.admit {
			waitFor(t, "a queued job", func() bool { return p.QueueDepth() == 1 })
		} else if err := <-second; !errors.Is(err, ErrOverloaded) {
			t.Errorf("limit %v: second job %v, want ErrOverloaded", c.limit, err)
		}
		cancel()
		b.release()
		<-first
		if c.admit {
			<-second
		}
	}
}

// removeAsync runs a mask job for photo on p in a goroutine and returns its
// error on the channel.
func removeAsync(ctx context.Context, p *Pipeline, photo []byte) <-chan error {
	errc := make(chan error, 1)
	go func() {
		res, err := p.Remove(ctx, Job{Image: photo, Output: OutputMask})
		res.Release()
		errc <- err
	}()
	return errc
}
