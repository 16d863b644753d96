package daemon

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// jsonRequest is a parsed JSON removal request. The decoded image is
// image.B[:imageLen], and the owner of the jsonRequest returns image to
// the pool it came from.
type jsonRequest struct {
	image    *pooledBuf
	imageLen int
	params   params
}

// imageBytes returns the decoded image.
func (r *jsonRequest) imageBytes() []byte { return r.image.B[:r.imageLen] }

// maxNesting bounds the depth of arrays and objects in ignored fields, so
// that a body of nested brackets cannot exhaust the stack.
const maxNesting = 64

// maxDataURLHeader is the longest "data:<media type>;base64," prefix
// accepted in front of the image's base64 text.
const maxDataURLHeader = 256

// base64Chunk is how many base64 characters an escaped image string is
// unescaped into before each decode call. A multiple of 4, so that every
// chunk but the last one decodes to whole bytes.
const base64Chunk = 1024

// parseJSONRequest parses a JSON removal request from body into req.
//
// The body must be one JSON object. Its "image" field is a base64 string
// (standard alphabet, padding optional, CR and LF ignored, an optional
// "data:<type>;base64," prefix) that is decoded straight from body into a
// buffer from pool, without a copy of the base64 text. The fields
// "output", "format" and "bg_color" set req.params. The fields "filename"
// and "content_type" must be strings or null and are otherwise ignored,
// because the image format is detected from its bytes. Unknown fields are skipped.
// A null value counts as an absent field.
//
// The returned error is a *requestError: malformed_json with the byte
// offset in body, invalid_base64 with the offset in the image string,
// invalid_parameter or missing_image. On error no buffer is left in req.
// Once a field name or value is known to be malformed, later bytes are not
// examined.
func parseJSONRequest(body []byte, pool *bufPool, req *jsonRequest) error {
	s := jsonScanner{data: body}
	err := s.parseObject(pool, req)
	if err == nil && req.image == nil {
		err = newRequestError(fasthttp.StatusBadRequest, codeMissingImage,
			`the request has no "image" field`)
	}
	if err != nil {
		pool.put(req.image)
		req.image, req.imageLen = nil, 0
	}
	return err
}

// jsonScanner walks a request body once, front to back. pos is the offset
// of the next byte to read. The pool and the request being filled are
// passed to its methods instead of being kept in it. A pointer field that
// escapes (the pool) would make the compiler move the whole scanner to the
// heap, and the request with it.
type jsonScanner struct {
	data []byte
	pos  int
}

func (s *jsonScanner) parseObject(pool *bufPool, req *jsonRequest) error {
	s.skipSpace()
	if !s.consume('{') {
		return s.unexpected("expected '{' at the start of the body")
	}
	s.skipSpace()
	if s.consume('}') {
		return s.end()
	}
	for {
		s.skipSpace()
		if s.peek() != '"' {
			return s.unexpected("expected a field name")
		}
		var keyBuf [16]byte
		key, err := s.smallString(keyBuf[:])
		if err != nil {
			return err
		}
		s.skipSpace()
		if !s.consume(':') {
			return s.unexpected("expected ':' after a field name")
		}
		s.skipSpace()
		if err := s.field(key, pool, req); err != nil {
			return err
		}
		s.skipSpace()
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return s.end()
		}
		return s.unexpected("expected ',' or '}' after a field value")
	}
}

// end checks that nothing but white space follows the object.
func (s *jsonScanner) end() error {
	s.skipSpace()
	if s.pos != len(s.data) {
		return s.unexpected("unexpected data after the JSON object")
	}
	return nil
}

// field parses the value of the field named key; pos is at its first byte.
func (s *jsonScanner) field(key []byte, pool *bufPool, req *jsonRequest) error {
	switch string(key) {
	case "image":
		return s.imageField(pool, req)
	case "output", "format", "bg_color":
		return s.paramField(key, &req.params)
	case "filename", "content_type":
		if s.null() {
			return nil
		}
		if s.peek() != '"' {
			return notAString(string(key))
		}
		start := s.pos
		raw, _, err := s.scanString()
		if err != nil {
			return err
		}
		return validateString(raw, start+1)
	default:
		return s.skipValue(0)
	}
}

