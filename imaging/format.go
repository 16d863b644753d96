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

// sniffFormat names the format of data from its magic bytes. It returns
// one of the four decodable formats, the name of a recognized format this
// package does not decode, or "unknown".
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
	return "unknown"
}

// sniffISOBMFF names an ISO base media file (HEIF and AVIF images) from the
// brands of its leading ftyp box.
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
	return "unknown"
}

// decodable reports whether format is one of the four this package decodes.
func decodable(format string) bool {
	switch format {
	case FormatPNG, FormatJPEG, FormatGIF, FormatWebP:
		return true
	}
	return false
}
