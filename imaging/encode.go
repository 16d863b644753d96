package imaging

import (
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
)

// jpegQuality is the quality of EncodeCutoutJPEG.
const jpegQuality = 90

var errMaskSize = errors.New("imaging: mask length does not match the image size")

// EncodeCutoutPNG writes img as an 8-bit RGBA PNG whose straight (not
// premultiplied) alpha is mask, with the default [PNGEncoder].
func EncodeCutoutPNG(w io.Writer, img *Image, mask []uint8) error {
	return PNGEncoder{}.EncodeCutout(w, img, mask)
}

// EncodeMaskPNG writes mask (width·height bytes, row-major) as an 8-bit
// grayscale PNG with the default [PNGEncoder].
func EncodeMaskPNG(w io.Writer, mask []uint8, width, height int) error {
	return PNGEncoder{}.EncodeMask(w, mask, width, height)
}

// EncodeCutoutJPEG composites img over bg with mask as alpha and writes a
// baseline JPEG of quality 90 (4:2:0), with img's ICC profile in APP2
// segments when it has one. bg's alpha is ignored.
func EncodeCutoutJPEG(w io.Writer, img *Image, mask []uint8, bg color.RGBA) error {
	n := img.Width * img.Height
	if len(mask) < n {
		return errMaskSize
	}
	pix := getBytes(4 * n)
	defer putBytes(pix)
	bgc := [3]uint32{uint32(bg.R), uint32(bg.G), uint32(bg.B)}
	for i, a := range mask[:n] {
		p := pix[4*i:][:4]
		c := img.RGB[3*i:][:3]
		av := uint32(a)
		for k := range 3 {
			p[k] = uint8((uint32(c[k])*av + bgc[k]*(255-av) + 127) / 255)
		}
		p[3] = 0xff
	}
	rgba := &image.RGBA{Pix: pix, Stride: 4 * img.Width,
		Rect: image.Rect(0, 0, img.Width, img.Height)}
	if img.ICC != nil {
		w = &iccInserter{w: w, segments: jpegICCSegments(img.ICC)}
	}
	jw := newJPEGWriter(w)
	defer jw.release()
	return jpeg.Encode(jw, rgba, &jpeg.Options{Quality: jpegQuality})
}

// jpegWriterSize is the buffer size of a jpegWriter, the size of the
// bufio.Writer it replaces.
const jpegWriterSize = 4096

// jpegWriter is the writer image/jpeg encodes into. image/jpeg wraps any
// writer that lacks Flush and WriteByte in a bufio.Writer of its own, whose
// buffer keeps the last 4 KiB of the encoded image in memory that the
// garbage collector frees without zeroing. jpegWriter has both methods, so
// the encoded bytes pass through its pooled buffer instead, which release
// zeroes.
type jpegWriter struct {
	w   io.Writer
	buf []byte // pooled; buf[:n] is waiting for w
	n   int
	err error // the first error of w, returned from then on
}

func newJPEGWriter(w io.Writer) *jpegWriter {
	return &jpegWriter{w: w, buf: getBytes(jpegWriterSize)}
}

func (jw *jpegWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 && jw.err == nil {
		if jw.n == len(jw.buf) {
			jw.Flush()
			continue
		}
		k := copy(jw.buf[jw.n:], p)
		jw.n += k
		written += k
		p = p[k:]
	}
	return written, jw.err
}

func (jw *jpegWriter) WriteByte(c byte) error {
	if jw.n == len(jw.buf) && jw.Flush() != nil {
		return jw.err
	}
	jw.buf[jw.n] = c
	jw.n++
	return nil
}

// Flush writes the buffered bytes to w.
func (jw *jpegWriter) Flush() error {
	if jw.err != nil || jw.n == 0 {
		return jw.err
	}
	n, err := jw.w.Write(jw.buf[:jw.n])
	if err == nil && n < jw.n {
		err = io.ErrShortWrite
	}
	jw.n, jw.err = 0, err
	return err
}

// release zeroes the buffer and returns it to its pool.
func (jw *jpegWriter) release() {
	putBytes(jw.buf)
	jw.buf, jw.n = nil, 0
}

// iccInserter passes a JPEG stream through and writes the APP2 segments
// of an ICC profile right after the SOI marker, which image/jpeg writes as
// its first two bytes.
type iccInserter struct {
	w        io.Writer
	segments []byte
	seen     int // bytes of the stream passed through so far, up to 2
}

func (ins *iccInserter) Write(p []byte) (int, error) {
	if ins.seen >= 2 {
		return ins.w.Write(p)
	}
	k := min(2-ins.seen, len(p))
	if _, err := ins.w.Write(p[:k]); err != nil {
		return 0, err
	}
	ins.seen += k
	if ins.seen == 2 && len(ins.segments) > 0 {
		if _, err := ins.w.Write(ins.segments); err != nil {
			return k, err
		}
	}
	n, err := ins.w.Write(p[k:])
	return k + n, err
}
