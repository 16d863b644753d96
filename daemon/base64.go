package daemon

import (
	"bytes"
	"encoding/base64"
	"errors"

	"github.com/valyala/fasthttp"
)

// decodeImageString decodes the "image" string of a JSON request. raw is
// the text between its quotes as it is in the body, base the body offset
// of raw[0], and escaped whether raw contains a backslash.
//
// Without escapes, raw goes straight to the base64 decoder. With escapes
// (some encoders write "/" as "\/"), raw is unescaped in chunks of
// base64Chunk characters on the stack, each decoded in turn. Either way the
// result lands in one buffer from pool, returned with the decoded length.
func decodeImageString(raw []byte, base int, escaped bool, pool *bufPool) (
	*pooledBuf, int, error,
) {
	if escaped {
		return decodeEscaped(raw, base, pool)
	}

	prefix, err := dataURLPrefix(raw)
	if err != nil {
		return nil, 0, err
	}
	text := raw[prefix:]
	chars := len(text) - bytes.Count(text, []byte{'\r'}) - bytes.Count(text, []byte{'\n'})
	enc, err := paddingEncoding(chars, len(raw))
	if err != nil {
		if bad := firstNonBase64(text); bad >= 0 {
			err = base64Error(base64.CorruptInputError(bad), prefix)
		}
		return nil, 0, err
	}

	buf := pool.get(enc.DecodedLen(chars))
	n, err := enc.Decode(buf.B, text)
	if err != nil {
		pool.put(buf)
		return nil, 0, base64Error(err, prefix)
	}
	return buf, n, nil
}

// decodeEscaped decodes an image string that contains JSON escapes.
func decodeEscaped(raw []byte, base int, pool *bufPool) (*pooledBuf, int, error) {
	var head [maxDataURLHeader]byte
	headLen := 0
	for i := 0; i < len(raw) && headLen < len(head); headLen++ {
		var ok bool
		if head[headLen], i, ok = unescapeAt(raw, i); !ok {
			return nil, 0, syntaxError(base+i, "invalid escape in a string")
		}
	}
	prefixChars, err := dataURLPrefix(head[:headLen])
	if err != nil {
		return nil, 0, err
	}
	start := 0
	for range prefixChars {
		_, start, _ = unescapeAt(raw, start)
	}

	// Every character takes at least one byte of raw, so raw's length bounds
	// the number of base64 characters, and RawStdEncoding's DecodedLen of
	// that bound covers padded and unpadded text alike.
	buf := pool.get(base64.RawStdEncoding.DecodedLen(len(raw) - start))
	n, err := decodeEscapedText(raw, start, base, buf.B)
	if err != nil {
		pool.put(buf)
		return nil, 0, err
	}
	return buf, n, nil
}

// decodeEscapedText decodes raw[start:] into dst, a chunk at a time.
// Runs of plain bytes between escapes are copied into the chunk whole, so
// that escapes cost only where they are: an encoder that writes "/" as
// "\/" escapes one base64 character in 64 on average.
func decodeEscapedText(raw []byte, start, base int, dst []byte) (int, error) {
	d := chunkDecoder{raw: raw, dst: dst, chunkStart: start}
	for i := start; i < len(raw); {
		switch raw[i] {
		case '\\':
			c, next, ok := unescapeAt(raw, i)
			if !ok {
				return 0, syntaxError(base+i, "invalid escape in a string")
			}
			if c != '\r' && c != '\n' {
				if err := d.makeRoom(i); err != nil {
					return 0, err
				}
				d.chunk[d.k] = c
				d.k++
				d.chars++
			}
			i = next
		case '\r', '\n':
			i++
		default:
			if err := d.makeRoom(i); err != nil {
				return 0, err
			}
			m := plainRun(raw[i:min(len(raw), i+len(d.chunk)-d.k)])
			copy(d.chunk[d.k:], raw[i:i+m])
			d.k += m
			d.chars += m
			i += m
		}
	}

	enc, err := paddingEncoding(d.chars, len(raw))
	if err != nil {
		if bad := firstNonBase64Escaped(raw, start); bad >= 0 {
			err = base64Error(base64.CorruptInputError(0), bad)
		}
		return 0, err
	}
	m, err := enc.Decode(dst[d.n:], d.chunk[:d.k])
	if err != nil {
		return 0, chunkError(err, raw, d.chunkStart)
	}
	return d.n + m, nil
}

// chunkDecoder collects unescaped base64 characters of raw in chunk and
// decodes each full chunk into dst.
type chunkDecoder struct {
	chunk      [base64Chunk]byte
	k          int // characters in chunk
	n          int // bytes decoded into dst
	chars      int // characters collected so far, in all chunks
	chunkStart int // raw offset of chunk[0]
	raw, dst   []byte
}

// makeRoom decodes the chunk when it is full, before a character at raw
// offset i is added to it. Decoding waits for that next character, so that
// the last chunk, which may lack padding, is left for the caller.
func (d *chunkDecoder) makeRoom(i int) error {
	if d.k < len(d.chunk) {
		return nil
	}
	// Padding may only end the text: a full chunk that ends in '=' followed
	// by more characters is two base64 texts glued together.
	if d.chunk[d.k-1] == '=' {
		return base64Error(base64.CorruptInputError(0), i)
	}
	m, err := base64.StdEncoding.Decode(d.dst[d.n:], d.chunk[:])
	if err != nil {
		return chunkError(err, d.raw, d.chunkStart)
	}
	d.n += m
	d.k = 0
	d.chunkStart = i
	return nil
}

