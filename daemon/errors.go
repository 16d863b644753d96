package daemon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/rmbgd/rmbgd/engine"
	"github.com/rmbgd/rmbgd/imaging"
)

// Error codes of the JSON error body. Each code has one HTTP status, set by
// errorStatus.
const (
	codeMalformedJSON    = "malformed_json"
	codeMissingImage     = "missing_image"
	codeInvalidBase64    = "invalid_base64"
	codeInvalidParameter = "invalid_parameter"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codePayloadTooLarge  = "payload_too_large"
	codeTooManyPixels    = "too_many_pixels"
	codeUnsupported      = "unsupported_format"
	codeDecodeFailed     = "decode_failed"
	codeRateLimited      = "rate_limited"
	codeOverloaded       = "overloaded"
	codeShuttingDown     = "shutting_down"
	codeTimeout          = "timeout"
	codeClientClosed     = "client_closed_request"
	codeInternal         = "internal"
)

// statusClientClosed is the status logged and counted for a request whose
// client closed the connection before the result was ready, as nginx logs
// it. No client reads a response with this status.
const statusClientClosed = 499

// errClientGone is the cancellation cause of a job whose client closed the
// connection while it waited.
var errClientGone = errors.New("the client closed the connection")

// requestError is an error the daemon itself raises about a request. Its
// message is sent to the client, so it never quotes image bytes, base64
// text or the filename.
type requestError struct {
	status  int
	code    string
	message string

	// offset is the byte offset of a JSON syntax error in the request body,
	// or -1 when the error has none.
	offset int
}

func (e *requestError) Error() string { return e.message }

// newRequestError returns a requestError without an offset.
func newRequestError(status int, code, format string, args ...any) *requestError {
	return &requestError{status: status, code: code, message: fmt.Sprintf(format, args...),
		offset: -1}
}

// syntaxError returns a malformed_json error at body offset off.
func syntaxError(off int, format string, args ...any) *requestError {
	msg := fmt.Sprintf(format, args...)
	return &requestError{status: fasthttp.StatusBadRequest, code: codeMalformedJSON,
		message: msg + " at offset " + strconv.Itoa(off), offset: off}
}

// errPanic marks a request whose handler panicked; it maps to 500.
var errPanic = errors.New("handler panicked")

// errorStatus maps an error from parsing a request or from the Remover to
// the HTTP status, error code and client-facing message. Errors it does not
// know are internal (500), and their text is not sent to the client, since
// it may quote data the daemon must not echo.
func errorStatus(err error) (status int, code, message string) {
	var (
		reqErr      *requestError
		unsupported imaging.UnsupportedFormatError
		decodeErr   imaging.DecodeError
		tooMany     imaging.TooManyPixelsError
	)
	switch {
	case errors.As(err, &reqErr):
		return reqErr.status, reqErr.code, reqErr.message
	case errors.As(err, &unsupported):
		name := formatName(unsupported.Format)
		if name == "" {
			return fasthttp.StatusUnsupportedMediaType, codeUnsupported,
				"the data is not in an image format rmbgd recognizes; " + supportedFormats
		}
		return fasthttp.StatusUnsupportedMediaType, codeUnsupported,
			"unsupported image format " + name + "; " + supportedFormats
	case errors.As(err, &tooMany):
		return fasthttp.StatusRequestEntityTooLarge, codeTooManyPixels, fmt.Sprintf(
			"the image is %d×%d, %d pixels, over the limit of %d pixels",
			tooMany.Width, tooMany.Height, tooMany.Width*tooMany.Height, tooMany.Max)
	case errors.As(err, &decodeErr):
		name := formatName(decodeErr.Format)
		if name != "" {
			name += " "
		}
		return fasthttp.StatusUnprocessableEntity, codeDecodeFailed,
			"the " + name + "image could not be decoded; it is truncated or corrupt"
	case errors.Is(err, errClientGone):
		return statusClientClosed, codeClientClosed,
			"the client closed the connection before the result was ready"
	case errors.Is(err, engine.ErrOverloaded):
		return fasthttp.StatusServiceUnavailable, codeOverloaded,
			"the inference queue is full; retry later"
	case errors.Is(err, context.DeadlineExceeded):
		return fasthttp.StatusGatewayTimeout, codeTimeout,
			"the request timed out before it was served"
	case errors.Is(err, context.Canceled):
		return fasthttp.StatusServiceUnavailable, codeShuttingDown,
			"the request was cancelled because the server is shutting down"
	}
	return fasthttp.StatusInternalServerError, codeInternal, "internal error"
}

const supportedFormats = "send PNG, JPEG, GIF or WebP"

// formatName returns the format name imaging detected in upper case, fit
// to quote to the client, or "" for "unknown" and for anything that is not
// a short lowercase word.
func formatName(format string) string {
	if format == "" || format == "unknown" || len(format) > 16 {
		return ""
	}
	for _, c := range []byte(format) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return ""
		}
	}
	return strings.ToUpper(format)
}
