package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rmbgd/rmbgd/bench"
)

const benchSynopsis = "rmbgd bench cpu|load|gate|targets [flags]"

const benchDescription = "cpu:  send one photo to a daemon on a loopback port several times in\n" +
	"      sequence and report the end-to-end latency, next to a peer's inference\n" +
	"      time (the JSON line of bench/ort/ort.js bench) measured before and after.\n" +
	"load: send a photo to a running daemon at a fixed rate (open loop) or from N\n" +
	"      clients in sequence (closed loop); report throughput, latency\n" +
	"      percentiles and errors by status.\n" +
	"gate: start the daemon, send a synthetic 2 MP JPEG 25 times in sequence, and\n" +
	"      fail when its overhead over the engine's time exceeds 10%.\n" +
	"targets: start the daemon, measure its capacity, then load it with 8 clients,\n" +
	"      at 70% and at 150% of capacity, and check the latency and shedding targets."

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		newFlagSet("bench", benchSynopsis, benchDescription, stdout).Usage()
		return nil
	}
	if len(args) == 0 {
		newFlagSet("bench", benchSynopsis, benchDescription, stderr).Usage()
		return usagef("missing benchmark: want cpu, load, gate or targets")
	}
	switch args[0] {
	case "cpu":
		return runBenchCPU(args[1:], stdout, stderr)
	case "load":
		return runBenchLoad(args[1:], stdout, stderr)
	case "gate":
		return runBenchGate(args[1:], stdout, stderr)
	case "targets":
		return runBenchTargets(args[1:], stdout, stderr)
	}
	newFlagSet("bench", benchSynopsis, benchDescription, stderr).Usage()
	return usagef("unknown benchmark %q: want cpu, load, gate or targets", args[0])
}

func runBenchCPU(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench cpu", "rmbgd bench cpu [flags]", benchDescription, stderr)
	var opt bench.CPUOptions
	fs.StringVar(&opt.Image, "image", "", "photo `file` to send (required)")
	fs.IntVar(&opt.Runs, "runs", 5, "timed requests after one warm-up request")
	fs.IntVar(&opt.Threads, "threads", 0, "inference threads (0: one per core)")
	fs.StringVar(&opt.ModelPath, "model", "", "ONNX model `file` (default: the installed model)")
	fs.StringVar(&opt.PeerCommand, "peer-cmd", "",
		"shell `command` printing the peer's JSON timing line, run before and after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if opt.Image == "" {
		return usagef("missing --image")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := bench.RunCPU(ctx, opt, stdout)
	return err
}
