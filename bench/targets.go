package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// TargetsOptions configures RunTargets.
type TargetsOptions struct {
	// Binary, ModelPath and Threads start the daemon as for RunGate.
	Binary    string
	ModelPath string
	Threads   int

	// Image is the photo every request sends; nil means the gate's
	// synthetic 2 MP JPEG.
	Image []byte

	// Duration is the length of each of the three loaded phases. Default
	// 60 s.
	Duration time.Duration

	// Clients is the closed loop's number of clients. Default 8.
	Clients int

	// Startup bounds the daemon's model load and warm-up. Default 2 min.
	Startup time.Duration

	// ServeArgs are more flags for `rmbgd serve`, such as a queue setting.
	ServeArgs []string
}

// TargetsReport holds RunTargets' phases and verdicts.
type TargetsReport struct {
	CPU string `json:"cpu"`

	// EngineMs is the shortest inference time of one image sent alone,
	// and CapacityRPS its inverse: the engine's throughput at batch size
	// 1, the best size of the CPU backend. The shortest, because other
	// work on a shared machine only ever adds time.
	EngineMs    float64 `json:"engine_ms"`
	CapacityRPS float64 `json:"capacity_rps"`

	Closed   *LoadReport `json:"closed"`   // Clients clients in sequence
	Nominal  *LoadReport `json:"open_70"`  // open loop at 70% of capacity
	Overload *LoadReport `json:"open_150"` // open loop at 150% of capacity
	Missed   []string    `json:"missed"`   // the targets not met
	Verdicts []string    `json:"verdicts"` // one line per target
}

// ErrTargetsMissed is returned by RunTargets when a target is not met;
// the report says which.
var ErrTargetsMissed = errors.New("bench: load targets missed")

// RunTargets starts the daemon as RunGate does and measures it against the
// load targets of a production API backend:
//
//   - Clients closed-loop clients reach at least 0.9 of the engine's
//     throughput (goodput, 200 responses a second);
//   - at 70% of that capacity, in an evenly spaced open loop, p99 is at
//     most twice p50;
//   - at 150%, the daemon sheds load with 503s, and the p99 of what it
//     accepts stays within twice the p99 at 70%.
//
// The capacity comes from the same run: the shortest inference time of
// eleven requests sent one at a time. The summary goes to w.
func RunTargets(ctx context.Context, opt TargetsOptions, w io.Writer) (*TargetsReport, error) {
	if opt.Duration <= 0 {
		opt.Duration = time.Minute
	}
	if opt.Clients <= 0 {
		opt.Clients = 8
	}
	if opt.Startup <= 0 {
		opt.Startup = 2 * time.Minute
	}
	photo := opt.Image
	if photo == nil {
		var err error
		if photo, err = SyntheticPhoto(gatePhotoWidth, gatePhotoHeight); err != nil {
			return nil, err
		}
	}
	d, err := startChildDaemon(ctx, GateOptions{Binary: opt.Binary, ModelPath: opt.ModelPath,
		Threads: opt.Threads, Startup: opt.Startup, ServeArgs: opt.ServeArgs})
	if err != nil {
		return nil, err
	}
	defer d.kill()
	fmt.Fprintf(w, "daemon:   %s, ready after %.1f s; %d bytes a photo\n", d.base,
		d.readyAfter.Seconds(), len(photo))

	url := d.base + "/v1/remove"
	alone, err := RunLoad(ctx, LoadOptions{URL: url, Image: photo, Concurrency: 1,
		Requests: 11})
	if err != nil {
		return nil, err
	}
	if alone.OK != 11 || alone.MinInferMs <= 0 {
		return nil, fmt.Errorf("bench: %d of 11 requests sent alone failed: %v; daemon log:\n%s",
			11-alone.OK, alone.Errors, d.log.String())
	}
	rep := &TargetsReport{CPU: cpuModel(), EngineMs: alone.MinInferMs,
		CapacityRPS: 1000 / alone.MinInferMs}
	fmt.Fprintf(w, "engine:   %.0f ms an image alone at best (median %.0f ms), capacity %.3f "+
		"images/s\n\n", rep.EngineMs, alone.MedianInferMs, rep.CapacityRPS)

	phases := []struct {
		name string
		dst  **LoadReport
		load LoadOptions
	}{
		{fmt.Sprintf("%d clients", opt.Clients), &rep.Closed,
			LoadOptions{Concurrency: opt.Clients, Duration: opt.Duration}},
		{"70% of capacity", &rep.Nominal,
			LoadOptions{Rate: 0.7 * rep.CapacityRPS, Duration: opt.Duration}},
		{"150% of capacity", &rep.Overload,
			LoadOptions{Rate: 1.5 * rep.CapacityRPS, Duration: opt.Duration}},
	}
	for _, ph := range phases {
		ph.load.URL, ph.load.Image = url, photo
		r, err := RunLoad(ctx, ph.load)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", ph.name, err)
		}
		*ph.dst = r
		fmt.Fprintf(w, "-- %s\n", ph.name)
		WriteLoadReport(w, r)
		fmt.Fprintln(w)
	}
	if err := d.stop(); err != nil {
		return rep, err
	}

	rep.judge()
	for _, v := range rep.Verdicts {
		fmt.Fprintln(w, v)
	}
	if len(rep.Missed) > 0 {
		return rep, fmt.Errorf("%w: %v", ErrTargetsMissed, rep.Missed)
	}
	return rep, nil
}

// judge fills in the verdicts.
func (rep *TargetsReport) judge() {
	check := func(name string, ok bool, format string, args ...any) {
		verdict := "met   "
		if !ok {
			verdict = "MISSED"
			rep.Missed = append(rep.Missed, name)
		}
		rep.Verdicts = append(rep.Verdicts, verdict+" "+name+": "+fmt.Sprintf(format, args...))
	}

	ratio := rep.Closed.GoodputRPS / rep.CapacityRPS
	check("closed-loop throughput", ratio >= 0.9,
		"%.3f OK/s from %d clients, %.2f of capacity (target >= 0.90)",
		rep.Closed.GoodputRPS, rep.Closed.Concurrency, ratio)

	n := rep.Nominal.Latency
	check("70% tail", rep.Nominal.OK > 0 && n.P99 <= 2*n.P50,
		"p50 %.0f ms, p99 %.0f ms, %.2f x p50 (target <= 2), %d errors",
		n.P50, n.P99, n.P99/n.P50, rep.Nominal.Sent-rep.Nominal.OK)

	o := rep.Overload
	shed := o.Errors["503"]
	check("150% sheds with 503", shed > 0,
		"%d of %d requests answered 503, %d other errors", shed, o.Sent,
		o.Sent-o.OK-shed)
	check("150% accepted latency", o.OK > 0 && o.Latency.P99 <= 2*n.P99,
		"p99 %.0f ms of %d accepted, %.2f x the 70%% p99 (target <= 2)",
		o.Latency.P99, o.OK, o.Latency.P99/n.P99)
}
