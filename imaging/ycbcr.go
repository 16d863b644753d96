package imaging

import (
	"image"
)

// YCbCr to RGB conversion and chroma upsampling as libjpeg-turbo does them
// (jdcolor.c, jdsample.c), so that JPEGs decode to the pixels sharp gets,
// up to the IDCT's own rounding. Go's color.YCbCrToRGB uses other
// fixed-point constants and image/jpeg leaves chroma at its stored
// resolution. Reading it with nearest-neighbour upsampling differs from
// libjpeg's triangle filter by several levels at colour edges.

const (
	yccScaleBits = 16
	yccHalf      = 1 << (yccScaleBits - 1)
)

var yccCrR, yccCbB, yccCrG, yccCbG [256]int32

func init() {
	fix := func(x float64) int32 { return int32(x*(1<<yccScaleBits) + 0.5) }
	for i := range 256 {
		x := int32(i) - 128
		yccCrR[i] = (fix(1.40200)*x + yccHalf) >> yccScaleBits
		yccCbB[i] = (fix(1.77200)*x + yccHalf) >> yccScaleBits
		yccCrG[i] = -fix(0.71414) * x
		yccCbG[i] = -fix(0.34414)*x + yccHalf
	}
}

// rangeLimit clamps v to a byte by looking up v+rangeLimitOffset, like
// libjpeg's range_limit table. YCbCr conversion adds at most ±227 to the
// luma, so indexes stay within 29..738; the power-of-two size lets the
// index be masked instead of bounds-checked.
const rangeLimitOffset = 256

var rangeLimit = func() (t [1024]uint8) {
	for i := range t {
		t[i] = clampToByte(int32(i - rangeLimitOffset))
	}
	return t
}()

func clampToByte(v int32) uint8 {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// yccRow converts one row of full-resolution Y, Cb and Cr to packed RGB.
func yccRow(dst, y, cb, cr []uint8) {
	dst = dst[:3*len(y)]
	cb = cb[:len(y)]
	cr = cr[:len(y)]
	lim := &rangeLimit
	for x, yv := range y {
		Y := int32(yv) + rangeLimitOffset
		b, r := cb[x], cr[x]
		d := dst[3*x : 3*x+3 : 3*x+3]
		d[0] = lim[(Y+yccCrR[r])&(int32(len(lim))-1)]
		d[1] = lim[(Y+(yccCbG[b]+yccCrG[r])>>yccScaleBits)&(int32(len(lim))-1)]
		d[2] = lim[(Y+yccCbB[b])&(int32(len(lim))-1)]
	}
}

// convertYCbCr converts s into img, whose size must be s's.
func convertYCbCr(img *Image, s *image.YCbCr) {
	w, h := s.Rect.Dx(), s.Rect.Dy()
	if s.Rect.Min != (image.Point{}) || s.SubsampleRatio == image.YCbCrSubsampleRatio444 {
		convertYCbCrNearest(img, s)
		return
	}

	// Chroma samples that are not upsampled with a filter are replicated.
	hFactor, vFactor := 1, 1
	switch s.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hFactor = 2
	case image.YCbCrSubsampleRatio420:
		hFactor, vFactor = 2, 2
	case image.YCbCrSubsampleRatio440:
		vFactor = 2
	default: // 4:1:1 and 4:1:0: libjpeg replicates these too
		convertYCbCrNearest(img, s)
		return
	}
	cw := (w + hFactor - 1) / hFactor
	ch := (h + vFactor - 1) / vFactor
	// libjpeg filters 2×1 and 2×2 subsampling only when there are more than
	// two chroma columns (else it replicates), and 1×2 always.
	hFancy := hFactor == 2 && cw > 2
	vFancy := vFactor == 2 && (hFactor == 1 || hFancy)

	rowLen := 2*cw + 2
	scratch := getBytes(4 * rowLen)
	defer putBytes(scratch)
	cbRow, crRow := scratch[:rowLen], scratch[rowLen:2*rowLen]
	sums := getInt16s(2 * cw)
	defer putInt16s(sums)
	cbSum, crSum := sums[:cw], sums[cw:]

	for y := 0; y < h; y++ {
		cy := y / vFactor
		cbNear := s.Cb[cy*s.CStride:][:cw]
		crNear := s.Cr[cy*s.CStride:][:cw]
		if vFancy {
			// The farther row is above for even rows, below for odd ones,
			// and the edge rows are repeated.
			fy := cy - 1
			bias := int16(1)
			if y%2 == 1 {
				fy, bias = cy+1, 2
			}
			fy = min(max(fy, 0), ch-1)
			cbFar := s.Cb[fy*s.CStride:][:cw]
			crFar := s.Cr[fy*s.CStride:][:cw]
			for i := range cbSum {
				cbSum[i] = 3*int16(cbNear[i]) + int16(cbFar[i])
				crSum[i] = 3*int16(crNear[i]) + int16(crFar[i])
			}
			if hFancy {
				upsampleH2V2(cbRow, cbSum)
				upsampleH2V2(crRow, crSum)
			} else {
				finishSums(cbRow, cbSum, bias)
				finishSums(crRow, crSum, bias)
			}
		} else if hFancy {
			upsampleH2V1(cbRow, cbNear)
			upsampleH2V1(crRow, crNear)
		} else {
			replicate(cbRow, cbNear, hFactor)
			replicate(crRow, crNear, hFactor)
		}
		yccRow(img.rgbRow(y, 0, w), s.Y[y*s.YStride:][:w], cbRow, crRow)
	}
}

