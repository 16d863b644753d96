package imaging

import (
	"fmt"
)

// UnsupportedFormatError is returned by [Decode] and [DecodeConfig] for data
// that is not PNG, JPEG, GIF or WebP, and for the JPEG processes that
// image/jpeg does not implement. Format is a short lowercase name of what
// the magic bytes show: an image format such as "heic", "heif", "avif",
// "tiff", "bmp", "ico", "jxl", "jpeg2000", "psd" or "qoi"; a JPEG variant
// ("jpeg-arithmetic", "jpeg-lossless", "jpeg-hierarchical", "jpeg-12bit");
// another kind of file such as "pdf", "svg", "html", "zip", "mp4" or
// "text"; or "unknown" when nothing is recognized. The daemon maps it to
// 415.
type UnsupportedFormatError struct {
	Format string
}

func (e UnsupportedFormatError) Error() string {
	if e.Format == "unknown" || e.Format == "" {
		return "imaging: unsupported image format: not PNG, JPEG, GIF or WebP"
	}
	return "imaging: unsupported image format " + e.Format
}

// DecodeError is returned by [Decode] and [DecodeConfig] when the data
// starts like a supported format (Format) but cannot be decoded: it is
// truncated or corrupt. A panic inside a decoder is reported the same way.
// Err is the decoder's error, which quotes no image bytes. The daemon
// maps it to 422.
type DecodeError struct {
	Format string
	Err    error
}

func (e DecodeError) Error() string {
	return fmt.Sprintf("imaging: decoding %s failed: %v", e.Format, e.Err)
}

// Unwrap returns the decoder's error.
func (e DecodeError) Unwrap() error { return e.Err }

// TooManyPixelsError is returned by [Decode] when the header gives
// Width×Height over Max pixels. It is decided before any pixel buffer
// exists. The daemon maps it to 413.
type TooManyPixelsError struct {
	Width, Height, Max int
}

func (e TooManyPixelsError) Error() string {
	return fmt.Sprintf("imaging: image of %d×%d pixels is over the limit of %d pixels",
		e.Width, e.Height, e.Max)
}