// plainRun returns the length of the prefix of b without backslash, CR or
// LF.
func plainRun(b []byte) int {
	for i, c := range b {
		if c == '\\' || c == '\r' || c == '\n' {
			return i
		}
	}
	return len(b)
}

// firstNonBase64Escaped returns the raw offset of the first character of
// raw[start:] that, unescaped, is neither base64, '=', CR nor LF; or -1.
func firstNonBase64Escaped(raw []byte, start int) int {
	for i := start; i < len(raw); {
		c, next, ok := unescapeAt(raw, i)
		if !ok || !isBase64(c) && c != '\r' && c != '\n' {
			return i
		}
		i = next
	}
	return -1
}

// chunkError turns a decode error at an offset into a chunk back into the
// offset in raw by skipping that many base64 characters from chunkStart.
func chunkError(err error, raw []byte, chunkStart int) error {
	var corrupt base64.CorruptInputError
	if !errors.As(err, &corrupt) {
		return base64Error(err, 0)
	}
	i := chunkStart
	for left := int(corrupt); i < len(raw); {
		c, next, ok := unescapeAt(raw, i)
		if !ok {
			break // not reached: the decoder saw only validated escapes
		}
		if c != '\r' && c != '\n' {
			if left == 0 {
				break
			}
			left--
		}
		i = next
	}
	return base64Error(base64.CorruptInputError(0), i)
}

// firstNonBase64 returns the index of the first byte of text that is
// neither in the standard base64 alphabet, nor '=', CR or LF; or -1.
func firstNonBase64(text []byte) int {
	for i, c := range text {
		if !isBase64(c) && c != '\r' && c != '\n' {
			return i
		}
	}
	return -1
}

// isBase64 reports whether c is in the standard base64 alphabet or '='.
func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '='
}

// paddingEncoding picks the decoder for a text of chars base64 characters:
// StdEncoding when chars is a multiple of 4 (padded, or whole quanta), and
// RawStdEncoding when padding was left out. A length of 1 modulo 4 is not
// base64 at all: the callers report the first character outside the
// alphabet, when there is one, instead of that length error. rawLen is the
// length of the image string, for the error offset.
func paddingEncoding(chars, rawLen int) (*base64.Encoding, error) {
	switch chars % 4 {
	case 0:
		if chars == 0 {
			return nil, newRequestError(fasthttp.StatusBadRequest, codeMissingImage,
				`the "image" field is empty`)
		}
		return base64.StdEncoding, nil
	case 1:
		return nil, newRequestError(fasthttp.StatusBadRequest, codeInvalidBase64,
			`invalid base64 in "image": the text ends in the middle of a byte `+
				"at offset %d of the string", rawLen)
	}
	return base64.RawStdEncoding, nil
}

// base64Error turns a decoder error into an invalid_base64 request error.
// A CorruptInputError offset is relative to the text the decoder saw, and
// textStart is where that text starts in the image string.
func base64Error(err error, textStart int) error {
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		return newRequestError(fasthttp.StatusBadRequest, codeInvalidBase64,
			`invalid base64 in "image" at offset %d of the string`, textStart+int(corrupt))
	}
	return newRequestError(fasthttp.StatusBadRequest, codeInvalidBase64,
		`invalid base64 in "image"`)
}

// dataURLPrefix returns the length of a "data:<media type>;base64," prefix
// at the start of s, or 0 when s does not start with "data:". Scheme and
// the ";base64" marker are matched without regard to case, as RFC 2397
// allows. The media type itself is not checked, because the image format
// is detected from the decoded bytes.
func dataURLPrefix(s []byte) (int, error) {
	if len(s) < len("data:") || !bytes.EqualFold(s[:len("data:")], []byte("data:")) {
		return 0, nil
	}
	head := s[:min(len(s), maxDataURLHeader)]
	comma := bytes.IndexByte(head, ',')
	if comma < 0 {
		return 0, newRequestError(fasthttp.StatusBadRequest, codeInvalidBase64,
			`invalid data URL in "image": no ',' within its first %d bytes`,
			maxDataURLHeader)
	}
	const marker = ";base64"
	meta := s[len("data:"):comma]
	for _, c := range meta {
		// JSON forbids raw control characters in strings; the only ones the
		// scanner lets through in "image" are CR and LF inside the base64.
		if c < 0x20 {
			return 0, newRequestError(fasthttp.StatusBadRequest, codeInvalidBase64,
				`invalid data URL in "image": control character in its media type`)
		}
	}
	if len(meta) < len(marker) || !bytes.EqualFold(meta[len(meta)-len(marker):],
		[]byte(marker)) {
		return 0, newRequestError(fasthttp.StatusBadRequest, codeInvalidBase64,
			`invalid data URL in "image": only ";base64," data URLs are accepted`)
	}
	return comma + 1, nil
}
