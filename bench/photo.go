package bench

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// SyntheticPhoto returns a w×h JPEG (quality 90) that looks like a simple
// photo: a sky and ground gradient behind a lit, textured subject, with
// sensor-like noise so that it compresses like a photo rather than a
// drawing. The same size always gives the same bytes, so benchmark runs
// send identical input without a file in the repository.
func SyntheticPhoto(w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(0x5eed, uint64(w)<<32|uint64(h)))
	horizon := h * 3 / 5
	cx, cy := float64(w)/2, float64(h)*0.55
	rx, ry := float64(w)*0.16, float64(h)*0.38 // the subject's half axes
	headY, headR := cy-ry*0.95, ry*0.28

	for y := range h {
		for x := range w {
			var r, g, b float64
			if y < horizon {
				t := float64(y) / float64(horizon)
				r, g, b = 90+80*t, 140+70*t, 230-30*t
			} else {
				t := float64(y-horizon) / float64(h-horizon)
				r, g, b = 110-40*t, 100-30*t, 60-20*t
				// Grass-like stripes.
				r += 12 * math.Sin(float64(x)*0.21+float64(y)*0.05)
			}

			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			hx, hy := (float64(x)-cx)/headR, (float64(y)-headY)/headR
			switch {
			case dx*dx+dy*dy < 1:
				// Body: a jacket lit from the left, with a woven texture.
				light := 0.65 + 0.35*(-dx)
				weave := 10 * math.Sin(float64(x)*0.9) * math.Sin(float64(y)*0.9)
				r, g, b = (170+weave)*light, (45+weave)*light, (50+weave)*light
			case hx*hx+hy*hy < 1:
				light := 0.7 + 0.3*(-hx)
				r, g, b = 225*light, 180*light, 150*light
			}

			n := rng.NormFloat64() * 4
			i := img.PixOffset(x, y)
			img.Pix[i+0] = clampByte(r + n)
			img.Pix[i+1] = clampByte(g + n)
			img.Pix[i+2] = clampByte(b + n)
			img.Pix[i+3] = 255
		}
	}

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func clampByte(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}
