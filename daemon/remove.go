package daemon

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rmbgd/rmbgd/engine"
)

// remove serves POST /v1/remove: read the image and options, run the job,
// write the response. Every buffer of its own that held request data is
// wiped before it returns, and handle then wipes fasthttp's request body.
func (s *Server) remove(ctx *fasthttp.RequestCtx, rec *requestRecord) {
	if s.arrivedAfterClose(rec.start) {
		ctx.Response.Header.Set("Retry-After", "5")
		s.writeError(ctx, newRequestError(fasthttp.StatusServiceUnavailable,
			codeShuttingDown, "the server is shutting down; retry on another instance"))
		return
	}
	timeout, err := requestTimeout(ctx, s.cfg.Timeout)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		ctx.Response.Header.Set("Retry-After", "1")
		s.writeError(ctx, newRequestError(fasthttp.StatusServiceUnavailable,
			codeOverloaded, "the server is serving its maximum of %d requests; retry later",
			s.cfg.Concurrency))
		return
	}

	job, release, err := s.readJob(ctx)
	defer release()
	if err != nil {
		s.writeError(ctx, err)
		return
	}

	// A client that closes the connection cancels its job, so that an image
	// whose client has gone is dropped before it costs inference.
	deadlineCtx, cancel := context.WithTimeout(s.baseCtx, timeout)
	runCtx, cancelCause := context.WithCancelCause(deadlineCtx)
	stopWatch := watchPeer(ctx.Conn(), func() { cancelCause(errClientGone) })
	res, err := s.remover.Remove(runCtx, job)
	stopWatch()
	if errors.Is(err, context.Canceled) && errors.Is(context.Cause(runCtx), errClientGone) {
		err = errClientGone
	}
	cancelCause(nil)
	cancel()
	if err != nil {
		if errors.Is(err, errClientGone) {
			ctx.SetConnectionClose()
		}
		s.writeError(ctx, err)
		return
	}
	rec.batchSize = res.BatchSize
	s.metrics.observeResult(res.Timing, rec.batchSize)
	if acceptsJSON(ctx.Request.Header.Peek("Accept")) {
		s.writeResultJSON(ctx, res)
	} else {
		writeResultImage(ctx, res)
	}
}

// peerPollInterval is how often watchPeer looks at a waiting client's
// connection. An inference on the CPU takes about a second, so a tenth of
// that wastes little work on a client that has gone.
const peerPollInterval = 100 * time.Millisecond

// maxTimeoutDigits bounds X-Request-Timeout-Ms: ten digits are over 100
// days, far past any Config.Timeout, and cannot overflow.
const maxTimeoutDigits = 10

// requestTimeout returns the deadline of a removal request: limit (the
// Config.Timeout), or the X-Request-Timeout-Ms header's number of
// milliseconds when that is shorter. A header that is not one whole number
// from 1 is an error.
func requestTimeout(ctx *fasthttp.RequestCtx, limit time.Duration) (time.Duration, error) {
	values := ctx.Request.Header.PeekAll("X-Request-Timeout-Ms")
	if len(values) == 0 {
		return limit, nil
	}
	value := bytes.TrimSpace(values[0])
	ms := int64(0)
	valid := len(values) == 1 && len(value) > 0 && len(value) <= maxTimeoutDigits
	for _, c := range value {
		if c < '0' || c > '9' {
			valid = false
			break
		}
		ms = ms*10 + int64(c-'0')
	}
	if !valid || ms == 0 {
		return 0, newRequestError(fasthttp.StatusBadRequest, codeInvalidParameter,
			"invalid X-Request-Timeout-Ms: want a whole number of milliseconds from 1 "+
				"(the server's limit is %d)", limit.Milliseconds())
	}
	return min(time.Duration(ms)*time.Millisecond, limit), nil
}

// removalHeaderError returns the error that a removal request's header
// alone decides, before its body is read: an invalid X-Request-Timeout-Ms
// (limit is the Config.Timeout), a compressed body, an unsupported
// Content-Type or an invalid query argument. remove and readJob return
// the same errors once the body is in.
func removalHeaderError(ctx *fasthttp.RequestCtx, limit time.Duration) error {
	if _, err := requestTimeout(ctx, limit); err != nil {
		return err
	}
	h := &ctx.Request.Header
	if err := checkContentEncoding(h); err != nil {
		return err
	}
	if bodyKind(h.ContentType(), nil) == bodyUnsupported {
		return errUnsupportedContentType
	}
	var p params
	return p.setQuery(ctx.QueryArgs())
}

// checkContentEncoding rejects a compressed body.
func checkContentEncoding(h *fasthttp.RequestHeader) error {
	if enc := h.Peek("Content-Encoding"); len(enc) > 0 &&
		!bytes.EqualFold(enc, []byte("identity")) {
		return newRequestError(fasthttp.StatusUnsupportedMediaType, codeUnsupported,
			"compressed request bodies are not supported; send the body without "+
				"Content-Encoding")
	}
	return nil
}

// errUnsupportedContentType is the error of a body whose Content-Type
// bodyKind maps to bodyUnsupported.
var errUnsupportedContentType = newRequestError(fasthttp.StatusUnsupportedMediaType,
	codeUnsupported, "unsupported request Content-Type; send application/json, "+
		"multipart/form-data, or the image itself as image/* or application/octet-stream")

