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
	"github.com/rmbgd/rmbgd/engine"
	"github.com/rmbgd/rmbgd/imaging"
	"github.com/rmbgd/rmbgd/tensor"
)

// shutdownGrace is how long serve waits, past the request timeout, for
// requests in progress after SIGINT or SIGTERM.
const shutdownGrace = 5 * time.Second

// defaultDrainDelay is how long /readyz reports 503 before the listener
// closes: long enough for a load balancer that checks every second or two
// to take the instance out of rotation.
const defaultDrainDelay = 5 * time.Second

// serveOptions is everything runServe reads from the command line.
type serveOptions struct {
	cfg        daemon.Config
	modelPath  string
	threads    int
	batch      engine.BatchConfig
	drainDelay time.Duration
	pngLevel   pngLevel
	profile    profileOptions
}

func runServe(args []string, _, stderr io.Writer) error {
	fs := newFlagSet("serve", "rmbgd serve [flags]",
		"Serve the HTTP API: POST /v1/remove, GET /healthz, /readyz, /metrics and\n"+
			"/openapi.json. Logs go to stderr as JSON lines. On SIGINT or SIGTERM /readyz\n"+
			"turns 503 while requests are still served for --drain-delay; then the\n"+
			"listener closes and the server exits once the accepted requests are done.", stderr)
	var opt serveOptions
	cfg := &opt.cfg
	fs.StringVar(&cfg.Listen, "listen", daemon.DefaultListen, "TCP `address` to listen on")
	maxBody := byteSize(daemon.DefaultMaxBody)
	fs.Var(&maxBody, "max-body",
		"largest request body, as a `size` in bytes or with a unit: KiB, MiB, GiB, KB, MB, GB")
	maxBodyMemory := byteSize(0)
	fs.Var(&maxBodyMemory, "max-body-memory",
		"bytes the request bodies being read may take together, by their Content-Length, "+
			"as a `size`; a body past it gets 503 before it is read (0: eight times --max-body)")
	fs.IntVar(&cfg.MaxPixels, "max-pixels", daemon.DefaultMaxPixels,
		"largest input image, in pixels (width × height)")
	fs.DurationVar(&cfg.Timeout, "timeout", daemon.DefaultTimeout,
		"deadline of each removal request, from the end of its body; the header "+
			"X-Request-Timeout-Ms can shorten it")
	fs.DurationVar(&cfg.HeaderTimeout, "header-timeout", daemon.DefaultHeaderTimeout,
		"time a client has to send a request header, from connecting or from its first byte")
	fs.DurationVar(&cfg.BodyTimeout, "body-timeout", daemon.DefaultBodyTimeout,
		"time a client has to send a request body once its header is in")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", daemon.DefaultWriteTimeout,
		"time a client has to read a response")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", daemon.DefaultIdleTimeout,
		"time a keep-alive connection may wait for its next request")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0,
		"removal requests served at once before rejecting with 503 (0: four per core)")
	fs.IntVar(&cfg.MaxConns, "max-conns", daemon.DefaultMaxConns,
		"client connections served at once; one more is closed with a 503")
	fs.Float64Var(&cfg.Rate, "rate", 0,
		"removal requests a second allowed per client IP, refilling a token bucket (0: no limit)")
	fs.IntVar(&cfg.Burst, "burst", 0,
		"removal requests a client IP may make at once, the bucket's size (0: the rate "+
			"rounded up, at least 1)")
	trusted := fs.String("trusted-proxies", "",
		"comma-separated CIDR `list` of reverse proxies whose X-Forwarded-For and "+
			"X-Real-IP name the client (default: none, the client is the TCP peer)")
	fs.DurationVar(&opt.drainDelay, "drain-delay", defaultDrainDelay,
		"time /readyz reports 503 on SIGTERM before the listener closes, while "+
			"requests are still served")
	fs.IntVar(&opt.threads, "threads", 0, "inference threads (0: one per core)")
	fs.Var(&opt.pngLevel, "png-level", pngLevelUsage)
	fs.IntVar(&opt.batch.MaxBatch, "max-batch", 0,
		fmt.Sprintf("most images in one inference batch (0: %d on the CPU)",
			engine.DefaultCPUMaxBatch))
	fs.DurationVar(&opt.batch.MaxDelay, "max-delay", engine.DefaultMaxDelay,
		"longest a batch that is not full waits for more images")
	fs.IntVar(&opt.batch.MaxQueue, "max-queue", engine.DefaultMaxQueue,
		"jobs waiting for inference before new ones are rejected with 503")
	fs.Var((*queueWait)(&opt.batch.MaxQueueWait), "max-queue-wait",
		"longest expected wait for inference a new job may face before it is rejected "+
			"with 503: a `duration`, off, or auto (the default: three quarters of the recent "+
			"inference time of one batch)")
	fs.StringVar(&opt.modelPath, "model", "", "ONNX model `file` (default: the installed "+
		"isnet-general-use, see \"rmbgd model path\")")
	requireLocked := fs.Bool("require-locked-memory", false,
		"exit when the process memory cannot be locked in RAM, instead of logging a warning")
	opt.profile.addFlags(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if err := opt.check(maxBody, maxBodyMemory, *trusted); err != nil {
		return err
	}

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	disableCoreDumps(log)
	if err := lockMemory(log, *requireLocked); err != nil {
		return err
	}
	opt.cfg.Logger = log
	return serve(opt, log)
}

