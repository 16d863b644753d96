package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// GateOptions configures RunGate.
type GateOptions struct {
	// Binary is the rmbgd executable to start; empty means this process's
	// own executable.
	Binary string

	// ModelPath is the daemon's --model; empty means the installed model.
	ModelPath string

	// Threads is the daemon's --threads; 0 means one per core.
	Threads int

	// Requests is the number of timed requests after one warm-up. Default
	// 25.
	Requests int

	// MaxOverhead is the largest allowed daemon overhead as a fraction of
	// the median engine time. Default 0.10.
	MaxOverhead float64

	// Startup bounds the daemon's model load and warm-up. Default 2 min.
	Startup time.Duration

	// ServeArgs are more flags for `rmbgd serve`.
	ServeArgs []string
}

// GateReport holds RunGate's measurements. Times are in milliseconds.
type GateReport struct {
	Width, Height int
	ImageBytes    int
	Load          *LoadReport

	MedianEndToEndMs float64
	MedianEngineMs   float64 // the engine's total: queue, decode, inference, mask, encode
	MedianInferMs    float64
	OverheadMs       float64 // MedianEndToEndMs − MedianEngineMs
	OverheadRatio    float64 // OverheadMs / MedianEngineMs
	MaxOverhead      float64
	CPU              string
}

// gatePhotoWidth and gatePhotoHeight make a 2 MP photo, the size of a
// 1080p frame or a downscaled phone picture.
const (
	gatePhotoWidth  = 1920
	gatePhotoHeight = 1080
)

// ErrGateFailed is returned by RunGate when the daemon's overhead is over
// the limit; the report has the figures.
var ErrGateFailed = errors.New("bench: daemon overhead over the limit")

// RunGate starts the rmbgd daemon as a child process on a loopback port
// with the CPU backend and sends it one synthetic 2 MP JPEG at a time, as
// the web client does. It measures the daemon's overhead: the median
// end-to-end latency minus the median engine time the daemon reports in
// Server-Timing ("total": from the job's admission to its encoded cut-out,
// so decoding, resizing, inference, the mask and the PNG encoder are all
// engine time). What is left is the daemon's own work and the HTTP
// exchange: reading the body, parsing the JSON, decoding the base64,
// queueing for a slot and sending the response. Both medians come from the
// same run, so a busy machine slows both. It stops the daemon with SIGTERM
// and requires a clean exit. The summary goes to w.
func RunGate(ctx context.Context, opt GateOptions, w io.Writer) (*GateReport, error) {
	if opt.Requests <= 0 {
		opt.Requests = 25
	}
	if opt.MaxOverhead <= 0 {
		opt.MaxOverhead = 0.10
	}
	if opt.Startup <= 0 {
		opt.Startup = 2 * time.Minute
	}
	photo, err := SyntheticPhoto(gatePhotoWidth, gatePhotoHeight)
	if err != nil {
		return nil, err
	}

	d, err := startChildDaemon(ctx, opt)
	if err != nil {
		return nil, err
	}
	defer d.kill()
	fmt.Fprintf(w, "daemon:     %s, ready after %.1f s\n", d.base, d.readyAfter.Seconds())

	load := LoadOptions{URL: d.base + "/v1/remove", Image: photo, Concurrency: 1}
	load.Requests = 1 // warm-up: first-touch of pools and page faults
	if _, err := RunLoad(ctx, load); err != nil {
		return nil, fmt.Errorf("warm-up request: %w", err)
	}
	load.Requests = opt.Requests
	lrep, err := RunLoad(ctx, load)
	if err != nil {
		return nil, err
	}
	if lrep.OK != opt.Requests {
		return nil, fmt.Errorf("bench: %d of %d requests failed: %v; daemon log:\n%s",
			opt.Requests-lrep.OK, opt.Requests, lrep.Errors, d.log.String())
	}
	if err := d.stop(); err != nil {
		return nil, err
	}

	rep := &GateReport{
		Width: gatePhotoWidth, Height: gatePhotoHeight, ImageBytes: len(photo),
		Load:             lrep,
		MedianEndToEndMs: lrep.Latency.P50,
		MedianEngineMs:   lrep.StageMedianMs["total"],
		MedianInferMs:    lrep.MedianInferMs,
		MaxOverhead:      opt.MaxOverhead,
		CPU:              cpuModel(),
	}
	rep.OverheadMs = rep.MedianEndToEndMs - rep.MedianEngineMs
	if rep.MedianEngineMs > 0 {
		rep.OverheadRatio = rep.OverheadMs / rep.MedianEngineMs
	}
	writeGateReport(w, rep)
	if rep.MedianEngineMs <= 0 || rep.MedianInferMs <= 0 {
		return rep, errors.New("bench: the daemon reported no total or infer time in " +
			"Server-Timing")
	}
	if rep.OverheadRatio > opt.MaxOverhead {
		return rep, fmt.Errorf("%w: %.1f%% of the engine time, limit %.0f%%", ErrGateFailed,
			100*rep.OverheadRatio, 100*opt.MaxOverhead)
	}
	return rep, nil
}

