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
	if img.ICC == nil {
		return jpeg.Encode(w, rgba, &jpeg.Options{Quality: jpegQuality})
	}
	return jpeg.Encode(&iccInserter{w: w, segments: jpegICCSegments(img.ICC)}, rgba,
		&jpeg.Options{Quality: jpegQuality})
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
