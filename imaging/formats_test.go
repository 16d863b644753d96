package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"testing"

	"github.com/rmbgd/rmbgd/imaging/imagingtest"
)

func TestSniffFormat(t *testing.T) {
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"png", FormatPNG, []byte("\x89PNG\r\n\x1a\n\x00")},
		{"jpeg", FormatJPEG, []byte{0xff, 0xd8, 0xff, 0xe0}},
		{"gif87", FormatGIF, []byte("GIF87a")},
		{"gif89", FormatGIF, []byte("GIF89a")},
		{"webp", FormatWebP, []byte("RIFF\x00\x00\x00\x00WEBPVP8 ")},
		{"heic", "heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")},
		{"avif", "avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf")},
		{"mp4", "mp4", []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")},
		{"mov", "mov", []byte("\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ")},
		{"tiff", "tiff", []byte("II*\x00\x08\x00\x00\x00")},
		{"bmp", "bmp", append([]byte("BM"), make([]byte, 20)...)},
		{"ico", "ico", []byte{0, 0, 1, 0, 1, 0}},
		{"jxl", "jxl", []byte{0xff, 0x0a, 0xfa}},
		{"jpeg2000", "jpeg2000", []byte("\x00\x00\x00\x0cjP  \r\n\x87\n\x00")},
		{"psd", "psd", []byte("8BPS\x00\x01")},
		{"pdf", "pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")},
		{"zip", "zip", []byte("PK\x03\x04\x14\x00")},
		{"gzip", "gzip", []byte{0x1f, 0x8b, 0x08, 0x00}},
		{"wav", "wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt ")},
		{"pnm", "pnm", []byte("P6\n4 4\n255\n")},
		{"svg", "svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
		{"svg-xml", "svg", []byte("<?xml version=\"1.0\"?>\n<!-- a drawing -->\n<svg>")},
		{"html", "html", []byte("  <!DOCTYPE html><html></html>")},
		{"xml", "xml", []byte(`<?xml version="1.0"?><root/>`)},
		{"json", "json", []byte(`{"image": "..."}`)},
		{"text-bom", "text", []byte("\xef\xbb\xbfplain words\n")},
		{"binary", "unknown", []byte{0x00, 0x13, 0x37}},
		{"empty", "unknown", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sniffFormat(tc.data); got != tc.want {
				t.Errorf("sniffFormat = %q, want %q", got, tc.want)
			}
		})
	}
}

// pngSampleTo8 is the 8-bit value of a PNG sample of depth bits: low
// depths scaled to 0..255, 16 bits keeping the high byte.
func pngSampleTo8(v uint16, depth int) uint8 {
	if depth == 16 {
		return uint8(v >> 8)
	}
	return uint8(int(v) * 255 / (1<<depth - 1))
}

// expectedPNG returns the RGB and alpha (nil when opaque) that decoding p
// must give.
func expectedPNG(p imagingtest.PNG) (rgb, alpha []uint8) {
	n := p.Width * p.Height
	ch := imagingtest.Channels(p.ColorType)
	rgb = make([]uint8, 3*n)
	alpha = make([]uint8, n)
	opaqueAll := true
	for i := range n {
		s := p.Samples[i*ch : (i+1)*ch]
		to8 := func(v uint16) uint8 { return pngSampleTo8(v, p.BitDepth) }
		a := uint8(255)
		switch p.ColorType {
		case imagingtest.Gray, imagingtest.GrayAlpha:
			rgb[3*i], rgb[3*i+1], rgb[3*i+2] = to8(s[0]), to8(s[0]), to8(s[0])
			if p.ColorType == imagingtest.GrayAlpha {
				a = to8(s[1])
			} else if p.Transparent != nil && s[0] == p.Transparent[0] {
				a = 0
			}
		case imagingtest.RGB, imagingtest.RGBA:
			rgb[3*i], rgb[3*i+1], rgb[3*i+2] = to8(s[0]), to8(s[1]), to8(s[2])
			if p.ColorType == imagingtest.RGBA {
				a = to8(s[3])
			} else if p.Transparent != nil && s[0] == p.Transparent[0] &&
				s[1] == p.Transparent[1] && s[2] == p.Transparent[2] {
				a = 0
			}
		case imagingtest.Paletted:
			c := p.Palette[s[0]]
			rgb[3*i], rgb[3*i+1], rgb[3*i+2], a = c.R, c.G, c.B, c.A
		}
		alpha[i] = a
		opaqueAll = opaqueAll && a == 255
	}
	if opaqueAll {
		alpha = nil
	}
	return rgb, alpha
}

