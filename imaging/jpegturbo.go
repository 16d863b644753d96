//go:build turbojpeg

package imaging

import "github.com/rmbgd/rmbgd/imaging/internal/turbojpeg"

// haveTurboJPEG reports that this build links libjpeg-turbo (the build
// tag turbojpeg, with cgo).
const haveTurboJPEG = turbojpeg.Available

// useTurboJPEG selects libjpeg-turbo for JPEG decoding. Tests switch it to
// compare both decoders while no decode runs.
var useTurboJPEG = haveTurboJPEG

// decodeJPEGTurbo decodes data with libjpeg-turbo into a pooled Image,
// stored in *out as soon as it exists. CMYK and YCCK are read as CMYK and
// converted as image/jpeg's output is. A file whose data ends without an
// EOI marker gets one appended in a pooled copy, as image/jpeg's input
// does: libjpeg-turbo would warn, and warnings are fatal here.
func decodeJPEGTurbo(data []byte, info *jpegInfo, out **Image) error {
	if !info.eoi {
		withEOI := append(getBytes(len(data) + len(jpegEOI))[:0], data...)
		withEOI = append(withEOI, jpegEOI...)
		defer putBytes(withEOI)
		data = withEOI
	}
	pix, w, h, cmyk, err := turbojpeg.Decode(data, getBytes)
	if err != nil {
		putBytes(pix)
		return err
	}
	if !cmyk {
		*out = &Image{Width: w, Height: h, RGB: pix, pooled: true}
		return nil
	}
	defer putBytes(pix)
	if info.adobe { // Adobe CMYK stores 255 − ink
		for i, v := range pix {
			pix[i] = 255 - v
		}
	}
	img := &Image{Width: w, Height: h, RGB: getBytes(3 * w * h), pooled: true}
	*out = img
	convertCMYKPix(img, pix)
	return nil
}
