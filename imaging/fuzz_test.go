package imaging

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"testing"

	"github.com/rmbgd/rmbgd/imaging/imagingtest"
)

// FuzzDecode feeds arbitrary bytes to DecodeConfig and Decode. Neither may
// panic, and every error must be one of the three typed errors. A decoded
// image must agree with its header and survive the whole pipeline.
func FuzzDecode(f *testing.F) {
	for _, seed := range pngSeeds(f) {
		f.Add(seed)
	}
	for _, seed := range jpegSeeds(f) {
		f.Add(seed)
	}
	for _, seed := range gifSeeds(f) {
		f.Add(seed)
	}
	for _, seed := range webpSeeds(f) {
		f.Add(seed)
	}
	f.Add(headerOnlyPNG(20000, 20000))
	f.Add([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"))
	f.Add([]byte("BM"))
	f.Add([]byte("<svg></svg>"))
	f.Fuzz(checkDecode)
}

// The per-format targets start from one format's seeds, so that mutations
// stay within that format's decoder longer.

func FuzzDecodePNG(f *testing.F) {
	for _, seed := range pngSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(checkDecode)
}

func FuzzDecodeJPEG(f *testing.F) {
	for _, seed := range jpegSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(checkDecode)
}

func FuzzDecodeGIF(f *testing.F) {
	for _, seed := range gifSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(checkDecode)
}

func FuzzDecodeWebP(f *testing.F) {
	for _, seed := range webpSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(checkDecode)
}

func pngSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{
		encodePNG(f, quadrants(6, 4)),
		withPNGExif(encodePNG(f, quadrants(6, 4)), 8),
		pngWithPalette(),
	}
	for _, ct := range []int{imagingtest.Gray, imagingtest.GrayAlpha, imagingtest.RGB,
		imagingtest.RGBA} {
		p := pngCase(ct, 16)
		if ct == imagingtest.RGB {
			p.Transparent = []uint16{1, 2, 3}
			p.ICC = imagingtest.ICCProfile(200, "RGB ", 1)
		}
		seeds = append(seeds, p.Encode())
	}
	gray := pngCase(imagingtest.Gray, 2)
	gray.Transparent = []uint16{1}
	return append(seeds, gray.Encode())
}

func jpegSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{
		encodeJPEG(f, quadrants(16, 9), 80),
		withJPEGExif(encodeJPEG(f, quadrants(9, 16), 80), 6),
	}
	for _, tc := range jpegColorCases {
		seeds = append(seeds, tc.jpeg(false, false).Encode(), tc.jpeg(true, false).Encode())
	}
	icc := jpegColorCases[1].jpeg(false, true)
	icc.Segments = imagingtest.ICCSegments(imagingtest.ICCProfile(300, "RGB ", 2), 100)
	return append(seeds, icc.Encode())
}

func gifSeeds(f *testing.F) [][]byte {
	var g bytes.Buffer
	if err := gif.Encode(&g, quadrants(5, 3), nil); err != nil {
		f.Fatal(err)
	}
	red := color.RGBA{200, 0, 0, 255}
	return [][]byte{g.Bytes(),
		imagingtest.GIF(8, 6, 4, 4, imagingtest.FlatFrame(image.Rect(2, 2, 8, 6), red)),
		imagingtest.GIF(4, 4, 4, 4, imagingtest.FlatFrame(image.Rect(0, 0, 4, 4), red),
			imagingtest.FlatFrame(image.Rect(1, 1, 3, 3), red)),
	}
}

func webpSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"quadrants_lossy.webp", "quadrants_alpha_lossless.webp",
		"quadrants_exif6.webp", "quadrants_alpha_lossy.webp"} {
		seeds = append(seeds, readTestdata(f, name))
	}
	return append(seeds, imagingtest.AnimatedWebP(seeds[1], 10, 8, 2, 2))
}

// checkDecode is the property every fuzz target checks.
func checkDecode(t *testing.T, data []byte) {
	const maxPixels = 1 << 20
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
	if img.ICC != nil && (!usableICC(img.ICC) || iccColorSpace(img.ICC) != "RGB ") {
		t.Fatalf("kept an ICC profile that is not a usable RGB profile")
	}

	const side = 16
	in := make([]float32, 3*side*side)
	Preprocess(img, side, in)
	mask := make([]uint8, w*h)
	Postprocess(in[:side*side], side, img, mask)
	if r := Foreground(mask, w, h); !r.In(image.Rect(0, 0, w, h)) {
		t.Fatalf("foreground %v outside the image", r)
	}
	for i, m := range mask {
		if img.Alpha != nil && m > img.Alpha[i] {
			t.Fatalf("mask %d over the alpha %d at %d", m, img.Alpha[i], i)
		}
	}
	var out bytes.Buffer
	if err := EncodeCutoutPNG(&out, img, mask); err != nil {
		t.Fatalf("EncodeCutoutPNG: %v", err)
	}
	dec, err := png.Decode(&out)
	if err != nil {
		t.Fatalf("image/png cannot read the cut-out: %v", err)
	}
	pix := dec.(*image.NRGBA).Pix
	for i, m := range mask {
		if [4]uint8(pix[4*i:]) != cutoutPixel(img.RGB[3*i:], m) {
			t.Fatalf("cut-out pixel %d differs from the image and mask", i)
		}
	}
}
