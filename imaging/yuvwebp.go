package imaging

import (
	"image"
)

// Lossy WebP (VP8) stores limited-range BT.601 YUV 4:2:0, which
// golang.org/x/image/webp returns as an image.YCbCr. Reading it with the
// JFIF formulas of image/color loses contrast, a dozen levels in saturated
// colours. These are libwebp's conversion and "fancy" upsampler (dsp/yuv.h,
// dsp/upsampling.c, io_dec.c), which sharp's decoder uses.

const webpFix = 6 // YUV_FIX2

func webpMultHi(v, coeff int32) int32 { return (v * coeff) >> 8 }

func webpClip(v int32) uint8 {
	if v&^((256<<webpFix)-1) == 0 {
		return uint8(v >> webpFix)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func webpToRGB(dst []uint8, y, u, v uint8) {
	yy := webpMultHi(int32(y), 19077)
	dst[0] = webpClip(yy + webpMultHi(int32(v), 26149) - 14234)
	dst[1] = webpClip(yy - webpMultHi(int32(u), 6419) - webpMultHi(int32(v), 13320) + 8708)
	dst[2] = webpClip(yy + webpMultHi(int32(u), 33050) - 17685)
}

// convertWebPYUV converts a 4:2:0 VP8 picture to RGB. Output row 0 pairs
// chroma row 0 with itself. After that, rows 2k−1 and 2k take chroma rows
// k−1 ("top") and k ("current"), and the odd row is the one nearer the
// top. The last row of an even height repeats the last chroma row, as
// libwebp does.
func convertWebPYUV(img *Image, s *image.YCbCr) {
	w, h := s.Rect.Dx(), s.Rect.Dy()
	if s.SubsampleRatio != image.YCbCrSubsampleRatio420 || s.Rect.Min != (image.Point{}) {
		convertYCbCrNearest(img, s) // not produced by x/image/webp
		return
	}
	cw := (w + 1) / 2
	ch := (h + 1) / 2
	row := func(cy int) ([]uint8, []uint8) {
		return s.Cb[cy*s.CStride:][:cw], s.Cr[cy*s.CStride:][:cw]
	}
	scratch := getBytes(2 * w)
	defer putBytes(scratch)
	us, vs := scratch[:w], scratch[w:]

	for y := 0; y < h; y++ {
		var topU, topV, curU, curV []uint8
		nearTop := true
		if y == 0 {
			topU, topV = row(0)
			curU, curV = topU, topV
		} else {
			k := (y + 1) / 2
			topU, topV = row(k - 1)
			curU, curV = row(min(k, ch-1))
			nearTop = y%2 == 1
		}
		upsampleWebP(us, topU, curU, nearTop)
		upsampleWebP(vs, topV, curV, nearTop)

		yrow := s.Y[y*s.YStride:][:w]
		out := img.rgbRow(y, 0, w)
		for x, yv := range yrow {
			webpToRGB(out[3*x:][:3], yv, us[x], vs[x])
		}
	}
}

// upsampleWebP fills dst (one output row) from two chroma rows with
// libwebp's UPSAMPLE_FUNC weights 9/16, 3/16, 3/16, 1/16; nearTop selects
// the output row nearer top, else nearer cur.
func upsampleWebP(dst, top, cur []uint8, nearTop bool) {
	n := len(dst)
	tl, l := uint32(top[0]), uint32(cur[0])
	if nearTop {
		dst[0] = uint8((3*tl + l + 2) >> 2)
	} else {
		dst[0] = uint8((3*l + tl + 2) >> 2)
	}
	for x := 1; x <= (n-1)>>1; x++ {
		t, c := uint32(top[x]), uint32(cur[x])
		avg := tl + t + l + c + 8
		diag12 := (avg + 2*(t+l)) >> 3
		diag03 := (avg + 2*(tl+c)) >> 3
		if nearTop {
			dst[2*x-1] = uint8((diag12 + tl) >> 1)
			dst[2*x] = uint8((diag03 + t) >> 1)
		} else {
			dst[2*x-1] = uint8((diag03 + l) >> 1)
			dst[2*x] = uint8((diag12 + c) >> 1)
		}
		tl, l = t, c
	}
	if n&1 == 0 {
		if nearTop {
			dst[n-1] = uint8((3*tl + l + 2) >> 2)
		} else {
			dst[n-1] = uint8((3*l + tl + 2) >> 2)
		}
	}
}
