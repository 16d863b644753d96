package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"hash/adler32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand"
	"runtime"
	"testing"
)

func TestEncodeCutoutPNG(t *testing.T) {
	const w, h = 37, 23
	img := &Image{Width: w, Height: h, RGB: smooth(w, h, 3)}
	mask := noise(w*h, 5)
	for i := 0; i < w*h; i += 3 {
		mask[i] = 0
	}
	var buf bytes.Buffer
	if err := EncodeCutoutPNG(&buf, img, mask); err != nil {
		t.Fatal(err)
	}
	dec, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("image/png cannot read the output: %v", err)
	}
	nrgba, ok := dec.(*image.NRGBA)
	if !ok {
		t.Fatalf("decoded as %T, want *image.NRGBA (8-bit straight alpha)", dec)
	}
	for i := 0; i < w*h; i++ {
		if got, want := [4]uint8(nrgba.Pix[4*i:]), cutoutPixel(img.RGB[3*i:], mask[i]); got != want {
			t.Fatalf("pixel %d = %v, want %v", i, got, want)
		}
	}
}

// cutoutPixel is the plain form of a cut-out pixel: rgb's first three
// bytes and alpha a, or all zeros when a is 0.
func cutoutPixel(rgb []uint8, a uint8) [4]uint8 {
	if a == 0 {
		return [4]uint8{}
	}
	return [4]uint8{rgb[0], rgb[1], rgb[2], a}
}

func TestEncodeMaskPNG(t *testing.T) {
	for _, sz := range [][3]int{{1, 1, 0}, {3, 2, 0}, {300, 200, 0}, {300, 200, 1}, {64, 64, 2}} {
		w, h := sz[0], sz[1]
		mask := noise(w*h, uint64(w))
		switch sz[2] {
		case 1: // a plane: Paeth predicts it exactly, so it gets chosen
			for i := range mask {
				mask[i] = uint8(i%w + 2*(i/w))
			}
		case 2: // vertical stripes: Up
			for i := range mask {
				mask[i] = uint8(37 * (i % w))
			}
		}
		var buf bytes.Buffer
		if err := EncodeMaskPNG(&buf, mask, w, h); err != nil {
			t.Fatal(err)
		}
		dec, err := png.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%d×%d: image/png cannot read the output: %v", w, h, err)
		}
		g, ok := dec.(*image.Gray)
		if !ok || !bytes.Equal(g.Pix, mask) {
			t.Fatalf("%d×%d pattern %d: decoded %T does not equal the mask", w, h, sz[2], dec)
		}
	}
}

func TestEncodeCutoutJPEG(t *testing.T) {
	const w, h = 32, 16
	img := &Image{Width: w, Height: h, RGB: make([]uint8, 3*w*h)}
	for i := 0; i < w*h; i++ {
		img.RGB[3*i], img.RGB[3*i+1], img.RGB[3*i+2] = 250, 10, 10
	}
	mask := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w/2; x++ {
			mask[y*w+x] = 255 // left half foreground, right half background
		}
	}
	var buf bytes.Buffer
	if err := EncodeCutoutJPEG(&buf, img, mask, color.RGBA{0, 0, 255, 255}); err != nil {
		t.Fatal(err)
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	fg := color.RGBAModel.Convert(dec.At(4, 8)).(color.RGBA)
	bg := color.RGBAModel.Convert(dec.At(28, 8)).(color.RGBA)
	if fg.R < 200 || fg.B > 60 {
		t.Errorf("foreground %v, want about red", fg)
	}
	if bg.B < 200 || bg.R > 60 {
		t.Errorf("background %v, want about blue", bg)
	}
}

