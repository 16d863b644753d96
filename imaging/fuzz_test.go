package imaging

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to DecodeConfig and Decode. Neither may
// panic, and every error must be one of the three typed errors. A decoded
// image must agree with its header and survive the whole pipeline.
func FuzzDecode(f *testing.F) {
	f.Add(encodePNG(f, quadrants(6, 4)))
	f.Add(withPNGExif(encodePNG(f, quadrants(6, 4)), 8))
	f.Add(encodeJPEG(f, quadrants(16, 9), 80))
	f.Add(withJPEGExif(encodeJPEG(f, quadrants(9, 16), 80), 6))
	var g bytes.Buffer
	if err := gif.Encode(&g, quadrants(5, 3), nil); err != nil {
		f.Fatal(err)
	}
	f.Add(g.Bytes())
	for _, name := range []string{"quadrants_lossy.webp", "quadrants_alpha_lossless.webp",
		"quadrants_exif6.webp", "quadrants_alpha_lossy.webp"} {
		f.Add(readTestdata(f, name))
	}
	f.Add(headerOnlyPNG(20000, 20000))
	f.Add([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"))
	f.Add([]byte("BM"))

	const maxPixels = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		format, w, h, cfgErr := DecodeConfig(data)
		img, err := Decode(data, maxPixels)
		if err != nil {
			var ue UnsupportedFormatError
			var de DecodeError
			var tm TooManyPixelsError
			if !errors.As(err, &ue) && !errors.As(err, &de) && !errors.As(err, &tm) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		defer img.Release()
		if cfgErr != nil {
			t.Fatalf("Decode succeeded where DecodeConfig failed: %v", cfgErr)
		}
		if img.Format != format || img.Width != w || img.Height != h {
			t.Fatalf("Decode gave %s %d×%d, DecodeConfig %s %d×%d",
				img.Format, img.Width, img.Height, format, w, h)
		}
		if len(img.RGB) != 3*w*h || img.Alpha != nil && len(img.Alpha) != w*h {
			t.Fatalf("buffers of %d and %d bytes for %d×%d", len(img.RGB), len(img.Alpha), w, h)
		}

		const side = 16
		in := make([]float32, 3*side*side)
		Preprocess(img, side, in)
		mask := make([]uint8, w*h)
		Postprocess(in[:side*side], side, img, mask)
		if r := Foreground(mask, w, h); !r.In(image.Rect(0, 0, w, h)) {
			t.Fatalf("foreground %v outside the image", r)
		}
	})
}
