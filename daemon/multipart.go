package daemon

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

const (
	// codeMalformedMultipart is the 400 code of a multipart/form-data body
	// that cannot be split into parts.
	codeMalformedMultipart = "malformed_multipart"

	// maxBoundary is the longest multipart boundary, from RFC 2046.
	maxBoundary = 70

	// maxPartHeader bounds the header block of one part.
	maxPartHeader = 8 << 10
)

// parseMultipart splits a multipart/form-data body on boundary and returns
// the content of its "image" field as a subslice of body: the image is
// neither copied nor written anywhere. The text fields "output", "format"
// and "bg_color" set p; other fields are ignored. Both CRLF and bare LF
// line ends are accepted, one of them throughout a body. Errors are
// *requestError values.
func parseMultipart(body, boundary []byte, p *params) ([]byte, error) {
	if len(boundary) == 0 || len(boundary) > maxBoundary {
		return nil, multipartError("the Content-Type has no valid boundary")
	}
	// A part's content ends right before the line end that precedes the
	// next "--boundary". As in mime/multipart, the line end of the first
	// delimiter line, CRLF or a bare LF, is taken as the body's line end.
	var delimBuf [4 + maxBoundary]byte
	crlfDelim := append(append(delimBuf[:0], "\r\n--"...), boundary...)
	lfDelim, dashBoundary := crlfDelim[1:], crlfDelim[2:]

	pos := 0
	if !bytes.HasPrefix(body, dashBoundary) {
		i := bytes.Index(body, lfDelim)
		if i < 0 {
			return nil, multipartError("no part delimiter found")
		}
		pos = i + 1
	}
	pos += len(dashBoundary)

	var image []byte
	var delim []byte // the body's delimiter, set at the first delimiter line
	for {
		// pos is right after a "--boundary".
		if bytes.HasPrefix(body[pos:], []byte("--")) {
			break // the close delimiter
		}
		// Transport padding (spaces and tabs), then the line end.
		lineEnd := bytes.IndexByte(body[pos:], '\n')
		if lineEnd < 0 {
			return nil, multipartError("invalid part delimiter line")
		}
		line := body[pos : pos+lineEnd]
		crlf := bytes.HasSuffix(line, []byte{'\r'})
		if delim == nil {
			delim = lfDelim
			if crlf {
				delim = crlfDelim
			}
		}
		if crlf != (len(delim) == len(crlfDelim)) ||
			len(bytes.TrimRight(bytes.TrimSuffix(line, []byte{'\r'}), " \t")) != 0 {
			return nil, multipartError("invalid part delimiter line")
		}
		pos += lineEnd + 1

		name, headerLen, err := partName(body[pos:])
		if err != nil {
			return nil, err
		}
		pos += headerLen

		end := bytes.Index(body[pos:], delim)
		if end < 0 {
			return nil, multipartError("a part has no closing delimiter")
		}
		content := body[pos : pos+end]
		pos += end + len(delim)

		if err := multipartField(name, content, p, &image); err != nil {
			return nil, err
		}
	}

	if len(image) == 0 {
		return nil, newRequestError(fasthttp.StatusBadRequest, codeMissingImage,
			`the multipart body has no non-empty "image" field`)
	}
	return image, nil
}

// multipartField applies one part's content.
func multipartField(name string, content []byte, p *params, image *[]byte) error {
	switch name {
	case "image":
		if *image != nil {
			return newRequestError(fasthttp.StatusBadRequest, codeInvalidParameter,
				`invalid "image": the field appears more than once`)
		}
		*image = content
	case "output":
		return p.setOutput(bytes.TrimSpace(content))
	case "format":
		return p.setFormat(bytes.TrimSpace(content))
	case "bg_color":
		return p.setBackground(bytes.TrimSpace(content))
	}
	return nil
}

// partName reads a part's header block from the start of b and returns
// the form field name from its Content-Disposition and the length of the
// block, blank line included. The header is parsed in place: no part of it,
// a filename least of all, is copied.
func partName(b []byte) (name string, n int, err error) {
	for {
		lineEnd := bytes.IndexByte(b[n:], '\n')
		if lineEnd < 0 || n+lineEnd > maxPartHeader {
			return "", 0, multipartError("a part's header is unterminated or too long")
		}
		line := bytes.TrimSuffix(b[n:n+lineEnd], []byte{'\r'})
		n += lineEnd + 1
		if len(line) == 0 {
			return name, n, nil
		}

		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return "", 0, multipartError("a part has an invalid header line")
		}
		key := bytes.TrimSpace(line[:colon])
		value := bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(key, []byte("Content-Disposition")):
			field, ok := formFieldName(value)
			if !ok {
				return "", 0, multipartError("a part has an invalid Content-Disposition")
			}
			name = field
		case bytes.EqualFold(key, []byte("Content-Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("binary")) &&
				!bytes.EqualFold(value, []byte("8bit")) &&
				!bytes.EqualFold(value, []byte("7bit")) {
				return "", 0, multipartError(
					"only binary, 8bit and 7bit Content-Transfer-Encoding are supported")
			}
		}
	}
}

func multipartError(reason string) error {
	return newRequestError(fasthttp.StatusBadRequest, codeMalformedMultipart,
		"malformed multipart/form-data body: %s", reason)
}