func TestEncodeShortMask(t *testing.T) {
	img := &Image{Width: 4, Height: 4, RGB: make([]uint8, 48)}
	short := make([]uint8, 15)
	var buf bytes.Buffer
	for name, err := range map[string]error{
		"cutout-png":  EncodeCutoutPNG(&buf, img, short),
		"mask-png":    EncodeMaskPNG(&buf, short, 4, 4),
		"cutout-jpeg": EncodeCutoutJPEG(&buf, img, short, color.RGBA{}),
	} {
		if !errors.Is(err, errMaskSize) {
			t.Errorf("%s: error %v, want the mask size error", name, err)
		}
	}
}

func TestPaethPredictor(t *testing.T) {
	tests := []struct{ a, b, c, want uint8 }{
		{10, 20, 10, 20},  // p = 20: nearest is b
		{20, 10, 10, 20},  // p = 20: nearest is a
		{10, 10, 20, 10},  // p = 0: a and b tie, a wins
		{100, 50, 75, 75}, // p = 75: c
		{255, 255, 0, 255},
	}
	for _, tc := range tests {
		if got := paeth(tc.a, tc.b, tc.c); got != tc.want {
			t.Errorf("paeth(%d, %d, %d) = %d, want %d", tc.a, tc.b, tc.c, got, tc.want)
		}
	}
}

// BenchmarkEncodePNG compares the cut-out encoder with image/png at
// BestSpeed on the same 12 MP RGBA picture. Each reports its output size
// in bytes per pixel next to its speed.
func BenchmarkEncodePNG(b *testing.B) {
	const w, h = 4000, 3000
	img := &Image{Width: w, Height: h, RGB: smooth(w, h, 3)}
	mask := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (x-2000)*(x-2000)+(y-1500)*(y-1500) < 1200*1200 {
				mask[y*w+x] = 255
			}
		}
	}
	b.Run("imaging", func(b *testing.B) {
		var buf bytes.Buffer
		b.SetBytes(4 * w * h)
		for b.Loop() {
			buf.Reset()
			if err := EncodeCutoutPNG(&buf, img, mask); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len())/(w*h), "bytes/px")
	})
	b.Run("image-png", func(b *testing.B) {
		rgba := nrgbaOf(img, mask)
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		var buf bytes.Buffer
		b.SetBytes(4 * w * h)
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(&buf, rgba); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len())/(w*h), "bytes/px")
	})
}

