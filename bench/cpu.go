package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rmbgd/rmbgd/daemon"
	"github.com/rmbgd/rmbgd/engine"
)

// CPUOptions configures RunCPU.
type CPUOptions struct {
	Image     string // photo to send
	Runs      int    // timed requests after one warm-up request; 0 means 5
	Threads   int    // kernel workers; 0 means one per core
	ModelPath string // empty means the installed default model
	// PeerCommand is a shell command that prints the peer's timing as the
	// JSON line of `ort.js bench`. RunCPU runs it before and after its own
	// requests, so that a change in the machine's load shows in the peer's
	// spread. Empty skips the ratio.
	PeerCommand string
}

// CPUReport holds RunCPU's measurements. Times are in milliseconds.
type CPUReport struct {
	Image        string    `json:"image"`
	Width        int       `json:"width"`
	Height       int       `json:"height"`
	Threads      int       `json:"threads"`
	EndToEndMs   []float64 `json:"end_to_end_ms"`
	InferMs      []float64 `json:"infer_ms"`
	MedianE2EMs  float64   `json:"median_end_to_end_ms"`
	MinE2EMs     float64   `json:"min_end_to_end_ms"`
	MedianInfer  float64   `json:"median_infer_ms"`
	PeerEngine   string    `json:"peer_engine,omitempty"`
	PeerMs       []float64 `json:"peer_ms,omitempty"`
	PeerMedianMs float64   `json:"peer_median_ms,omitempty"`
	PeerMinMs    float64   `json:"peer_min_ms,omitempty"`
	Ratio        float64   `json:"median_ratio,omitempty"`
	MinRatio     float64   `json:"min_ratio,omitempty"`
	PeakRSSMiB   float64   `json:"peak_rss_mib"`
	CPU          string    `json:"cpu"`
}

// RunCPU measures the CPU backend end to end through a listening daemon and
// writes a human summary and a JSON line to w.
func RunCPU(ctx context.Context, opt CPUOptions, w io.Writer) (*CPUReport, error) {
	if opt.Runs <= 0 {
		opt.Runs = 5
	}
	photo, err := os.ReadFile(opt.Image)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	p, err := engine.NewCPU(engine.CPUConfig{ModelPath: opt.ModelPath, Threads: opt.Threads,
		Logger: log})
	if err != nil {
		return nil, err
	}
	defer p.Close()

	url, stop, err := startDaemon(p, log)
	if err != nil {
		return nil, err
	}
	defer stop()

	body, err := json.Marshal(map[string]string{
		"image": base64.StdEncoding.EncodeToString(photo), "filename": "bench",
	})
	if err != nil {
		return nil, err
	}
	rep := &CPUReport{Image: opt.Image, Threads: opt.Threads, CPU: cpuModel()}
	if err := runPeer(ctx, opt.PeerCommand, rep); err != nil {
		return nil, err
	}
	for i := 0; i <= opt.Runs; i++ {
		e2e, infer, wh, err := post(ctx, url, body)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			continue // warm-up: page faults, first-touch of pools
		}
		rep.Width, rep.Height = wh[0], wh[1]
		rep.EndToEndMs = append(rep.EndToEndMs, e2e)
		rep.InferMs = append(rep.InferMs, infer)
	}
	rep.MedianE2EMs = median(rep.EndToEndMs)
	rep.MinE2EMs = slices.Min(rep.EndToEndMs)
	rep.MedianInfer = median(rep.InferMs)
	rep.PeakRSSMiB = peakRSSMiB()
	if err := runPeer(ctx, opt.PeerCommand, rep); err != nil {
		return nil, err
	}
	if len(rep.PeerMs) > 0 {
		rep.PeerMedianMs = median(rep.PeerMs)
		rep.PeerMinMs = slices.Min(rep.PeerMs)
		rep.Ratio = rep.MedianE2EMs / rep.PeerMedianMs
		rep.MinRatio = rep.MinE2EMs / rep.PeerMinMs
	}
	writeCPUReport(w, rep)
	return rep, nil
}

func startDaemon(p *engine.Pipeline, log *slog.Logger) (string, func(), error) {
	srv, err := daemon.New(daemon.Config{Logger: log}, p)
	if err != nil {
		return "", nil, err
	}
	srv.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go srv.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String() + "/v1/remove", stop, nil
}

// post sends one request and returns its latency, the engine time the daemon
// reported in Server-Timing, and the answer's size.
func post(ctx context.Context, url string, body []byte) (float64, float64, [2]int, error) {
	var wh [2]int
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, wh, err
	}
	req.Header.Set("Content-Type", "application/json")

	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, wh, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	e2e := float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		return 0, 0, wh, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, wh, fmt.Errorf("daemon responded with %s", resp.Status)
	}
	wh[0], _ = strconv.Atoi(resp.Header.Get("X-Width"))
	wh[1], _ = strconv.Atoi(resp.Header.Get("X-Height"))
	return e2e, serverTiming(resp.Header.Get("Server-Timing"), "infer"), wh, nil
}

// serverTiming returns the dur of metric name in a Server-Timing header.
func serverTiming(header, name string) float64 {
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(strings.TrimSpace(part), ";")
		if fields[0] != name {
			continue
		}
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "dur="); ok {
				ms, _ := strconv.ParseFloat(v, 64)
				return ms
			}
		}
	}
	return 0
}

// runPeer runs the peer's timing command, when there is one, and adds its
// runs to rep.
func runPeer(ctx context.Context, command string, rep *CPUReport) error {
	if command == "" {
		return nil
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("peer command %q: %w", command, err)
	}
	var peer struct {
		Engine string    `json:"engine"`
		RunsMs []float64 `json:"runs_ms"`
	}
	if err := json.Unmarshal(raw, &peer); err != nil {
		return fmt.Errorf("read the peer's timing line %q: %w", raw, err)
	}
	if len(peer.RunsMs) == 0 {
		return fmt.Errorf("the peer's timing line %q has no runs", raw)
	}
	rep.PeerEngine = peer.Engine
	rep.PeerMs = append(rep.PeerMs, peer.RunsMs...)
	return nil
}

func writeCPUReport(w io.Writer, rep *CPUReport) {
	fmt.Fprintf(w, "machine:            %s, %d cores\n", rep.CPU, runtime.NumCPU())
	fmt.Fprintf(w, "photo:              %s (%dx%d)\n", rep.Image, rep.Width, rep.Height)
	fmt.Fprintf(w, "rmbgd end to end:   median %.0f ms, min %.0f ms %v\n",
		rep.MedianE2EMs, rep.MinE2EMs, rep.EndToEndMs)
	fmt.Fprintf(w, "rmbgd engine:       median %.0f ms\n", rep.MedianInfer)
	if rep.PeerMedianMs > 0 {
		fmt.Fprintf(w, "%s inference: median %.0f ms, min %.0f ms %v\n",
			rep.PeerEngine, rep.PeerMedianMs, rep.PeerMinMs, rep.PeerMs)
		fmt.Fprintf(w, "end to end / peer inference: %.2f (medians), %.2f (minimums)\n",
			rep.Ratio, rep.MinRatio)
	}
	fmt.Fprintf(w, "peak RSS:           %.0f MiB\n", rep.PeakRSSMiB)
	line, _ := json.Marshal(rep)
	fmt.Fprintf(w, "%s\n", line)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return runtime.GOARCH
}
