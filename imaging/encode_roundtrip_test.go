package imaging

import (
	"bytes"
	"image"
	"image/png"
	"math/rand"
	"testing"
)

// TestEncodeMaskPNGRoundTrip decodes what EncodeMaskPNG wrote with image/png.
// Random rows make every filter type win somewhere.
func TestEncodeMaskPNGRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, size := range [][2]int{{1, 1}, {4, 3}, {16, 4}, {513, 37}} {
		w, h := size[0], size[1]
		mask := make([]uint8, w*h)
		for i := range mask {
			if rng.Intn(3) == 0 {
				mask[i] = uint8(rng.Intn(256))
			} else if i > 0 {
				mask[i] = mask[i-1] + uint8(rng.Intn(3))
			}
		}

		var buf bytes.Buffer
		if err := EncodeMaskPNG(&buf, mask, w, h); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("%dx%d: decode: %v", w, h, err)
		}
		gray, ok := img.(*image.Gray)
		if !ok {
			t.Fatalf("%dx%d: decoded %T, want *image.Gray", w, h, img)
		}
		for i := range mask {
			if gray.Pix[i] != mask[i] {
				t.Fatalf("%dx%d: pixel (%d,%d) = %d, want %d", w, h, i%w, i/w, gray.Pix[i], mask[i])
			}
		}
	}
}
