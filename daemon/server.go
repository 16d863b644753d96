package daemon

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
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

// admissionChecker is implemented by a Remover that can tell, before a
// request's body is read, that Remove would reject the job at once, as
// [engine.Pipeline.Admissible] does.
type admissionChecker interface {
	Admissible() error
}

// Server is the HTTP daemon. Create it with New, start it with Serve or
// ListenAndServe, and stop it with Drain, then Shutdown once load
// balancers have noticed. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	remover Remover
	log     *slog.Logger
	http    *fasthttp.Server
	bufs    bufPool

	// slots holds one token per removal request being served.
	slots chan struct{}

	metrics *metrics
	limiter *rateLimiter // nil when Config.Rate is zero

	// headers maps the header of a request being read to what was known
	// when it arrived (see headerReceived).
	headers sync.Map // *fasthttp.RequestHeader → *headerInfo

	// bodyMemory is the sum of the declared lengths of the bodies being
	// read or served, bounded by Config.MaxBodyMemory.
	bodyMemory atomic.Int64

	ready    atomic.Bool
	draining atomic.Bool // set by Drain and Shutdown: /readyz responds 503

	// closing is set when Shutdown starts, and closedAt is then the time of
	// it as a duration since epoch: a removal whose header arrived later is
	// rejected with 503 shutting_down.
	closing  atomic.Bool
	closedAt atomic.Int64
	epoch    time.Time

	// mu guards listeners, the listeners passed to Serve. Shutdown closes
	// them itself, because fasthttp only closes the listeners its Serve has
	// registered, and a Serve that started just before Shutdown may not
	// have registered its listener yet.
	mu        sync.Mutex
	listeners []*serverListener

	// baseCtx is the parent of every request's context; Shutdown cancels it
	// when its own context ends before the requests do.
	baseCtx context.Context
	cancel  context.CancelFunc

	// Request ids are idPrefix (random per process) and a counter, so ids
	// from two runs of the daemon do not collide in the logs.
	idPrefix uint32
	nextID   atomic.Uint32

	// keepRequestData turns off the wiping of fasthttp's read and write
	// buffers and header storage, so that a benchmark can measure its cost.
	keepRequestData bool
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
		epoch:   time.Now(),
	}
	if cfg.Rate > 0 {
		s.limiter = newRateLimiter(cfg.Rate, cfg.Burst, cfg.RateClients)
	}
	s.metrics = newMetrics(s, cfg.Logger)
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	var prefix [4]byte
	_, _ = rand.Read(prefix[:]) // crypto/rand.Read does not return errors (Go 1.24+)
	s.idPrefix = binary.BigEndian.Uint32(prefix[:])

	s.http = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.handleReadError,
		ExpectHandler:      s.handleExpect,
		Name:               "rmbgd",
		HeaderReceived:     s.headerReceived,
		ConnState:          connState,
		Concurrency:        cfg.MaxConns,
		MaxRequestBodySize: cfg.MaxBody,
		ReadBufferSize:     readBufferSize,
		WriteBufferSize:    writeBufferSize,
		// fasthttp's ReadTimeout runs from a connection's accept, or from
		// a keep-alive request's first byte, to the end of the header.
		// headerReceived then gives the body its own deadline.
		ReadTimeout:  cfg.HeaderTimeout,
		WriteTimeout: cfg.WriteTimeout,
		IdleTimeout:  cfg.IdleTimeout,
		// A response during Shutdown carries Connection: close, so the
		// client does not send its next request on a connection about to
		// close.
		CloseOnShutdown: true,
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
	sl := newServerListener(ln)
	sl.keepBuffers = s.keepRequestData
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		sl.Close()
		return nil
	}
	s.listeners = append(s.listeners, sl)
	s.mu.Unlock()

	err := s.http.Serve(sl)
	if s.closing.Load() && errors.Is(err, net.ErrClosed) {
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

// Drain starts the first phase of a graceful stop: /readyz responds 503
// shutting_down at once, so that load balancers take the instance out of
// rotation, while every route, removals included, keeps serving as
// before. Responses carry Connection: close from then on, so that clients
// open their next connection to another instance. Call Shutdown once the
// load balancers have had time to notice.
func (s *Server) Drain() { s.draining.Store(true) }

// Shutdown stops accepting connections and waits for the requests in
// progress. A removal request whose header had arrived before Shutdown is
// served, or fails with 504 at its deadline. One whose header arrives
// later, on a keep-alive connection or one still in the accept queue, is
// rejected with 503 shutting_down. When ctx ends first, Shutdown cancels
// the requests' contexts, which fail with 503 shutting_down, and returns
// ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closedAt.Store(int64(time.Since(s.epoch)))
	s.closing.Store(true)
	s.draining.Store(true)
	listeners := s.listeners
	s.mu.Unlock()
	for _, ln := range listeners {
		if err := ln.Close(); err != nil {
			s.log.Warn("closing the listener failed", "error", err)
		}
	}

	err := s.http.ShutdownWithContext(ctx)
	if errors.Is(err, net.ErrClosed) {
		err = nil // fasthttp closing a listener closed above
	}
	s.cancel()
	return err
}

