package daemon

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/rmbgd/rmbgd/engine"
)

// writeJSON sets a JSON response body.
func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// writeError responds to err with {"error":{"code","message"[,"offset"]}} with
// the status errorStatus gives it. An internal error is logged with a new
// request id, and the client gets only that id.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) {
	status, code, message := errorStatus(err)
	if status == fasthttp.StatusInternalServerError {
		id := s.requestID()
		// The error text stays in the log: it may come from any layer and
		// the client must not see it. Errors of this daemon and the engine
		// never quote request data.
		s.log.Error("request failed", "request_id", id, "error", err)
		s.writeInternal(ctx, id)
		return
	}
	var overloaded *engine.OverloadedError
	if errors.As(err, &overloaded) {
		// The expected wait in whole seconds, at least 1: by then the
		// queue has moved on by about that much.
		retry := max(1, ceilSeconds(overloaded.Wait))
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(retry, 10))
	}
	retryAfter := ctx.Response.Header.Peek("Retry-After")
	if status == fasthttp.StatusServiceUnavailable && len(retryAfter) == 0 {
		ctx.Response.Header.Set("Retry-After", "1")
	}

	offset := -1
	if reqErr, ok := err.(*requestError); ok {
		offset = reqErr.offset
	}
	body := make([]byte, 0, 64+len(code)+len(message))
	body = append(body, `{"error":{"code":`...)
	body = appendJSONString(body, code)
	body = append(body, `,"message":`...)
	body = appendJSONString(body, message)
	if offset >= 0 {
		body = append(body, `,"offset":`...)
		body = strconv.AppendInt(body, int64(offset), 10)
	}
	body = append(body, "}}"...)
	writeJSON(ctx, status, body)
}

// writeInternal responds 500 internal with the request id as the message.
func (s *Server) writeInternal(ctx *fasthttp.RequestCtx, id string) {
	ctx.Response.Header.Set("X-Request-Id", id)
	writeJSON(ctx, fasthttp.StatusInternalServerError,
		[]byte(`{"error":{"code":"internal","message":"internal error; request id `+id+`"}}`))
}

// writeResultImage responds with the encoded image itself. The response
// streams straight from res.Data, and res is released once fasthttp has
// written it (or dropped the response).
func writeResultImage(ctx *fasthttp.RequestCtx, res *engine.Result) {
	setResultHeaders(ctx, res)
	ctx.SetContentType(res.ContentType)
	body := &releasingReader{release: res.Release}
	body.Reset(res.Data)
	ctx.SetBodyStream(body, len(res.Data))
}

// writeResultJSON responds with {"image":"<base64>",...}. The base64 text
// is encoded straight into a pooled buffer that holds the whole response,
// and the buffer is wiped and pooled once fasthttp has written it.
func (s *Server) writeResultJSON(ctx *fasthttp.RequestCtx, res *engine.Result) {
	setResultHeaders(ctx, res)

	// Upper bound of the response: the base64 text, each string escaped at
	// worst six bytes a byte, and the rest of the fields with 20-digit
	// numbers.
	size := base64.StdEncoding.EncodedLen(len(res.Data)) +
		6*(len(res.ContentType)+len(res.Backend)+len(res.Model)) + 1024
	buf := s.bufs.get(size)
	b := buf.B[:0]

	b = append(b, `{"image":"`...)
	n := len(b)
	b = b[:n+base64.StdEncoding.EncodedLen(len(res.Data))]
	base64.StdEncoding.Encode(b[n:], res.Data)
	res.Release()

	b = append(b, `","content_type":`...)
	b = appendJSONString(b, res.ContentType)
	b = append(b, `,"width":`...)
	b = strconv.AppendInt(b, int64(res.Width), 10)
	b = append(b, `,"height":`...)
	b = strconv.AppendInt(b, int64(res.Height), 10)
	b = append(b, `,"backend":`...)
	b = appendJSONString(b, res.Backend)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, res.Model)

	fg := res.Foreground.Canon()
	b = append(b, `,"foreground":{"left":`...)
	b = strconv.AppendInt(b, int64(fg.Min.X), 10)
	b = append(b, `,"top":`...)
	b = strconv.AppendInt(b, int64(fg.Min.Y), 10)
	b = append(b, `,"width":`...)
	b = strconv.AppendInt(b, int64(fg.Dx()), 10)
	b = append(b, `,"height":`...)
	b = strconv.AppendInt(b, int64(fg.Dy()), 10)

	t := res.Timing
	b = append(b, `},"timing_ms":{"queue":`...)
	b = appendMillis(b, t.Queue)
	b = append(b, `,"pre":`...)
	b = appendMillis(b, t.Pre)
	b = append(b, `,"infer":`...)
	b = appendMillis(b, t.Infer)
	b = append(b, `,"post":`...)
	b = appendMillis(b, t.Post)
	b = append(b, `,"encode":`...)
	b = appendMillis(b, t.Encode)
	b = append(b, `,"total":`...)
	b = appendMillis(b, t.Total)
	b = append(b, "}}"...)

	ctx.SetContentType("application/json")
	body := &releasingReader{release: func() { s.bufs.put(buf) }}
	body.Reset(b)
	ctx.SetBodyStream(body, len(b))
}

// setResultHeaders sets the status and the X-Width, X-Height, X-Backend and
// Server-Timing headers of a successful response. Server-Timing lists the
// engine's stages and its total, from the job's admission to its encoded
// result. The rest of a client's latency is the HTTP exchange.
func setResultHeaders(ctx *fasthttp.RequestCtx, res *engine.Result) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	h := &ctx.Response.Header
	var num [20]byte
	h.SetBytesV("X-Width", strconv.AppendInt(num[:0], int64(res.Width), 10))
	h.SetBytesV("X-Height", strconv.AppendInt(num[:0], int64(res.Height), 10))
	h.Set("X-Backend", res.Backend)

	var timing [160]byte
	b := timing[:0]
	t := res.Timing
	for i, stage := range [...]struct {
		name string
		d    time.Duration
	}{
		{"queue", t.Queue}, {"pre", t.Pre}, {"infer", t.Infer},
		{"post", t.Post}, {"encode", t.Encode}, {"total", t.Total},
	} {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, stage.name...)
		b = append(b, ";dur="...)
		b = appendMillis(b, stage.d)
	}
	h.SetBytesV("Server-Timing", b)
}

// releasingReader is a response body that calls release once fasthttp has
// finished with it.
type releasingReader struct {
	bytes.Reader
	release func()
}

// Close calls release the first time.
func (r *releasingReader) Close() error {
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return nil
}

// appendMillis appends d in milliseconds with one decimal.
func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, milliseconds(d), 'f', 1, 64)
}

func milliseconds(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// appendJSONString appends s as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