// check validates the flags that the daemon and the engine do not check
// themselves, and fills in MaxBody, MaxBodyMemory and TrustedProxies.
func (opt *serveOptions) check(maxBody, maxBodyMemory byteSize, trusted string) error {
	if maxBody > 1<<31-1 {
		return usagef("-max-body %s is over the limit of 2GiB", maxBody.String())
	}
	opt.cfg.MaxBody = int(maxBody)
	opt.cfg.MaxBodyMemory = int64(maxBodyMemory)
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"timeout", opt.cfg.Timeout}, {"header-timeout", opt.cfg.HeaderTimeout},
		{"body-timeout", opt.cfg.BodyTimeout}, {"write-timeout", opt.cfg.WriteTimeout},
		{"idle-timeout", opt.cfg.IdleTimeout}, {"drain-delay", opt.drainDelay},
		{"max-delay", opt.batch.MaxDelay},
	} {
		if d.value < 0 {
			return usagef("-%s %v is negative", d.name, d.value)
		}
	}
	for _, n := range []struct {
		name  string
		value int
	}{
		{"max-pixels", opt.cfg.MaxPixels}, {"concurrency", opt.cfg.Concurrency},
		{"max-conns", opt.cfg.MaxConns}, {"burst", opt.cfg.Burst},
		{"threads", opt.threads}, {"max-batch", opt.batch.MaxBatch},
		{"max-queue", opt.batch.MaxQueue},
	} {
		if n.value < 0 {
			return usagef("-%s %d is negative", n.name, n.value)
		}
	}
	if opt.cfg.Rate < 0 {
		return usagef("-rate %v is negative", opt.cfg.Rate)
	}
	prefixes, err := daemon.ParsePrefixes(trusted)
	if err != nil {
		return usagef("-trusted-proxies: %v", err)
	}
	opt.cfg.TrustedProxies = prefixes
	return opt.profile.check()
}

// lockMemory locks the process memory in RAM before the model loads, so
// image bytes, pixels, tensors and masks never reach swap. A rejected lock
// is logged once with the fix, or returned when required is set.
func lockMemory(log *slog.Logger, required bool) error {
	err := tensor.LockProcessMemory()
	if err == nil {
		log.Info("memory locked")
		return nil
	}
	if required {
		return fmt.Errorf("lock memory failed (--require-locked-memory): %w. Raise the limit "+
			"with ulimit -l unlimited, LimitMEMLOCK=infinity or docker --ulimit memlock=-1", err)
	}
	log.Warn("memory not locked, so images may be swapped to disk", "error", err.Error(),
		"fix", "ulimit -l unlimited, systemd LimitMEMLOCK=infinity, "+
			"or docker --ulimit memlock=-1")
	return nil
}

// serve loads the model and serves it until SIGINT or SIGTERM.
func serve(opt serveOptions, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stopProfiling, err := opt.profile.start(log)
	if err != nil {
		return err
	}
	defer stopProfiling()

	path, err := resolveModel(opt.modelPath)
	if err != nil {
		return err
	}
	log.Info("starting", "version", buildVersion(), "model", path,
		"jpeg_decoder", imaging.JPEGDecoder())
	png := imaging.PNGEncoder{Level: int(opt.pngLevel)}
	eng, err := openEngine(path, opt.threads, png, opt.batch, log)
	if err != nil {
		return err
	}
	defer closeEngine(eng, log)
	if ctx.Err() != nil {
		return nil // a signal while the model loaded
	}

	ln, err := net.Listen("tcp", opt.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opt.cfg.Listen, err)
	}
	// After the first signal, a second one ends the process at once.
	return serveEngine(ctx, stop, opt.cfg, opt.drainDelay, eng, ln, log)
}

// serveEngine serves eng on ln: it starts serving first (so /healthz
// responds during the warm-up), warms the engine and marks the server
// ready. Once ctx is done it calls stopSignals, drains for drainDelay
// (/readyz responds 503 while requests are still served), then shuts the
// server down and returns nil when every accepted request is done.
func serveEngine(ctx context.Context, stopSignals func(), cfg daemon.Config,
	drainDelay time.Duration, eng pipeline, ln net.Listener, log *slog.Logger) error {
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
		"write_timeout", cfg.WriteTimeout.String(), "idle_timeout", cfg.IdleTimeout.String(),
		"concurrency", cfg.Concurrency, "max_conns", cfg.MaxConns, "rate", cfg.Rate,
		"burst", cfg.Burst, "trusted_proxies", len(cfg.TrustedProxies),
		"drain_delay", drainDelay.String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "address", ln.Addr().String(), "backend", eng.Backend(),
		"model", eng.Model())

	start := time.Now()
	if err := eng.Warm(ctx); err != nil {
		shutdownServer(srv, log, cfg.Timeout)
		// Serve may not have registered ln yet. It closes ln itself once it
		// detects the drain, so wait for it before returning.
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
	stopSignals()
	if err := drain(srv, served, drainDelay, log); err != nil {
		return err
	}
	log.Info("shutting down")
	if err := shutdownServer(srv, log, cfg.Timeout); err != nil {
		return err
	}
	if err := <-served; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// drain turns /readyz to 503 and keeps serving for delay, so that load
// balancers stop sending requests before the listener closes. It returns
// early with Serve's error when serving fails meanwhile.
func drain(srv *daemon.Server, served <-chan error, delay time.Duration,
	log *slog.Logger) error {
	log.Info("draining", "drain_delay", delay.String())
	srv.Drain()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-timer.C:
		return nil
	}
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
