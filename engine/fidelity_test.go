package engine

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMasksMatchReference runs the whole pipeline on each reference photo and
// compares the mask with the one ONNX Runtime and libvips made from it.
func TestMasksMatchReference(t *testing.T) {
	dir := requiredDir(t, "RMBGD_REFERENCE_DIR")
	p, _ := newTestPipeline(t, BatchConfig{MaxBatch: 1}, false)

	photos, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, e := range photos {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".png" && ext != ".jpg" && ext != ".jpeg") {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ext)
		ran++
		t.Run(name, func(t *testing.T) {
			photo, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			want := readGray(t, filepath.Join(dir, "masks", name+".png"))

			res, err := p.Remove(context.Background(), Job{Image: photo, Output: OutputMask})
			if err != nil {
				t.Fatal(err)
			}
			got, err := png.Decode(bytes.NewReader(res.Data))
			res.Release()
			if err != nil {
				t.Fatalf("decode our mask: %v", err)
			}
			gray, ok := got.(*image.Gray)
			if !ok {
				t.Fatalf("mask is %T, want *image.Gray", got)
			}
			if gray.Bounds() != want.Bounds() {
				t.Fatalf("mask size %v, reference %v", gray.Bounds().Size(), want.Bounds().Size())
			}

			iou, mae := compareMasks(gray, want)
			t.Logf("IoU %.4f, mean abs error %.3f/255", iou, mae*255)
			if iou < 0.99 {
				t.Errorf("IoU at 128 = %.4f, want >= 0.99", iou)
			}
			if mae > 2.0/255 {
				t.Errorf("mean abs error = %.3f/255, want <= 2/255", mae*255)
			}
		})
	}
	if ran == 0 {
		t.Fatalf("no photos in %s", dir)
	}
}

func readGray(t *testing.T, path string) *image.Gray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if g, ok := img.(*image.Gray); ok {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g
}

// compareMasks returns the IoU of the two masks thresholded at 128 and their
// mean absolute difference as a fraction of 255.
func compareMasks(a, b *image.Gray) (iou, mae float64) {
	inter, union, sum := 0, 0, 0
	for i := range a.Pix {
		fa, fb := a.Pix[i] >= 128, b.Pix[i] >= 128
		if fa && fb {
			inter++
		}
		if fa || fb {
			union++
		}
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		sum += d
	}
	iou = 1
	if union > 0 {
		iou = float64(inter) / float64(union)
	}
	return iou, float64(sum) / float64(len(a.Pix)) / 255
}
