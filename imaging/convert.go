package imaging

import (
	"errors"
	"image"
	"image/color"
)

var errNoPixels = errors.New("decoded image does not cover its declared size")

// fromImage copies a decoded image into a pooled Image of the size in cfg,
// stored in *out as soon as it exists, and zeroes the decoder's buffers on
// every return, an error or a panic included. GIF frames smaller than the
// logical screen are placed on a transparent canvas, as libvips does.
// format picks the YCbCr conversion: libwebp's for WebP, libjpeg's
// otherwise.
func fromImage(src image.Image, cfg image.Config, format string, out **Image) error {
	defer wipeDecoded(src)
	w, h := cfg.Width, cfg.Height
	b := src.Bounds()
	if b.Empty() || (!b.Eq(image.Rect(0, 0, w, h)) && !b.In(image.Rect(0, 0, w, h))) {
		return errNoPixels
	}

	img := &Image{Width: w, Height: h, RGB: getBytes(3 * w * h), pooled: true}
	*out = img
	covered := b.Eq(image.Rect(0, 0, w, h))
	if !covered || hasAlphaChannel(src) {
		img.Alpha = getBytes(w * h)
		if covered {
			fill(img.Alpha, 0xff)
		}
	}

	yuv := convertYCbCr
	if format == FormatWebP {
		yuv = convertWebPYUV
	}
	alpha := img.Alpha
	switch s := src.(type) {
	case *image.YCbCr:
		yuv(img, s)
	case *image.NYCbCrA:
		yuv(img, &s.YCbCr)
		copyPlane(alpha, w, s.A, s.AStride, b)
	case *image.NRGBA:
		convertNRGBA(img, alpha, s)
	case *image.RGBA:
		convertRGBA(img, alpha, s)
	case *image.Gray:
		convertGray(img, s)
	case *image.Gray16:
		convertGray16(img, s)
	case *image.NRGBA64:
		convertNRGBA64(img, alpha, s)
	case *image.RGBA64:
		convertRGBA64(img, alpha, s)
	case *image.Paletted:
		convertPaletted(img, alpha, s)
	case *image.CMYK:
		convertCMYK(img, s)
	default:
		convertGeneric(img, alpha, src)
	}

	if alpha != nil && opaque(alpha) {
		putBytes(alpha)
		img.Alpha = nil
	}
	return nil
}

// hasAlphaChannel reports whether src's type can hold transparency.
func hasAlphaChannel(src image.Image) bool {
	switch src.(type) {
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK:
		return false
	}
	return true
}

func fill(b []uint8, v uint8) {
	for i := range b {
		b[i] = v
	}
}

func opaque(alpha []uint8) bool {
	for _, a := range alpha {
		if a != 0xff {
			return false
		}
	}
	return true
}

// wipeDecoded zeroes the pixel buffers of an image a decoder returned: every
// type that image/png, image/jpeg, image/gif and golang.org/x/image/webp
// return. Other types are left as they are.
func wipeDecoded(src image.Image) {
	switch s := src.(type) {
	case *image.YCbCr:
		wipeYCbCr(s)
	case *image.NYCbCrA:
		wipeYCbCr(&s.YCbCr)
		clear(s.A)
	case *image.NRGBA:
		clear(s.Pix)
	case *image.RGBA:
		clear(s.Pix)
	case *image.Gray:
		clear(s.Pix)
	case *image.Gray16:
		clear(s.Pix)
	case *image.NRGBA64:
		clear(s.Pix)
	case *image.RGBA64:
		clear(s.Pix)
	case *image.Paletted:
		clear(s.Pix)
	case *image.CMYK:
		clear(s.Pix)
	}
}

func wipeYCbCr(s *image.YCbCr) {
	clear(s.Y)
	clear(s.Cb)
	clear(s.Cr)
}

