// Package imagingtest writes small encoded images of every kind the
// imaging package must read, for tests: PNGs of each colour type and bit
// depth, JPEGs in each colour space (baseline and progressive, with or
// without an Adobe segment), GIFs whose frame reaches past the logical
// screen, animated WebP wrappers, ICC profiles and EXIF segments, and
// mutations of valid files. It writes the bytes itself, so it can produce
// the layouts the standard encoders never write. It does not import
// package imaging, so both imaging's tests and other packages' tests can
// use it.
package imagingtest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image/color"
)

// PNG colour types (PNG specification, 11.2.2).
const (
	Gray      = 0
	RGB       = 2
	Paletted  = 3
	GrayAlpha = 4
	RGBA      = 6
)

// PNG describes a PNG to write. Samples holds, row-major, the channels of
// each pixel for the colour type (1 for Gray and Paletted, 2 for
// GrayAlpha, 3 for RGB, 4 for RGBA), each in 0..2^BitDepth−1.
type PNG struct {
	Width, Height int
	ColorType     int
	BitDepth      int
	Samples       []uint16

	// Palette is the PLTE chunk of a Paletted image; entries whose alpha is
	// not 255 produce a tRNS chunk.
	Palette []color.NRGBA

	// Transparent is the tRNS key colour of a Gray (one value) or RGB
	// (three values) image; nil writes no tRNS chunk.
	Transparent []uint16

	// ICC, when set, is written as an iCCP chunk; Exif as an eXIf chunk.
	ICC  []byte
	Exif []byte

	// Interlaced writes the image data in the seven Adam7 passes.
	Interlaced bool
}

// adam7 lists the Adam7 passes: the first column and row, and the steps
// between columns and rows (PNG specification, 8.2).
var adam7 = [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4},
	{1, 0, 2, 2}, {0, 1, 1, 2}}

// Channels returns the samples per pixel of a PNG colour type.
func Channels(colorType int) int {
	switch colorType {
	case GrayAlpha:
		return 2
	case RGB:
		return 3
	case RGBA:
		return 4
	}
	return 1
}

// Encode returns the PNG file. Rows use filter type 0 (None).
func (p PNG) Encode() []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(p.Width))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(p.Height))
	interlace := byte(0)
	if p.Interlaced {
		interlace = 1
	}
	ihdr = append(ihdr, byte(p.BitDepth), byte(p.ColorType), 0, 0, interlace)
	out = AppendPNGChunk(out, "IHDR", ihdr)
	if p.ICC != nil {
		var z bytes.Buffer
		z.WriteString("test profile\x00\x00")
		zw := zlib.NewWriter(&z)
		zw.Write(p.ICC)
		zw.Close()
		out = AppendPNGChunk(out, "iCCP", z.Bytes())
	}
	if p.Exif != nil {
		out = AppendPNGChunk(out, "eXIf", p.Exif)
	}
	if p.ColorType == Paletted {
		var plte, trns []byte
		for _, c := range p.Palette {
			plte = append(plte, c.R, c.G, c.B)
			trns = append(trns, c.A)
		}
		out = AppendPNGChunk(out, "PLTE", plte)
		if trns = trimOpaque(trns); len(trns) > 0 {
			out = AppendPNGChunk(out, "tRNS", trns)
		}
	}
	if p.Transparent != nil {
		var trns []byte
		for _, v := range p.Transparent {
			trns = binary.BigEndian.AppendUint16(trns, v)
		}
		out = AppendPNGChunk(out, "tRNS", trns)
	}

	var raw bytes.Buffer
	ch := Channels(p.ColorType)
	passes := [][4]int{{0, 0, 1, 1}}
	if p.Interlaced {
		passes = adam7[:]
	}
	for _, pass := range passes {
		for y := pass[1]; y < p.Height; y += pass[3] {
			var row []uint16
			for x := pass[0]; x < p.Width; x += pass[2] {
				row = append(row, p.Samples[(y*p.Width+x)*ch:][:ch]...)
			}
			if len(row) == 0 {
				break // an empty pass has no rows at all
			}
			raw.WriteByte(0) // filter type None
			raw.Write(packRow(row, p.BitDepth))
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	out = AppendPNGChunk(out, "IDAT", z.Bytes())
	return AppendPNGChunk(out, "IEND", nil)
}

// trimOpaque drops trailing 255s from palette alphas: tRNS may be shorter
// than PLTE, and the rest is opaque.
func trimOpaque(a []byte) []byte {
	for len(a) > 0 && a[len(a)-1] == 0xff {
		a = a[:len(a)-1]
	}
	return a
}

// packRow packs samples of depth bits each, most significant bits first,
// into whole bytes.
func packRow(samples []uint16, depth int) []byte {
	switch depth {
	case 16:
		out := make([]byte, 0, 2*len(samples))
		for _, s := range samples {
			out = binary.BigEndian.AppendUint16(out, s)
		}
		return out
	case 8:
		out := make([]byte, len(samples))
		for i, s := range samples {
			out[i] = byte(s)
		}
		return out
	}
	out := make([]byte, (len(samples)*depth+7)/8)
	for i, s := range samples {
		bit := i * depth
		out[bit/8] |= byte(s) << (8 - depth - bit%8)
	}
	return out
}

// AppendPNGChunk appends one PNG chunk with its length and CRC.
func AppendPNGChunk(dst []byte, typ string, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	start := len(dst)
	dst = append(dst, typ...)
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// ZeroPNG returns a w×h 8-bit gray PNG of zeros, which deflate shrinks
// about a thousandfold: 20000×20000 is a file of about 400 KB for 400 MB
// of pixels.
func ZeroPNG(w, h int) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, Gray, 0, 0, 0)
	out = AppendPNGChunk(out, "IHDR", ihdr)

	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	row := make([]byte, w+1)
	for y := 0; y < h; y++ {
		zw.Write(row)
	}
	zw.Close()
	out = AppendPNGChunk(out, "IDAT", z.Bytes())
	return AppendPNGChunk(out, "IEND", nil)
}
