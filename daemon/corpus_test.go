package daemon

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/engine"
	"github.com/rmbgd/rmbgd/imaging/imagingtest"
	"github.com/rmbgd/rmbgd/models"
)

// The corpus tests send images of every class the decoders handle, and
// inputs they must reject, through the real HTTP server. The images are
// made here (package imagingtest writes the layouts no standard encoder
// does) except the lossy WebP files, which come from imaging's testdata.

// corpusServer starts a Server for r on 127.0.0.1:0 and returns its base
// URL; it shuts the server down when the test ends.
func corpusServer(t *testing.T, cfg Config, r Remover) string {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg, r)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

var corpusClient = &http.Client{Timeout: 120 * time.Second}

// postImage sends data as a raw image body and returns the status, the
// headers and the body.
func postImage(t *testing.T, url string, data []byte) (int, http.Header, []byte) {
	t.Helper()
	resp, err := corpusClient.Post(url, "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp.StatusCode, resp.Header, body
}

// realPipeline loads the installed model into a CPU pipeline, or skips the
// test when there is none, unless RMBGD_REQUIRE_MODEL=1 (make test).
func realPipeline(t *testing.T) *engine.Pipeline {
	t.Helper()
	path, err := models.Locate(models.Default)
	if err != nil {
		if os.Getenv("RMBGD_REQUIRE_MODEL") == "1" {
			t.Fatalf("model: %v", err)
		}
		t.Skipf("model not installed (%v); make model installs it", err)
	}
	p, err := engine.NewCPU(engine.CPUConfig{ModelPath: path,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("NewCPU: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// pixelCheck is one expected pixel of a cut-out: its RGB within tol where
// the pixel is visible, and an alpha of at most maxAlpha (the input's
// alpha there).
type pixelCheck struct {
	x, y     int
	rgb      [3]uint8
	tol      int
	maxAlpha uint8
}

// corpusCase is one image sent to the real model with the query options,
// the displayed size the response must have, and its expected pixels.
type corpusCase struct {
	name   string
	data   []byte
	query  string // appended to /v1/remove
	w, h   int
	checks []pixelCheck
	icc    []byte // the profile the cut-out must carry in iCCP
}

// Colours of the generated images.
var (
	red    = [3]uint8{220, 20, 30}
	blue   = [3]uint8{20, 40, 220}
	cmykFG = [3]uint8{179, 119, 209} // ink 64, 128, 32, 16 without a profile
)

// halves returns pixel checks for an image whose left half is a and
// right half b, each with its maximum alpha.
// The pixels checked keep clear of the boundary, where JPEG's chroma
// subsampling blends the halves.
func halves(w, h int, a, b [3]uint8, aAlpha, bAlpha uint8, tol int) []pixelCheck {
	return []pixelCheck{
		{x: 0, y: 0, rgb: a, tol: tol, maxAlpha: aAlpha},
		{x: w / 4, y: h / 2, rgb: a, tol: tol, maxAlpha: aAlpha},
		{x: 3 * w / 4, y: h / 2, rgb: b, tol: tol, maxAlpha: bAlpha},
		{x: w - 1, y: h - 1, rgb: b, tol: tol, maxAlpha: bAlpha},
	}
}

// halvesPNG writes a w×h PNG whose left half has the samples left and the
// right half right (one value per channel of the colour type).
func halvesPNG(colorType, depth, w, h int, left, right []uint16) imagingtest.PNG {
	p := imagingtest.PNG{Width: w, Height: h, ColorType: colorType, BitDepth: depth}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x < w/2 {
				p.Samples = append(p.Samples, left...)
			} else {
				p.Samples = append(p.Samples, right...)
			}
		}
	}
	return p
}

// halvesJPEG writes a flat-block JPEG whose left half (of 8-pixel blocks)
// stores left and the right half right, one sample per component.
func halvesJPEG(w, h, adobe int, left, right []uint8) imagingtest.JPEG {
	return imagingtest.JPEG{Width: w, Height: h, Components: len(left), Adobe: adobe,
		JFIF: len(left) != 4 && adobe < 0,
		Samples: func(c, x, y int) uint8 {
			if x < w/2 {
				return left[c]
			}
			return right[c]
		}}
}

func readImagingTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "imaging", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func modelCorpus(t *testing.T) []corpusCase {
	const w, h = 24, 16
	const jw = 32 // JPEG halves on whole 16-pixel MCUs
	g := func(v uint8) [3]uint8 { return [3]uint8{v, v, v} }
	pngCase := func(name string, p imagingtest.PNG, a, b [3]uint8, aAlpha, bAlpha uint8) corpusCase {
		return corpusCase{name: name, data: p.Encode(), w: p.Width, h: p.Height,
			checks: halves(p.Width, p.Height, a, b, aAlpha, bAlpha, 0)}
	}
	u := func(v ...uint16) []uint16 { return v }

	trnsGray := halvesPNG(imagingtest.Gray, 8, w, h, u(50), u(200))
	trnsGray.Transparent = u(50)
	trnsRGB := halvesPNG(imagingtest.RGB, 8, w, h, u(10, 20, 30), u(200, 100, 50))
	trnsRGB.Transparent = u(10, 20, 30)
	palette := halvesPNG(imagingtest.Paletted, 2, w, h, u(2), u(0))
	palette.Palette = []color.NRGBA{{200, 10, 20, 255}, {10, 200, 30, 128}, {0, 0, 0, 0}}
	palette8 := halvesPNG(imagingtest.Paletted, 8, w, h, u(1), u(0))
	palette8.Palette = []color.NRGBA{{200, 10, 20, 255}, {10, 200, 30, 128}}
	exifPNG := halvesPNG(imagingtest.RGB, 8, w, h, u(220, 20, 30), u(20, 40, 220))
	exifPNG.Exif = imagingtest.ExifOrientation(6)
	iccProfile := imagingtest.ICCProfile(4000, "RGB ", 5)

	cases := []corpusCase{
		pngCase("png-gray1", halvesPNG(imagingtest.Gray, 1, w, h, u(0), u(1)), g(0), g(255),
			255, 255),
		pngCase("png-gray2", halvesPNG(imagingtest.Gray, 2, w, h, u(1), u(3)), g(85), g(255),
			255, 255),
		pngCase("png-gray4", halvesPNG(imagingtest.Gray, 4, w, h, u(5), u(15)), g(85),
			g(255), 255, 255),
		pngCase("png-gray8-trns", trnsGray, g(50), g(200), 0, 255),
		// 16-bit samples keep their high byte: 0x8080 is 128, not 129.
		pngCase("png-gray16", halvesPNG(imagingtest.Gray, 16, w, h, u(0x8080), u(0x00ff)),
			g(128), g(0), 255, 255),
		pngCase("png-gray-alpha8", halvesPNG(imagingtest.GrayAlpha, 8, w, h, u(100, 0),
			u(200, 255)), g(100), g(200), 0, 255),
		pngCase("png-gray-alpha16", halvesPNG(imagingtest.GrayAlpha, 16, w, h,
			u(0x80ff, 0x4000), u(0xff00, 0xffff)), g(128), g(255), 0x40, 255),
		pngCase("png-rgb8", halvesPNG(imagingtest.RGB, 8, w, h, u(10, 20, 30),
			u(200, 100, 50)), [3]uint8{10, 20, 30}, [3]uint8{200, 100, 50}, 255, 255),
		pngCase("png-rgb16", halvesPNG(imagingtest.RGB, 16, w, h, u(0x8080, 0x1234, 0xfedc),
			u(0, 0xffff, 0x7fff)), [3]uint8{128, 18, 254}, [3]uint8{0, 255, 127}, 255, 255),
		pngCase("png-rgb8-trns", trnsRGB, [3]uint8{10, 20, 30}, [3]uint8{200, 100, 50}, 0,
			255),
		pngCase("png-rgba8", halvesPNG(imagingtest.RGBA, 8, w, h, u(10, 20, 30, 0),
			u(200, 100, 50, 128)), [3]uint8{10, 20, 30}, [3]uint8{200, 100, 50}, 0, 128),
		pngCase("png-rgba16", halvesPNG(imagingtest.RGBA, 16, w, h,
			u(0x1111, 0x2222, 0x3333, 0xffff), u(0xeeee, 0xdddd, 0xcccc, 0x00ff)),
			[3]uint8{0x11, 0x22, 0x33}, [3]uint8{0xee, 0xdd, 0xcc}, 255, 0),
		pngCase("png-palette2-trns", palette, [3]uint8{0, 0, 0}, [3]uint8{200, 10, 20}, 0,
			255),
		pngCase("png-palette8", palette8, [3]uint8{10, 200, 30}, [3]uint8{200, 10, 20}, 128,
			255),
		// Orientation 6 shows the stored left half at the top.
		{name: "png-exif6", data: exifPNG.Encode(), w: h, h: w, checks: []pixelCheck{
			{x: 0, y: 0, rgb: red, maxAlpha: 255}, {x: h - 1, y: w/2 - 1, rgb: red, maxAlpha: 255},
			{x: 0, y: w/2 + 1, rgb: blue, maxAlpha: 255}, {x: h - 1, y: w - 1, rgb: blue,
				maxAlpha: 255}}},

		{name: "jpeg-baseline-imagejpeg", data: goJPEG(t, jw, h), w: jw, h: h,
			checks: halves(jw, h, red, blue, 255, 255, 8)},
		{name: "jpeg-progressive", data: progressive(halvesJPEG(jw, h, -1, []uint8{76, 85, 255},
			[]uint8{113, 115, 69})).Encode(), w: jw, h: h,
			checks: halves(jw, h, [3]uint8{255, 0, 0}, [3]uint8{30, 160, 90}, 255, 255, 2)},
		{name: "jpeg-gray", data: halvesJPEG(jw, h, -1, []uint8{77}, []uint8{200}).Encode(),
			w: jw, h: h, checks: halves(jw, h, g(77), g(200), 255, 255, 0)},
		{name: "jpeg-rgb-adobe", data: halvesJPEG(jw, h, 0, []uint8{220, 20, 30},
			[]uint8{20, 40, 220}).Encode(), w: jw, h: h, checks: halves(jw, h, red, blue, 255, 255, 0)},
		// Adobe CMYK stores 255 − ink; red is ink (0, 255, 255, 0).
		{name: "jpeg-cmyk-adobe", data: halvesJPEG(jw, h, 0, []uint8{255, 0, 0, 255},
			[]uint8{191, 127, 223, 239}).Encode(), w: jw, h: h,
			checks: halves(jw, h, [3]uint8{255, 0, 0}, cmykFG, 255, 255, 1)},
		{name: "jpeg-cmyk-plain", data: halvesJPEG(jw, h, -1, []uint8{0, 255, 255, 0},
			[]uint8{64, 128, 32, 16}).Encode(), w: jw, h: h,
			checks: halves(jw, h, [3]uint8{255, 0, 0}, cmykFG, 255, 255, 1)},
		{name: "jpeg-ycck-adobe", data: halvesJPEG(jw, h, 2, []uint8{179, 171, 0, 255},
			[]uint8{98, 91, 104, 239}).Encode(), w: jw, h: h,
			checks: halves(jw, h, [3]uint8{255, 0, 0}, cmykFG, 255, 255, 3)},
		// Orientation 3 turns the image by 180°: the halves swap.
		{name: "jpeg-exif3", data: withSegments(halvesJPEG(jw, h, -1, []uint8{76, 85, 255},
			[]uint8{113, 115, 69}), imagingtest.ExifSegment(imagingtest.ExifOrientation(3))),
			w: jw, h: h,
			checks: halves(jw, h, [3]uint8{30, 160, 90}, [3]uint8{255, 0, 0}, 255, 255, 2)},
		// Orientation 8 shows the stored left half at the bottom.
		{name: "jpeg-exif8", data: withSegments(halvesJPEG(jw, h, -1, []uint8{76, 85, 255},
			[]uint8{113, 115, 69}), imagingtest.ExifSegment(imagingtest.ExifOrientation(8))),
			w: h, h: jw, checks: []pixelCheck{
				{x: 0, y: 0, rgb: [3]uint8{30, 160, 90}, tol: 2, maxAlpha: 255},
				{x: h - 1, y: jw - 1, rgb: [3]uint8{255, 0, 0}, tol: 2, maxAlpha: 255}}},
		{name: "jpeg-icc", data: withSegments(halvesJPEG(jw, h, -1, []uint8{76, 85, 255},
			[]uint8{113, 115, 69}), imagingtest.ICCSegments(iccProfile, 1500)...),
			w: jw, h: h, icc: iccProfile,
			checks: halves(jw, h, [3]uint8{255, 0, 0}, [3]uint8{30, 160, 90}, 255, 255, 2)},

		{name: "gif-static", data: paletteGIF(t, w, h), w: w, h: h,
			checks: halves(w, h, red, blue, 255, 255, 0)},
		// The first frame reaches past the 8×8 logical screen to 24×16: the
		// canvas grows, transparent outside the frame.
		{name: "gif-frame-past-screen", data: imagingtest.GIF(w, h, 8, 8,
			imagingtest.FlatFrame(image.Rect(12, 4, 24, 16), rgba(red))), w: w, h: h,
			checks: []pixelCheck{{x: 0, y: 0, maxAlpha: 0}, {x: 12, y: 4, rgb: red, maxAlpha: 255},
				{x: 23, y: 15, rgb: red, maxAlpha: 255}}},
		{name: "gif-animated", data: imagingtest.GIF(w, h, w, h,
			imagingtest.FlatFrame(image.Rect(0, 0, w, h), rgba(blue)),
			imagingtest.FlatFrame(image.Rect(0, 0, w, h), rgba(red))), w: w, h: h,
			checks: halves(w, h, blue, blue, 255, 255, 0)},

		// Made by sharp (libwebp 1.6.0): 7×5, four flat quadrants; the left
		// column is transparent in the alpha files.
		{name: "webp-lossy", data: readImagingTestdata(t, "quadrants_lossy.webp"), w: 7, h: 5,
			checks: []pixelCheck{{x: 0, y: 0, rgb: [3]uint8{220, 30, 30}, tol: 12, maxAlpha: 255},
				{x: 6, y: 4, rgb: [3]uint8{230, 230, 40}, tol: 12, maxAlpha: 255}}},
		{name: "webp-lossless-alpha", data: readImagingTestdata(t, "quadrants_alpha_lossless.webp"),
			w: 7, h: 5, checks: []pixelCheck{{x: 0, y: 0, maxAlpha: 0}, {x: 0, y: 4, maxAlpha: 0},
				{x: 6, y: 4, rgb: [3]uint8{230, 230, 40}, tol: 12, maxAlpha: 255}}},
		{name: "webp-lossy-alpha", data: readImagingTestdata(t, "quadrants_alpha_lossy.webp"),
			w: 7, h: 5, checks: []pixelCheck{{x: 0, y: 2, maxAlpha: 0},
				{x: 6, y: 4, rgb: [3]uint8{230, 230, 40}, tol: 12, maxAlpha: 255}}},
		// sharp embedded its sRGB profile in this one.
		{name: "webp-exif6", data: readImagingTestdata(t, "quadrants_exif6.webp"), w: 5, h: 7,
			icc:    webpICCP(readImagingTestdata(t, "quadrants_exif6.webp")),
			checks: []pixelCheck{{x: 0, y: 0, rgb: [3]uint8{40, 40, 220}, tol: 12, maxAlpha: 255}}},
		{name: "webp-animated", data: imagingtest.AnimatedWebP(
			readImagingTestdata(t, "quadrants_lossy.webp"), 12, 10, 4, 2), w: 12, h: 10,
			checks: []pixelCheck{{x: 0, y: 0, maxAlpha: 0}, {x: 11, y: 9, maxAlpha: 0},
				{x: 10, y: 6, rgb: [3]uint8{230, 230, 40}, tol: 12, maxAlpha: 255}}},

		pngCase("png-1x1", halvesPNG(imagingtest.RGB, 8, 1, 1, u(1, 2, 3), u(1, 2, 3)),
			[3]uint8{1, 2, 3}, [3]uint8{1, 2, 3}, 255, 255),
		pngCase("png-4000x3", halvesPNG(imagingtest.RGB, 8, 4000, 3, u(220, 20, 30),
			u(20, 40, 220)), red, blue, 255, 255),
		pngCase("png-3x4000", halvesPNG(imagingtest.RGB, 8, 3, 4000, u(220, 20, 30),
			u(20, 40, 220)), red, blue, 255, 255),
	}
	return cases
}

// webpICCP returns the data of a WebP file's ICCP chunk, or nil.
func webpICCP(data []byte) []byte {
	for i := 12; i+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		if i+8+n > len(data) {
			break
		}
		if string(data[i:i+4]) == "ICCP" {
			return data[i+8 : i+8+n]
		}
		i += 8 + n + n&1
	}
	return nil
}

func progressive(j imagingtest.JPEG) imagingtest.JPEG {
	j.Progressive = true
	return j
}

func withSegments(j imagingtest.JPEG, segs ...[]byte) []byte {
	j.Segments = segs
	return j.Encode()
}

func rgba(c [3]uint8) color.RGBA { return color.RGBA{c[0], c[1], c[2], 255} }

// goJPEG is a baseline 4:2:0 JPEG written by image/jpeg: red left half,
// blue right half.
func goJPEG(t *testing.T, w, h int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := red
			if x >= w/2 {
				c = blue
			}
			m.SetRGBA(x, y, rgba(c))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func paletteGIF(t *testing.T, w, h int) []byte {
	m := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{rgba(red), rgba(blue)})
	for y := 0; y < h; y++ {
		for x := w / 2; x < w; x++ {
			m.SetColorIndex(x, y, 1)
		}
	}
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCorpusModel sends every decodable class through the server and the
// real model (about 1.5 s each on two cores) and checks the status, the
// size, the pixels the cut-out keeps, and that its alpha stays under the
// input's. The model makes some checked pixels fully transparent, and
// their colour is then zeros; TestCorpusDecodeOnly checks every image's
// colours. The inputs that must be rejected run through the same server.
func TestCorpusModel(t *testing.T) {
	url := corpusServer(t, Config{}, realPipeline(t)) + "/v1/remove"
	for _, tc := range modelCorpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := postImage(t, url+tc.query, tc.data)
			if status != http.StatusOK {
				t.Fatalf("status %d, body %s", status, body)
			}
			if hdr.Get("X-Width") != strconv.Itoa(tc.w) || hdr.Get("X-Height") != strconv.Itoa(tc.h) {
				t.Errorf("X-Width, X-Height = %s, %s; want %d, %d", hdr.Get("X-Width"),
					hdr.Get("X-Height"), tc.w, tc.h)
			}
			out, err := png.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("response is not a PNG: %v", err)
			}
			cut, ok := out.(*image.NRGBA)
			if !ok || cut.Rect.Dx() != tc.w || cut.Rect.Dy() != tc.h {
				t.Fatalf("cut-out is %T %v, want 8-bit RGBA %d×%d", out, out.Bounds(), tc.w, tc.h)
			}
			for _, c := range tc.checks {
				p := cut.NRGBAAt(c.x, c.y)
				if p.A > c.maxAlpha {
					t.Errorf("alpha at (%d,%d) = %d, over the input's %d", c.x, c.y, p.A, c.maxAlpha)
				}
				checkCutoutRGB(t, c, p)
			}
			if got := pngICCProfile(t, body); !bytes.Equal(got, tc.icc) {
				t.Errorf("iCCP profile of %d bytes, want %d", len(got), len(tc.icc))
			}
		})
	}

	t.Run("mask-under-alpha", func(t *testing.T) {
		p := halvesPNG(imagingtest.RGBA, 8, 24, 16, []uint16{250, 250, 250, 0},
			[]uint16{250, 250, 250, 90})
		status, _, body := postImage(t, url+"?output=mask", p.Encode())
		if status != http.StatusOK {
			t.Fatalf("status %d, body %s", status, body)
		}
		m, err := png.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		gray, ok := m.(*image.Gray)
		if !ok || gray.Rect.Dx() != 24 || gray.Rect.Dy() != 16 {
			t.Fatalf("mask is %T %v, want 8-bit gray 24×16", m, m.Bounds())
		}
		for y := 0; y < 16; y++ {
			for x := 0; x < 24; x++ {
				limit := uint8(0)
				if x >= 12 {
					limit = 90
				}
				if v := gray.GrayAt(x, y).Y; v > limit {
					t.Fatalf("mask at (%d,%d) = %d, over the input's alpha %d", x, y, v, limit)
				}
			}
		}
	})
	checkRejects(t, url)
	t.Run("jpeg-output-background", func(t *testing.T) {
		// The left half is fully transparent, so it shows the background.
		p := halvesPNG(imagingtest.RGBA, 8, 24, 16, []uint16{250, 250, 250, 0},
			[]uint16{200, 100, 50, 255})
		status, hdr, body := postImage(t, url+"?format=jpeg&bg_color=%230000ff", p.Encode())
		if status != http.StatusOK {
			t.Fatalf("status %d, body %s", status, body)
		}
		if ct := hdr.Get("Content-Type"); ct != "image/jpeg" {
			t.Errorf("Content-Type %q, want image/jpeg", ct)
		}
		m, err := jpeg.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("response is not a JPEG: %v", err)
		}
		if b := m.Bounds(); b.Dx() != 24 || b.Dy() != 16 {
			t.Fatalf("JPEG is %v, want 24×16", b)
		}
		r, g, b, _ := m.At(2, 8).RGBA()
		if got := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}; !nearRGB(got,
			[3]uint8{0, 0, 255}, 24) {
			t.Errorf("transparent half shows %v, want the blue background", got)
		}
	})
}

