package imaging

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/rmbgd/rmbgd/imaging/imagingtest"
)

func TestDecodeICC(t *testing.T) {
	rgbProfile := imagingtest.ICCProfile(3000, "RGB ", 7)
	gray := imagingtest.ICCProfile(600, "GRAY", 1)
	ycc := jpegColorCases[1]
	jpegWith := func(segs ...[]byte) []byte {
		j := ycc.jpeg(false, false)
		j.Segments = segs
		return j.Encode()
	}
	pieces := imagingtest.ICCSegments(rgbProfile, 1200)
	pngWith := func(profile []byte) []byte {
		p := pngCase(imagingtest.RGB, 8)
		p.ICC = profile
		return p.Encode()
	}
	tests := []struct {
		name string
		data []byte
		want []byte // nil: no profile kept
	}{
		{"jpeg-one-segment", jpegWith(imagingtest.ICCSegments(rgbProfile, 60000)...), rgbProfile},
		{"jpeg-three-segments", jpegWith(pieces...), rgbProfile},
		{"jpeg-out-of-order", jpegWith(pieces[2], pieces[0], pieces[1]), rgbProfile},
		{"jpeg-piece-missing", jpegWith(pieces[0], pieces[2]), nil},
		{"jpeg-piece-twice", jpegWith(pieces[0], pieces[1], pieces[1], pieces[2]), nil},
		{"jpeg-gray-profile", jpegWith(imagingtest.ICCSegments(gray, 60000)...), nil},
		{"jpeg-size-mismatch", jpegWith(imagingtest.ICCSegments(rgbProfile[:2000], 60000)...), nil},
		{"png-iccp", pngWith(rgbProfile), rgbProfile},
		{"png-gray-profile", pngWith(gray), nil},
		{"png-none", pngWith(nil), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := decode(t, tc.data)
			defer img.Release()
			if !bytes.Equal(img.ICC, tc.want) {
				t.Fatalf("profile of %d bytes, want %d bytes", len(img.ICC), len(tc.want))
			}
		})
	}
}

// pngChunks returns the chunk types of a PNG in order, and the data of
// the iCCP chunk's profile, decompressed.
func pngChunks(t *testing.T, data []byte) (types []string, profile []byte) {
	t.Helper()
	for i := 8; i+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		types = append(types, typ)
		if typ == "iCCP" {
			body := data[i+8 : i+8+n]
			nul := bytes.IndexByte(body, 0)
			zr, err := zlib.NewReader(bytes.NewReader(body[nul+2:]))
			if err != nil {
				t.Fatal(err)
			}
			if profile, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		i += 12 + n
	}
	return types, profile
}

func TestEncodeCarriesICC(t *testing.T) {
	profile := imagingtest.ICCProfile(70000, "RGB ", 3) // two APP2 segments in a JPEG
	const w, h = 9, 7
	img := &Image{Width: w, Height: h, RGB: smooth(w, h, 3), ICC: profile}
	mask := noise(w*h, 11)

	t.Run("cutout-png", func(t *testing.T) {
		var buf bytes.Buffer
		if err := EncodeCutoutPNG(&buf, img, mask); err != nil {
			t.Fatal(err)
		}
		types, got := pngChunks(t, buf.Bytes())
		if !bytes.Equal(got, profile) {
			t.Errorf("iCCP profile of %d bytes, want the input's %d", len(got), len(profile))
		}
		if types[1] != "iCCP" {
			t.Errorf("chunks %v: iCCP must follow IHDR, before IDAT", types)
		}
		for _, typ := range types {
			if typ == "eXIf" {
				t.Error("the cut-out carries an eXIf chunk; its pixels are already oriented")
			}
		}
	})
	t.Run("mask-png", func(t *testing.T) {
		var buf bytes.Buffer
		if err := EncodeMaskPNG(&buf, mask, w, h); err != nil {
			t.Fatal(err)
		}
		if _, got := pngChunks(t, buf.Bytes()); got != nil {
			t.Error("the gray mask carries the RGB profile")
		}
	})
	t.Run("cutout-jpeg", func(t *testing.T) {
		var buf bytes.Buffer
		if err := EncodeCutoutJPEG(&buf, img, mask, color.RGBA{255, 255, 255, 255}); err != nil {
			t.Fatal(err)
		}
		dec := decode(t, buf.Bytes())
		defer dec.Release()
		if !bytes.Equal(dec.ICC, profile) {
			t.Errorf("APP2 profile of %d bytes, want the input's %d", len(dec.ICC), len(profile))
		}
	})
}

