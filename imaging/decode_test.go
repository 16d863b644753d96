package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// exifTIFF returns a big-endian TIFF structure whose IFD0 contains only the
// orientation tag.
func exifTIFF(orientation int) []byte {
	b := []byte("MM\x00*\x00\x00\x00\x08")  // header, IFD0 at offset 8
	b = binary.BigEndian.AppendUint16(b, 1) // one entry
	b = binary.BigEndian.AppendUint16(b, tagOrientation)
	b = binary.BigEndian.AppendUint16(b, 3) // SHORT
	b = binary.BigEndian.AppendUint32(b, 1) // one value
	b = binary.BigEndian.AppendUint16(b, uint16(orientation))
	b = append(b, 0, 0)                        // the value field's unused half
	return binary.BigEndian.AppendUint32(b, 0) // no next IFD
}

// withJPEGExif inserts an APP1 Exif segment right after the SOI marker.
func withJPEGExif(jpg []byte, orientation int) []byte {
	payload := append([]byte("Exif\x00\x00"), exifTIFF(orientation)...)
	seg := []byte{0xff, 0xe1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// withPNGExif inserts an eXIf chunk after IHDR (8 + 25 bytes in).
func withPNGExif(p []byte, orientation int) []byte {
	out := append([]byte{}, p[:33]...)
	out = append(out, pngChunk("eXIf", exifTIFF(orientation))...)
	return append(out, p[33:]...)
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decode(t testing.TB, data []byte) *Image {
	t.Helper()
	img, err := Decode(data, 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return img
}

// quadrants returns a w×h image with distinct flat colours in its four
// quadrants, so corners survive JPEG compression and show orientation.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cols := [4]color.RGBA{{220, 30, 30, 255}, {30, 200, 40, 255}, {40, 40, 220, 255}, {230, 230, 40, 255}}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			q := 0
			if x >= w/2 {
				q++
			}
			if y >= h/2 {
				q += 2
			}
			img.SetRGBA(x, y, cols[q])
		}
	}
	return img
}

func (img *Image) pixel(x, y int) [3]uint8 {
	i := 3 * (y*img.Width + x)
	return [3]uint8{img.RGB[i], img.RGB[i+1], img.RGB[i+2]}
}

func near(a, b [3]uint8, tol int) bool {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

func TestDecodeOrientation(t *testing.T) {
	const w, h = 48, 32
	base := encodeJPEG(t, quadrants(w, h), 95)
	stored := decode(t, base)
	tl, tr := stored.pixel(0, 0), stored.pixel(w-1, 0)
	bl, br := stored.pixel(0, h-1), stored.pixel(w-1, h-1)

	// Displayed top-left, top-right and bottom-left corners per the EXIF
	// definition of each orientation.
	tests := []struct {
		orientation int
		tl, tr, bl  [3]uint8
	}{
		{1, tl, tr, bl},
		{2, tr, tl, br},
		{3, br, bl, tr},
		{4, bl, br, tl},
		{5, tl, bl, tr},
		{6, bl, tl, br},
		{7, br, tr, bl},
		{8, tr, br, tl},
	}
	for _, tc := range tests {
		t.Run(string(rune('0'+tc.orientation)), func(t *testing.T) {
			data := withJPEGExif(base, tc.orientation)
			img := decode(t, data)
			ow, oh := w, h
			if tc.orientation >= 5 {
				ow, oh = h, w
			}
			if img.Width != ow || img.Height != oh {
				t.Fatalf("size %d×%d, want %d×%d", img.Width, img.Height, ow, oh)
			}
			if got := img.pixel(0, 0); got != tc.tl {
				t.Errorf("top-left %v, want %v", got, tc.tl)
			}
			if got := img.pixel(ow-1, 0); got != tc.tr {
				t.Errorf("top-right %v, want %v", got, tc.tr)
			}
			if got := img.pixel(0, oh-1); got != tc.bl {
				t.Errorf("bottom-left %v, want %v", got, tc.bl)
			}

			// Every pixel, against the mapping written out per case.
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					sx, sy := orientSource(tc.orientation, x, y, w, h)
					if img.pixel(x, y) != stored.pixel(sx, sy) {
						t.Fatalf("pixel (%d,%d) differs from stored (%d,%d)", x, y, sx, sy)
					}
				}
			}

			format, cw, ch, err := DecodeConfig(data)
			if err != nil || format != FormatJPEG || cw != ow || ch != oh {
				t.Errorf("DecodeConfig = %q %d×%d %v, want jpeg %d×%d", format, cw, ch, err, ow, oh)
			}
		})
	}
}

