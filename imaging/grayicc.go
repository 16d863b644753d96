package imaging

import (
	"encoding/binary"
	"math"
)

// A profile of the gray colour space describes its samples with one tone
// curve, the kTRC tag, from the sample to the luminance Y of the profile
// connection space, whose white is D50. A gray luminance is neutral in
// every RGB space, and sRGB's white is D65 adapted from D50, so the sRGB
// sample of a gray value is the sRGB encoding of Y, the same for R, G and
// B. applyGrayProfile converts that way, with no colour
// management library. A gray image carries no profile into the cut-out:
// it is in sRGB afterwards, which PNG readers assume when there is none.

// grayProfileLUT returns the 8-bit table from a gray sample to its sRGB
// sample under profile p, a gray ICC profile, and false when p has no
// kTRC tag of a type this reads (curv or para).
func grayProfileLUT(p []byte) (lut [256]uint8, ok bool) {
	curve, ok := iccTag(p, "kTRC")
	if !ok {
		return lut, false
	}
	trc, ok := parseTRC(curve)
	if !ok {
		return lut, false
	}
	for i := range lut {
		y := min(max(trc(float64(i)/255), 0), 1)
		lut[i] = uint8(math.Round(255 * srgbEncode(y)))
	}
	return lut, true
}

// applyGrayProfile converts img's samples from the gray profile p to sRGB,
// when p's tone curve can be read, and reports whether it did.
func applyGrayProfile(img *Image, p []byte) bool {
	lut, ok := grayProfileLUT(p)
	if !ok {
		return false
	}
	for i, v := range img.RGB {
		img.RGB[i] = lut[v]
	}
	return true
}

// iccTag returns the data of the tag with signature sig in profile p. The
// tag table follows the 128-byte header: a count, then 12 bytes a tag
// (signature, offset from the profile's start, size).
func iccTag(p []byte, sig string) ([]byte, bool) {
	if len(p) < iccHeaderSize+4 {
		return nil, false
	}
	count := int(binary.BigEndian.Uint32(p[iccHeaderSize:]))
	table := p[iccHeaderSize+4:]
	if count < 0 || count > len(table)/12 {
		return nil, false
	}
	for i := range count {
		entry := table[12*i:]
		if string(entry[:4]) != sig {
			continue
		}
		offset := int64(binary.BigEndian.Uint32(entry[4:]))
		size := int64(binary.BigEndian.Uint32(entry[8:]))
		if offset+size > int64(len(p)) {
			return nil, false
		}
		return p[offset : offset+size], true
	}
	return nil, false
}

// parseTRC returns the function of a curv (gamma or table) or para
// (parametric) tone curve tag, from [0, 1] to [0, 1].
func parseTRC(tag []byte) (func(float64) float64, bool) {
	if len(tag) < 12 {
		return nil, false
	}
	switch string(tag[:4]) {
	case "curv":
		n := int(binary.BigEndian.Uint32(tag[8:]))
		if n < 0 || n > (len(tag)-12)/2 {
			return nil, false
		}
		switch n {
		case 0:
			return func(x float64) float64 { return x }, true
		case 1:
			gamma := float64(binary.BigEndian.Uint16(tag[12:])) / 256
			return func(x float64) float64 { return math.Pow(x, gamma) }, true
		}
		table := make([]float64, n)
		for i := range table {
			table[i] = float64(binary.BigEndian.Uint16(tag[12+2*i:])) / 65535
		}
		return func(x float64) float64 {
			pos := x * float64(n-1)
			i := min(int(pos), n-2)
			return table[i] + (pos-float64(i))*(table[i+1]-table[i])
		}, true
	case "para":
		return parseParametric(tag)
	}
	return nil, false
}

// parseParametric returns the function of a para tag: a function type and
// 1, 3, 4, 5 or 7 s15Fixed16 parameters g, a, b, c, d, e, f.
func parseParametric(tag []byte) (func(float64) float64, bool) {
	kind := int(binary.BigEndian.Uint16(tag[8:]))
	counts := [...]int{1, 3, 4, 5, 7}
	if kind >= len(counts) || len(tag) < 12+4*counts[kind] {
		return nil, false
	}
	var v [7]float64
	for i := range counts[kind] {
		v[i] = float64(int32(binary.BigEndian.Uint32(tag[12+4*i:]))) / 65536
	}
	g, a, b, c, d, e, f := v[0], v[1], v[2], v[3], v[4], v[5], v[6]
	pow := func(x float64) float64 { return math.Pow(max(x, 0), g) }
	switch kind {
	case 0:
		return pow, true
	case 1, 2:
		if a == 0 {
			return nil, false
		}
		return func(x float64) float64 {
			if x >= -b/a {
				return pow(a*x+b) + c // c is 0 for type 1
			}
			return c
		}, true
	case 3:
		return func(x float64) float64 {
			if x >= d {
				return pow(a*x + b)
			}
			return c * x
		}, true
	default:
		return func(x float64) float64 {
			if x >= d {
				return pow(a*x+b) + e
			}
			return c*x + f
		}, true
	}
}

// srgbEncode returns the value of linear y in [0, 1] encoded with the sRGB
// transfer function.
func srgbEncode(y float64) float64 {
	if y <= 0.0031308 {
		return 12.92 * y
	}
	return 1.055*math.Pow(y, 1/2.4) - 0.055
}
