package imaging

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"
)

// ModelSide is the side of the square image ISNet takes and returns.
const ModelSide = 1024

// Image is a decoded, oriented picture: packed 8-bit RGB plus optional
// alpha. Width and Height are the displayed size, after the EXIF
// orientation.
//
// The buffers of an Image returned by [Decode] come from a pool: call
// [Image.Release] when done to zero them and return them. An Image built by
// hand works with every function here and needs no Release.
type Image struct {
	Width, Height int
	RGB           []uint8 // len 3*Width*Height, row-major R, G, B
	Alpha         []uint8 // len Width*Height; nil when the source has no alpha or is opaque
	Format        string  // "png", "jpeg", "gif" or "webp"

	// orientation is the EXIF orientation Decode applied (0 or 1: none).
	// Preprocess needs it because sharp resizes the stored image.
	orientation int
	pooled      bool
}

// Release zeroes the image's pixel buffers, returns them to the pool and
// clears the fields. It is safe to call more than once and on a nil Image.
func (img *Image) Release() {
	if img == nil {
		return
	}
	if img.pooled {
		putBytes(img.RGB)
		putBytes(img.Alpha)
	} else {
		clear(img.RGB)
		clear(img.Alpha)
	}
	*img = Image{}
}

var errZeroSize = errors.New("image has zero width or height")

// DecodeConfig reads only the header: the format from the magic bytes and
// the displayed size (width and height swapped for EXIF orientations 5 to
// 8), without allocating pixels.
//
// It returns an [UnsupportedFormatError] for formats other than PNG, JPEG,
// GIF and WebP, and a [DecodeError] when the header of a supported format
// cannot be read.
func DecodeConfig(data []byte) (format string, width, height int, err error) {
	format = sniffFormat(data)
	if !decodable(format) {
		return format, 0, 0, UnsupportedFormatError{Format: format}
	}
	cfg, err := decodeHeader(format, data)
	if err != nil {
		return format, 0, 0, err
	}
	if orientation(format, data) >= 5 {
		cfg.Width, cfg.Height = cfg.Height, cfg.Width
	}
	return format, cfg.Width, cfg.Height, nil
}

// Decode decodes a PNG, JPEG, GIF (first frame) or WebP image and applies
// its EXIF orientation. When maxPixels is positive, width×height from the
// header is checked against it before any pixel buffer is allocated.
//
// Errors: [UnsupportedFormatError] for other formats, [TooManyPixelsError]
// over the cap, [DecodeError] for truncated or corrupt data, including a
// panic inside a decoder. data is only read, and is not retained.
func Decode(data []byte, maxPixels int) (*Image, error) {
	format := sniffFormat(data)
	if !decodable(format) {
		return nil, UnsupportedFormatError{Format: format}
	}
	cfg, err := decodeHeader(format, data)
	if err != nil {
		return nil, err
	}
	orient := orientation(format, data)
	if maxPixels > 0 && int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		w, h := cfg.Width, cfg.Height
		if orient >= 5 {
			w, h = h, w
		}
		return nil, TooManyPixelsError{Width: w, Height: h, Max: maxPixels}
	}

	src, err := decodePixels(format, data)
	if err != nil {
		return nil, err
	}
	img, err := fromImage(src, cfg, format)
	if err != nil {
		return nil, DecodeError{Format: format, Err: err}
	}
	img.Format = format
	if orient != 1 {
		reorient(img, orient)
	}
	return img, nil
}

// decodeHeader reads the stored (not yet oriented) size from the header.
func decodeHeader(format string, data []byte) (cfg image.Config, err error) {
	defer func() {
		if recover() != nil {
			err = DecodeError{Format: format, Err: errDecoderPanic}
		}
	}()

	r := bytes.NewReader(data)
	switch format {
	case FormatPNG:
		cfg, err = png.DecodeConfig(r)
	case FormatJPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case FormatGIF:
		cfg, err = gif.DecodeConfig(r)
	case FormatWebP:
		cfg, err = webp.DecodeConfig(r)
	}
	if err == nil && (cfg.Width <= 0 || cfg.Height <= 0) {
		err = errZeroSize
	}
	if err != nil {
		return cfg, DecodeError{Format: format, Err: err}
	}
	return cfg, nil
}

var errDecoderPanic = errors.New("the decoder failed on malformed data")

// decodePixels runs the standard decoder for format, turning a panic into a
// DecodeError.
func decodePixels(format string, data []byte) (img image.Image, err error) {
	defer func() {
		if recover() != nil {
			img, err = nil, DecodeError{Format: format, Err: errDecoderPanic}
		}
	}()

	r := bytes.NewReader(data)
	switch format {
	case FormatPNG:
		img, err = png.Decode(r)
	case FormatJPEG:
		img, err = jpeg.Decode(r)
	case FormatGIF:
		img, err = gif.Decode(r)
	case FormatWebP:
		img, err = webp.Decode(r)
	}
	if err != nil {
		return nil, DecodeError{Format: format, Err: err}
	}
	return img, nil
}
