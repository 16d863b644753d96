package imaging

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// photoCutout returns a reference photo and its reference mask, both
// resized to w×h with this package's resampler: a realistic cut-out,
// with smooth photo texture, a soft-edged foreground and a large
// transparent background whose colours are kept (straight alpha). It
// skips when RMBGD_REFERENCE_DIR is unset.
func photoCutout(tb testing.TB, w, h int) (*Image, []uint8) {
	tb.Helper()
	return referenceCutout(tb, "coffee.png", w, h)
}

// referenceCutout is photoCutout for the reference photo name; w and h
// of 0 keep its size.
func referenceCutout(tb testing.TB, name string, w, h int) (*Image, []uint8) {
	tb.Helper()
	dir := os.Getenv("RMBGD_REFERENCE_DIR")
	if dir == "" {
		tb.Skip("RMBGD_REFERENCE_DIR is not set (make test sets it)")
	}
	read := func(path string) []byte {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		return data
	}
	photo, err := Decode(read(filepath.Join(dir, name)), 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer photo.Release()
	m, err := png.Decode(bytes.NewReader(read(filepath.Join(dir, "masks", name))))
	if err != nil {
		tb.Fatal(err)
	}
	gray, ok := m.(*image.Gray)
	if !ok || gray.Rect.Dx() != photo.Width || gray.Rect.Dy() != photo.Height {
		tb.Fatalf("mask is %T %v, want 8-bit gray of the photo's size", m, m.Bounds())
	}

	if w == 0 {
		w, h = photo.Width, photo.Height
	}
	img := &Image{Width: w, Height: h, RGB: make([]uint8, 3*w*h)}
	resize(img.RGB, w, h, photo.RGB, photo.Width, photo.Height, 3)
	mask := make([]uint8, w*h)
	resize(mask, w, h, gray.Pix, photo.Width, photo.Height, 1)
	return img, mask
}

// nrgbaOf packs img and mask into the straight-alpha image image/png
// encodes as the same RGBA PNG.
func nrgbaOf(img *Image, mask []uint8) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, img.Width, img.Height))
	for i, a := range mask {
		p := cutoutPixel(img.RGB[3*i:], a)
		copy(out.Pix[4*i:], p[:])
	}
	return out
}

// maxSizeRatio is the largest cut-out PNG, relative to image/png at its
// default compression, that the speed-first encoder may write.
const maxSizeRatio = 1.35

// TestEncodeCutoutPNGSize compares the size of photo cut-outs with what
// image/png writes at its default compression level; sizes, unlike
// speeds, do not depend on the machine. The reference photos cover camera
// photos, a gray photo and a flat-coloured graphic, at their own size and
// enlarged.
func TestEncodeCutoutPNGSize(t *testing.T) {
	for _, tc := range []struct {
		photo string
		scale int
	}{
		{"coffee.png", 1}, {"coffee.png", 3}, {"astronaut.png", 1}, {"chelsea.png", 2},
		{"camera.png", 1}, {"logo.png", 1}, {"logo.png", 3},
	} {
		t.Run(fmt.Sprintf("%s-x%d", tc.photo, tc.scale), func(t *testing.T) {
			img, mask := referenceCutout(t, tc.photo, 0, 0)
			if tc.scale > 1 {
				img, mask = referenceCutout(t, tc.photo, tc.scale*img.Width, tc.scale*img.Height)
			}
			var ours, std bytes.Buffer
			if err := EncodeCutoutPNG(&ours, img, mask); err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(&std, nrgbaOf(img, mask)); err != nil {
				t.Fatal(err)
			}
			ratio := float64(ours.Len()) / float64(std.Len())
			t.Logf("cut-out PNG %d bytes, image/png %d bytes: ratio %.3f", ours.Len(),
				std.Len(), ratio)
			if ratio > maxSizeRatio {
				t.Errorf("cut-out PNG is %.3f times image/png's size, want at most %.2f",
					ratio, maxSizeRatio)
			}

			dec, err := png.Decode(&ours)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec.(*image.NRGBA).Pix, nrgbaOf(img, mask).Pix) {
				t.Error("the cut-out does not decode to its pixels")
			}
		})
	}
}

