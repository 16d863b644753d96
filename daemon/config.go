package daemon

import (
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"runtime"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultMaxBody       = 32 << 20 // bytes
	DefaultMaxPixels     = 50_000_000
	DefaultTimeout       = 30 * time.Second
	DefaultHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout   = 60 * time.Second
	DefaultWriteTimeout  = 60 * time.Second
	DefaultIdleTimeout   = 120 * time.Second
	DefaultMaxConns      = 1024
	DefaultRateClients   = 100_000
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

	// MaxBodyMemory caps the bytes that the bodies being read may take
	// together, by their declared Content-Length. The HTTP server
	// allocates a body's whole declared length when the header arrives,
	// before any of it is sent, so without a cap a few hundred bytes of
	// headers on a few connections could reserve gigabytes. A request
	// whose body does not fit is rejected with 503 overloaded before its
	// body is read. A chunked body grows only as its bytes arrive and
	// counts for nothing. Default eight times MaxBody.
	MaxBodyMemory int64

	// MaxPixels caps width×height of an input image, checked from the image
	// header before any pixel buffer exists; a larger image is rejected with 413
	// too_many_pixels. Default DefaultMaxPixels.
	MaxPixels int

	// Timeout is each removal request's deadline, from the moment its body
	// has been read; a request still unserved then fails with 504 timeout.
	// A client may shorten it with the X-Request-Timeout-Ms header. Default
	// DefaultTimeout (30 s).
	Timeout time.Duration

	// HeaderTimeout bounds the time to receive a request's header: from
	// the connection's accept for its first request, from the first byte
	// for a keep-alive one. It keeps a client that trickles header bytes
	// (slowloris) from holding a connection. Default DefaultHeaderTimeout
	// (10 s).
	HeaderTimeout time.Duration

	// BodyTimeout bounds the time to receive a request's body once its
	// header is in, so that a slow upload cannot hold its buffer for long.
	// Such a request fails with 408 request_timeout. Default
	// DefaultBodyTimeout (60 s).
	BodyTimeout time.Duration

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

	// Rate is the sustained number of /v1/remove requests a second that one
	// client IP may make (a token bucket refilled at Rate). Zero, the
	// default, turns rate limiting off. An IPv6 client is limited by its
	// /64 prefix, the block one subscriber usually gets.
	Rate float64

	// Burst is the bucket's size: how many requests a client may make at
	// once after being idle. Default ceil(Rate), at least 1. Ignored when
	// Rate is zero.
	Burst int

	// RateClients caps the number of client buckets kept. When the table is
	// full, full buckets (idle clients) go first, then the least recently
	// used one, whose client then starts again with a full bucket. Default
	// DefaultRateClients.
	RateClients int

	// TrustedProxies lists the networks of reverse proxies whose
	// X-Forwarded-For and X-Real-IP headers name the client. A request from
	// any other peer is attributed to the peer itself. Default none.
	TrustedProxies []netip.Prefix

	// Logger receives the access log (one line per request) and server
	// errors. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns cfg with zero fields set to their defaults, or an
// error naming the first invalid field.
func (cfg Config) withDefaults() (Config, error) {
	negative := []struct {
		name  string
		value int64
	}{
		{"MaxBody", int64(cfg.MaxBody)},
		{"MaxBodyMemory", cfg.MaxBodyMemory},
		{"MaxPixels", int64(cfg.MaxPixels)},
		{"Timeout", int64(cfg.Timeout)},
		{"HeaderTimeout", int64(cfg.HeaderTimeout)},
		{"BodyTimeout", int64(cfg.BodyTimeout)},
		{"WriteTimeout", int64(cfg.WriteTimeout)},
		{"IdleTimeout", int64(cfg.IdleTimeout)},
		{"Concurrency", int64(cfg.Concurrency)},
		{"MaxConns", int64(cfg.MaxConns)},
		{"Burst", int64(cfg.Burst)},
		{"RateClients", int64(cfg.RateClients)},
	}
	for _, f := range negative {
		if f.value < 0 {
			return cfg, fmt.Errorf("daemon: invalid config: %s is negative (%d)", f.name, f.value)
		}
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return cfg, fmt.Errorf("daemon: invalid config: Rate is %v, want a finite number >= 0",
			cfg.Rate)
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return cfg, fmt.Errorf("daemon: invalid config: TrustedProxies has an invalid prefix")
		}
	}

	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxBodyMemory == 0 {
		cfg.MaxBodyMemory = 8 * int64(cfg.MaxBody)
	}
	if cfg.MaxPixels == 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HeaderTimeout == 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
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
	if cfg.Rate > 0 && cfg.Burst == 0 {
		cfg.Burst = max(1, int(math.Min(math.Ceil(cfg.Rate), math.MaxInt32)))
	}
	if cfg.RateClients == 0 {
		cfg.RateClients = DefaultRateClients
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