func writeGateReport(w io.Writer, rep *GateReport) {
	l := rep.Load.Latency
	fmt.Fprintf(w, "machine:    %s\n", rep.CPU)
	fmt.Fprintf(w, "photo:      synthetic JPEG %dx%d, %d bytes, %d requests in sequence\n",
		rep.Width, rep.Height, rep.ImageBytes, rep.Load.OK)
	fmt.Fprintf(w, "end to end: median %.0f ms; p90 %.0f ms, p99 %.0f ms, max %.0f ms "+
		"(not gated)\n", rep.MedianEndToEndMs, l.P90, l.P99, l.Max)
	m := rep.Load.StageMedianMs
	fmt.Fprintf(w, "engine:     median total %.0f ms: queue %.0f, pre %.0f, infer %.0f, "+
		"post %.0f, encode %.0f ms\n", rep.MedianEngineMs, m["queue"], m["pre"],
		rep.MedianInferMs, m["post"], m["encode"])
	outside := rep.MedianEndToEndMs - rep.MedianInferMs
	fmt.Fprintf(w, "beside inference: %.0f ms, %.1f%% of the infer time (not gated)\n",
		outside, 100*outside/rep.MedianInferMs)
	fmt.Fprintf(w, "overhead:   %.0f ms, %.1f%% of the engine time (limit %.0f%%)\n",
		rep.OverheadMs, 100*rep.OverheadRatio, 100*rep.MaxOverhead)
}

// childDaemon is an rmbgd serve process started by the gate.
type childDaemon struct {
	cmd        *exec.Cmd
	base       string // http://127.0.0.1:port
	log        *lockedWriter
	readyAfter time.Duration
	exited     chan error
}

// startChildDaemon starts `rmbgd serve` on a free loopback port and waits
// until /readyz responds 200.
func startChildDaemon(ctx context.Context, opt GateOptions) (*childDaemon, error) {
	bin := opt.Binary
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench: find the rmbgd binary: %w", err)
		}
		bin = self
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{"serve", "--listen", addr, "--threads", strconv.Itoa(opt.Threads),
		"--drain-delay", "100ms"}
	if opt.ModelPath != "" {
		args = append(args, "--model", opt.ModelPath)
	}
	args = append(args, opt.ServeArgs...)
	d := &childDaemon{base: "http://" + addr, log: &lockedWriter{},
		exited: make(chan error, 1)}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", bin, err)
	}
	go func() { d.exited <- d.cmd.Wait() }()

	deadline := time.Now().Add(opt.Startup)
	for {
		resp, err := http.Get(d.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				d.readyAfter = time.Since(start)
				return d, nil
			}
		}
		select {
		case err := <-d.exited:
			return nil, fmt.Errorf("bench: the daemon exited before it was ready (%v):\n%s",
				err, d.log.String())
		case <-ctx.Done():
			d.kill()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.kill()
			return nil, fmt.Errorf("bench: the daemon was not ready after %v:\n%s",
				opt.Startup, d.log.String())
		}
	}
}

// stop sends SIGTERM and waits for the daemon to drain and exit 0.
func (d *childDaemon) stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("bench: signal the daemon: %w", err)
	}
	select {
	case err := <-d.exited:
		d.exited <- err // for kill
		if err != nil {
			return fmt.Errorf("bench: the daemon did not exit cleanly on SIGTERM (%w):\n%s",
				err, d.log.String())
		}
		return nil
	case <-time.After(time.Minute):
		return fmt.Errorf("bench: the daemon still runs a minute after SIGTERM:\n%s",
			d.log.String())
	}
}

// kill ends the daemon if it still runs and waits for it.
func (d *childDaemon) kill() {
	select {
	case err := <-d.exited:
		d.exited <- err
	default:
		_ = d.cmd.Process.Kill()
		d.exited <- <-d.exited
	}
}

// freeLoopbackPort returns a loopback port that was free a moment ago.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// lockedWriter collects a child's output from its copying goroutines.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
