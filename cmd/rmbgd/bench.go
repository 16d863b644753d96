package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rmbgd/rmbgd/bench"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	const synopsis = "rmbgd bench cpu [flags]"
	const description = "cpu: send one photo to a daemon on a loopback port several times in\n" +
		"     sequence and report the median end-to-end latency, next to a peer's\n" +
		"     inference time (a JSON line from bench/ort/ort.js bench) when given."
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
	peers := fs.String("peer", "", "comma-separated `files` with the peer's JSON timing lines")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *peers != "" {
		opt.Peers = strings.Split(*peers, ",")
	}
	if opt.Image == "" {
		return usagef("missing --image")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := bench.RunCPU(ctx, opt, stdout)
	return err
}