func TestDecodePNGExifOrientation(t *testing.T) {
	src := quadrants(6, 4)
	data := withPNGExif(encodePNG(t, src), 6)
	img := decode(t, data)
	if img.Width != 4 || img.Height != 6 {
		t.Fatalf("size %d×%d, want 4×6", img.Width, img.Height)
	}
	// Orientation 6 shows the stored bottom-left corner at the top-left.
	want := src.RGBAAt(0, 3)
	if got := img.pixel(0, 0); got != [3]uint8{want.R, want.G, want.B} {
		t.Errorf("top-left %v, want %v", got, want)
	}
}

func TestDecodeAlpha(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	src.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 0})
	src.SetNRGBA(1, 0, color.NRGBA{40, 50, 60, 128})
	src.SetNRGBA(2, 0, color.NRGBA{70, 80, 90, 255})
	img := decode(t, encodePNG(t, src))
	if img.Alpha == nil {
		t.Fatal("alpha dropped")
	}
	if got := img.Alpha[:3]; !bytes.Equal(got, []uint8{0, 128, 255}) {
		t.Errorf("alpha %v, want [0 128 255]", got)
	}
	if got := img.pixel(1, 0); got != [3]uint8{40, 50, 60} {
		t.Errorf("straight RGB %v, want [40 50 60]", got)
	}

	opaque := decode(t, encodePNG(t, quadrants(4, 4)))
	if opaque.Alpha != nil {
		t.Error("opaque PNG has an alpha plane")
	}
}

func TestDecode16Bit(t *testing.T) {
	vals := []uint16{0x8080, 0x80ff, 0x7fff, 0x00ff, 0xff7f, 0x0180}
	want := []uint8{0x80, 0x80, 0x7f, 0x00, 0xff, 0x01}

	t.Run("rgb", func(t *testing.T) {
		src := image.NewRGBA64(image.Rect(0, 0, len(vals), 1))
		for i, v := range vals {
			src.SetRGBA64(i, 0, color.RGBA64{v, v, 0xffff - v, 0xffff})
		}
		img := decode(t, encodePNG(t, src))
		for i, v := range want {
			if got := img.pixel(i, 0); got != [3]uint8{v, v, 0xff - v} {
				t.Errorf("sample %#04x: %v, want %v", vals[i], got, [3]uint8{v, v, 0xff - v})
			}
		}
	})
	t.Run("gray", func(t *testing.T) {
		src := image.NewGray16(image.Rect(0, 0, len(vals), 1))
		for i, v := range vals {
			src.SetGray16(i, 0, color.Gray16{v})
		}
		img := decode(t, encodePNG(t, src))
		for i, v := range want {
			if got := img.pixel(i, 0); got != [3]uint8{v, v, v} {
				t.Errorf("sample %#04x: %v, want %d", vals[i], got, v)
			}
		}
	})
	t.Run("alpha", func(t *testing.T) {
		src := image.NewNRGBA64(image.Rect(0, 0, 2, 1))
		src.SetNRGBA64(0, 0, color.NRGBA64{0x8080, 0x1234, 0xfedc, 0x8080})
		src.SetNRGBA64(1, 0, color.NRGBA64{0, 0, 0, 0xffff})
		img := decode(t, encodePNG(t, src))
		if got := img.pixel(0, 0); got != [3]uint8{0x80, 0x12, 0xfe} {
			t.Errorf("RGB %v, want [128 18 254]", got)
		}
		if img.Alpha == nil || img.Alpha[0] != 0x80 || img.Alpha[1] != 0xff {
			t.Errorf("alpha %v, want [128 255]", img.Alpha)
		}
	})
}

