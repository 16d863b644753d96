package daemon

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// fasthttp (v1.79) parses a request's header into storage of its own that
// it pools with the RequestCtx and never zeroes: a copy of each value, and
// a copy of the raw header block (RawHeaders). Clearing the slices its
// accessors return zeroes that storage in place. When reading the body
// fails, fasthttp resets the header before the ErrorHandler runs, and the
// values are no longer reachable then, so headerReceived records them
// while the header is whole and wipeRequest zeroes them at the end.

// maxRecordedValues is the number of header values a headerInfo records
// without a second allocation.
const maxRecordedValues = 16

// recordHeaderValues appends to dst fasthttp's stored copies of the values
// of h, for every field name in the raw header block, and of the request
// URI. Connection is left out, because for it
// fasthttp may return a shared constant ("close") that must not be
// zeroed. So is a URI of "/", which may be fasthttp's shared default.
func recordHeaderValues(h *fasthttp.RequestHeader, dst [][]byte) [][]byte {
	if uri := h.RequestURI(); len(uri) > 1 {
		dst = append(dst, uri)
	}
	// AllInOrder walks the raw block, in which each name appears once per
	// field, and PeekAll returns the stored copies of a name's values. A
	// name sent in several fields is recorded more than once, which is
	// harmless. Neither call collects cookies, which would copy them.
	for key := range h.AllInOrder() {
		if bytes.EqualFold(key, []byte(fasthttp.HeaderConnection)) {
			continue
		}
		for _, value := range h.PeekAll(string(key)) {
			if len(value) > 0 {
				dst = append(dst, value)
			}
		}
	}
	return dst
}

// wipeRequest zeroes what fasthttp keeps of a request once it has been
// handled: the header values in values (recorded by recordHeaderValues),
// the raw header block and the body buffer. Body bytes past the body's
// length are zeroed too when wholeBody is set: fasthttp resets the body's
// length to 0 when reading it fails, and keeps the bytes read so far.
//
// TODO: a chunked body that outgrows the body buffer is copied by fasthttp
// into a larger one, and the smaller one, holding the chunks read so far,
// is freed without zeroing. So are trailer fields, which are not recorded.
func wipeRequest(req *fasthttp.Request, values [][]byte, wholeBody bool) {
	for _, v := range values {
		clear(v)
	}
	raw := req.Header.RawHeaders()
	clear(raw[:cap(raw)])
	body := req.Body()
	if wholeBody {
		body = body[:cap(body)]
	}
	clear(body)
}