// pngCase fills Samples for a 5×3 image with values spread over the
// depth's range, so sub-byte rows end in a partly used byte.
func pngCase(colorType, depth int) imagingtest.PNG {
	p := imagingtest.PNG{Width: 5, Height: 3, ColorType: colorType, BitDepth: depth}
	ch := imagingtest.Channels(colorType)
	maxV := 1<<depth - 1
	if colorType == imagingtest.Paletted {
		maxV = min(maxV, 3) // a 4-entry palette
	}
	for i := range p.Width * p.Height * ch {
		p.Samples = append(p.Samples, uint16((i*7919+i/ch*31)%(maxV+1)))
	}
	if depth == 16 { // the samples the 16-to-8-bit reduction must get right
		copy(p.Samples, []uint16{0x8080, 0x80ff, 0x7fff, 0x00ff, 0xff00, 0xffff})
	}
	return p
}

func TestDecodePNGColorTypes(t *testing.T) {
	palette := []color.NRGBA{{200, 10, 20, 255}, {10, 200, 30, 128}, {0, 0, 0, 0},
		{40, 50, 240, 255}}
	type pngTest struct {
		name string
		png  imagingtest.PNG
	}
	var tests []pngTest
	for _, depth := range []int{1, 2, 4, 8, 16} {
		p := pngCase(imagingtest.Gray, depth)
		tests = append(tests, pngTest{fmt.Sprintf("gray%d", depth), p})
		p.Transparent = []uint16{p.Samples[1]}
		tests = append(tests, pngTest{fmt.Sprintf("gray%d-trns", depth), p})
	}
	for _, depth := range []int{8, 16} {
		tests = append(tests,
			pngTest{fmt.Sprintf("gray-alpha%d", depth), pngCase(imagingtest.GrayAlpha, depth)},
			pngTest{fmt.Sprintf("rgba%d", depth), pngCase(imagingtest.RGBA, depth)})
		p := pngCase(imagingtest.RGB, depth)
		tests = append(tests, pngTest{fmt.Sprintf("rgb%d", depth), p})
		p.Transparent = append([]uint16(nil), p.Samples[3:6]...)
		tests = append(tests, pngTest{fmt.Sprintf("rgb%d-trns", depth), p})
	}
	for _, depth := range []int{1, 2, 4, 8} {
		p := pngCase(imagingtest.Paletted, depth)
		p.Palette = palette[:min(len(palette), 1<<depth)]
		tests = append(tests, pngTest{fmt.Sprintf("palette%d-trns", depth), p})
		opaquePalette := imagingtest.PNG(p)
		opaquePalette.Palette = []color.NRGBA{{1, 2, 3, 255}, {250, 240, 230, 255},
			{9, 99, 199, 255}, {128, 128, 128, 255}}[:len(p.Palette)]
		tests = append(tests, pngTest{fmt.Sprintf("palette%d", depth), opaquePalette})
	}

	for _, tc := range append([]pngTest(nil), tests...) {
		interlaced := tc
		interlaced.name += "-adam7"
		interlaced.png.Interlaced = true
		tests = append(tests, interlaced)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := decode(t, tc.png.Encode())
			defer img.Release()
			wantRGB, wantAlpha := expectedPNG(tc.png)
			if img.Width != tc.png.Width || img.Height != tc.png.Height {
				t.Fatalf("size %d×%d, want %d×%d", img.Width, img.Height, tc.png.Width,
					tc.png.Height)
			}
			if !bytes.Equal(img.RGB, wantRGB) {
				t.Errorf("RGB\n%v, want\n%v", img.RGB, wantRGB)
			}
			if (img.Alpha == nil) != (wantAlpha == nil) {
				t.Fatalf("alpha plane present %v, want %v", img.Alpha != nil, wantAlpha != nil)
			}
			if !bytes.Equal(img.Alpha, wantAlpha) {
				t.Errorf("alpha %v, want %v", img.Alpha, wantAlpha)
			}
		})
	}
}

// jpegDecoders runs f once per JPEG decoder of this build: image/jpeg,
// and libjpeg-turbo under the build tag turbojpeg.
func jpegDecoders(t *testing.T, f func(t *testing.T)) {
	names := []string{"image-jpeg"}
	if haveTurboJPEG {
		names = append(names, "libjpeg-turbo")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			defer func(v bool) { useTurboJPEG = v }(useTurboJPEG)
			useTurboJPEG = name == "libjpeg-turbo"
			f(t)
		})
	}
}

// jpegColorCase is a 16×8 JPEG of two flat blocks, each stored as the
// samples given, with the RGB it must decode to.
type jpegColorCase struct {
	name       string
	components int
	ids        []byte
	jfif       bool
	adobe      int
	stored     [2][]uint8
	want       [2][3]uint8
	tolerance  int
}