// arrivedAfterClose reports whether a request whose header arrived at
// start came after Shutdown began.
func (s *Server) arrivedAfterClose(start time.Time) bool {
	if !s.closing.Load() {
		return false
	}
	return start.Sub(s.epoch) >= time.Duration(s.closedAt.Load())
}

// headerInfo is the record the server keeps once a request's header has been
// read, before its body. fasthttp resets the header when reading the body
// fails, and the access log line and the rate limit of that failure still
// need the method, route and client.
type headerInfo struct {
	method   string
	route    string
	received time.Time

	// forwarded is the client the forwarding headers name, believed only
	// when the peer turns out to be a trusted proxy; zero when none.
	forwarded netip.Addr

	// reserved is the part of Config.MaxBodyMemory the body holds, its
	// declared length, until the request is done. overBudget marks a body
	// that did not fit, which fasthttp then rejects unread.
	reserved   int64
	overBudget bool

	// overloaded is the remover's rejection, an error matching
	// engine.ErrOverloaded, of a removal sent with Expect:
	// 100-continue while the queue had no room (see handleExpect).
	overloaded error

	// values are fasthttp's copies of the header values, for wipeRequest.
	// They start in valueBuf.
	values   [][]byte
	valueBuf [maxRecordedValues][]byte
}

// headerReceived is fasthttp's HeaderReceived hook: it records the
// request's headerInfo, the header values included, and starts the body's
// read deadline.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	info := &headerInfo{
		method:   methodName(h.Method()),
		route:    requestRoute(h),
		received: time.Now(),
	}
	if len(s.cfg.TrustedProxies) > 0 {
		info.forwarded = forwardedClient(h, s.cfg.TrustedProxies)
	}
	if !s.keepRequestData {
		info.values = recordHeaderValues(h, info.valueBuf[:0])
	}
	conf := fasthttp.RequestConfig{ReadTimeout: s.cfg.BodyTimeout}
	if n := int64(h.ContentLength()); n > 0 && n <= int64(s.cfg.MaxBody) {
		if s.bodyMemory.Add(n) <= s.cfg.MaxBodyMemory {
			info.reserved = n
		} else {
			s.bodyMemory.Add(-n)
			info.overBudget = true
			// Any body longer than one byte is then too large, so fasthttp
			// rejects it before it allocates the body.
			conf.MaxRequestBodySize = 1
		}
	}
	// A record left by a request on this RequestCtx that ended before
	// either handler ran gives its reservation back now. fasthttp calls no
	// handler when the server itself closed the connection mid-body.
	// TODO: such a reservation stays taken until the RequestCtx is reused.
	if old, loaded := s.headers.Swap(h, info); loaded {
		s.releaseBody(old.(*headerInfo))
	}
	return conf
}

// requestRoute returns the route of h's request target as the handler
// will see it in ctx.Path(): the path without the scheme and host of an
// absolute-form target, percent-decoded and normalized.
func requestRoute(h *fasthttp.RequestHeader) string {
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	if err := u.Parse(nil, h.RequestURI()); err != nil {
		return routeNone
	}
	return routeOf(u.Path())
}

// releaseBody gives the body memory reserved for a request back.
func (s *Server) releaseBody(info *headerInfo) {
	if info.reserved > 0 {
		s.bodyMemory.Add(-info.reserved)
		info.reserved = 0
	}
}

// takeHeaderInfo returns what headerReceived recorded for h and deletes it.
func (s *Server) takeHeaderInfo(h *fasthttp.RequestHeader) (*headerInfo, bool) {
	v, ok := s.headers.LoadAndDelete(h)
	if !ok {
		return nil, false
	}
	return v.(*headerInfo), true
}

// requestRecord is the data the access log and the metrics record about
// one request.
type requestRecord struct {
	method string
	route  string
	start  time.Time // when the header arrived
	client netip.Addr

	// batchSize is the size of the inference batch the request ran in, or
	// zero when it ran none.
	batchSize int

	// bodyReserved is the body memory the request holds until it is done.
	bodyReserved int64

	// headerValues are fasthttp's copies of the header values, zeroed with
	// the rest of the request's data once it has been handled.
	headerValues [][]byte
}

