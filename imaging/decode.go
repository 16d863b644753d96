package imaging

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

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

	// ICC is the embedded ICC profile of an RGB colour space, unchanged,
	// or nil. The samples in RGB are as stored, not converted with it, and
	// the cut-out encoders embed it again. A gray profile has already been
	// applied and is not kept.
	ICC []uint8

	// orientation is the EXIF orientation Decode applied (0 or 1: none).
	// Preprocess needs it because sharp resizes the stored image.
	orientation int
	pooled      bool
}

// Release zeroes the image's pixel buffers and profile, returns them to
// the pool and clears the fields. It is safe to call more than once and on
// a nil Image.
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
	putBytes(img.ICC)
	*img = Image{}
}

var errZeroSize = errors.New("image has zero width or height")

// DecodeConfig reads only the header: the format from the magic bytes and
// the displayed size (width and height swapped for EXIF orientations 5 to
// 8), without allocating pixels. For a GIF whose first frame reaches past
// the logical screen, the size is that of the grown canvas [Decode]
// returns.
//
// It returns an [UnsupportedFormatError] for formats other than PNG, JPEG,
// GIF and WebP, and a [DecodeError] when the header of a supported format
// cannot be read.
func DecodeConfig(data []byte) (format string, width, height int, err error) {
	format = sniffFormat(data)
	if !decodable(format) {
		return format, 0, 0, UnsupportedFormatError{Format: format}
	}
	if format == FormatJPEG {
		info := scanJPEG(data, true)
		if v := info.variant(); v != "" {
			return format, 0, 0, UnsupportedFormatError{Format: v}
		}
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

// Decode decodes a PNG, JPEG, GIF (first frame) or WebP (first frame when
// animated) image and applies its EXIF orientation. The format comes from
// the magic bytes only. When maxPixels is positive, width×height from the
// header is checked against it before any pixel buffer is allocated.
//
// Errors: [UnsupportedFormatError] for other formats, [TooManyPixelsError]
// over the cap, [DecodeError] for truncated or corrupt data, including a
// JPEG whose scans stop short of the full image and a panic inside a
// decoder. data is only read, and is not retained.
func Decode(data []byte, maxPixels int) (*Image, error) {
	format := sniffFormat(data)
	if !decodable(format) {
		return nil, UnsupportedFormatError{Format: format}
	}
	return recoverDecode(format, func(img **Image) error {
		return decodeFormat(format, data, maxPixels, img)
	})
}

// recoverDecode runs f, which stores the image in its argument as soon as
// one exists, and turns a panic in it, from a decoder or from this
// package, into a DecodeError, releasing (and so wiping) that image.
func recoverDecode(format string, f func(img **Image) error) (img *Image, err error) {
	defer func() {
		if recover() != nil {
			img.Release()
			img, err = nil, DecodeError{Format: format, Err: errDecoderPanic}
		}
	}()
	if err := f(&img); err != nil {
		img.Release()
		return nil, err
	}
	return img, nil
}

// decodeFormat is Decode for data of a decodable format; it stores the
// image in *out.
func decodeFormat(format string, data []byte, maxPixels int, out **Image) error {
	var jpg jpegInfo
	if format == FormatJPEG {
		jpg = scanJPEG(data, false)
		if v := jpg.variant(); v != "" {
			return UnsupportedFormatError{Format: v}
		}
	}
	cfg, err := decodeHeader(format, data)
	if err != nil {
		return err
	}
	orient := orientation(format, data)
	if maxPixels > 0 && int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		w, h := cfg.Width, cfg.Height
		if orient >= 5 {
			w, h = h, w
		}
		return TooManyPixelsError{Width: w, Height: h, Max: maxPixels}
	}

	if err := decodeImage(format, data, cfg, &jpg, out); err != nil {
		var de DecodeError
		if !errors.As(err, &de) {
			err = DecodeError{Format: format, Err: err}
		}
		return err
	}
	img := *out
	img.Format = format
	img.ICC = decodeICC(format, data, &jpg)
	if img.ICC != nil && iccColorSpace(img.ICC) == "GRAY" {
		// A gray profile cannot go into an RGB cut-out: the samples are
		// converted to sRGB with it instead, when its tone curve reads.
		applyGrayProfile(img, img.ICC)
		putBytes(img.ICC)
		img.ICC = nil
	}
	if orient != 1 {
		reorient(img, orient)
	}
	return nil
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
		if w, h, ok := gifCanvas(data); ok && err == nil {
			cfg.Width, cfg.Height = w, h
		}
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

// decodeImage decodes the pixels of data, whose header gave cfg, into a
// pooled Image, which it stores in *out as soon as that exists, and zeroes
// the decoders' own images. A PNG's image data and a GIF's first frame are
// checked before image/png or image/gif allocates the picture (storedPNG,
// checkGIFFrame), so that no half-decoded picture is left unwiped.
func decodeImage(format string, data []byte, cfg image.Config, jpg *jpegInfo,
	out **Image) error {
	if format == FormatWebP && webpAnimated(data) {
		return decodeWebPFirstFrame(data, cfg, out)
	}

	if format == FormatJPEG && useTurboJPEG {
		if !jpg.complete {
			return errIncompleteJPEG
		}
		return decodeJPEGTurbo(data, jpg, out)
	}

	var src image.Image
	var err error
	switch format {
	case FormatPNG:
		src, err = decodePNG(data)
	case FormatJPEG:
		src, err = decodeJPEG(data, jpg)
	case FormatGIF:
		src, err = decodeGIF(data, cfg)
	case FormatWebP:
		src, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return err
	}
	return fromImage(src, cfg, format, out)
}

// decodePNG runs image/png on the stored copy of data that storedPNG
// makes once it has checked the image data, so that image/png allocates
// its picture only for a file it decodes whole.
func decodePNG(data []byte) (image.Image, error) {
	stored, err := storedPNG(data)
	if err != nil {
		return nil, err
	}
	if stored != nil {
		defer putBytes(stored)
		data = stored
	}
	return png.Decode(bytes.NewReader(data))
}

// decodeGIF runs image/gif on data, whose header gave cfg, once
// checkGIFFrame has passed its first frame, so that image/gif allocates
// the frame only when it decodes it whole.
func decodeGIF(data []byte, cfg image.Config) (image.Image, error) {
	r, err := gifReader(data, cfg.Width, cfg.Height)
	if err != nil {
		return nil, err
	}
	if err := checkGIFFrame(data); err != nil {
		return nil, err
	}
	return gif.Decode(r)
}

// decodeJPEG runs image/jpeg on data, with an Adobe APP14 segment inserted
// into a 4-component JPEG that lacks one and an EOI marker appended when
// the data ends without it. It rejects a JPEG whose scans do not cover
// every coefficient, which image/jpeg returns as a picture with the
// missing detail or colour left at zero.
func decodeJPEG(data []byte, info *jpegInfo) (image.Image, error) {
	parts := make([]io.Reader, 0, 4)
	insertAdobe := len(info.components) == 4 && !info.adobe
	if insertAdobe {
		parts = append(parts, bytes.NewReader(data[:2]), bytes.NewReader(adobeAPP14),
			bytes.NewReader(data[2:]))
	} else {
		parts = append(parts, bytes.NewReader(data))
	}
	if !info.eoi {
		parts = append(parts, bytes.NewReader(jpegEOI))
	}

	src, err := jpeg.Decode(io.MultiReader(parts...))
	if err != nil {
		return nil, err
	}
	if !info.complete {
		wipeDecoded(src)
		return nil, errIncompleteJPEG
	}
	if c, ok := src.(*image.CMYK); ok && insertAdobe {
		// image/jpeg inverts the samples of an Adobe CMYK JPEG, where 255
		// means no ink. Without the Adobe segment, libjpeg takes the stored
		// samples as ink amounts, so the inversion is undone to match.
		for i, v := range c.Pix {
			c.Pix[i] = 255 - v
		}
	}
	return src, nil
}

// JPEGDecoder names the JPEG decoder of this build: "libjpeg-turbo" or
// "image/jpeg".
func JPEGDecoder() string {
	if useTurboJPEG {
		return "libjpeg-turbo"
	}
	return "image/jpeg"
}