// paramField parses the string value of the option name and sets it in
// the request's params.
func (s *jsonScanner) paramField(name []byte, p *params) error {
	if s.null() {
		return nil
	}
	if s.peek() != '"' {
		return notAString(string(name))
	}
	// No allowed value is longer than 16 bytes, so a value that does not fit
	// is passed on truncated to a length that no allowed value has.
	var buf [17]byte
	v, err := s.smallString(buf[:])
	if err != nil {
		return err
	}
	switch string(name) {
	case "output":
		return p.setOutput(v)
	case "format":
		return p.setFormat(v)
	default:
		return p.setBackground(v)
	}
}

func notAString(name string) error {
	return newRequestError(fasthttp.StatusBadRequest, codeInvalidParameter,
		"invalid %q: the value must be a string", name)
}

func (s *jsonScanner) imageField(pool *bufPool, req *jsonRequest) error {
	if req.image != nil {
		return newRequestError(fasthttp.StatusBadRequest, codeInvalidParameter,
			`invalid "image": the field appears more than once`)
	}
	if s.null() {
		return nil
	}
	if s.peek() != '"' {
		return newRequestError(fasthttp.StatusBadRequest, codeInvalidParameter,
			`invalid "image": the value must be a string of base64 text`)
	}
	start := s.pos + 1
	raw, escaped, err := s.scanString()
	if err != nil {
		return err
	}
	buf, n, err := decodeImageString(raw, start, escaped, pool)
	if err != nil {
		return err
	}
	req.image, req.imageLen = buf, n
	return nil
}

// smallString reads the string at pos, validates it and returns its value
// unescaped into buf. A value longer than buf is returned as all of buf.
// Escapes of non-ASCII characters become the byte 0xFF: the caller only
// compares the value with ASCII names.
func (s *jsonScanner) smallString(buf []byte) ([]byte, error) {
	start := s.pos + 1
	raw, escaped, err := s.scanString()
	if err != nil {
		return nil, err
	}
	if err := validateString(raw, start); err != nil {
		return nil, err
	}
	if !escaped {
		if len(raw) > len(buf) {
			return buf, nil
		}
		return raw, nil
	}
	n := 0
	for i := 0; i < len(raw) && n < len(buf); n++ {
		// validateString has accepted every escape, so unescapeAt cannot fail.
		buf[n], i, _ = unescapeAt(raw, i)
	}
	return buf[:n], nil
}

// scanString finds the end of the string whose opening quote is at pos and
// moves pos past its closing quote. raw is the text between the quotes,
// still escaped, and escaped reports whether it contains a backslash. The
// text is not validated.
func (s *jsonScanner) scanString() (raw []byte, escaped bool, err error) {
	open := s.pos
	from := open + 1
	for {
		q := bytes.IndexByte(s.data[from:], '"')
		if q < 0 {
			return nil, false, syntaxError(open, "unterminated string")
		}
		q += from
		// The quote ends the string unless an odd run of backslashes
		// escapes it. Runs before different quotes never overlap, so this
		// stays linear in the length of the body.
		backslashes := 0
		for j := q - 1; j > open && s.data[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			raw = s.data[open+1 : q]
			s.pos = q + 1
			return raw, bytes.IndexByte(raw, '\\') >= 0, nil
		}
		from = q + 1
	}
}

// skipValue validates and skips any JSON value at pos.
func (s *jsonScanner) skipValue(depth int) error {
	switch c := s.peek(); {
	case c == '"':
		start := s.pos + 1
		raw, _, err := s.scanString()
		if err != nil {
			return err
		}
		return validateString(raw, start)
	case c == '{' || c == '[':
		if depth >= maxNesting {
			return syntaxError(s.pos, "nesting deeper than %d levels", maxNesting)
		}
		return s.skipContainer(depth)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	}
	return s.unexpected("expected a value")
}