// allowRate takes a token from client's bucket and sets the rate-limit
// headers: X-RateLimit-Limit (the burst), X-RateLimit-Remaining (whole
// tokens left) and X-RateLimit-Reset (Unix seconds when the bucket is full
// again). When the bucket is empty it responds 429 rate_limited with
// Retry-After (whole seconds until a token is back, at least 1) and
// returns false. Without a rate limit it does nothing and returns true.
func (s *Server) allowRate(ctx *fasthttp.RequestCtx, client netip.Addr) bool {
	if s.limiter == nil {
		return true
	}
	now := time.Now()
	d := s.limiter.take(client, now)

	h := &ctx.Response.Header
	var num [20]byte
	h.SetBytesV("X-RateLimit-Limit", strconv.AppendInt(num[:0], int64(s.cfg.Burst), 10))
	h.SetBytesV("X-RateLimit-Remaining", strconv.AppendInt(num[:0], int64(d.remaining), 10))
	reset := ceilSeconds(d.reset.Sub(time.Unix(0, 0)))
	h.SetBytesV("X-RateLimit-Reset", strconv.AppendInt(num[:0], reset, 10))
	if d.allowed {
		return true
	}

	retry := max(ceilSeconds(d.retryAfter), 1)
	h.SetBytesV("Retry-After", strconv.AppendInt(num[:0], retry, 10))
	s.writeError(ctx, newRequestError(fasthttp.StatusTooManyRequests, codeRateLimited,
		"too many requests from this client: the limit is %g a second in bursts of %d; "+
			"retry in %d s", s.cfg.Rate, s.cfg.Burst, retry))
	return false
}

// rateLimitHeaders are the headers allowRate sets on every response.
var rateLimitHeaders = [...]string{"X-RateLimit-Limit", "X-RateLimit-Remaining",
	"X-RateLimit-Reset"}

// ceilSeconds returns d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// readJob reads the image and the options of a removal request. release
// returns any pooled buffer of the job and must be called, on error too,
// once the job is done.
func (s *Server) readJob(ctx *fasthttp.RequestCtx) (job engine.Job, release func(), err error) {
	release = func() {}
	body := ctx.Request.Body()
	if err := checkContentEncoding(&ctx.Request.Header); err != nil {
		return job, release, err
	}

	var p params
	var img []byte
	switch bodyKind(ctx.Request.Header.ContentType(), body) {
	case bodyJSON:
		var req jsonRequest
		if err := parseJSONRequest(body, &s.bufs, &req); err != nil {
			return job, release, err
		}
		release = func() { s.bufs.put(req.image) }
		img, p = req.imageBytes(), req.params
	case bodyMultipart:
		boundary := ctx.Request.Header.MultipartFormBoundary()
		if img, err = parseMultipart(body, boundary, &p); err != nil {
			return job, release, err
		}
	case bodyImage:
		if len(body) == 0 {
			return job, release, newRequestError(fasthttp.StatusBadRequest, codeMissingImage,
				"the request body is empty")
		}
		img = body
	default:
		return job, release, errUnsupportedContentType
	}

	if err := p.setQuery(ctx.QueryArgs()); err != nil {
		return job, release, err
	}
	return p.job(img, s.cfg.MaxPixels), release, nil
}

// Kinds of request body, from the Content-Type.
const (
	bodyUnsupported = iota
	bodyJSON
	bodyMultipart
	bodyImage
)

// bodyKind classifies a request body by its Content-Type: JSON
// (application/json or any +json type), multipart/form-data, or a raw image
// (image/* or application/octet-stream). Without a Content-Type, a body
// whose first byte other than white space is '{' is JSON and any other
// body a raw image.
func bodyKind(contentType, body []byte) int {
	media := contentType
	if i := bytes.IndexByte(media, ';'); i >= 0 {
		media = media[:i]
	}
	media = bytes.TrimSpace(media)
	switch {
	case len(media) == 0:
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
			return bodyJSON
		}
		return bodyImage
	case bytes.EqualFold(media, []byte("application/json")) ||
		hasSuffixFold(media, "+json"):
		return bodyJSON
	case bytes.EqualFold(media, []byte("multipart/form-data")):
		return bodyMultipart
	case hasPrefixFold(media, "image/") ||
		bytes.EqualFold(media, []byte("application/octet-stream")):
		return bodyImage
	}
	return bodyUnsupported
}

// acceptsJSON reports whether an Accept header lists application/json
// with a quality above zero, in which case the response is JSON with the
// image in base64.
func acceptsJSON(accept []byte) bool {
	for len(accept) > 0 {
		item := accept
		if i := bytes.IndexByte(accept, ','); i >= 0 {
			item, accept = accept[:i], accept[i+1:]
		} else {
			accept = nil
		}
		media, params, _ := bytes.Cut(item, []byte(";"))
		if !bytes.EqualFold(bytes.TrimSpace(media), []byte("application/json")) {
			continue
		}
		return !zeroQuality(params)
	}
	return false
}

// zeroQuality reports whether media-range parameters set q=0.
func zeroQuality(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte(";"))
		key, value, ok := bytes.Cut(bytes.TrimSpace(p), []byte("="))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(key), []byte("q")) {
			continue
		}
		// "0", "0.0" and so on: nothing but zeros and at most one point.
		value = bytes.TrimRight(bytes.TrimSpace(value), "0")
		return len(value) == 0 || bytes.Equal(value, []byte("0."))
	}
	return false
}

func hasPrefixFold(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], []byte(prefix))
}

func hasSuffixFold(s []byte, suffix string) bool {
	return len(s) >= len(suffix) && bytes.EqualFold(s[len(s)-len(suffix):], []byte(suffix))
}
