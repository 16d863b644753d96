package imaging

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

func TestPreprocessLayout(t *testing.T) {
	// At the model's size nothing is resampled, so each value is the LUT's.
	img := &Image{Width: 2, Height: 2, RGB: []uint8{
		0, 1, 2, 3, 4, 5,
		255, 128, 64, 10, 20, 30,
	}}
	dst := make([]float32, 12)
	Preprocess(img, 2, dst)
	want := []uint8{0, 3, 255, 10, 1, 4, 128, 20, 2, 5, 64, 30} // R plane, G plane, B plane
	for i, v := range want {
		if w := float32(float64(v)/255 - 0.5); dst[i] != w {
			t.Errorf("dst[%d] = %v, want %v (sample %d)", i, dst[i], w, v)
		}
	}
	if dst[0] != -0.5 || dst[2] != 0.5 {
		t.Errorf("range ends %v and %v, want -0.5 and 0.5", dst[0], dst[2])
	}
}

func TestPreprocessUsesPremultipliedAlpha(t *testing.T) {
	const w, h = 8, 8
	img := &Image{Width: w, Height: h, RGB: make([]uint8, 3*w*h), Alpha: make([]uint8, w*h)}
	fill(img.RGB, 200) // hidden under alpha 0
	dst := make([]float32, 3*16*16)
	Preprocess(img, 16, dst)
	for i, v := range dst {
		if v != -0.5 {
			t.Fatalf("dst[%d] = %v: colour under alpha 0 leaked, want -0.5", i, v)
		}
	}
}

func TestNormalizeMask(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		in   []float32
		want []uint8
	}{
		{"range", []float32{0.2, 0.6, 1.0}, []uint8{0, 128, 255}},
		{"flat", []float32{0.7, 0.7, 0.7}, []uint8{0, 0, 0}},
		{"half-rounds-up", []float32{0, 0.5 / 255, 1}, []uint8{0, 1, 255}},
		{"nan-ignored", []float32{nan, 0, 1}, []uint8{0, 0, 255}},
		{"negative", []float32{-2, -1, 0}, []uint8{0, 128, 255}},
		// Multiplying by 255/100 instead of dividing puts 50 and 90 just
		// under 127.5 and 229.5.
		{"product-below-half", []float32{0, 50, 90, 100}, []uint8{0, 128, 230, 255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]uint8, len(tc.in))
			normalizeMask(got, tc.in)
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
}

// TestNormalizeMaskMatchesDivision checks normalizeMask against the
// reference formula, division and all, on random maps whose values include
// many that sit on or next to a rounding boundary.
func TestNormalizeMaskMatchesDivision(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for trial := range 200 {
		n := 1 + rng.IntN(5000)
		lo := float32(rng.NormFloat64() * 10)
		span := float32(math.Exp(rng.NormFloat64() * 3))
		y := make([]float32, n)
		for i := range y {
			switch rng.IntN(4) {
			case 0: // on a boundary as float32 rounds it, or one step away
				k := float64(rng.IntN(255)) + 0.5
				v := float32(float64(lo) + k/255*float64(span))
				y[i] = math.Nextafter32(v, float32(math.Inf(rng.IntN(3)-1)))
			default:
				y[i] = lo + span*rng.Float32()
			}
		}
		y[0], y[n-1] = lo, lo+span
		if trial%50 == 0 {
			y[n/2] = float32(math.NaN())
		}

		got := make([]uint8, n)
		normalizeMask(got, y)
		want := referenceNormalize(y)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("trial %d: value %d (%v) maps to %d, want %d", trial, i, y[i],
					got[i], want[i])
			}
		}
	}
}

