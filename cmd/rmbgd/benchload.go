package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rmbgd/rmbgd/bench"
)

func runBenchLoad(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench load", "rmbgd bench load --url URL --image FILE "+
		"(--rate R --duration D | --concurrency N [--requests M | --duration D]) [flags]",
		"Send a photo to a running daemon and report throughput, latency percentiles\n"+
			"and errors by status. With --rate the sends follow a fixed schedule (open\n"+
			"loop) and each latency counts from its scheduled time, so a slow server\n"+
			"cannot hold the client back and hide its delay. With --concurrency, N\n"+
			"clients each send their next request once the previous response is in.",
		stderr)
	var opt bench.LoadOptions
	var image, jsonOut string
	fs.StringVar(&opt.URL, "url", "http://127.0.0.1:8080/v1/remove", "removal endpoint `URL`")
	fs.BoolVar(&opt.AllowRemote, "allow-remote", false,
		"allow a --url that is not a loopback address")
	fs.StringVar(&image, "image", "", "photo `file` to send (required)")
	fs.BoolVar(&opt.RawBody, "raw", false,
		"send the image bytes as the body instead of base64 in JSON")
	fs.Float64Var(&opt.Rate, "rate", 0, "open loop: requests a second")
	fs.BoolVar(&opt.Poisson, "poisson", false,
		"open loop: exponential gaps between sends (a Poisson process) instead of even ones")
	fs.Uint64Var(&opt.Seed, "seed", 1, "random seed of the Poisson gaps")
	fs.DurationVar(&opt.Duration, "duration", 0,
		"how long to send: required for the open loop, optional for the closed one")
	fs.IntVar(&opt.Concurrency, "concurrency", 0, "closed loop: clients sending in sequence")
	fs.BoolVar(&opt.IgnoreRetryAfter, "ignore-retry-after", false,
		"closed loop: send the next request at once after a 429 or 503 instead of "+
			"waiting for its Retry-After")
	fs.IntVar(&opt.Requests, "requests", 0, "closed loop: requests to send in all")
	fs.DurationVar(&opt.Timeout, "timeout", 60e9, "limit of each request")
	fs.IntVar(&opt.MaxInFlight, "max-inflight", 1024,
		"open loop: outstanding requests at most; a send past it waits")
	fs.StringVar(&jsonOut, "json", "", "also write the report as JSON to this `file`")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if image == "" {
		return usagef("missing --image")
	}
	if opt.Rate > 0 && opt.Concurrency > 0 {
		return usagef("--rate and --concurrency exclude each other: pick the open or the " +
			"closed loop")
	}
	if opt.Image, err = os.ReadFile(image); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, runErr := bench.RunLoad(ctx, opt)
	if rep == nil {
		return usagef("%v", runErr)
	}
	bench.WriteLoadReport(stdout, rep)
	if jsonOut != "" {
		if err := writeJSONFile(jsonOut, rep); err != nil {
			return err
		}
	}
	return runErr
}

// writeJSONFile writes v as indented JSON to path.
func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the JSON report: %w", err)
	}
	return nil
}

func runBenchGate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench gate", "rmbgd bench gate [flags]",
		"Start this binary's daemon on a loopback port with the CPU backend, send a\n"+
			"synthetic 2 MP JPEG in sequence, and fail when the daemon's overhead (median\n"+
			"end-to-end latency minus the median engine time, the \"total\" it reports in\n"+
			"Server-Timing) exceeds --max-overhead of the engine time. Tail latency and the\n"+
			"time beside inference are printed, not gated.",
		stderr)
	var opt bench.GateOptions
	var jsonOut string
	fs.IntVar(&opt.Requests, "requests", 25, "timed requests after one warm-up request")
	fs.Float64Var(&opt.MaxOverhead, "max-overhead", 0.10,
		"largest overhead allowed, as a fraction of the median engine time")
	fs.IntVar(&opt.Threads, "threads", 0, "inference threads (0: one per core)")
	fs.StringVar(&opt.ModelPath, "model", "", "ONNX model `file` (default: the installed model)")
	fs.StringVar(&jsonOut, "json", "", "also write the report as JSON to this `file`")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	return runReported(jsonOut, func(ctx context.Context) (*bench.GateReport, error) {
		return bench.RunGate(ctx, opt, stdout)
	})
}

func runBenchTargets(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench targets", "rmbgd bench targets [flags]",
		"Start this binary's daemon on a loopback port with the CPU backend and measure\n"+
			"it against the load targets: --clients closed-loop clients reach 0.9 of the\n"+
			"engine's capacity; at 70% of capacity (open loop) p99 is at most 2 x p50; at\n"+
			"150% the daemon sheds with 503 and the p99 of what it accepts stays within\n"+
			"2 x the 70% p99. The capacity comes from the same run: the median inference\n"+
			"time of requests sent one at a time. The closed loop runs in three stretches,\n"+
			"each compared with the lone requests sent just before and just after it.\n"+
			"Exits 1 when a target is missed.",
		stderr)
	var opt bench.TargetsOptions
	var jsonOut, image, serveArgs string
	fs.DurationVar(&opt.Duration, "duration", time.Minute,
		"length of each loaded phase; the closed loop's is split into its stretches")
	fs.IntVar(&opt.Clients, "clients", 8, "clients of the closed-loop phase")
	fs.StringVar(&image, "image", "", "photo `file` to send (default: a synthetic 2 MP JPEG)")
	fs.StringVar(&serveArgs, "serve-args", "",
		"more `flags` for the daemon, separated by spaces, such as \"--max-queue-wait 2s\"")
	fs.IntVar(&opt.Threads, "threads", 0, "inference threads (0: one per core)")
	fs.StringVar(&opt.ModelPath, "model", "", "ONNX model `file` (default: the installed model)")
	fs.StringVar(&jsonOut, "json", "", "also write the report as JSON to this `file`")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	opt.ServeArgs = strings.Fields(serveArgs)
	if image != "" {
		var err error
		if opt.Image, err = os.ReadFile(image); err != nil {
			return err
		}
	}
	return runReported(jsonOut, func(ctx context.Context) (*bench.TargetsReport, error) {
		return bench.RunTargets(ctx, opt, stdout)
	})
}

// parseNoArgs parses the flags of a command that takes no arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	return nil
}

// runReported runs a benchmark until it ends or the process gets SIGINT or
// SIGTERM, and writes its report as JSON to jsonOut when that is set and
// the benchmark returned one, even with an error.
func runReported[R any](jsonOut string, run func(ctx context.Context) (*R, error)) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, runErr := run(ctx)
	if rep != nil && jsonOut != "" {
		if err := writeJSONFile(jsonOut, rep); err != nil {
			return err
		}
	}
	return runErr
}