// copyPlane copies an 8-bit plane covering rect b into dst (stride w).
func copyPlane(dst []uint8, w int, src []uint8, stride int, b image.Rectangle) {
	for y := 0; y < b.Dy(); y++ {
		copy(dst[(b.Min.Y+y)*w+b.Min.X:][:b.Dx()], src[y*stride:][:b.Dx()])
	}
}

// rgbRow returns the RGB bytes of row y, columns from x0 to x0+n.
func (img *Image) rgbRow(y, x0, n int) []uint8 {
	return img.RGB[3*(y*img.Width+x0):][:3*n]
}

func convertNRGBA(img *Image, alpha []uint8, s *image.NRGBA) {
	b := s.Rect
	for y := 0; y < b.Dy(); y++ {
		src := s.Pix[y*s.Stride:][:4*b.Dx()]
		dst := img.rgbRow(b.Min.Y+y, b.Min.X, b.Dx())
		a := alpha[(b.Min.Y+y)*img.Width+b.Min.X:][:b.Dx()]
		for x := range a {
			dst[3*x] = src[4*x]
			dst[3*x+1] = src[4*x+1]
			dst[3*x+2] = src[4*x+2]
			a[x] = src[4*x+3]
		}
	}
}

// convertRGBA un-premultiplies alpha-premultiplied pixels.
func convertRGBA(img *Image, alpha []uint8, s *image.RGBA) {
	b := s.Rect
	for y := 0; y < b.Dy(); y++ {
		src := s.Pix[y*s.Stride:][:4*b.Dx()]
		dst := img.rgbRow(b.Min.Y+y, b.Min.X, b.Dx())
		a := alpha[(b.Min.Y+y)*img.Width+b.Min.X:][:b.Dx()]
		for x := range a {
			av := src[4*x+3]
			a[x] = av
			switch av {
			case 0xff:
				dst[3*x] = src[4*x]
				dst[3*x+1] = src[4*x+1]
				dst[3*x+2] = src[4*x+2]
			case 0:
				dst[3*x], dst[3*x+1], dst[3*x+2] = 0, 0, 0
			default:
				dst[3*x] = unpremultiply(src[4*x], av)
				dst[3*x+1] = unpremultiply(src[4*x+1], av)
				dst[3*x+2] = unpremultiply(src[4*x+2], av)
			}
		}
	}
}

func unpremultiply(c, a uint8) uint8 {
	v := (uint32(c)*255 + uint32(a)/2) / uint32(a)
	return uint8(min(v, 255))
}

func convertGray(img *Image, s *image.Gray) {
	b := s.Rect
	for y := 0; y < b.Dy(); y++ {
		src := s.Pix[y*s.Stride:][:b.Dx()]
		dst := img.rgbRow(b.Min.Y+y, b.Min.X, b.Dx())
		for x, v := range src {
			dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
		}
	}
}

// 16-bit samples keep their high byte, as libvips's 16-to-8-bit
// conversion does (0x80ff becomes 128, 0x00ff becomes 0).

func convertGray16(img *Image, s *image.Gray16) {
	b := s.Rect
	for y := 0; y < b.Dy(); y++ {
		src := s.Pix[y*s.Stride:][:2*b.Dx()]
		dst := img.rgbRow(b.Min.Y+y, b.Min.X, b.Dx())
		for x := 0; x < b.Dx(); x++ {
			v := src[2*x] // big-endian: the high byte comes first
			dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
		}
	}
}

func convertNRGBA64(img *Image, alpha []uint8, s *image.NRGBA64) {
	b := s.Rect
	for y := 0; y < b.Dy(); y++ {
		src := s.Pix[y*s.Stride:][:8*b.Dx()]
		dst := img.rgbRow(b.Min.Y+y, b.Min.X, b.Dx())
		a := alpha[(b.Min.Y+y)*img.Width+b.Min.X:][:b.Dx()]
		for x := range a {
			dst[3*x] = src[8*x]
			dst[3*x+1] = src[8*x+2]
			dst[3*x+2] = src[8*x+4]
			a[x] = src[8*x+6]
		}
	}
}

