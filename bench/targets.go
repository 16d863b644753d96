package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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

	// EngineMs is the median inference time of all the images sent alone
	// between the closed loop's stretches, and CapacityRPS its inverse:
	// the engine's throughput at batch size 1, the best size of the CPU
	// backend. The open loops run at shares of it. EngineMinMs is the
	// shortest of those times.
	EngineMs    float64 `json:"engine_ms"`
	EngineMinMs float64 `json:"engine_min_ms"`
	CapacityRPS float64 `json:"capacity_rps"`

	// ClosedRatio is the closed loop's 200 responses over the images the
	// engine would have run alone in the same time: each stretch's length
	// divided by its StretchEngineMs, summed over the stretches.
	ClosedRatio float64 `json:"closed_ratio"`

	// StretchEngineMs is, for each stretch, the mean of the median
	// inference times of the lone requests just before and just after it:
	// the engine's speed the stretch is compared with. StretchRatios is
	// each stretch's 200 responses over its length divided by that time.
	StretchEngineMs []float64 `json:"closed_stretch_engine_ms"`
	StretchRatios   []float64 `json:"closed_stretch_ratios"`

	// ClosedBusy is the share of the closed loop's time that the engine
	// spent running the images of its 200 responses, the sum of their
	// infer times over the loop's length: how well the queue kept the
	// engine fed. It assumes batches of one, the CPU backend's size. There
	// the rest of each request (decoding, resizing, encoding) shares the
	// cores and slows those runs down, so the throughput can fall short
	// of the capacity while this stays near 1.
	ClosedBusy float64 `json:"closed_engine_busy"`

	// Alone contains closedStretches+1 runs of aloneRequests requests in
	// sequence, one before each stretch of the closed loop and one after
	// the last. Stretches contains those stretches, and Closed sums them.
	Alone     []*LoadReport `json:"alone"`
	Stretches []*LoadReport `json:"closed_stretches"`
	Closed    *LoadReport   `json:"closed"`

	Nominal  *LoadReport `json:"open_70"`  // open loop at 70% of capacity
	Overload *LoadReport `json:"open_150"` // open loop at 150% of capacity
	Missed   []string    `json:"missed"`   // the targets not met
	Verdicts []string    `json:"verdicts"` // one line per target
}