func nearRGB(a, b [3]uint8, tol int) bool {
	for i := range a {
		if d := int(a[i]) - int(b[i]); d < -tol || d > tol {
			return false
		}
	}
	return true
}

// pngICCProfile returns the decompressed profile of a PNG's iCCP chunk, or
// nil.
func pngICCProfile(t *testing.T, data []byte) []byte {
	t.Helper()
	for i := 8; i+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		if i+12+n > len(data) {
			break
		}
		if string(data[i+4:i+8]) == "iCCP" {
			chunk := data[i+8 : i+8+n]
			nul := bytes.IndexByte(chunk, 0)
			zr, err := zlib.NewReader(bytes.NewReader(chunk[nul+2:]))
			if err != nil {
				t.Fatalf("iCCP: %v", err)
			}
			p, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("iCCP: %v", err)
			}
			return p
		}
		i += 12 + n
	}
	return nil
}

// rejectCase is an input that must be rejected before inference, with
// the status, error code and a word the message must contain.
type rejectCase struct {
	name   string
	data   []byte
	status int
	code   string
	word   string
}

func rejectCorpus(t *testing.T) []rejectCase {
	full := halvesPNG(imagingtest.RGB, 8, 24, 16, []uint16{1, 2, 3}, []uint16{4, 5, 6}).Encode()
	jpg := goJPEG(t, 24, 16)
	gifData := paletteGIF(t, 24, 16)
	webp := readImagingTestdata(t, "quadrants_lossy.webp")
	badCRC := append([]byte(nil), full...)
	badCRC[30] ^= 0xff
	incomplete := progressive(halvesJPEG(24, 16, -1, []uint8{76, 85, 255}, []uint8{1, 2, 3}))
	incomplete.DropScans = 1
	arithmetic := halvesJPEG(24, 16, -1, []uint8{77}, []uint8{200})
	arithmetic.Segments = [][]byte{imagingtest.JPEGSegment(0xc9, []byte{8, 0, 16, 0, 24, 1, 1,
		0x11, 0})}
	unsupported := func(name, word string, data []byte) rejectCase {
		return rejectCase{name, data, http.StatusUnsupportedMediaType, "unsupported_format", word}
	}
	corrupt := func(name, word string, data []byte) rejectCase {
		return rejectCase{name, data, http.StatusUnprocessableEntity, "decode_failed", word}
	}
	return []rejectCase{
		unsupported("heic", "HEIC", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")),
		unsupported("avif", "AVIF", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf")),
		unsupported("tiff", "TIFF", []byte("II*\x00\x08\x00\x00\x00\x00\x00")),
		unsupported("bmp", "BMP", append([]byte("BM"), make([]byte, 60)...)),
		unsupported("ico", "ICO", []byte{0, 0, 1, 0, 1, 0, 16, 16, 0, 0}),
		unsupported("pdf", "PDF", []byte("%PDF-1.7\n1 0 obj\n")),
		unsupported("svg", "SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)),
		unsupported("zip", "ZIP", []byte("PK\x03\x04\x14\x00\x00\x00")),
		unsupported("text", "TEXT", []byte("this is not an image\n")),
		unsupported("html", "HTML", []byte("<!DOCTYPE html><html><body></body></html>")),
		unsupported("binary", "recognizes", []byte{0x00, 0x13, 0x37, 0x42, 0x99}),
		unsupported("jpeg-arithmetic", "JPEG-ARITHMETIC", arithmetic.Encode()),
		corrupt("png-truncated", "PNG", full[:len(full)/2]),
		corrupt("png-bad-crc", "PNG", badCRC),
		corrupt("jpeg-truncated", "JPEG", jpg[:len(jpg)*2/3]),
		corrupt("jpeg-scans-missing", "JPEG", incomplete.Encode()),
		corrupt("gif-truncated", "GIF", gifData[:len(gifData)-8]),
		corrupt("webp-truncated", "WEBP", webp[:len(webp)-10]),
		corrupt("webp-frame-past-canvas", "WEBP", imagingtest.AnimatedWebP(webp, 8, 6, 2, 2)),
		{"png-20000x20000", imagingtest.ZeroPNG(20000, 20000), http.StatusRequestEntityTooLarge,
			"too_many_pixels", "20000×20000"},
	}
}

// checkRejects sends inputs that must be rejected from their header or
// data, before any inference, and checks status, code and message. Their
// status is never 5xx.
func checkRejects(t *testing.T, url string) {
	for _, tc := range rejectCorpus(t) {
		t.Run("reject-"+tc.name, func(t *testing.T) {
			status, _, body := postImage(t, url, tc.data)
			if status != tc.status {
				t.Fatalf("status %d, want %d; body %s", status, tc.status, body)
			}
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			if e.Error.Code != tc.code {
				t.Errorf("code %q, want %q", e.Error.Code, tc.code)
			}
			if !strings.Contains(e.Error.Message, tc.word) {
				t.Errorf("message %q does not contain %q", e.Error.Message, tc.word)
			}
		})
	}
}

// vmRSS returns the resident set size of this process, from
// /proc/self/status, or skips where there is none.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(
				strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmRSS in /proc/self/status")
	return 0
}

// TestCorpusPixelLimitMemory sends a 400 KB PNG that declares 20000×20000
// pixels, several times: each is rejected from its header, and the
// server's resident memory stays put (decoding it would take 400 MB for
// image/png's buffer alone).
func TestCorpusPixelLimitMemory(t *testing.T) {
	url := corpusServer(t, Config{}, newDecodeOnlyPipeline(t)) + "/v1/remove"
	data := imagingtest.ZeroPNG(20000, 20000)
	postImage(t, url, data) // the first request sizes the server's buffers
	before := vmRSS(t)
	for range 5 {
		if status, _, body := postImage(t, url, data); status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413; body %s", status, body)
		}
	}
	after := vmRSS(t)
	t.Logf("VmRSS %d MiB before, %d MiB after", before>>20, after>>20)
	if grown := after - before; grown > 64<<20 {
		t.Errorf("resident memory grew by %d MiB, want under 64 MiB", grown>>20)
	}
}

// luminanceBackend stands in for the model in the mutation test, whose
// point is the decoders: its output is the luminance of the input tensor,
// so decoding, preprocessing, postprocessing and encoding all run for
// real, and a request costs milliseconds instead of a model run.
type luminanceBackend struct{}

func (luminanceBackend) Name() string  { return "cpu" }
func (luminanceBackend) MaxBatch() int { return 1 }
func (luminanceBackend) Close() error  { return nil }

func (luminanceBackend) Run(ctx context.Context, in, out []float32, n int) (time.Duration, error) {
	plane := len(out) / n
	for k := 0; k < n; k++ {
		src := in[3*plane*k:]
		for i := range out[plane*k : plane*(k+1)] {
			out[plane*k+i] = 0.3*src[i] + 0.6*src[plane+i] + 0.1*src[2*plane+i]
		}
	}
	return 0, ctx.Err()
}

// decodeOnlySide is the stand-in model's input side: small, since no
// network runs on it.
const decodeOnlySide = 64

func newDecodeOnlyPipeline(t *testing.T) *engine.Pipeline {
	t.Helper()
	p, err := engine.NewPipeline(luminanceBackend{}, engine.PipelineConfig{Side: decodeOnlySide,
		Model: "luminance-test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestCorpusFormatHints sends images whose declared type or file name
// names another format: the magic bytes decide.
func TestCorpusFormatHints(t *testing.T) {
	url := corpusServer(t, Config{}, newDecodeOnlyPipeline(t)) + "/v1/remove"
	pngData := halvesPNG(imagingtest.RGB, 8, 24, 16, []uint16{1, 2, 3}, []uint16{4, 5, 6}).Encode()
	jpegData := goJPEG(t, 32, 16)
	tests := []struct {
		name, contentType string
		body              []byte
		w                 int
	}{
		{"png-declared-jpeg", "image/jpeg", pngData, 24},
		{"jpeg-declared-heic", "image/heic", jpegData, 32},
		{"json-named-heic", "application/json", []byte(`{"image":"` +
			base64.StdEncoding.EncodeToString(jpegData) +
			`","filename":"photo.heic","content_type":"image/heic"}`), 32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := corpusClient.Post(url, tc.contentType, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("X-Width"); got != strconv.Itoa(tc.w) {
				t.Errorf("X-Width %s, want %d", got, tc.w)
			}
		})
	}
}

// checkCutoutRGB checks the colour of cut-out pixel p at check c: the
// input's colour where p is visible, and zeros where the mask made it
// fully transparent.
func checkCutoutRGB(t *testing.T, c pixelCheck, p color.NRGBA) (compared bool) {
	t.Helper()
	got := [3]uint8{p.R, p.G, p.B}
	if p.A == 0 {
		if got != ([3]uint8{}) {
			t.Errorf("RGB at (%d,%d) = %v under alpha 0, want zeros", c.x, c.y, got)
		}
		return false
	}
	if !nearRGB(got, c.rgb, c.tol) {
		t.Errorf("RGB at (%d,%d) = %v, want %v ±%d", c.x, c.y, got, c.rgb, c.tol)
	}
	return true
}

// flatChecks reports whether checks expect one colour everywhere.
func flatChecks(checks []pixelCheck) bool {
	for _, c := range checks {
		if c.rgb != checks[0].rgb {
			return false
		}
	}
	return true
}

// TestCorpusDecodeOnly runs the whole model corpus through the stand-in
// model: sizes and kept pixels must match without the model installed.
func TestCorpusDecodeOnly(t *testing.T) {
	url := corpusServer(t, Config{}, newDecodeOnlyPipeline(t)) + "/v1/remove"
	for _, tc := range modelCorpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := postImage(t, url, tc.data)
			if status != http.StatusOK {
				t.Fatalf("status %d, body %s", status, body)
			}
			out, err := png.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("response is not a PNG: %v", err)
			}
			cut := out.(*image.NRGBA)
			if cut.Rect.Dx() != tc.w || cut.Rect.Dy() != tc.h {
				t.Fatalf("cut-out is %v, want %d×%d", cut.Rect, tc.w, tc.h)
			}
			compared := 0
			for _, c := range tc.checks {
				p := cut.NRGBAAt(c.x, c.y)
				if p.A > c.maxAlpha {
					t.Errorf("alpha at (%d,%d) = %d, over the input's %d", c.x, c.y, p.A, c.maxAlpha)
				}
				if checkCutoutRGB(t, c, p) {
					compared++
				}
			}
			// The stand-in's mask is the luminance, normalized, so the
			// brighter colour of an image of two stays visible and its
			// decoding is checked. A flat image gets a flat mask, all 0.
			if compared == 0 && !flatChecks(tc.checks) {
				t.Error("every checked pixel is transparent: no colour was compared")
			}
		})
	}
	checkRejects(t, url)
}