// newRecord starts the record of a request that fasthttp has read whole.
func (s *Server) newRecord(ctx *fasthttp.RequestCtx) requestRecord {
	rec := requestRecord{
		method: methodName(ctx.Method()),
		route:  routeOf(ctx.Path()),
		start:  ctx.Time(),
		client: peerAddr(ctx),
	}
	if info, ok := s.takeHeaderInfo(&ctx.Request.Header); ok {
		rec.start = info.received
		rec.headerValues = info.values
		rec.bodyReserved = info.reserved
	} else if !s.keepRequestData {
		rec.headerValues = recordHeaderValues(&ctx.Request.Header, nil)
	}
	if trustedPeer(rec.client, s.cfg.TrustedProxies) {
		if fwd := forwardedClient(&ctx.Request.Header, s.cfg.TrustedProxies); fwd.IsValid() {
			rec.client = fwd
		}
	}
	return rec
}

// handle routes a request and writes its access log line. A panic in a
// handler is recovered here, logged with its stack and turned into a 500, so the
// daemon keeps serving. Whatever the route and the outcome, the request's
// header values, raw header and body are zeroed before handle returns.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	rec := s.newRecord(ctx)
	defer s.wipeRequest(ctx, &rec, false)
	defer s.finish(ctx, &rec)
	// Checked when the response is ready, after any panic's reset: a
	// request that was in progress when the server began to drain closes
	// its connection too.
	defer s.closeIfDraining(ctx)
	defer s.recoverPanic(ctx)

	switch rec.route {
	case routeRemove:
		if !s.allowRate(ctx, rec.client) {
			return
		}
		if !ctx.IsPost() {
			s.methodNotAllowed(ctx, "POST")
			return
		}
		s.remove(ctx, &rec)
	case routeHealth, routeReady, routeOpenAPI, routeMetrics:
		if !ctx.IsGet() && !ctx.IsHead() {
			s.methodNotAllowed(ctx, "GET, HEAD")
			return
		}
		switch rec.route {
		case routeHealth:
			writeJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"ok"}`))
		case routeReady:
			s.readyz(ctx)
		case routeMetrics:
			s.metrics.handler(ctx)
		default:
			ctx.Response.Header.Set("Cache-Control", "no-cache")
			writeJSON(ctx, fasthttp.StatusOK, openAPIDocument)
		}
	default:
		s.writeError(ctx, newRequestError(fasthttp.StatusNotFound, codeNotFound,
			"no route for this path; see /openapi.json"))
	}
}

// Routes as the access log and the metrics name them. A path without a
// route is routeNone, so that neither carries a client-chosen path.
const (
	routeRemove  = "/v1/remove"
	routeHealth  = "/healthz"
	routeReady   = "/readyz"
	routeMetrics = "/metrics"
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
	case routeMetrics:
		return routeMetrics
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

	// The rate-limit headers belong to the request, which took its token,
	// so they outlive the reset of the half-written response.
	var kept [len(rateLimitHeaders)][]byte
	for i, name := range rateLimitHeaders {
		kept[i] = append([]byte(nil), ctx.Response.Header.Peek(name)...)
	}
	ctx.Response.Reset()
	for i, name := range rateLimitHeaders {
		if len(kept[i]) > 0 {
			ctx.Response.Header.SetBytesV(name, kept[i])
		}
	}
	s.writeInternal(ctx, id)
}

// finish writes the access log line of a request and counts it in the
// metrics. The line has time, client_ip, method, route, status, req_bytes,
// resp_bytes, duration_ms and batch_size, and nothing else about the
// request.
func (s *Server) finish(ctx *fasthttp.RequestCtx, rec *requestRecord) {
	if rec.bodyReserved > 0 {
		s.bodyMemory.Add(-rec.bodyReserved)
		rec.bodyReserved = 0
	}
	elapsed := time.Since(rec.start)
	status := ctx.Response.StatusCode()
	s.metrics.observeRequest(rec.route, status, elapsed)
	if !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	// Body reads a body stream into fasthttp's own response buffer, which
	// is never wiped: the size of a streamed image comes from its header.
	var respBytes int
	if ctx.Response.IsBodyStream() {
		respBytes = max(ctx.Response.Header.ContentLength(), 0)
	} else {
		respBytes = len(ctx.Response.Body())
	}
	reqBytes := len(ctx.Request.Body())
	if reqBytes == 0 {
		reqBytes = max(ctx.Request.Header.ContentLength(), 0)
	}
	client := "-"
	if rec.client.IsValid() {
		client = rec.client.String()
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
		slog.String("client_ip", client),
		slog.String("method", rec.method),
		slog.String("route", rec.route),
		slog.Int("status", status),
		slog.Int("req_bytes", reqBytes),
		slog.Int("resp_bytes", respBytes),
		slog.Float64("duration_ms", milliseconds(elapsed)),
		slog.Int("batch_size", rec.batchSize),
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
// the client gets to read it. A failed /v1/remove request takes a token
// from its client's bucket like any other, and gets 429 instead when the
// bucket is empty. What was read of the request is zeroed before
// handleReadError returns, except the values of a header that failed to
// parse.
func (s *Server) handleReadError(ctx *fasthttp.RequestCtx, err error) {
	markLinger(ctx.Conn())
	peer := peerAddr(ctx)
	rec := requestRecord{method: "-", route: routeNone, start: time.Now(), client: peer}
	overBudget := false
	var overloaded error
	if info, ok := s.takeHeaderInfo(&ctx.Request.Header); ok {
		rec.method, rec.route, rec.start = info.method, info.route, info.received
		rec.client = resolveClient(peer, info.forwarded, s.cfg.TrustedProxies)
		rec.headerValues = info.values
		rec.bodyReserved = info.reserved
		overBudget, overloaded = info.overBudget, info.overloaded
	}
	// TODO: when the header fails to parse, fasthttp resets it before this
	// handler runs, and the values it had copied before the error stay in
	// its pooled storage until the next request on that RequestCtx.
	defer s.wipeRequest(ctx, &rec, true)
	defer s.finish(ctx, &rec)
	if rec.route == routeRemove && !s.allowRate(ctx, rec.client) {
		return
	}

	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case overloaded != nil && errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.writeError(ctx, overloaded)
	case overBudget && errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.Response.Header.Set("Retry-After", "1")
		s.writeError(ctx, newRequestError(fasthttp.StatusServiceUnavailable, codeOverloaded,
			"the server is reading too many request bodies at once; retry later"))
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

// handleExpect decides the interim response to a request with "Expect:
// 100-continue" before its body is sent. A body over --max-body, or one
// that does not fit in the body memory, gets its error response at once
// instead of an invitation to upload it, and so does a removal that the
// remover's queue has no room for (see overloaded). Any other request gets
// 100 Continue.
func (s *Server) handleExpect(ctx *fasthttp.RequestCtx) int {
	h := &ctx.Request.Header
	over := h.ContentLength() > s.cfg.MaxBody
	if v, ok := s.headers.Load(h); ok && !over {
		info := v.(*headerInfo)
		if !info.overBudget {
			info.overloaded = s.overloaded(ctx, info)
		}
		over = info.overBudget || info.overloaded != nil
	}
	if !over {
		return fasthttp.StatusContinue
	}
	s.handleReadError(ctx, fasthttp.ErrBodyTooLarge)
	return ctx.Response.StatusCode()
}

// overloaded returns the remover's rejection of a removal sent with
// Expect: 100-continue, when its queue has no room now, and nil for every
// other request. Errors that the header alone decides come first, because
// no retry mends them: such a request is invited to send its body and
// gets its error then, as without Expect. Once shutdown has begun the
// request is left to the handler too, which responds 503 shutting_down.
//
// The check needs the client to wait for the interim response, so only
// such a request gets it. Any other body is already on its way, and the
// queue may have room by the time it is in.
func (s *Server) overloaded(ctx *fasthttp.RequestCtx, info *headerInfo) error {
	check, ok := s.remover.(admissionChecker)
	if !ok || info.route != routeRemove || info.method != fasthttp.MethodPost ||
		s.closing.Load() || removalHeaderError(ctx, s.cfg.Timeout) != nil {
		return nil
	}
	if err := check.Admissible(); errors.Is(err, engine.ErrOverloaded) {
		return err
	}
	return nil
}

// closeIfDraining makes the response close its connection once the server
// has begun to drain, so the client sends its next request elsewhere.
func (s *Server) closeIfDraining(ctx *fasthttp.RequestCtx) {
	if s.draining.Load() {
		ctx.SetConnectionClose()
	}
}

// wipeRequest zeroes the request's data in fasthttp's buffers: see
// wipeRequest in wipe.go. wholeBody also zeroes the body buffer past the
// body's length, for a body whose read failed.
func (s *Server) wipeRequest(ctx *fasthttp.RequestCtx, rec *requestRecord, wholeBody bool) {
	if s.keepRequestData {
		return
	}
	wipeRequest(&ctx.Request, rec.headerValues, wholeBody)
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