// TestFilterRowChoice checks the filter type bytes, which PNG numbers None
// 0, Sub 1, Up 2, Paeth 4, on rows each filter predicts best.
func TestFilterRowChoice(t *testing.T) {
	const w = 64
	tests := []struct {
		name      string
		prev, cur func(x int) uint8
		want      byte
		first     bool
		wantFirst byte
	}{
		{"none", func(int) uint8 { return 0 }, func(x int) uint8 { return uint8(x * 97) }, 0, false, 0},
		{"sub", func(x int) uint8 { return uint8(x * 101) }, func(x int) uint8 { return uint8(3 * x) }, 1, false, 0},
		{"up", func(x int) uint8 { return uint8(x * 97) }, func(x int) uint8 { return uint8(x*97 + 1) }, 2, false, 0},
		{"paeth", func(x int) uint8 { return uint8(x*x + 7) }, func(x int) uint8 { return uint8(x*x + 9) }, 4, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scratch := make([]uint8, 6*(w+1))
			rb := pngRowBuffers{cur: scratch[1 : w+1], prev: scratch[w+2 : 2*w+2]}
			for f := range rb.filtered {
				rb.filtered[f] = scratch[(f+2)*(w+1):][:w+1]
			}
			for x := 0; x < w; x++ {
				rb.prev[x], rb.cur[x] = tc.prev(x), tc.cur(x)
			}
			if got := filterRow(&rb, 1, false)[0]; got != tc.want {
				t.Errorf("filter type %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFilterPaethAVX2MatchesGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("the CPU has no AVX2")
	}
	rng := rand.New(rand.NewSource(3))
	for _, bpp := range []int{1, 3, 4} {
		for _, n := range []int{1, 4, 15, 16, 17, 20, 33, 64, 100, 1001} {
			cur, prev := make([]uint8, n), make([]uint8, n)
			for i := range cur {
				cur[i], prev[i] = uint8(rng.Intn(256)), uint8(rng.Intn(256))
				if i%5 == 0 { // ties between the predictors
					prev[i] = cur[i]
				}
			}
			got, want := make([]uint8, n), make([]uint8, n)
			filterPaeth(got, cur, prev, bpp)
			copy(want, got[:min(bpp, n)])
			filterPaethGo(want, cur, prev, bpp, min(bpp, n))
			if !bytes.Equal(got, want) {
				t.Fatalf("bpp %d, %d bytes: AVX2 and Go filters differ", bpp, n)
			}
		}
	}
}

func TestPNGEncoderLevels(t *testing.T) {
	// Over stripSize bytes of RGBA, so the stream spans several strips.
	const w, h = 800, 600
	img := &Image{Width: w, Height: h, RGB: smooth(w, h, 3)}
	mask := noise(w*h, 9)
	for i := range mask[:w*h/2] {
		mask[i] = 0 // a flat half, where LZ77 wins
	}
	for _, level := range []int{PNGAdaptive, PNGHuffmanOnly, 1, 2, 6, 9} {
		t.Run(fmt.Sprint(level), func(t *testing.T) {
			enc := PNGEncoder{Level: level}
			var buf bytes.Buffer
			if err := enc.EncodeCutout(&buf, img, mask); err != nil {
				t.Fatal(err)
			}
			dec, err := png.Decode(&buf)
			if err != nil {
				t.Fatalf("image/png cannot read the output: %v", err)
			}
			nrgba := dec.(*image.NRGBA)
			for i := range mask {
				got, want := [4]uint8(nrgba.Pix[4*i:]), cutoutPixel(img.RGB[3*i:], mask[i])
				if got != want {
					t.Fatalf("pixel %d = %v, want %v", i, got, want)
				}
			}
			buf.Reset()
			if err := enc.EncodeMask(&buf, mask, w, h); err != nil {
				t.Fatal(err)
			}
			if g, err := png.Decode(&buf); err != nil || !bytes.Equal(g.(*image.Gray).Pix, mask) {
				t.Fatalf("mask does not round-trip: %v", err)
			}
		})
	}
	for _, level := range []int{-3, -1, 10} {
		err := PNGEncoder{Level: level}.EncodeMask(io.Discard, mask, w, h)
		if err == nil {
			t.Errorf("level %d: no error", level)
		}
	}
}

func TestAdler32MatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, asm := range []bool{false, true} {
		if asm && !useAVX2 {
			continue
		}
		for _, n := range []int{0, 1, 31, 32, 33, 5552, 32*adler32MaxBlocks + 7, 3 << 20} {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(rng.Intn(256))
			}
			if n > 1000 {
				fill(p[:1000], 0xff) // the largest sums
			}
			saved := useAVX2
			useAVX2 = asm
			d := newAdler32()
			// Two writes, so the state carries from one to the next.
			d.Write(p[:n/3])
			d.Write(p[n/3:])
			useAVX2 = saved
			if got, want := d.Sum32(), adler32.Checksum(p); got != want {
				t.Errorf("asm %v, %d bytes: %#08x, want %#08x", asm, n, got, want)
			}
		}
	}
}

func TestInterleaveAVX2MatchesGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("the CPU has no AVX2")
	}
	rng := rand.New(rand.NewSource(8))
	for _, n := range []int{1, 7, 8, 9, 10, 16, 17, 63, 64, 1001} {
		for _, slack := range []int{0, 3, 4, 100} { // bytes of rgb past the row
			rgb := make([]uint8, 3*n+slack)
			alpha := make([]uint8, n)
			for i := range rgb {
				rgb[i] = uint8(rng.Intn(256))
			}
			for i := range alpha {
				if rng.Intn(2) == 0 { // half transparent, which clears RGB too
					alpha[i] = uint8(rng.Intn(256))
				}
			}
			got, want := make([]uint8, 4*n), make([]uint8, 4*n)
			interleave(got, rgb, alpha)
			interleaveGo(want, rgb, alpha)
			if !bytes.Equal(got, want) {
				t.Fatalf("%d pixels, %d bytes of slack: AVX2 and Go rows differ", n, slack)
			}
		}
	}
}

