package imaging

import (
	"errors"
	"image"
	"image/color"
	"testing"
)

// decodedImages returns one image of each type the Go decoders return,
// every sample non-zero, over rect.
func decodedImages(rect image.Rectangle) []image.Image {
	ycc := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
	nycca := image.NewNYCbCrA(rect, image.YCbCrSubsampleRatio444)
	imgs := []image.Image{ycc, nycca, image.NewNRGBA(rect), image.NewRGBA(rect),
		image.NewGray(rect), image.NewGray16(rect), image.NewNRGBA64(rect),
		image.NewRGBA64(rect), image.NewPaletted(rect, color.Palette{color.Black, color.White}),
		image.NewCMYK(rect)}
	for _, img := range imgs {
		for _, b := range decodedPlanes(img) {
			for i := range b {
				b[i] = 1 // a valid palette index, and not zero
			}
		}
	}
	return imgs
}

// decodedPlanes returns the sample buffers of an image from decodedImages.
func decodedPlanes(img image.Image) [][]uint8 {
	switch s := img.(type) {
	case *image.YCbCr:
		return [][]uint8{s.Y, s.Cb, s.Cr}
	case *image.NYCbCrA:
		return [][]uint8{s.Y, s.Cb, s.Cr, s.A}
	case *image.NRGBA:
		return [][]uint8{s.Pix}
	case *image.RGBA:
		return [][]uint8{s.Pix}
	case *image.Gray:
		return [][]uint8{s.Pix}
	case *image.Gray16:
		return [][]uint8{s.Pix}
	case *image.NRGBA64:
		return [][]uint8{s.Pix}
	case *image.RGBA64:
		return [][]uint8{s.Pix}
	case *image.Paletted:
		return [][]uint8{s.Pix}
	case *image.CMYK:
		return [][]uint8{s.Pix}
	}
	panic("no planes for this type")
}

func allZero(b []uint8) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestFromImageWipesDecoded checks that fromImage zeroes the decoder's
// image of every type, both when it copies it and when it rejects it
// because it does not cover its declared size.
func TestFromImageWipesDecoded(t *testing.T) {
	rect := image.Rect(0, 0, 6, 4)
	for _, tc := range []struct {
		name string
		cfg  image.Config
		err  error
	}{
		{"copied", image.Config{Width: 6, Height: 4}, nil},
		{"short", image.Config{Width: 3, Height: 4}, errNoPixels},
	} {
		for _, src := range decodedImages(rect) {
			var img *Image
			err := fromImage(src, tc.cfg, FormatPNG, &img)
			if !errors.Is(err, tc.err) {
				t.Fatalf("%s %T: error %v, want %v", tc.name, src, err, tc.err)
			}
			img.Release()
			for _, b := range decodedPlanes(src) {
				if !allZero(b) {
					t.Errorf("%s %T: the decoder's image is not wiped", tc.name, src)
					break
				}
			}
		}
	}
}

// panicImage is an image whose At panics at one pixel, as a bug in the
// copy would, after it records the RGB buffer that fromImage is filling.
type panicImage struct {
	*image.NRGBA
	at  image.Point
	out **Image
	rgb []uint8
}

func (p *panicImage) At(x, y int) color.Color {
	if (image.Point{x, y}) == p.at {
		p.rgb = (*p.out).RGB
		panic("copy bug")
	}
	return p.NRGBA.At(x, y)
}

// TestDecodePanicWipesImage checks that an Image that fromImage has begun
// to fill is released, and so wiped, when the copy panics.
func TestDecodePanicWipesImage(t *testing.T) {
	src := &panicImage{NRGBA: image.NewNRGBA(image.Rect(0, 0, 8, 8)), at: image.Pt(3, 5)}
	for i := range src.Pix {
		src.Pix[i] = 0x80
	}
	_, err := recoverDecode(FormatPNG, func(out **Image) error {
		src.out = out
		return fromImage(src, image.Config{Width: 8, Height: 8}, FormatPNG, out)
	})
	if !errors.Is(err, errDecoderPanic) {
		t.Fatalf("error %v, want the decoder panic", err)
	}
	if src.rgb == nil {
		t.Fatal("fromImage did not store its Image before copying")
	}
	if !allZero(src.rgb[:cap(src.rgb)]) {
		t.Error("the half-filled RGB buffer is not wiped")
	}
}

// TestReorientWipesOldPlanes checks that reorient zeroes the planes it
// replaces.
func TestReorientWipesOldPlanes(t *testing.T) {
	img := decode(t, encodePNG(t, smoothNRGBA(7, 5)))
	defer img.Release()
	oldRGB, oldAlpha := img.RGB, img.Alpha
	if oldAlpha == nil {
		t.Fatal("the test image has no alpha")
	}
	reorient(img, 6)
	if !allZero(oldRGB[:cap(oldRGB)]) {
		t.Error("the RGB plane before the orientation is not wiped")
	}
	if !allZero(oldAlpha[:cap(oldAlpha)]) {
		t.Error("the alpha plane before the orientation is not wiped")
	}
	if img.Width != 5 || img.Height != 7 {
		t.Errorf("oriented image %d×%d, want 5×7", img.Width, img.Height)
	}
	if allZero(img.RGB) {
		t.Error("the oriented image has no pixels")
	}
}
