package daemon

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rmbgd/rmbgd/engine"
)

// Remover is the interface the daemon needs from the engine, and
// *engine.Pipeline implements it. Remove must be safe for concurrent use,
// must return once ctx is done (with an error wrapping ctx.Err()), and must
// not keep job.Image after it returns, because the daemon wipes and reuses
// that buffer. The daemon calls Release on every Result it gets.
type Remover interface {
	Remove(ctx context.Context, job engine.Job) (*engine.Result, error)
	Backend() string // "cpu" or "cuda"
	Model() string   // model name, e.g. "isnet-general-use"
}

// Server is the HTTP daemon. Create it with New, start it with Serve or
// ListenAndServe, and stop it with Shutdown. Its methods are safe for
// concurrent use.
type Server struct {
	cfg     Config
	remover Remover
	log     *slog.Logger
	http    *fasthttp.Server
	bufs    bufPool

	// slots holds one token per removal request being served.
	slots chan struct{}

	ready    atomic.Bool
	draining atomic.Bool

	// mu guards listeners, the listeners passed to Serve. Shutdown closes
	// them itself, because fasthttp only closes the listeners its Serve has
	// registered, and a Serve that started just before Shutdown may not
	// have registered its listener yet.
	mu        sync.Mutex
	listeners []net.Listener

	// baseCtx is the parent of every request's context; Shutdown cancels it
	// when its own context ends before the requests do.
	baseCtx context.Context
	cancel  context.CancelFunc

	// Request ids are idPrefix (random per process) and a counter, so ids
	// from two runs of the daemon do not collide in the logs.
	idPrefix uint32
	nextID   atomic.Uint32
}

// New returns a Server for cfg that serves removals with r. Zero fields of
// cfg take their defaults; a negative field is an error. The server starts
// not ready: /readyz responds 503 until SetReady(true).
func New(cfg Config, r Remover) (*Server, error) {
	if r == nil {
		return nil, errors.New("daemon: nil Remover")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}

	s := &Server{
		cfg:     cfg,
		remover: r,
		log:     cfg.Logger,
		slots:   make(chan struct{}, cfg.Concurrency),
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	var prefix [4]byte
	_, _ = rand.Read(prefix[:]) // crypto/rand.Read does not return errors (Go 1.24+)
	s.idPrefix = binary.BigEndian.Uint32(prefix[:])

	s.http = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.handleReadError,
		Name:               "rmbgd",
		Concurrency:        cfg.MaxConns,
		MaxRequestBodySize: cfg.MaxBody,
		ReadTimeout:        cfg.ReadTimeout,
		WriteTimeout:       cfg.WriteTimeout,
		IdleTimeout:        cfg.IdleTimeout,
		// fasthttp would otherwise parse multipart bodies before the handler
		// and spill large files to temporary files; parseMultipart reads
		// them in memory instead.
		DisablePreParseMultipartForm: true,
		SecureErrorLogMessage:        true,
		Logger:                       fasthttpLogger{s.log},
	}
	return s, nil
}

// Config returns the server's configuration with the defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// SetReady sets what /readyz reports: call SetReady(true) once the engine
// is loaded and warmed.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Serve serves HTTP on ln until Shutdown, and returns the listener's error,
// or nil after Shutdown. Serve after Shutdown closes ln and returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()

	err := s.http.Serve(lingerListener{ln})
	if s.draining.Load() && errors.Is(err, net.ErrClosed) {
		return nil // Shutdown closed ln before fasthttp registered it
	}
	return err
}

// ListenAndServe listens on Config.Listen and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("daemon: listen: %w", err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting connections, rejects new removal requests with
// 503 shutting_down, and waits for the requests in progress. When ctx ends
// first, it cancels their contexts and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining.Store(true)
	listeners := s.listeners
	s.mu.Unlock()
	for _, ln := range listeners {
		// fasthttp may have closed it already; a second Close only fails.
		_ = ln.Close()
	}

	err := s.http.ShutdownWithContext(ctx)
	if errors.Is(err, net.ErrClosed) {
		err = nil // fasthttp closing a listener closed above
	}
	s.cancel()
	return err
}