func convertRGBA64(img *Image, alpha []uint8, s *image.RGBA64) {
	b := s.Rect
	for y := 0; y < b.Dy(); y++ {
		src := s.Pix[y*s.Stride:][:8*b.Dx()]
		dst := img.rgbRow(b.Min.Y+y, b.Min.X, b.Dx())
		a := alpha[(b.Min.Y+y)*img.Width+b.Min.X:][:b.Dx()]
		for x := range a {
			p := src[8*x:][:8]
			av := uint32(p[6])<<8 | uint32(p[7])
			a[x] = p[6]
			if av == 0xffff {
				dst[3*x], dst[3*x+1], dst[3*x+2] = p[0], p[2], p[4]
				continue
			}
			for c := 0; c < 3; c++ {
				v := uint32(p[2*c])<<8 | uint32(p[2*c+1])
				if av != 0 {
					v = min(v*0xffff/av, 0xffff)
				} else {
					v = 0
				}
				dst[3*x+c] = uint8(v >> 8)
			}
		}
	}
}

func convertPaletted(img *Image, alpha []uint8, s *image.Paletted) {
	var lut [256][4]uint8
	for i, c := range s.Palette {
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		lut[i] = [4]uint8{n.R, n.G, n.B, n.A}
	}
	// Indexes past the palette decode as opaque black, like Go's At.
	for i := len(s.Palette); i < len(lut); i++ {
		lut[i] = [4]uint8{0, 0, 0, 0xff}
	}

	b := s.Rect
	for y := 0; y < b.Dy(); y++ {
		src := s.Pix[y*s.Stride:][:b.Dx()]
		dst := img.rgbRow(b.Min.Y+y, b.Min.X, b.Dx())
		a := alpha[(b.Min.Y+y)*img.Width+b.Min.X:][:b.Dx()]
		for x, i := range src {
			p := &lut[i]
			dst[3*x], dst[3*x+1], dst[3*x+2] = p[0], p[1], p[2]
			a[x] = p[3]
		}
	}
}

// convertCMYK converts ink amounts (0: none, 255: full, the convention of
// image.CMYK) to RGB as R = (255−C)·(255−K)/255, rounded, and likewise for
// G with M and B with Y. This is the conversion without a colour profile;
// libvips would use its built-in CMYK profile and get somewhat different
// colours.
func convertCMYK(img *Image, s *image.CMYK) {
	b := s.Rect
	for y := 0; y < b.Dy(); y++ {
		cmykToRGB(img.rgbRow(b.Min.Y+y, b.Min.X, b.Dx()), s.Pix[y*s.Stride:][:4*b.Dx()])
	}
}

// convertCMYKPix is convertCMYK for packed rows of img's size.
func convertCMYKPix(img *Image, pix []uint8) {
	cmykToRGB(img.RGB, pix[:4*img.Width*img.Height])
}

func cmykToRGB(dst, src []uint8) {
	for x := 0; x < len(src)/4; x++ {
		p := src[4*x : 4*x+4 : 4*x+4]
		k := 255 - uint32(p[3])
		d := dst[3*x : 3*x+3 : 3*x+3]
		d[0] = uint8(((255-uint32(p[0]))*k + 127) / 255)
		d[1] = uint8(((255-uint32(p[1]))*k + 127) / 255)
		d[2] = uint8(((255-uint32(p[2]))*k + 127) / 255)
	}
}

// convertGeneric goes through the color model, for any type without a
// fast path.
func convertGeneric(img *Image, alpha []uint8, src image.Image) {
	b := src.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBA64Model.Convert(src.At(x, y)).(color.NRGBA64)
			i := y*img.Width + x
			img.RGB[3*i] = uint8(c.R >> 8)
			img.RGB[3*i+1] = uint8(c.G >> 8)
			img.RGB[3*i+2] = uint8(c.B >> 8)
			alpha[i] = uint8(c.A >> 8)
		}
	}
}
