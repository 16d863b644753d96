package imaging

import (
	"image"
	"math"
)

// inputLUT maps an 8-bit sample to x/255 − 0.5, computed in float64 and
// rounded to float32 as the reference script does.
var inputLUT = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(float64(i)/255 - 0.5)
	}
	return t
}()

// Preprocess resizes img to side×side and writes x/255 − 0.5 per channel
// into dst as planar float32: all of R, then G, then B, each row-major.
// dst must hold at least 3·side·side values. Where img has alpha, the
// resize works on premultiplied RGB as sharp's does. img is only read.
func Preprocess(img *Image, side int, dst []float32) {
	plane := side * side
	dst = dst[:3*plane]
	rgb := getBytes(3 * plane)
	defer putBytes(rgb)
	resizeRGB(rgb, side, side, img)

	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:]
	forRanges(plane, 12, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r[i] = inputLUT[rgb[3*i]]
			g[i] = inputLUT[rgb[3*i+1]]
			b[i] = inputLUT[rgb[3*i+2]]
		}
	})
}

// resizeRGB resizes img's RGB into dst (dw×dh×3). With alpha, RGB is
// premultiplied before and unpremultiplied after, and alpha is resized
// along: sharp does this before its removeAlpha takes effect. At the same
// size, RGB is copied.
func resizeRGB(dst []uint8, dw, dh int, img *Image) {
	// TODO: for a JPEG shrunk by 3 or more, sharp resizes a copy that
	// libjpeg decoded at 1/2, 1/4 or 1/8 scale. image/jpeg cannot scale in
	// the DCT, so the input tensor differs by about 0.4 levels on average.
	o := max(img.orientation, 1)
	// sharp premultiplies only when it resizes.
	if img.Alpha == nil || dw == img.Width && dh == img.Height {
		resizeOriented(dst, dw, dh, img.RGB, img.Width, img.Height, 3, o)
		return
	}

	n := img.Width * img.Height
	src := getBytes(4 * n)
	defer putBytes(src)
	premultiply(src, img.RGB, img.Alpha)
	out := getBytes(4 * dw * dh)
	defer putBytes(out)
	resizeOriented(out, dw, dh, src, img.Width, img.Height, 4, o)
	unpremultiply3(dst, out)
}

// premultiply packs RGB and alpha into RGBA with RGB scaled by alpha/255.
// libvips computes in float32 and its cast back to 8 bits truncates.
func premultiply(dst, rgb, alpha []uint8) {
	var scale [256]float32
	for a := range scale {
		scale[a] = float32(float64(a) / 255)
	}
	for i, a := range alpha {
		s := scale[a]
		p := dst[4*i:][:4]
		c := rgb[3*i:][:3]
		p[0] = truncToByte(float32(c[0]) * s)
		p[1] = truncToByte(float32(c[1]) * s)
		p[2] = truncToByte(float32(c[2]) * s)
		p[3] = a
	}
}

// unpremultiply3 divides RGB by alpha/255 and drops alpha (0 where alpha is
// 0), in float32 with truncation like libvips's vips_unpremultiply and cast.
func unpremultiply3(dst, rgba []uint8) {
	var factor [256]float32
	for a := 1; a < 256; a++ {
		factor[a] = float32(255 / float64(a))
	}
	for i := 0; i < len(rgba)/4; i++ {
		p := rgba[4*i:][:4]
		f := factor[p[3]]
		o := dst[3*i:][:3]
		o[0] = truncToByte(f * float32(p[0]))
		o[1] = truncToByte(f * float32(p[1]))
		o[2] = truncToByte(f * float32(p[2]))
	}
}

func truncToByte(f float32) uint8 {
	if f >= 255 {
		return 255
	}
	if f <= 0 {
		return 0
	}
	return uint8(f)
}

// Postprocess turns the model's side×side output into the 8-bit mask at
// img's size and writes it into mask (at least Width·Height bytes): the
// output is min–max normalized to 0..255, resized, and capped by img's
// alpha where it has one. A flat output gives an all-zero mask; NaNs are
// ignored for the range and become 0. out and img are only read.
func Postprocess(out []float32, side int, img *Image, mask []uint8) {
	plane := side * side
	out = out[:plane]
	small := getBytes(plane)
	defer putBytes(small)
	normalizeMask(small, out)

	n := img.Width * img.Height
	mask = mask[:n]
	resize(mask, img.Width, img.Height, small, side, side, 1)
	if img.Alpha != nil {
		for i, a := range img.Alpha[:n] {
			mask[i] = min(mask[i], a)
		}
	}
}

// normalizeMask maps y to round((y−lo)/(hi−lo)·255) with lo and hi the
// range of y, in float64 and rounding half up like JavaScript's Math.round.
// A zero span is taken as 1, as the reference script does.
//
// It multiplies by 255/span instead of dividing, which is several times
// faster. The product can differ from the quotient in the last bits. A
// value that lands within 1e-9 of a rounding boundary is therefore
// computed again with the division (roundMaskValue), and every other
// value rounds the same either way.
func normalizeMask(dst []uint8, y []float32) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range y {
		f := float64(v)
		if f < lo {
			lo = f
		}
		if f > hi {
			hi = f
		}
	}
	span := hi - lo
	if span == 0 || math.IsNaN(span) {
		span = 1
	}
	scale := 255 / span
	forRanges(len(y), 8, func(from, to int) {
		out := dst[from:to]
		for i, v := range y[from:to] {
			t := (float64(v)-lo)*scale + 0.5
			if !(t >= 0.5) || t >= 255.5 { // NaN, or a product past the ends
				out[i] = roundMaskValue(v, lo, span)
				continue
			}
			r := int(t) // floor, as t is positive
			if f := t - float64(r); f < 1e-9 || f > 1-1e-9 {
				out[i] = roundMaskValue(v, lo, span)
				continue
			}
			out[i] = uint8(r)
		}
	})
}

// roundMaskValue is one value of normalizeMask, computed as the reference
// does: divided by span, rounded half up, NaN to 0, clamped to 0..255.
func roundMaskValue(v float32, lo, span float64) uint8 {
	x := (float64(v) - lo) / span * 255
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	switch {
	case !(r >= 0): // NaN included
		return 0
	case r > 255:
		return 255
	default:
		return uint8(r)
	}
}

// Foreground returns the bounding box of mask pixels at or above 128 in a
// w×h mask, or the empty rectangle when there are none.
func Foreground(mask []uint8, w, h int) image.Rectangle {
	minX, minY, maxX, maxY := w, h, -1, -1
	for y := 0; y < h; y++ {
		row := mask[y*w:][:w]
		first := -1
		for x, v := range row {
			if v >= 128 {
				first = x
				break
			}
		}
		if first < 0 {
			continue
		}
		last := first
		for x := w - 1; x > first; x-- {
			if row[x] >= 128 {
				last = x
				break
			}
		}
		minX, maxX = min(minX, first), max(maxX, last)
		if minY > y {
			minY = y
		}
		maxY = y
	}
	if maxY < 0 {
		return image.Rectangle{}
	}
	return image.Rect(minX, minY, maxX+1, maxY+1)
}