// upsampleH2V1 is libjpeg's h2v1_fancy_upsample for at least 3 samples:
// each output takes 3/4 of the nearer and 1/4 of the farther input sample,
// with alternating rounding.
func upsampleH2V1(dst, src []uint8) {
	n := len(src)
	dst[0] = src[0]
	dst[1] = uint8((3*int(src[0]) + int(src[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := 3 * int(src[i])
		dst[2*i] = uint8((v + int(src[i-1]) + 1) >> 2)
		dst[2*i+1] = uint8((v + int(src[i+1]) + 2) >> 2)
	}
	dst[2*n-2] = uint8((3*int(src[n-1]) + int(src[n-2]) + 1) >> 2)
	dst[2*n-1] = src[n-1]
}

// upsampleH2V2 is the horizontal half of libjpeg's h2v2_fancy_upsample;
// sums holds 3·nearer + farther row for each of at least 3 columns.
func upsampleH2V2(dst []uint8, sums []int16) {
	n := len(sums)
	dst[0] = uint8((int(sums[0])*4 + 8) >> 4)
	dst[1] = uint8((int(sums[0])*3 + int(sums[1]) + 7) >> 4)
	for i := 1; i < n-1; i++ {
		v := 3 * int(sums[i])
		dst[2*i] = uint8((v + int(sums[i-1]) + 8) >> 4)
		dst[2*i+1] = uint8((v + int(sums[i+1]) + 7) >> 4)
	}
	dst[2*n-2] = uint8((3*int(sums[n-1]) + int(sums[n-2]) + 8) >> 4)
	dst[2*n-1] = uint8((4*int(sums[n-1]) + 7) >> 4)
}

// finishSums is libjpeg's h1v2_fancy_upsample after the column sums:
// (3·nearer + farther + bias) >> 2.
func finishSums(dst []uint8, sums []int16, bias int16) {
	for i, s := range sums {
		dst[i] = uint8((s + bias) >> 2)
	}
}

func replicate(dst, src []uint8, factor int) {
	for i, v := range src {
		for k := 0; k < factor; k++ {
			dst[factor*i+k] = v
		}
	}
}

// convertYCbCrNearest reads chroma at the stored resolution for each pixel.
func convertYCbCrNearest(img *Image, s *image.YCbCr) {
	w, h := s.Rect.Dx(), s.Rect.Dy()
	row := getBytes(2 * w)
	defer putBytes(row)
	cb, cr := row[:w], row[w:]
	for y := 0; y < h; y++ {
		py := s.Rect.Min.Y + y
		for x := 0; x < w; x++ {
			ci := s.COffset(s.Rect.Min.X+x, py)
			cb[x], cr[x] = s.Cb[ci], s.Cr[ci]
		}
		yi := s.YOffset(s.Rect.Min.X, py)
		yccRow(img.rgbRow(y, 0, w), s.Y[yi:][:w], cb, cr)
	}
}