func TestDecodePaletteGIF(t *testing.T) {
	pal := color.Palette{color.RGBA{0, 0, 0, 0}, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	src := image.NewPaletted(image.Rect(0, 0, 4, 2), pal)
	src.Pix = []uint8{0, 1, 2, 1, 2, 2, 1, 0}
	var buf bytes.Buffer
	if err := gif.Encode(&buf, src, nil); err != nil {
		t.Fatal(err)
	}
	img := decode(t, buf.Bytes())
	if img.Format != FormatGIF || img.Width != 4 || img.Height != 2 {
		t.Fatalf("got %s %d×%d, want gif 4×2", img.Format, img.Width, img.Height)
	}
	wantRGB := map[uint8][3]uint8{0: {0, 0, 0}, 1: {255, 0, 0}, 2: {0, 0, 255}}
	for i, p := range src.Pix {
		if got := img.pixel(i%4, i/4); got != wantRGB[p] {
			t.Errorf("pixel %d: %v, want %v", i, got, wantRGB[p])
		}
		wantA := uint8(255)
		if p == 0 {
			wantA = 0
		}
		if img.Alpha == nil || img.Alpha[i] != wantA {
			t.Fatalf("alpha %v at %d, want %d", img.Alpha, i, wantA)
		}
	}
}

func TestDecodeGIFFrameOffset(t *testing.T) {
	frame := image.NewPaletted(image.Rect(2, 1, 4, 3), palette.Plan9)
	for i := range frame.Pix {
		frame.Pix[i] = 200
	}
	var buf bytes.Buffer
	g := &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 5, Height: 4}}
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	img := decode(t, buf.Bytes())
	if img.Width != 5 || img.Height != 4 {
		t.Fatalf("size %d×%d, want the logical screen 5×4", img.Width, img.Height)
	}
	if img.Alpha == nil || img.Alpha[0] != 0 || img.Alpha[1*5+2] != 255 {
		t.Errorf("alpha %v: want 0 outside the frame and 255 inside", img.Alpha)
	}
}

func TestDecodeGrayJPEG(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range src.Pix {
		src.Pix[i] = uint8(i)
	}
	img := decode(t, encodeJPEG(t, src, 100))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			p := img.pixel(x, y)
			if p[0] != p[1] || p[1] != p[2] {
				t.Fatalf("pixel (%d,%d) = %v is not gray", x, y, p)
			}
			if want := src.GrayAt(x, y).Y; !near(p, [3]uint8{want, want, want}, 3) {
				t.Fatalf("pixel (%d,%d) = %v, want about %d", x, y, p, want)
			}
		}
	}
}

// TestDecodeChromaUpsampling checks that the colour of a 4:2:0 JPEG is
// interpolated between chroma samples rather than repeated.
func TestDecodeChromaUpsampling(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 32, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 32; x++ {
			src.SetRGBA(x, y, color.RGBA{uint8(8 * x), 128, uint8(255 - 8*x), 255})
		}
	}
	img := decode(t, encodeJPEG(t, src, 100))
	// With replication, pixels 2k and 2k+1 share chroma and differ only by
	// luma; a ramp in red and blue must still rise at every step.
	for x := 4; x < 28; x++ {
		if img.pixel(x+1, 8)[0] <= img.pixel(x, 8)[0] {
			t.Fatalf("red does not rise from x=%d to %d: %v, %v", x, x+1, img.pixel(x, 8), img.pixel(x+1, 8))
		}
	}
}