// handle routes a request and writes its access log line. A panic in a
// handler is recovered here, logged with its stack and turned into a 500, so the
// daemon keeps serving.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	route := routeOf(ctx.Path())
	defer s.accessLog(ctx, route)
	defer s.recoverPanic(ctx)

	switch route {
	case routeRemove:
		if !ctx.IsPost() {
			s.methodNotAllowed(ctx, "POST")
			return
		}
		s.remove(ctx)
	case routeHealth, routeReady, routeOpenAPI:
		if !ctx.IsGet() && !ctx.IsHead() {
			s.methodNotAllowed(ctx, "GET, HEAD")
			return
		}
		switch route {
		case routeHealth:
			writeJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"ok"}`))
		case routeReady:
			s.readyz(ctx)
		default:
			ctx.Response.Header.Set("Cache-Control", "no-cache")
			writeJSON(ctx, fasthttp.StatusOK, openAPIDocument)
		}
	default:
		s.writeError(ctx, newRequestError(fasthttp.StatusNotFound, codeNotFound,
			"no route for this path; see /openapi.json"))
	}
}

// Routes as the access log names them. A path without a route is logged
// as routeNone, so the log never carries a client-chosen path.
const (
	routeRemove  = "/v1/remove"
	routeHealth  = "/healthz"
	routeReady   = "/readyz"
	routeOpenAPI = "/openapi.json"
	routeNone    = "-"
)

func routeOf(path []byte) string {
	switch string(path) {
	case routeRemove:
		return routeRemove
	case routeHealth:
		return routeHealth
	case routeReady:
		return routeReady
	case routeOpenAPI:
		return routeOpenAPI
	}
	return routeNone
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	switch {
	case s.draining.Load():
		ctx.Response.Header.Set("Retry-After", "5")
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, []byte(`{"status":"shutting_down"}`))
	case !s.ready.Load():
		ctx.Response.Header.Set("Retry-After", "1")
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, []byte(`{"status":"starting"}`))
	default:
		body := []byte(`{"status":"ready","backend":`)
		body = appendJSONString(body, s.remover.Backend())
		body = append(body, `,"model":`...)
		body = appendJSONString(body, s.remover.Model())
		body = append(body, '}')
		writeJSON(ctx, fasthttp.StatusOK, body)
	}
}

func (s *Server) methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	s.writeError(ctx, newRequestError(fasthttp.StatusMethodNotAllowed, codeMethodNotAllowed,
		"method not allowed; allowed: %s", allow))
}

// recoverPanic responds to a panicking request with 500 with its request id. The
// log line has the id, the panic's type and the stack, but not the panic
// value unless it is a runtime error: a value built by the handler could
// quote request data.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	v := recover()
	if v == nil {
		return
	}
	id := s.requestID()
	attrs := []slog.Attr{
		slog.String("request_id", id),
		slog.String("panic_type", fmt.Sprintf("%T", v)),
		slog.String("stack", string(debug.Stack())),
	}
	if rerr, ok := v.(runtime.Error); ok {
		attrs = append(attrs, slog.String("panic", rerr.Error()))
	}
	s.log.LogAttrs(context.Background(), slog.LevelError, "request handler panicked", attrs...)

	ctx.Response.Reset()
	s.writeInternal(ctx, id)
}

// accessLog writes the one log line of a request: time, client_ip, method,
// route, status, req_bytes, resp_bytes and duration_ms, and nothing else
// about the request.
func (s *Server) accessLog(ctx *fasthttp.RequestCtx, route string) {
	if !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	start := ctx.Time()
	if start.IsZero() {
		start = time.Now()
	}
	respBytes := len(ctx.Response.Body())
	if ctx.Response.IsBodyStream() {
		respBytes = max(ctx.Response.Header.ContentLength(), 0)
	}
	reqBytes := len(ctx.Request.Body())
	if reqBytes == 0 {
		reqBytes = max(ctx.Request.Header.ContentLength(), 0)
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
		slog.String("client_ip", ctx.RemoteIP().String()),
		slog.String("method", methodName(ctx.Method())),
		slog.String("route", route),
		slog.Int("status", ctx.Response.StatusCode()),
		slog.Int("req_bytes", reqBytes),
		slog.Int("resp_bytes", respBytes),
		slog.Float64("duration_ms", milliseconds(time.Since(start))),
	)
}

// methodName returns the method as a constant string for the usual methods,
// and "OTHER" for the rest, which a client may make up freely.
func methodName(m []byte) string {
	for _, known := range [...]string{
		"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
	} {
		if string(m) == known {
			return known
		}
	}
	return "OTHER"
}

// handleReadError responds to a request that fasthttp could not read: a body
// over MaxBody, a malformed or oversized header, a read timeout. fasthttp
// closes the connection after this response; the close lingers so that
// the client gets to read it.
func (s *Server) handleReadError(ctx *fasthttp.RequestCtx, err error) {
	markLinger(ctx.Conn())
	route := routeOf(ctx.Path())
	defer s.accessLog(ctx, route)

	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.writeError(ctx, newRequestError(fasthttp.StatusRequestEntityTooLarge,
			codePayloadTooLarge, "the request body is larger than the limit of %d bytes",
			s.cfg.MaxBody))
	case errors.As(err, &small):
		s.writeError(ctx, newRequestError(fasthttp.StatusRequestHeaderFieldsTooLarge,
			"header_too_large", "the request header is too large"))
	case errors.As(err, &netErr) && netErr.Timeout():
		s.writeError(ctx, newRequestError(fasthttp.StatusRequestTimeout,
			"request_timeout", "the request was not received in time"))
	default:
		s.writeError(ctx, newRequestError(fasthttp.StatusBadRequest,
			"bad_request", "the HTTP request could not be parsed"))
	}
}

// requestID returns a new id: 8 hex digits of process prefix, 8 of counter.
func (s *Server) requestID() string {
	return fmt.Sprintf("%08x%08x", s.idPrefix, s.nextID.Add(1))
}

// fasthttpLogger passes fasthttp's own messages to slog.
// SecureErrorLogMessage keeps request content out of them. Errors on a
// single connection (a body over the limit, a malformed request) have
// already been responded to and appear in the access log, so they go to
// the debug level. The rest, such as failures to accept, are warnings.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	level := slog.LevelWarn
	if strings.HasPrefix(format, "error when serving connection") {
		level = slog.LevelDebug
	}
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, "http server error",
		"error", fmt.Sprintf(format, args...))
}