// BenchmarkEncodeCutoutPhoto encodes a 12 MP photo cut-out with this
// package and with image/png at its default and its fastest level, and
// reports megapixels per second of wall time and of CPU time (per core
// busy; run with GOMAXPROCS=1 to keep the garbage collector on the same
// core) and the size relative to image/png's default, side by side in one
// run.
func BenchmarkEncodeCutoutPhoto(b *testing.B) {
	const w, h = 4000, 3000
	img, mask := photoCutout(b, w, h)
	nrgba := nrgbaOf(img, mask)
	var ref bytes.Buffer
	if err := png.Encode(&ref, nrgba); err != nil {
		b.Fatal(err)
	}

	encoders := []struct {
		name   string
		encode func(*bytes.Buffer) error
	}{
		{"imaging", func(buf *bytes.Buffer) error { return EncodeCutoutPNG(buf, img, mask) }},
		{"image-png-default", func(buf *bytes.Buffer) error { return png.Encode(buf, nrgba) }},
		{"image-png-bestspeed", func(buf *bytes.Buffer) error {
			enc := png.Encoder{CompressionLevel: png.BestSpeed}
			return enc.Encode(buf, nrgba)
		}},
	}
	for _, e := range encoders {
		b.Run(e.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(4 * w * h)
			b.ReportAllocs()
			start := time.Now()
			cpuStart, cpuOK := processCPUTime()
			for b.Loop() {
				buf.Reset()
				if err := e.encode(&buf); err != nil {
					b.Fatal(err)
				}
			}
			perOp := time.Since(start).Seconds() / float64(b.N)
			b.ReportMetric(w*h/1e6/perOp, "MP/s")
			if cpuEnd, ok := processCPUTime(); ok && cpuOK {
				cpuPerOp := (cpuEnd - cpuStart).Seconds() / float64(b.N)
				b.ReportMetric(w*h/1e6/cpuPerOp, "MP/cpu-s")
			}
			b.ReportMetric(float64(buf.Len())/float64(ref.Len()), "size/png-default")
		})
	}
}

// BenchmarkDecodePhoto decodes a 12 MP photo (a reference photo enlarged
// to 4000×3000) from a baseline 4:2:0 JPEG of quality 90, written by
// image/jpeg, with each JPEG decoder of this build side by side, and from
// an RGB PNG written by image/png. Each result is a whole Decode: parsing,
// colour conversion and the copy into the Image.
func BenchmarkDecodePhoto(b *testing.B) {
	const w, h = 4000, 3000
	img, _ := photoCutout(b, w, h)
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(rgba.Pix[4*i:4*i+3], img.RGB[3*i:3*i+3])
		rgba.Pix[4*i+3] = 255
	}
	var jpg, pngData bytes.Buffer
	if err := jpeg.Encode(&jpg, rgba, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	if err := png.Encode(&pngData, rgba); err != nil {
		b.Fatal(err)
	}

	run := func(b *testing.B, data []byte) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		start := time.Now()
		cpuStart, cpuOK := processCPUTime()
		for b.Loop() {
			dec, err := Decode(data, 0)
			if err != nil {
				b.Fatal(err)
			}
			dec.Release()
		}
		b.ReportMetric(w*h/1e6/(time.Since(start).Seconds()/float64(b.N)), "MP/s")
		if cpuEnd, ok := processCPUTime(); ok && cpuOK {
			b.ReportMetric(w*h/1e6/((cpuEnd-cpuStart).Seconds()/float64(b.N)), "MP/cpu-s")
		}
	}
	b.Run("jpeg/image-jpeg", func(b *testing.B) {
		defer func(v bool) { useTurboJPEG = v }(useTurboJPEG)
		useTurboJPEG = false
		run(b, jpg.Bytes())
	})
	if haveTurboJPEG {
		b.Run("jpeg/libjpeg-turbo", func(b *testing.B) {
			defer func(v bool) { useTurboJPEG = v }(useTurboJPEG)
			useTurboJPEG = true
			run(b, jpg.Bytes())
		})
	}
	b.Run("png/image-png", func(b *testing.B) { run(b, pngData.Bytes()) })
}