// Ink amounts of the second block's CMYK colour, and the RGB they give
// without a colour profile: R = (255−C)(255−K)/255 and so on.
var (
	cmykInk  = [4]uint8{64, 128, 32, 16}
	cmykRGB  = [3]uint8{179, 119, 209}
	cmykRed  = [4]uint8{0, 255, 255, 0}
	pureRed  = [3]uint8{255, 0, 0}
	invert4  = func(c [4]uint8) []uint8 { return []uint8{255 - c[0], 255 - c[1], 255 - c[2], 255 - c[3]} }
	inkSlice = func(c [4]uint8) []uint8 { return c[:] }
)

var jpegColorCases = []jpegColorCase{
	{name: "gray", components: 1, jfif: true, adobe: -1,
		stored: [2][]uint8{{77}, {200}}, want: [2][3]uint8{{77, 77, 77}, {200, 200, 200}}},
	// Y, Cb, Cr of pure red and of (30, 160, 90) by JFIF's equations.
	{name: "ycbcr", components: 3, jfif: true, adobe: -1,
		stored: [2][]uint8{{76, 85, 255}, {113, 115, 69}},
		want:   [2][3]uint8{pureRed, {30, 160, 90}}, tolerance: 2},
	{name: "ycbcr-adobe", components: 3, adobe: 1,
		stored: [2][]uint8{{76, 85, 255}, {113, 115, 69}},
		want:   [2][3]uint8{pureRed, {30, 160, 90}}, tolerance: 2},
	{name: "rgb-adobe", components: 3, adobe: 0,
		stored: [2][]uint8{{255, 0, 0}, {30, 160, 90}}, want: [2][3]uint8{pureRed, {30, 160, 90}}},
	{name: "rgb-ids", components: 3, ids: []byte("RGB"), adobe: -1,
		stored: [2][]uint8{{255, 0, 0}, {30, 160, 90}}, want: [2][3]uint8{pureRed, {30, 160, 90}}},
	// Adobe CMYK stores 255 − ink.
	{name: "cmyk-adobe", components: 4, adobe: 0,
		stored: [2][]uint8{invert4(cmykRed), invert4(cmykInk)},
		want:   [2][3]uint8{pureRed, cmykRGB}, tolerance: 1},
	// Without an Adobe segment, libjpeg takes the samples as ink amounts.
	{name: "cmyk-plain", components: 4, adobe: -1,
		stored: [2][]uint8{inkSlice(cmykRed), inkSlice(cmykInk)},
		want:   [2][3]uint8{pureRed, cmykRGB}, tolerance: 1},
	// Adobe YCCK: Y, Cb, Cr of (C, M, Y) ink read as R, G, B, then 255 − K.
	// Red has ink (0, 255, 255, 0); the second block ink cmykInk.
	{name: "ycck-adobe", components: 4, adobe: 2,
		stored: [2][]uint8{{179, 171, 0, 255}, {98, 91, 104, 239}},
		want:   [2][3]uint8{pureRed, cmykRGB}, tolerance: 3},
}

func (tc jpegColorCase) jpeg(progressive, separate bool) imagingtest.JPEG {
	return imagingtest.JPEG{
		Width: 16, Height: 8, Components: tc.components, IDs: tc.ids, JFIF: tc.jfif,
		Adobe: tc.adobe, Progressive: progressive, Separate: separate,
		Samples: func(c, x, y int) uint8 { return tc.stored[x/8][c] },
	}
}

func TestDecodeJPEGColorSpaces(t *testing.T) {
	jpegDecoders(t, testDecodeJPEGColorSpaces)
}

func testDecodeJPEGColorSpaces(t *testing.T) {
	modes := []struct {
		name                  string
		progressive, separate bool
	}{{"baseline", false, false}, {"separate-scans", false, true}, {"progressive", true, false}}
	for _, tc := range jpegColorCases {
		for _, m := range modes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				img := decode(t, tc.jpeg(m.progressive, m.separate).Encode())
				defer img.Release()
				if img.Width != 16 || img.Height != 8 || img.Alpha != nil {
					t.Fatalf("got %d×%d, alpha %v; want 16×8 opaque", img.Width, img.Height,
						img.Alpha != nil)
				}
				for b, want := range tc.want {
					for _, p := range []image.Point{{8 * b, 0}, {8*b + 7, 7}, {8*b + 3, 4}} {
						if got := img.pixel(p.X, p.Y); !near(got, want, tc.tolerance) {
							t.Errorf("block %d pixel %v = %v, want %v ±%d", b, p, got, want,
								tc.tolerance)
						}
					}
				}
			})
		}
	}
}