func TestDecodeTruncated(t *testing.T) {
	jpg := encodeJPEG(t, quadrants(64, 64), 90)
	pngData := encodePNG(t, quadrants(64, 64))
	tests := []struct {
		name, format string
		data         []byte
	}{
		{"jpeg-half", FormatJPEG, jpg[:len(jpg)/2]},
		{"jpeg-header", FormatJPEG, jpg[:20]},
		{"png-half", FormatPNG, pngData[:len(pngData)/2]},
		{"png-signature", FormatPNG, pngData[:8]},
		{"png-bad-crc", FormatPNG, flipByte(pngData, 30)},
		{"gif-header", FormatGIF, []byte("GIF89a\x01\x00")},
		{"webp-header", FormatWebP, []byte("RIFF\x00\x00\x00\x00WEBPVP8 ")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data, 0)
			var de DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want DecodeError", err, err)
			}
			if de.Format != tc.format {
				t.Errorf("format %q, want %q", de.Format, tc.format)
			}
		})
	}
}

func flipByte(b []byte, i int) []byte {
	out := append([]byte{}, b...)
	out[i] ^= 0xff
	return out
}

func TestDecodeUnsupported(t *testing.T) {
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"heic", "heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")},
		{"heif", "heif", []byte("\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf")},
		{"avif", "avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf")},
		{"avif-compatible", "avif", []byte("\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif")},
		{"bmp", "bmp", append([]byte("BM"), make([]byte, 52)...)},
		{"tiff-le", "tiff", []byte("II*\x00\x08\x00\x00\x00")},
		{"tiff-be", "tiff", []byte("MM\x00*\x00\x00\x00\x08")},
		{"ico", "ico", []byte{0, 0, 1, 0, 1, 0, 16, 16}},
		{"jxl", "jxl", []byte{0xff, 0x0a, 0, 0}},
		{"text", "text", []byte("hello, world")},
		{"binary", "unknown", []byte{0x00, 0x13, 0x37, 0x42}},
		{"empty", "unknown", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data, 0)
			var ue UnsupportedFormatError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want UnsupportedFormatError", err)
			}
			if ue.Format != tc.want {
				t.Errorf("format %q, want %q", ue.Format, tc.want)
			}
			if _, _, _, err := DecodeConfig(tc.data); !errors.As(err, &ue) {
				t.Errorf("DecodeConfig error %v, want UnsupportedFormatError", err)
			}
		})
	}
}

// headerOnlyPNG is a PNG signature and IHDR for a w×h RGBA image, with no
// image data.
func headerOnlyPNG(w, h int) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	return append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
}

func TestDecodeTooManyPixels(t *testing.T) {
	data := headerOnlyPNG(20000, 20000)
	_, err := Decode(data, 50_000_000)
	var tm TooManyPixelsError
	if !errors.As(err, &tm) {
		t.Fatalf("error %v, want TooManyPixelsError", err)
	}
	if tm.Width != 20000 || tm.Height != 20000 || tm.Max != 50_000_000 {
		t.Errorf("error fields %+v", tm)
	}

	// The check runs on the header: a pixel buffer would be 1.6 GB.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		_, _ = Decode(data, 50_000_000)
	}
	runtime.ReadMemStats(&after)
	if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 64<<10 {
		t.Errorf("rejecting allocated %d bytes per call, want under 64 KiB", perRun)
	}
}

func TestDecodeTooManyPixelsOriented(t *testing.T) {
	data := withJPEGExif(encodeJPEG(t, quadrants(40, 10), 80), 8)
	_, err := Decode(data, 399)
	var tm TooManyPixelsError
	if !errors.As(err, &tm) {
		t.Fatalf("error %v, want TooManyPixelsError", err)
	}
	if tm.Width != 10 || tm.Height != 40 {
		t.Errorf("size %d×%d, want the displayed 10×40", tm.Width, tm.Height)
	}
	if _, err := Decode(data, 400); err != nil {
		t.Errorf("at the cap: %v", err)
	}
}