// TestDecodeTruncatedPrefixes checks every prefix of valid files: each must fail
// with a typed error or, where the cut only drops a trailer, decode to the
// full file's pixels. None may give a picture padded with made-up pixels.
func TestDecodeTruncatedPrefixes(t *testing.T) {
	jpegDecoders(t, testDecodeTruncatedPrefixes)
}

func testDecodeTruncatedPrefixes(t *testing.T) {
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, quadrants(13, 9), nil); err != nil {
		t.Fatal(err)
	}
	progressive := jpegColorCases[1].jpeg(true, false)
	progressive.Width, progressive.Height = 40, 24
	progressive.Samples = func(c, x, y int) uint8 { return uint8(40*c + 3*x + 5*y) }
	files := []struct {
		name string
		data []byte
	}{
		{"png-rgba", encodePNG(t, smoothNRGBA(23, 17))},
		{"png-palette", pngWithPalette()},
		{"jpeg-baseline", encodeJPEG(t, smoothNRGBA(40, 24), 90)},
		{"jpeg-progressive", progressive.Encode()},
		{"jpeg-cmyk", jpegColorCases[5].jpeg(false, false).Encode()},
		{"gif", gifBuf.Bytes()},
		{"webp-lossy", readTestdata(t, "quadrants_lossy.webp")},
		{"webp-lossy-alpha", readTestdata(t, "quadrants_alpha_lossy.webp")},
		{"webp-lossless", readTestdata(t, "quadrants_alpha_lossless.webp")},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			full := decode(t, f.data)
			defer full.Release()
			for n := 0; n < len(f.data); n++ {
				img, err := Decode(f.data[:n], 0)
				if err != nil {
					var de DecodeError
					var ue UnsupportedFormatError
					if !errors.As(err, &de) && !(errors.As(err, &ue) && n < 12) {
						t.Fatalf("prefix of %d bytes: error %v (%T), want DecodeError", n, err, err)
					}
					continue
				}
				same := img.Width == full.Width && img.Height == full.Height &&
					bytes.Equal(img.RGB, full.RGB) && bytes.Equal(img.Alpha, full.Alpha)
				img.Release()
				if !same {
					t.Fatalf("prefix of %d of %d bytes decodes to other pixels", n, len(f.data))
				}
			}
		})
	}
}

func smoothNRGBA(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(9 * x), uint8(13 * y), uint8(4 * (x + y)),
				uint8(255 - 3*x)})
		}
	}
	return img
}

func pngWithPalette() []byte {
	p := pngCase(imagingtest.Paletted, 2)
	p.Palette = []color.NRGBA{{200, 10, 20, 255}, {10, 200, 30, 128}, {0, 0, 0, 0},
		{40, 50, 240, 255}}
	return p.Encode()
}

// TestDecodeTooManyPixelsZeroPNG rejects a real 20000×20000 PNG, about
// 400 KB of deflated zeros, from its header: decoding it would take
// 400 MB for image/png's buffer and 1.2 GB for the RGB copy.
func TestDecodeTooManyPixelsZeroPNG(t *testing.T) {
	data := imagingtest.ZeroPNG(20000, 20000)
	if len(data) > 1<<20 {
		t.Fatalf("test file is %d bytes, want under 1 MiB", len(data))
	}
	_, err := Decode(data, 50_000_000)
	var tm TooManyPixelsError
	if !errors.As(err, &tm) || tm.Width != 20000 || tm.Height != 20000 {
		t.Fatalf("error %v, want TooManyPixelsError for 20000×20000", err)
	}

	allocs := testing.AllocsPerRun(20, func() { _, _ = Decode(data, 50_000_000) })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		_, _ = Decode(data, 50_000_000)
	}
	runtime.ReadMemStats(&after)
	perRun := (after.TotalAlloc - before.TotalAlloc) / runs
	if perRun > 64<<10 {
		t.Errorf("rejecting allocated %d bytes per call, want under 64 KiB", perRun)
	}
	if allocs > 50 {
		t.Errorf("rejecting made %.0f allocations per call, want at most 50", allocs)
	}
}