func TestDecodeJPEGIncomplete(t *testing.T) {
	jpegDecoders(t, testDecodeJPEGIncomplete)
}

func testDecodeJPEGIncomplete(t *testing.T) {
	ycc := jpegColorCases[1]
	full := decode(t, ycc.jpeg(false, false).Encode())
	tests := []struct {
		name     string
		jpeg     imagingtest.JPEG
		complete bool
	}{
		{"progressive-last-ac-scan-missing", with(ycc.jpeg(true, false), 1, false), false},
		{"progressive-ac-scans-missing", with(ycc.jpeg(true, false), 3, false), false},
		{"progressive-cut-no-eoi", with(ycc.jpeg(true, false), 1, true), false},
		{"separate-component-missing", with(ycc.jpeg(false, true), 1, false), false},
		{"baseline-no-eoi", with(ycc.jpeg(false, false), 0, true), true},
		{"progressive-no-eoi", with(ycc.jpeg(true, false), 0, true), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(tc.jpeg.Encode(), 0)
			if !tc.complete {
				var de DecodeError
				if !errors.As(err, &de) || de.Format != FormatJPEG {
					t.Fatalf("error %v, want a JPEG DecodeError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			defer img.Release()
			if !bytes.Equal(img.RGB, full.RGB) {
				t.Error("pixels differ from the complete file's")
			}
		})
	}
}

// with returns j with its last drop scans and, when omitEOI, its EOI
// marker left out.
func with(j imagingtest.JPEG, drop int, omitEOI bool) imagingtest.JPEG {
	j.DropScans, j.OmitEOI = drop, omitEOI
	return j
}

func TestDecodeJPEGUnsupportedProcess(t *testing.T) {
	// A frame header of the given SOFn and precision for a 16×8 gray image,
	// placed before the file's own SOF0, so it is the first frame seen.
	frame := func(marker, precision byte) []byte {
		return imagingtest.JPEGSegment(marker, []byte{precision, 0, 8, 0, 16, 1, 1, 0x11, 0})
	}
	tests := []struct {
		name, want string
		marker     byte
		precision  byte
	}{
		{"arithmetic", "jpeg-arithmetic", 0xc9, 8},
		{"progressive-arithmetic", "jpeg-arithmetic", 0xca, 8},
		{"lossless", "jpeg-lossless", 0xc3, 8},
		{"hierarchical", "jpeg-hierarchical", 0xc5, 8},
		{"12-bit", "jpeg-12bit", 0xc1, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := jpegColorCases[0].jpeg(false, false)
			j.Segments = [][]byte{frame(tc.marker, tc.precision)}
			data := j.Encode()
			var ue UnsupportedFormatError
			if _, err := Decode(data, 0); !errors.As(err, &ue) || ue.Format != tc.want {
				t.Errorf("Decode error %v, want UnsupportedFormatError %q", err, tc.want)
			}
			if _, _, _, err := DecodeConfig(data); !errors.As(err, &ue) || ue.Format != tc.want {
				t.Errorf("DecodeConfig error %v, want UnsupportedFormatError %q", err, tc.want)
			}
		})
	}
}

func TestDecodeGIFCanvas(t *testing.T) {
	red := color.RGBA{220, 20, 30, 255}
	blue := color.RGBA{20, 30, 220, 255}
	tests := []struct {
		name            string
		data            []byte
		w, h            int
		frame           image.Rectangle // where the first frame's colour shows
		wantTransparent bool
	}{
		{"frame-past-screen",
			imagingtest.GIF(8, 6, 4, 4, imagingtest.FlatFrame(image.Rect(2, 2, 8, 6), red)),
			8, 6, image.Rect(2, 2, 8, 6), true},
		{"zero-screen",
			imagingtest.GIF(3, 2, 0, 0, imagingtest.FlatFrame(image.Rect(0, 0, 3, 2), red)),
			3, 2, image.Rect(0, 0, 3, 2), false},
		{"animated-first-frame",
			imagingtest.GIF(4, 4, 4, 4, imagingtest.FlatFrame(image.Rect(0, 0, 4, 4), red),
				imagingtest.FlatFrame(image.Rect(0, 0, 4, 4), blue)),
			4, 4, image.Rect(0, 0, 4, 4), false},
		{"small-first-frame",
			imagingtest.GIF(5, 5, 5, 5, imagingtest.FlatFrame(image.Rect(1, 1, 3, 4), red)),
			5, 5, image.Rect(1, 1, 3, 4), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			format, cw, ch, err := DecodeConfig(tc.data)
			if err != nil || format != FormatGIF || cw != tc.w || ch != tc.h {
				t.Errorf("DecodeConfig = %s %d×%d %v, want gif %d×%d", format, cw, ch, err,
					tc.w, tc.h)
			}
			img := decode(t, tc.data)
			defer img.Release()
			if img.Width != tc.w || img.Height != tc.h {
				t.Fatalf("size %d×%d, want %d×%d", img.Width, img.Height, tc.w, tc.h)
			}
			if (img.Alpha != nil) != tc.wantTransparent {
				t.Fatalf("alpha plane present %v, want %v", img.Alpha != nil, tc.wantTransparent)
			}
			for y := 0; y < tc.h; y++ {
				for x := 0; x < tc.w; x++ {
					in := image.Pt(x, y).In(tc.frame)
					if in && img.pixel(x, y) != [3]uint8{red.R, red.G, red.B} {
						t.Fatalf("pixel (%d,%d) = %v, want the first frame's red", x, y,
							img.pixel(x, y))
					}
					if img.Alpha != nil && (img.Alpha[y*tc.w+x] == 255) != in {
						t.Fatalf("alpha at (%d,%d) = %d; inside the frame: %v", x, y,
							img.Alpha[y*tc.w+x], in)
					}
				}
			}
		})
	}
}