func TestDecodeConfigFormats(t *testing.T) {
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, quadrants(7, 5), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, format string
		data         []byte
	}{
		{"png", FormatPNG, encodePNG(t, quadrants(7, 5))},
		{"jpeg", FormatJPEG, encodeJPEG(t, quadrants(7, 5), 80)},
		{"gif", FormatGIF, gifBuf.Bytes()},
		{"webp", FormatWebP, readTestdata(t, "quadrants_lossy.webp")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			format, w, h, err := DecodeConfig(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if format != tc.format || w != 7 || h != 5 {
				t.Errorf("got %s %d×%d, want %s 7×5", format, w, h, tc.format)
			}
			img := decode(t, tc.data)
			if img.Format != tc.format || img.Width != 7 || img.Height != 5 || len(img.RGB) != 3*35 {
				t.Errorf("Decode gave %s %d×%d with %d RGB bytes", img.Format, img.Width, img.Height, len(img.RGB))
			}
			img.Release()
			if img.RGB != nil || img.Width != 0 {
				t.Error("Release left the image's fields set")
			}
		})
	}
}

func TestTiffOrientationMalformed(t *testing.T) {
	good := exifTIFF(6)
	tests := []struct {
		name string
		tiff []byte
		want int
	}{
		{"valid", good, 6},
		{"little-endian", []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x03\x00\x00\x00"), 3},
		{"short", good[:12], 1},
		{"bad-order", append([]byte("XX"), good[2:]...), 1},
		{"out-of-range", exifTIFF(9), 1},
		{"zero", exifTIFF(0), 1},
		{"ifd-past-end", []byte("MM\x00*\xff\xff\xff\xf0"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tiffOrientation(tc.tiff); got != tc.want {
				t.Errorf("orientation %d, want %d", got, tc.want)
			}
		})
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeWebP(t *testing.T) {
	// Made by sharp 0.34.5 (libwebp 1.6.0) from a 7×5 image with four
	// flat quadrants, its left column transparent where alpha is kept.
	red := [3]uint8{220, 30, 30}
	yellow := [3]uint8{230, 230, 40}
	tests := []struct {
		file          string
		w, h          int
		alpha         bool
		topLeft, last [3]uint8 // displayed top-left and bottom-right pixels
	}{
		{"quadrants_lossy.webp", 7, 5, false, red, yellow},
		{"quadrants_alpha_lossy.webp", 7, 5, true, red, yellow},
		{"quadrants_alpha_lossless.webp", 7, 5, true, red, yellow},
		// Orientation 6: the stored bottom-left quadrant (blue) shows at the
		// top-left, the stored top-right one (green) at the bottom-right.
		{"quadrants_exif6.webp", 5, 7, false, [3]uint8{40, 40, 220}, [3]uint8{30, 200, 40}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			img := decode(t, readTestdata(t, tc.file))
			if img.Width != tc.w || img.Height != tc.h {
				t.Fatalf("size %d×%d, want %d×%d", img.Width, img.Height, tc.w, tc.h)
			}
			if (img.Alpha != nil) != tc.alpha {
				t.Fatalf("alpha present %v, want %v", img.Alpha != nil, tc.alpha)
			}
			if tc.alpha && (img.Alpha[0] != 0 || img.Alpha[1] != 255) {
				t.Errorf("alpha of the first row starts %v, want [0 255]", img.Alpha[:2])
			}
			if got := img.pixel(tc.w-1, tc.h-1); !near(got, tc.last, 12) {
				t.Errorf("bottom-right %v, want about %v", got, tc.last)
			}
			if tc.alpha {
				return // the transparent top-left pixel has no defined colour
			}
			if got := img.pixel(0, 0); !near(got, tc.topLeft, 12) {
				t.Errorf("top-left %v, want about %v", got, tc.topLeft)
			}
		})
	}
}