// TestPipelineShapes runs tiny and extreme aspect ratios through
// preprocessing and postprocessing at the model's side: each must come
// back at its own size, and the mask must stay under the input's alpha.
func TestPipelineShapes(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {2, 1}, {1, 3}, {4000, 3}, {3, 4000}, {1, 4000}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			img := &Image{Width: w, Height: h, RGB: smooth(w, h, 3), Alpha: noise(w*h, 5)}
			in := make([]float32, 3*ModelSide*ModelSide)
			Preprocess(img, ModelSide, in)
			for i, v := range in {
				if !(v >= -0.5 && v <= 0.5) {
					t.Fatalf("input %d = %v, outside [-0.5, 0.5]", i, v)
				}
			}

			// A model output that is high in the middle, so the mask has
			// both ends of the range.
			out := make([]float32, ModelSide*ModelSide)
			for i := range out {
				x, y := i%ModelSide-ModelSide/2, i/ModelSide-ModelSide/2
				out[i] = float32(1 / (1 + float64(x*x+y*y)/1e5))
			}
			mask := make([]uint8, w*h)
			Postprocess(out, ModelSide, img, mask)
			for i, m := range mask {
				if m > img.Alpha[i] {
					t.Fatalf("mask %d at %d is over the input's alpha %d", m, i, img.Alpha[i])
				}
			}
			var buf bytes.Buffer
			if err := EncodeCutoutPNG(&buf, img, mask); err != nil {
				t.Fatal(err)
			}
			cfg, _, err := image.DecodeConfig(&buf)
			if err != nil || cfg.Width != w || cfg.Height != h {
				t.Errorf("cut-out is %d×%d (%v), want %d×%d", cfg.Width, cfg.Height, err, w, h)
			}
		})
	}
}

// TestDecodeAfterCorruptJPEG decodes a valid JPEG after each of many
// corrupt ones: a decoder that keeps state from a failed call (a reused
// libjpeg-turbo instance, for one) must not fail the next file.
func TestDecodeAfterCorruptJPEG(t *testing.T) {
	jpegDecoders(t, func(t *testing.T) {
		valid := encodeJPEG(t, smoothNRGBA(40, 24), 90)
		want := decode(t, valid)
		defer want.Release()
		rng := rand.New(rand.NewPCG(7, 7))
		for i := range 200 {
			if img, err := Decode(imagingtest.Mutate(valid, rng), 0); err == nil {
				img.Release()
			}
			img, err := Decode(valid, 0)
			if err != nil {
				t.Fatalf("after corrupt file %d: %v", i, err)
			}
			same := bytes.Equal(img.RGB, want.RGB)
			img.Release()
			if !same {
				t.Fatalf("after corrupt file %d: the valid file decodes to other pixels", i)
			}
		}
	})
}

// TestRecoverDecode checks the guard Decode runs in: a panic becomes a
// DecodeError, and the image built before it is released, so its pixels
// are wiped.
func TestRecoverDecode(t *testing.T) {
	built := &Image{Width: 1, Height: 1, RGB: []uint8{1, 2, 3}}
	img, err := recoverDecode(FormatGIF, func(out **Image) error {
		*out = built
		var frame []uint8
		_ = frame[built.Width] // an index out of range, as a decoder bug would cause
		return nil
	})
	var de DecodeError
	if img != nil || !errors.As(err, &de) || de.Format != FormatGIF ||
		!errors.Is(err, errDecoderPanic) {
		t.Fatalf("got %v, %v; want a GIF DecodeError for the panic", img, err)
	}
	if built.RGB != nil || built.Width != 0 {
		t.Error("the image built before the panic was not released")
	}

	kept := &Image{Width: 1, Height: 1, RGB: []uint8{1, 2, 3}}
	img, err = recoverDecode(FormatPNG, func(out **Image) error { *out = kept; return nil })
	if img != kept || err != nil {
		t.Errorf("without a panic: got %v, %v; want f's image", img, err)
	}
}
