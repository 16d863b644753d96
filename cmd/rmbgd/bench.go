package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rmbgd/rmbgd/bench"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	const synopsis = "rmbgd bench cpu [flags]"
	const description = "cpu: send one photo to a daemon on a loopback port several times in\n" +
		"     sequence and report the end-to-end latency, next to a peer's inference\n" +
		"     time (the JSON line of bench/ort/ort.js bench) measured before and after."
	if len(args) == 0 || args[0] != "cpu" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			newFlagSet("bench", synopsis, description, stdout).Usage()
			return nil
		}
		newFlagSet("bench", synopsis, description, stderr).Usage()
		return usagef("missing or unknown benchmark: want cpu")
	}

	fs := newFlagSet("bench cpu", synopsis, description, stderr)
	var opt bench.CPUOptions
	fs.StringVar(&opt.Image, "image", "", "photo `file` to send (required)")
	fs.IntVar(&opt.Runs, "runs", 5, "timed requests after one warm-up request")
	fs.IntVar(&opt.Threads, "threads", 0, "inference threads (0: one per core)")
	fs.StringVar(&opt.ModelPath, "model", "", "ONNX model `file` (default: the installed model)")
	fs.StringVar(&opt.PeerCommand, "peer-cmd", "",
		"shell `command` printing the peer's JSON timing line, run before and after")
	if err := fs.Parse(args[1:]); err != nil {
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
