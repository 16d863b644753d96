package imaging

import (
	"bytes"
	"encoding/binary"
)

// Format names returned in [Image.Format] and by [DecodeConfig].
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatGIF  = "gif"
	FormatWebP = "webp"
)

// sniffFormat names the format of data from its magic bytes alone; a
// declared content type or file name plays no part. It returns one of the
// four decodable formats, the name of a recognized format this package does
// not decode (images, documents, archives, media and text: see
// sniffOther), or "unknown".
func sniffFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return FormatJPEG
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return FormatGIF
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return FormatWebP
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		return sniffISOBMFF(data)
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(data, []byte("BM")) && len(data) >= 14:
		return "bmp"
	case bytes.HasPrefix(data, []byte{0, 0, 1, 0}), bytes.HasPrefix(data, []byte{0, 0, 2, 0}):
		return "ico"
	case bytes.HasPrefix(data, []byte{0xff, 0x0a}),
		bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")):
		return "jxl"
	case bytes.HasPrefix(data, []byte("8BPS")):
		return "psd"
	case bytes.HasPrefix(data, []byte("qoif")):
		return "qoi"
	}
	return sniffOther(data)
}

// sniffOther names the common non-image uploads and the image formats
// whose magic bytes are cheap to test, so that a rejection can say what
// the data is. It returns "unknown" when nothing matches.
func sniffOther(data []byte) string {
	prefixes := [...]struct{ magic, name string }{
		{"\x00\x00\x00\x0cjP  \r\n\x87\n", "jpeg2000"},
		{"\xff\x4f\xff\x51", "jpeg2000"},
		{"v/1\x01", "exr"},
		{"#?RADIANCE", "hdr"},
		{"%PDF-", "pdf"},
		{"%!PS", "postscript"},
		{"PK\x03\x04", "zip"},
		{"\x1f\x8b", "gzip"},
		{"BZh", "bzip2"},
		{"\xfd7zXZ\x00", "xz"},
		{"(\xb5/\xfd", "zstd"},
		{"7z\xbc\xaf\x27\x1c", "7z"},
		{"Rar!\x1a\x07", "rar"},
		{"\x7fELF", "elf"},
		{"\x1a\x45\xdf\xa3", "matroska"},
		{"OggS", "ogg"},
		{"fLaC", "flac"},
		{"ID3", "mp3"},
		{"FORM", "iff"},
		{"AT&TFORM", "djvu"},
		{"gimp xcf", "xcf"},
	}
	for _, p := range prefixes {
		if bytes.HasPrefix(data, []byte(p.magic)) {
			return p.name
		}
	}
	if len(data) >= 12 && string(data[:4]) == "RIFF" {
		switch string(data[8:12]) {
		case "WAVE":
			return "wav"
		case "AVI ":
			return "avi"
		}
		return "riff"
	}
	if len(data) >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7' &&
		(data[2] == ' ' || data[2] == '\t' || data[2] == '\n' || data[2] == '\r') {
		return "pnm"
	}
	return sniffText(data)
}

// textSniffLen is how much of the data sniffText reads: enough for an XML
// declaration, a doctype and a comment before the root element.
const textSniffLen = 1024

// sniffText tells SVG, HTML, XML and JSON from other text, and text from
// binary data, on the first textSniffLen bytes.
func sniffText(data []byte) string {
	head := data[:min(len(data), textSniffLen)]
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	if len(head) == 0 {
		return "unknown"
	}
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			return "unknown" // a control byte: binary data
		}
	}

	trimmed := bytes.TrimLeft(head, " \t\r\n\f")
	lower := bytes.ToLower(trimmed)
	switch {
	case bytes.Contains(lower, []byte("<svg")):
		return "svg"
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")):
		return "html"
	case bytes.HasPrefix(lower, []byte("<?xml")):
		return "xml"
	case len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '['):
		return "json"
	}
	return "text"
}

// sniffISOBMFF names an ISO base media file from the brands of its leading
// ftyp box: "avif", "heic" or "heif" for images, else "mov" or "mp4".
func sniffISOBMFF(data []byte) string {
	size := int(binary.BigEndian.Uint32(data))
	if size < 16 || size > len(data) {
		size = min(len(data), 64)
	}
	brands := []string{string(data[8:12])}
	for off := 16; off+4 <= size; off += 4 {
		brands = append(brands, string(data[off:off+4]))
	}

	// The major brand decides; the generic HEIF brands defer to the
	// compatible ones.
	heif := false
	for _, b := range brands {
		switch b {
		case "avif", "avis":
			return "avif"
		case "heic", "heix", "hevc", "hevx", "heim", "heis":
			return "heic"
		case "mif1", "msf1":
			heif = true
		}
	}
	if heif {
		return "heif"
	}
	if brands[0] == "qt  " {
		return "mov"
	}
	return "mp4" // an ISO media file with no image brand: video or audio
}

// decodable reports whether format is one of the four this package decodes.
func decodable(format string) bool {
	switch format {
	case FormatPNG, FormatJPEG, FormatGIF, FormatWebP:
		return true
	}
	return false
}