// referenceNormalize is the reference pipeline's min–max normalization,
// written plainly.
func referenceNormalize(y []float32) []uint8 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range y {
		if !math.IsNaN(float64(v)) {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	out := make([]uint8, len(y))
	for i, v := range y {
		x := (float64(v) - lo) / span * 255
		if math.IsNaN(x) {
			continue
		}
		r := math.Floor(x)
		if x-r >= 0.5 { // half up, as Math.round
			r++
		}
		out[i] = uint8(min(255, max(0, r)))
	}
	return out
}

func TestPostprocessAlphaCap(t *testing.T) {
	const side = 16
	out := make([]float32, side*side)
	for i := range out {
		out[i] = float32(i%side) / side // a left-to-right ramp
	}
	img := &Image{Width: 32, Height: 32, RGB: make([]uint8, 3*32*32)}
	plain := make([]uint8, 32*32)
	Postprocess(out, side, img, plain)

	img.Alpha = make([]uint8, 32*32)
	for i := range img.Alpha {
		img.Alpha[i] = uint8(i % 256)
	}
	capped := make([]uint8, 32*32)
	Postprocess(out, side, img, capped)
	for i := range capped {
		if want := min(plain[i], img.Alpha[i]); capped[i] != want {
			t.Fatalf("pixel %d: %d, want min(%d, alpha %d)", i, capped[i], plain[i], img.Alpha[i])
		}
	}
	if plain[31] < 250 || plain[0] != 0 {
		t.Errorf("ramp ends at %d and %d, want 0 and about 255", plain[0], plain[31])
	}
}

func TestPostprocessOrientedImage(t *testing.T) {
	// The mask is resized straight to the displayed size; the orientation
	// plays no part, unlike in Preprocess.
	const side = 8
	out := make([]float32, side*side)
	out[0] = 1 // top-left corner of the model's output
	img := &Image{Width: 4, Height: 12, RGB: make([]uint8, 3*4*12), orientation: 6}
	mask := make([]uint8, 4*12)
	Postprocess(out, side, img, mask)
	if mask[0] == 0 || mask[len(mask)-1] != 0 {
		t.Errorf("mask corners %d and %d: the output's top-left must stay top-left", mask[0], mask[len(mask)-1])
	}
}

func TestForeground(t *testing.T) {
	tests := []struct {
		name string
		set  [][2]int // pixels at 128 in an 8×6 mask
		near [][2]int // pixels at 127
		want image.Rectangle
	}{
		{"empty", nil, [][2]int{{3, 3}}, image.Rectangle{}},
		{"one-pixel", [][2]int{{2, 4}}, nil, image.Rect(2, 4, 3, 5)},
		{"box", [][2]int{{1, 1}, {6, 2}, {3, 5}}, [][2]int{{0, 0}, {7, 5}}, image.Rect(1, 1, 7, 6)},
		{"corners", [][2]int{{0, 0}, {7, 5}}, nil, image.Rect(0, 0, 8, 6)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mask := make([]uint8, 8*6)
			for _, p := range tc.set {
				mask[p[1]*8+p[0]] = 128
			}
			for _, p := range tc.near {
				mask[p[1]*8+p[0]] = 127
			}
			if got := Foreground(mask, 8, 6); got != tc.want {
				t.Errorf("Foreground = %v, want %v", got, tc.want)
			}
		})
	}
}

func BenchmarkPreprocess(b *testing.B) {
	img := &Image{Width: 4000, Height: 3000, RGB: smooth(4000, 3000, 3)}
	dst := make([]float32, 3*ModelSide*ModelSide)
	b.SetBytes(int64(len(img.RGB)))
	b.ReportAllocs()
	for b.Loop() {
		Preprocess(img, ModelSide, dst)
	}
}

func BenchmarkPostprocess(b *testing.B) {
	out := make([]float32, ModelSide*ModelSide)
	for i := range out {
		out[i] = float32(math.Sin(float64(i) * 0.001))
	}
	img := &Image{Width: 4000, Height: 3000, RGB: make([]uint8, 3*4000*3000)}
	mask := make([]uint8, 4000*3000)
	b.ReportAllocs()
	for b.Loop() {
		Postprocess(out, ModelSide, img, mask)
	}
}

func BenchmarkNormalizeMask(b *testing.B) {
	const side = ModelSide
	y := make([]float32, side*side)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range y {
		y[i] = float32(rng.NormFloat64())
	}
	dst := make([]uint8, len(y))
	b.SetBytes(int64(len(y)) * 4)
	for b.Loop() {
		normalizeMask(dst, y)
	}
}
