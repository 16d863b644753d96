package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rmbgd/rmbgd/daemon"
	"github.com/rmbgd/rmbgd/tensor"
)

// shutdownGrace is how long serve waits, past the request timeout, for
// requests in progress after SIGINT or SIGTERM.
const shutdownGrace = 5 * time.Second

func runServe(args []string, _, stderr io.Writer) error {
	fs := newFlagSet("serve", "rmbgd serve [flags]",
		"Serve the HTTP API: POST /v1/remove, GET /healthz, /readyz and /openapi.json.\n"+
			"Logs go to stderr as JSON lines. SIGINT or SIGTERM stops the server after the\n"+
			"requests in progress.", stderr)
	listen := fs.String("listen", daemon.DefaultListen, "TCP `address` to listen on")
	maxBody := byteSize(daemon.DefaultMaxBody)
	fs.Var(&maxBody, "max-body",
		"largest request body, as a `size` in bytes or with a unit: KiB, MiB, GiB, KB, MB, GB")
	maxPixels := fs.Int("max-pixels", daemon.DefaultMaxPixels,
		"largest input image, in pixels (width × height)")
	timeout := fs.Duration("timeout", daemon.DefaultTimeout, "deadline of each removal request")
	concurrency := fs.Int("concurrency", 0,
		"removal requests served at once before rejecting with 503 (0: four per core)")
	threads := fs.Int("threads", 0, "inference threads (0: one per core)")
	modelPath := fs.String("model", "", "ONNX model `file` (default: the installed "+
		"isnet-general-use, see \"rmbgd model path\")")
	requireLocked := fs.Bool("require-locked-memory", false,
		"exit when the process memory cannot be locked in RAM, instead of logging a warning")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if maxBody > 1<<31-1 {
		return usagef("-max-body %s is over the limit of 2GiB", maxBody.String())
	}

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	disableCoreDumps(log)
	if err := lockMemory(log, *requireLocked); err != nil {
		return err
	}
	cfg := daemon.Config{
		Listen:      *listen,
		MaxBody:     int(maxBody),
		MaxPixels:   *maxPixels,
		Timeout:     *timeout,
		Concurrency: *concurrency,
		Logger:      log,
	}
	return serve(cfg, *modelPath, *threads, log)
}

// lockMemory locks the process memory in RAM before the model loads, so
// image bytes, pixels, tensors and masks never reach swap. A refusal is
// logged once with the fix, or returned when required is set.
func lockMemory(log *slog.Logger, required bool) error {
	err := tensor.LockProcessMemory()
	if err == nil {
		log.Info("memory locked")
		return nil
	}
	if required {
		return fmt.Errorf("lock memory (--require-locked-memory): %w; raise the limit with "+
			"ulimit -l unlimited, LimitMEMLOCK=infinity or docker --ulimit memlock=-1", err)
	}
	log.Warn("memory not locked; images may be swapped to disk", "error", err.Error(),
		"fix", "ulimit -l unlimited, systemd LimitMEMLOCK=infinity, "+
			"or docker --ulimit memlock=-1")
	return nil
}

// serve loads the model and serves it until SIGINT or SIGTERM.
func serve(cfg daemon.Config, modelPath string, threads int, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	path, err := resolveModel(modelPath)
	if err != nil {
		return err
	}
	log.Info("starting", "version", buildVersion(), "model", path, "threads", threads)
	eng, err := openEngine(path, threads, log)
	if err != nil {
		return err
	}
	defer closeEngine(eng, log)
	if ctx.Err() != nil {
		return nil // a signal while the model loaded
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	// After the first signal, a second one ends the process at once.
	return serveEngine(ctx, stop, cfg, eng, ln, log)
}

// serveEngine serves eng on ln: it starts serving first (so /healthz
// responds during the warm-up), warms the engine, marks the server ready,
// and drains once ctx is done. It calls stopSignals when the drain starts.
func serveEngine(ctx context.Context, stopSignals func(), cfg daemon.Config, eng pipeline,
	ln net.Listener, log *slog.Logger) error {
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	srv, err := daemon.New(cfg, eng)
	if err != nil {
		ln.Close()
		return err
	}
	cfg = srv.Config()
	log.Info("config", "listen", cfg.Listen, "max_body", cfg.MaxBody,
		"max_pixels", cfg.MaxPixels, "timeout", cfg.Timeout.String(),
		"header_timeout", cfg.HeaderTimeout.String(), "body_timeout", cfg.BodyTimeout.String(),
		"write_timeout", cfg.WriteTimeout.String(),
		"idle_timeout", cfg.IdleTimeout.String(), "concurrency", cfg.Concurrency,
		"max_conns", cfg.MaxConns)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "address", ln.Addr().String(), "backend", eng.Backend(),
		"model", eng.Model())

	start := time.Now()
	if err := eng.Warm(ctx); err != nil {
		shutdownServer(srv, log, cfg.Timeout)
		// Serve may not have registered ln yet; it closes ln itself once it
		// sees the drain, so wait for it before returning.
		<-served
		if ctx.Err() != nil {
			return nil // a signal during the warm-up
		}
		return fmt.Errorf("warm-up: %w", err)
	}
	log.Info("engine warmed", "backend", eng.Backend(),
		"duration_ms", time.Since(start).Milliseconds())
	srv.SetReady(true)
	log.Info("ready")

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopSignals()
	if err := shutdownServer(srv, log, cfg.Timeout); err != nil {
		return err
	}
	if err := <-served; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// shutdownServer stops srv, waiting up to the request timeout plus
// shutdownGrace for requests in progress.
func shutdownServer(srv *daemon.Server, log *slog.Logger, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = daemon.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+shutdownGrace)
	defer cancel()
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown timed out; requests in progress were cancelled")
		return nil
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
