package daemon

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultMaxBody      = 32 << 20 // bytes
	DefaultMaxPixels    = 50_000_000
	DefaultTimeout      = 30 * time.Second
	DefaultReadTimeout  = 60 * time.Second
	DefaultWriteTimeout = 60 * time.Second
	DefaultIdleTimeout  = 120 * time.Second
	DefaultMaxConns     = 1024
)

// Config configures a Server. Every field's zero value selects its
// documented default; negative values are invalid.
type Config struct {
	// Listen is the TCP address ListenAndServe binds. Default DefaultListen,
	// a loopback address: exposing the daemon is an explicit choice.
	Listen string

	// MaxBody is the largest request body in bytes. A larger body is
	// rejected with 413 payload_too_large before it is read. Default
	// DefaultMaxBody (32 MiB).
	MaxBody int

	// MaxPixels caps width×height of an input image, checked from the image
	// header before any pixel buffer exists; a larger image is rejected with 413
	// too_many_pixels. Default DefaultMaxPixels.
	MaxPixels int

	// Timeout is each removal request's deadline, from the moment its body
	// has been read; a request still unserved then fails with 504 timeout.
	// Default DefaultTimeout (30 s).
	Timeout time.Duration

	// ReadTimeout bounds the time to read a whole request, headers and body,
	// so a client that trickles bytes (slowloris) cannot hold a connection
	// and its buffer. Default DefaultReadTimeout (60 s).
	ReadTimeout time.Duration

	// WriteTimeout bounds the time to write a response, so a client that
	// stops reading cannot hold the encoded image. Default
	// DefaultWriteTimeout (60 s).
	WriteTimeout time.Duration

	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request. Default DefaultIdleTimeout (120 s).
	IdleTimeout time.Duration

	// Concurrency is the number of removal requests served at once. One more
	// is rejected with 503 overloaded at once instead of queueing, because
	// each holds its body, its decoded image and its response in memory. Default
	// four per GOMAXPROCS.
	Concurrency int

	// MaxConns is the number of client connections served at once; a
	// connection beyond it is closed with a plain-text 503 by fasthttp.
	// Default DefaultMaxConns.
	MaxConns int

	// Logger receives the access log (one line per request) and server
	// errors. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns cfg with zero fields set to their defaults, or an
// error naming the first negative field.
func (cfg Config) withDefaults() (Config, error) {
	negative := []struct {
		name  string
		value int64
	}{
		{"MaxBody", int64(cfg.MaxBody)},
		{"MaxPixels", int64(cfg.MaxPixels)},
		{"Timeout", int64(cfg.Timeout)},
		{"ReadTimeout", int64(cfg.ReadTimeout)},
		{"WriteTimeout", int64(cfg.WriteTimeout)},
		{"IdleTimeout", int64(cfg.IdleTimeout)},
		{"Concurrency", int64(cfg.Concurrency)},
		{"MaxConns", int64(cfg.MaxConns)},
	}
	for _, f := range negative {
		if f.value < 0 {
			return cfg, fmt.Errorf("daemon: invalid config: %s is negative (%d)", f.name, f.value)
		}
	}

	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxPixels == 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