// skipContainer skips the array or object whose bracket is at pos.
func (s *jsonScanner) skipContainer(depth int) error {
	object := s.data[s.pos] == '{'
	closing := byte(']')
	if object {
		closing = '}'
	}
	s.pos++
	s.skipSpace()
	if s.consume(closing) {
		return nil
	}
	for {
		s.skipSpace()
		if object {
			if s.peek() != '"' {
				return s.unexpected("expected a field name")
			}
			start := s.pos + 1
			raw, _, err := s.scanString()
			if err != nil {
				return err
			}
			if err := validateString(raw, start); err != nil {
				return err
			}
			s.skipSpace()
			if !s.consume(':') {
				return s.unexpected("expected ':' after a field name")
			}
			s.skipSpace()
		}
		if err := s.skipValue(depth + 1); err != nil {
			return err
		}
		s.skipSpace()
		if s.consume(',') {
			continue
		}
		if s.consume(closing) {
			return nil
		}
		if object {
			return s.unexpected("expected ',' or '}' after a field value")
		}
		return s.unexpected("expected ',' or ']' after an array element")
	}
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() error {
	s.consume('-')
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return s.unexpected("expected a digit")
	}
	if s.consume('.') {
		if !isDigit(s.peek()) {
			return s.unexpected("expected a digit after '.'")
		}
		s.digits()
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if !isDigit(s.peek()) {
			return s.unexpected("expected a digit in the exponent")
		}
		s.digits()
	}
	return nil
}

func (s *jsonScanner) digits() {
	for isDigit(s.peek()) {
		s.pos++
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// literal skips the literal word at pos.
func (s *jsonScanner) literal(word string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return s.unexpected("expected a value")
	}
	s.pos += len(word)
	return nil
}

// null skips a null literal at pos and reports whether there was one.
func (s *jsonScanner) null() bool {
	if bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
		s.pos += len("null")
		return true
	}
	return false
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the byte at pos, or 0 at the end of the body. A 0 byte in
// the body is never valid where peek is used, so the two need no telling
// apart.
func (s *jsonScanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *jsonScanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// unexpected returns a syntax error at pos. It quotes the byte found there
// only when that byte is printable ASCII: pos is never inside a string when
// unexpected is called, so the byte is JSON structure, not request content.
func (s *jsonScanner) unexpected(expected string) error {
	if s.pos >= len(s.data) {
		return syntaxError(s.pos, "%s, found the end of the body", expected)
	}
	if c := s.data[s.pos]; c > ' ' && c < 0x7f {
		return syntaxError(s.pos, "%s, found '%c'", expected, c)
	}
	return syntaxError(s.pos, "%s, found byte %#02x", expected, s.data[s.pos])
}

// validateString checks the escapes of raw, the text between the quotes of
// a string, and that it contains no control characters. base is the body
// offset of raw[0], for the error.
func validateString(raw []byte, base int) error {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c < 0x20:
			return syntaxError(base+i, "control character in a string")
		case c == '\\':
			_, next, ok := unescapeAt(raw, i)
			if !ok {
				return syntaxError(base+i, "invalid escape in a string")
			}
			i = next
		default:
			i++
		}
	}
	return nil
}

// unescapeAt returns the character that starts at raw[i], unescaping a
// backslash escape, and the index after it. A \u escape of a character
// outside ASCII yields 0xFF, which is valid in neither base64 nor any field
// name. ok is false for an invalid escape.
func unescapeAt(raw []byte, i int) (c byte, next int, ok bool) {
	if raw[i] != '\\' {
		return raw[i], i + 1, true
	}
	if i+1 >= len(raw) {
		return 0, i, false
	}
	switch e := raw[i+1]; e {
	case '"', '\\', '/':
		return e, i + 2, true
	case 'b':
		return '\b', i + 2, true
	case 'f':
		return '\f', i + 2, true
	case 'n':
		return '\n', i + 2, true
	case 'r':
		return '\r', i + 2, true
	case 't':
		return '\t', i + 2, true
	case 'u':
		if i+6 > len(raw) {
			return 0, i, false
		}
		var v rune
		for _, h := range raw[i+2 : i+6] {
			d, ok := hexDigit(h)
			if !ok {
				return 0, i, false
			}
			v = v<<4 | rune(d)
		}
		if v >= 0x80 {
			return 0xFF, i + 6, true
		}
		return byte(v), i + 6, true
	}
	return 0, i, false
}
