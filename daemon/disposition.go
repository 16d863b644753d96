package daemon

import "bytes"

// maxFieldName is the length of the longest form field name that
// parseMultipart reads, "bg_color". A longer name is another field.
const maxFieldName = len("bg_color")

// formFieldName parses the value of a part's Content-Disposition header:
// "form-data" and its parameters, as RFC 7578 defines them with the value
// grammar of RFC 2045 and the extended values of RFC 2231. It returns the
// field its name parameter names when that is "image", "output", "format"
// or "bg_color", and "" for any other name or none. A valid name* parameter
// (UTF-8 or US-ASCII) takes precedence over name, as in mime.ParseMediaType.
// ok is false when the disposition type is not form-data, the parameter
// list is malformed, or name or name* appears twice.
//
// The value is read in place. The filename, and every parameter other
// than name and name*, is checked for syntax only and never copied, so it
// stays in the request body, which the server wipes. Continuations of the
// name (name*0, name*1, ...) are not joined: such a part has no name.
func formFieldName(v []byte) (field string, ok bool) {
	disposition, rest := cutToken(trimSpaceTab(v))
	if !bytes.EqualFold(disposition, []byte("form-data")) {
		return "", false
	}

	var name, extName []byte
	var nameQuoted, extQuoted, hasName, hasExt bool
	for {
		rest = trimSpaceTab(rest)
		if len(rest) == 0 {
			break
		}
		if rest[0] != ';' {
			return "", false
		}
		rest = trimSpaceTab(rest[1:])
		if len(rest) == 0 {
			break // a trailing semicolon, which mime.ParseMediaType accepts too
		}

		var key, value []byte
		var quoted bool
		key, rest = cutToken(rest)
		rest = trimSpaceTab(rest)
		if len(key) == 0 || len(rest) == 0 || rest[0] != '=' {
			return "", false
		}
		value, quoted, rest, ok = cutParamValue(trimSpaceTab(rest[1:]))
		if !ok {
			return "", false
		}
		switch {
		case bytes.EqualFold(key, []byte("name")):
			if hasName {
				return "", false
			}
			hasName, name, nameQuoted = true, value, quoted
		case bytes.EqualFold(key, []byte("name*")):
			if hasExt {
				return "", false
			}
			hasExt, extName, extQuoted = true, value, quoted
		}
	}

	var buf [maxFieldName]byte
	if hasExt {
		if n, valid, fits := decodeExtValue(extName, extQuoted, buf[:]); valid {
			if !fits {
				return "", true
			}
			return knownField(buf[:n]), true
		}
	}
	if !hasName {
		return "", true
	}
	n, fits := unquote(name, nameQuoted, buf[:])
	if !fits {
		return "", true
	}
	return knownField(buf[:n]), true
}

// knownField returns name as one of the constant field names
// parseMultipart reads, or "" for any other name. Form field names are
// case-sensitive.
func knownField(name []byte) string {
	switch string(name) {
	case "image":
		return "image"
	case "output":
		return "output"
	case "format":
		return "format"
	case "bg_color":
		return "bg_color"
	}
	return ""
}

// cutToken splits b after its leading run of token characters.
func cutToken(b []byte) (token, rest []byte) {
	i := 0
	for i < len(b) && isTokenChar(b[i]) {
		i++
	}
	return b[:i], b[i:]
}

// cutParamValue splits b after the parameter value it starts with: a
// non-empty token, or a quoted-string, returned without its quotes and
// still escaped. A quoted-string may not contain CR or LF and must end
// with an unescaped quote.
func cutParamValue(b []byte) (value []byte, quoted bool, rest []byte, ok bool) {
	if len(b) == 0 {
		return nil, false, b, false
	}
	if b[0] != '"' {
		value, rest = cutToken(b)
		return value, false, rest, len(value) > 0
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], true, b[i+1:], true
		case c == '\r' || c == '\n':
			return nil, false, b, false
		case c == '\\' && i+1 < len(b) && isTSpecial(b[i+1]):
			i++
		}
	}
	return nil, false, b, false // no closing quote
}

// unquote writes the value cutParamValue returned to dst, resolving the
// escapes of a quoted-string, and returns its length. fits is false when
// the value is longer than dst.
func unquote(value []byte, quoted bool, dst []byte) (n int, fits bool) {
	for i := 0; i < len(value); i++ {
		c := value[i]
		// As in mime.ParseMediaType, a backslash escapes a tspecial only:
		// before any other byte it is literal, as in an unescaped Windows
		// path some browsers send as the filename.
		if quoted && c == '\\' && i+1 < len(value) && isTSpecial(value[i+1]) {
			i++
			c = value[i]
		}
		if n == len(dst) {
			return n, false
		}
		dst[n] = c
		n++
	}
	return n, true
}

// decodeExtValue decodes an RFC 2231 extended value, charset'language'
// then percent-encoded bytes, into dst. valid is false when the value is
// malformed or its charset is neither UTF-8 nor US-ASCII; fits is false
// when the decoded bytes are longer than dst.
func decodeExtValue(value []byte, quoted bool, dst []byte) (n int, valid, fits bool) {
	// A known name with its charset and language is far shorter than the
	// scratch buffer, so a longer value names another field.
	var scratch [64]byte
	raw, fitsRaw := unquote(value, quoted, scratch[:])
	if !fitsRaw {
		return 0, true, false
	}

	charset, rest, found := bytes.Cut(scratch[:raw], []byte("'"))
	if !found {
		return 0, false, false
	}
	_, encoded, found := bytes.Cut(rest, []byte("'"))
	if !found || (!bytes.EqualFold(charset, []byte("utf-8")) &&
		!bytes.EqualFold(charset, []byte("us-ascii"))) {
		return 0, false, false
	}

	fits = true
	for i := 0; i < len(encoded); i++ {
		c := encoded[i]
		if c == '%' {
			if i+2 >= len(encoded) {
				return 0, false, false
			}
			hi, okHi := hexDigit(encoded[i+1])
			lo, okLo := hexDigit(encoded[i+2])
			if !okHi || !okLo {
				return 0, false, false
			}
			c = hi<<4 | lo
			i += 2
		}
		if n == len(dst) {
			fits = false
			continue // keep checking the encoding
		}
		dst[n] = c
		n++
	}
	return n, true, fits
}

// isTSpecial reports whether c is one of the tspecials of RFC 2045.
func isTSpecial(c byte) bool {
	return bytes.IndexByte([]byte(`()<>@,;:\"/[]?=`), c) >= 0
}

// isTokenChar reports whether c may appear in an RFC 2045 token: US-ASCII
// other than controls, space and the tspecials.
func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !isTSpecial(c)
}

func trimSpaceTab(b []byte) []byte {
	return bytes.Trim(b, " \t")
}
