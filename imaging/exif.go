package imaging

import (
	"bytes"
	"encoding/binary"
)

// tagOrientation is the EXIF (TIFF) tag of the orientation, values 1 to 8.
const tagOrientation = 0x0112

// orientation reads the EXIF orientation of an encoded image: 1 (as
// stored) when it has none or it cannot be read. Only the container's
// metadata is scanned; the pixel data is skipped.
func orientation(format string, data []byte) int {
	var tiff []byte
	switch format {
	case FormatJPEG:
		tiff = jpegExif(data)
	case FormatPNG:
		tiff = pngExif(data)
	case FormatWebP:
		tiff = webpExif(data)
	}
	if tiff == nil {
		return 1
	}
	return tiffOrientation(trimExifHeader(tiff))
}

// trimExifHeader drops the "Exif\0\0" prefix that JPEG APP1 segments carry
// and that some writers also put in front of PNG and WebP EXIF data.
func trimExifHeader(b []byte) []byte {
	if len(b) >= 6 && string(b[:5]) == "Exif\x00" {
		return b[6:]
	}
	return b
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure (the
// layout of EXIF data). It returns 1 for anything malformed or out of range.
func tiffOrientation(b []byte) int {
	if len(b) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return 1
	}

	ifd := int64(order.Uint32(b[4:8]))
	if ifd < 8 || ifd+2 > int64(len(b)) {
		return 1
	}
	count := int64(order.Uint16(b[ifd:]))
	for i := int64(0); i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(b)) {
			return 1
		}
		if order.Uint16(b[e:]) != tagOrientation {
			continue
		}

		// SHORT is the type the standard gives; LONG is accepted from
		// writers that get it wrong. The value sits in the entry itself.
		var v uint32
		switch order.Uint16(b[e+2:]) {
		case 3:
			v = uint32(order.Uint16(b[e+8:]))
		case 4:
			v = order.Uint32(b[e+8:])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}

// jpegExif returns the payload of the first APP1 Exif segment before the
// start of scan, or nil.
func jpegExif(data []byte) []byte {
	i := 2 // after SOI
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return nil
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8):
			i += 2 // markers without a length
			continue
		case marker == 0xda || marker == 0xd9: // start of scan, end of image
			return nil
		}

		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return nil
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00")) {
			return seg
		}
		i += 2 + n
	}
	return nil
}

// pngExif returns the data of the eXIf chunk, or nil. Chunks are walked by
// their lengths up to IEND, so image data is skipped, not read.
func pngExif(data []byte) []byte {
	i := 8 // after the signature
	for i+12 <= len(data) {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		end := int64(i) + 12 + n
		if end > int64(len(data)) {
			return nil
		}
		switch typ {
		case "eXIf":
			return data[i+8 : i+8+int(n)]
		case "IEND":
			return nil
		}
		i = int(end)
	}
	return nil
}

// webpExif returns the data of the EXIF chunk of an extended WebP file, or
// nil.
func webpExif(data []byte) []byte {
	return webpChunk(data, "EXIF")
}

// webpChunk returns the data of the first top-level chunk of type fourcc
// in a WebP file, or nil.
func webpChunk(data []byte, fourcc string) []byte {
	i := 12 // after "RIFF", the size and "WEBP"
	for i+8 <= len(data) {
		n := int64(binary.LittleEndian.Uint32(data[i+4:]))
		end := int64(i) + 8 + n
		if end > int64(len(data)) {
			return nil
		}
		if string(data[i:i+4]) == fourcc {
			return data[i+8 : i+8+int(n)]
		}
		i = int(end + end&1) // chunks are padded to an even size
	}
	return nil
}