func TestDecodeAnimatedWebP(t *testing.T) {
	for _, file := range []string{"quadrants_alpha_lossless.webp", "quadrants_alpha_lossy.webp",
		"quadrants_lossy.webp"} {
		t.Run(file, func(t *testing.T) {
			still := readTestdata(t, file)
			frame := decode(t, still)
			defer frame.Release()
			const w, h, x0, y0 = 12, 10, 4, 2
			img := decode(t, imagingtest.AnimatedWebP(still, w, h, x0, y0))
			defer img.Release()
			if img.Width != w || img.Height != h || img.Alpha == nil {
				t.Fatalf("got %d×%d with alpha %v, want %d×%d with alpha", img.Width,
					img.Height, img.Alpha != nil, w, h)
			}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					fx, fy := x-x0, y-y0
					inside := fx >= 0 && fy >= 0 && fx < frame.Width && fy < frame.Height
					a := img.Alpha[y*w+x]
					if !inside {
						if a != 0 {
							t.Fatalf("alpha at (%d,%d) = %d outside the frame, want 0", x, y, a)
						}
						continue
					}
					wantA := uint8(255)
					if frame.Alpha != nil {
						wantA = frame.Alpha[fy*frame.Width+fx]
					}
					if a != wantA || img.pixel(x, y) != frame.pixel(fx, fy) {
						t.Fatalf("pixel (%d,%d) = %v alpha %d, want the still's %v alpha %d",
							x, y, img.pixel(x, y), a, frame.pixel(fx, fy), wantA)
					}
				}
			}
		})
	}
}

func TestDecodeAnimatedWebPFramePastCanvas(t *testing.T) {
	data := imagingtest.AnimatedWebP(readTestdata(t, "quadrants_lossy.webp"), 8, 6, 2, 2)
	var de DecodeError
	if _, err := Decode(data, 0); !errors.As(err, &de) {
		t.Fatalf("error %v, want DecodeError", err)
	}
}

// TestDecodeAPNGDefaultImage checks that an animated PNG decodes to its
// default image (the IDAT data), its animation chunks ignored.
func TestDecodeAPNGDefaultImage(t *testing.T) {
	p := pngCase(imagingtest.RGB, 8)
	data := p.Encode()
	actl := imagingtest.AppendPNGChunk(nil, "acTL", []byte{0, 0, 0, 2, 0, 0, 0, 0})
	fctl := imagingtest.AppendPNGChunk(nil, "fcTL", make([]byte, 26))
	fdat := imagingtest.AppendPNGChunk(nil, "fdAT", []byte{0, 0, 0, 1, 0x78, 0x01})
	iend := len(data) - 12                                  // the IEND chunk has no data
	apng := append(append([]byte{}, data[:33]...), actl...) // after the signature and IHDR
	apng = append(apng, data[33:iend]...)
	apng = append(apng, fctl...)
	apng = append(apng, fdat...)
	apng = append(apng, data[iend:]...)

	img := decode(t, apng)
	defer img.Release()
	want, _ := expectedPNG(p)
	if img.Width != p.Width || img.Height != p.Height || !bytes.Equal(img.RGB, want) {
		t.Errorf("got %d×%d %v, want the default image %v", img.Width, img.Height, img.RGB, want)
	}
}