// The closed loop runs in closedStretches stretches, with aloneRequests
// requests sent one at a time before, between and after them to measure
// the capacity next to each stretch.
const (
	closedStretches = 3
	aloneRequests   = 5
)

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
// The capacity comes from the same run: the median inference time of
// requests sent one at a time. Other tenants of a shared machine change
// its speed from minute to minute, so the closed loop is cut into
// stretches, and each is compared with the lone requests sent just
// before and just after it. The capacity is a typical rate, like the
// closed loop's own, because the fastest lone request is a best case that
// an average over a minute cannot reach on a noisy machine. Each stretch
// starts with an idle engine and ends with a drain, which costs the closed
// loop about one request's preprocessing and encoding a stretch. The
// summary goes to w.
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
	fmt.Fprintf(w, "daemon:   %s, ready after %.1f s; %d bytes a photo\n\n", d.base,
		d.readyAfter.Seconds(), len(photo))

	url := d.base + "/v1/remove"
	rep := &TargetsReport{CPU: cpuModel()}
	alone := func(name string, dst **LoadReport) error {
		r, err := RunLoad(ctx, LoadOptions{URL: url, Image: photo, Concurrency: 1,
			Requests: aloneRequests})
		if err != nil {
			return fmt.Errorf("bench: %s: %w", name, err)
		}
		if r.OK != aloneRequests {
			return fmt.Errorf("bench: %d of %d requests sent alone failed: %v; daemon log:\n%s",
				aloneRequests-r.OK, aloneRequests, r.Errors, d.log.String())
		}
		*dst = r
		fmt.Fprintf(w, "-- %s: inference %.0f ms at median, %.0f ms at best\n\n", name,
			r.MedianInferMs, r.MinInferMs)
		return nil
	}
	load := func(name string, dst **LoadReport, opt LoadOptions) error {
		opt.URL, opt.Image = url, photo
		r, err := RunLoad(ctx, opt)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", name, err)
		}
		*dst = r
		fmt.Fprintf(w, "-- %s\n", name)
		WriteLoadReport(w, r)
		fmt.Fprintln(w)
		return nil
	}

	stretch := opt.Duration / closedStretches
	for i := range closedStretches {
		var before *LoadReport
		if err := alone(fmt.Sprintf("alone, before stretch %d", i+1), &before); err != nil {
			return nil, err
		}
		rep.Alone = append(rep.Alone, before)
		var closed *LoadReport
		name := fmt.Sprintf("%d clients, stretch %d of %d", opt.Clients, i+1, closedStretches)
		if err := load(name, &closed, LoadOptions{Concurrency: opt.Clients,
			Duration: stretch}); err != nil {
			return nil, err
		}
		rep.Stretches = append(rep.Stretches, closed)
	}
	var last *LoadReport
	if err := alone("alone, after the closed loop", &last); err != nil {
		return nil, err
	}
	rep.Alone = append(rep.Alone, last)
	if err := rep.summarizeClosed(); err != nil {
		return nil, fmt.Errorf("%w; daemon log:\n%s", err, d.log.String())
	}
	fmt.Fprintf(w, "engine:   %.0f ms an image alone at median (best %.0f ms), capacity %.3f "+
		"images/s\n", rep.EngineMs, rep.EngineMinMs, rep.CapacityRPS)
	fmt.Fprintf(w, "closed:   %d OK in %.1f s, %.3f OK/s; of the capacity on each side:",
		rep.Closed.OK, rep.Closed.ElapsedS, rep.Closed.GoodputRPS)
	for _, r := range rep.StretchRatios {
		fmt.Fprintf(w, " %.2f", r)
	}
	fmt.Fprintf(w, "\n\n")

	if err := load("70% of capacity", &rep.Nominal, LoadOptions{
		Rate: 0.7 * rep.CapacityRPS, Duration: opt.Duration}); err != nil {
		return nil, err
	}
	if err := load("150% of capacity", &rep.Overload, LoadOptions{
		Rate: 1.5 * rep.CapacityRPS, Duration: opt.Duration}); err != nil {
		return nil, err
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

// summarizeClosed computes the capacity, the closed loop's totals and its
// ratio to the capacity from the lone runs and the stretches.
//
// A stretch is compared with the mean of the two medians on its sides,
// not with the median of both sides' times pooled. When the machine's
// speed shifts between the sides, the pooled median is the slowest time
// of the faster side, so the slower side would not count.
func (rep *TargetsReport) summarizeClosed() error {
	if len(rep.Alone) != len(rep.Stretches)+1 {
		return fmt.Errorf("bench: %d lone runs around %d closed-loop stretches, want %d",
			len(rep.Alone), len(rep.Stretches), len(rep.Stretches)+1)
	}
	var all []float64
	for _, a := range rep.Alone {
		if len(a.inferMs) == 0 || percentile(a.inferMs, 0.5) <= 0 {
			return errors.New("bench: the daemon reported no inference time")
		}
		all = append(all, a.inferMs...)
	}
	rep.EngineMs, rep.EngineMinMs = percentile(all, 0.5), slices.Min(all)
	rep.CapacityRPS = 1000 / rep.EngineMs

	c := &LoadReport{Mode: "closed", Errors: map[string]int{}}
	var expected float64
	rep.StretchEngineMs, rep.StretchRatios = nil, nil
	for i, s := range rep.Stretches {
		engineMs := (percentile(rep.Alone[i].inferMs, 0.5) +
			percentile(rep.Alone[i+1].inferMs, 0.5)) / 2
		images := s.ElapsedS * 1000 / engineMs
		ratio := 0.0
		if images > 0 {
			ratio = float64(s.OK) / images
		}
		expected += images
		rep.StretchEngineMs = append(rep.StretchEngineMs, engineMs)
		rep.StretchRatios = append(rep.StretchRatios, ratio)

		c.Concurrency = s.Concurrency
		c.Sent += s.Sent
		c.Responses += s.Responses
		c.OK += s.OK
		c.ElapsedS += s.ElapsedS
		for k, n := range s.Errors {
			c.Errors[k] += n
		}
		c.okLatencyMs = append(c.okLatencyMs, s.okLatencyMs...)
		for k := range c.stageMs {
			c.stageMs[k] = append(c.stageMs[k], s.stageMs[k]...)
		}
	}
	c.summarizeStages()
	c.Latency = percentiles(c.okLatencyMs)
	if c.ElapsedS > 0 {
		c.ThroughputRPS = float64(c.Responses) / c.ElapsedS
		c.GoodputRPS = float64(c.OK) / c.ElapsedS
		var busyMs float64
		for _, ms := range c.inferMs {
			busyMs += ms
		}
		rep.ClosedBusy = busyMs / 1000 / c.ElapsedS
	}
	if expected > 0 {
		rep.ClosedRatio = float64(c.OK) / expected
	}
	rep.Closed = c
	return nil
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

	ratio := rep.ClosedRatio
	best := ""
	if rep.EngineMinMs > 0 {
		best = fmt.Sprintf("; %.2f of the best case", rep.Closed.GoodputRPS*rep.EngineMinMs/1000)
	}
	check("closed-loop throughput", ratio >= 0.9,
		"%.3f OK/s from %d clients, %.2f of the capacity around its stretches "+
			"(target >= 0.90)%s; engine busy %.0f%%",
		rep.Closed.GoodputRPS, rep.Closed.Concurrency, ratio, best, 100*rep.ClosedBusy)

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