func TestAdler32Combine(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, n := range []int{0, 1, 2, 100, 65521, 65522, 200000} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Intn(256))
		}
		for _, cut := range []int{0, n / 3, n} {
			a := adler32.Checksum(p[:cut])
			b := adler32.Checksum(p[cut:])
			if got, want := adler32Combine(a, b, n-cut), adler32.Checksum(p); got != want {
				t.Errorf("%d bytes cut at %d: %#08x, want %#08x", n, cut, got, want)
			}
		}
	}
}

// TestEncodeUnitsParallel encodes images of several units on one
// goroutine and on several, and requires the same bytes and a faithful
// decode from both.
func TestEncodeUnitsParallel(t *testing.T) {
	cases := []struct {
		name string
		w, h int
		gray bool
	}{
		{"cutout 2 units", 1100, 700, false},
		{"cutout 5 units, short last", 1500, 1500, false},
		{"mask 3 units", 3000, 1500, true},
		{"one unit", 300, 200, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := &Image{Width: c.w, Height: c.h, RGB: smooth(c.w, c.h, 3)}
			mask := noise(c.w*c.h, 3)
			for i := range mask[:len(mask)/2] { // a flat half, where level 1 wins
				mask[i] = 255
			}
			encode := func(procs int) []byte {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				var buf bytes.Buffer
				var err error
				if c.gray {
					err = EncodeMaskPNG(&buf, mask, c.w, c.h)
				} else {
					err = EncodeCutoutPNG(&buf, img, mask)
				}
				if err != nil {
					t.Fatal(err)
				}
				return buf.Bytes()
			}
			serial, parallel := encode(1), encode(4)
			if !bytes.Equal(serial, parallel) {
				t.Fatalf("parallel output differs: %d bytes, serial %d", len(parallel), len(serial))
			}
			dec, err := png.Decode(bytes.NewReader(parallel))
			if err != nil {
				t.Fatalf("image/png cannot read the output: %v", err)
			}
			for i := 0; i < c.w*c.h; i += 997 {
				x, y := i%c.w, i/c.w
				if c.gray {
					if g := dec.(*image.Gray).GrayAt(x, y).Y; g != mask[i] {
						t.Fatalf("pixel %d = %d, want %d", i, g, mask[i])
					}
					continue
				}
				p := dec.(*image.NRGBA).NRGBAAt(x, y)
				got, want := [4]uint8{p.R, p.G, p.B, p.A}, cutoutPixel(img.RGB[3*i:], mask[i])
				if got != want {
					t.Fatalf("pixel %d = %v, want %v", i, got, want)
				}
			}
		})
	}
}

// failAfter is a writer that fails once it has taken n bytes.
type failAfter struct{ n int }

var errWriterFull = errors.New("writer full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errWriterFull
	}
	f.n -= len(p)
	return len(p), nil
}

// TestEncodeUnitsWriteError stops a parallel encode at several points and
// requires the writer's error back, with no worker left running.
func TestEncodeUnitsWriteError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const w, h = 1500, 1500
	img := &Image{Width: w, Height: h, RGB: smooth(w, h, 3)}
	mask := noise(w*h, 4)
	before := runtime.NumGoroutine()
	for _, n := range []int{0, 100, 1 << 20, 3 << 20} {
		err := EncodeCutoutPNG(&failAfter{n: n}, img, mask)
		if !errors.Is(err, errWriterFull) {
			t.Errorf("writer full after %d bytes: error %v, want %v", n, err, errWriterFull)
		}
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines after the failed encodes, %d before", after, before)
	}
}
