package imaging_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rmbgd/rmbgd/imaging"
	"github.com/rmbgd/rmbgd/models"
)

// envDir returns the folder named by env, skipping the test when it is
// unset (make test sets RMBGD_REFERENCE_DIR, RMBGD_GOLDEN_DIR and
// RMBGD_ORTREF).
func envDir(t *testing.T, env string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		t.Skipf("%s is not set (make test sets it)", env)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return dir
}

func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func writeFloats(t *testing.T, path string, v []float32) {
	t.Helper()
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func decodeFile(t *testing.T, path string) *imaging.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imaging.Decode(data, 0)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func readMask(t *testing.T, path string) []uint8 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	g, ok := m.(*image.Gray)
	if !ok {
		t.Fatalf("%s is %T, want 8-bit gray", path, m)
	}
	return g.Pix
}

// maskStats returns the IoU at threshold 128 and the mean absolute error in
// levels of got against want.
func maskStats(got, want []uint8) (iou, mae float64) {
	inter, union, sum := 0, 0, 0
	for i := range want {
		a, b := got[i] >= 128, want[i] >= 128
		if a && b {
			inter++
		}
		if a || b {
			union++
		}
		d := int(got[i]) - int(want[i])
		sum += max(d, -d)
	}
	if union == 0 {
		return 1, float64(sum) / float64(len(want))
	}
	return float64(inter) / float64(union), float64(sum) / float64(len(want))
}

// TestGoldenTensors checks Preprocess against ONNX Runtime's input tensors
// (made with sharp) and Postprocess on its output against the reference
// masks.
func TestGoldenTensors(t *testing.T) {
	golden := envDir(t, "RMBGD_GOLDEN_DIR")
	reference := envDir(t, "RMBGD_REFERENCE_DIR")
	photos := []struct {
		file string
		// JPEG pixels differ from libjpeg-turbo's by its IDCT rounding.
		maxDiff float64
	}{
		{"astronaut.png", 0},
		{"coffee_exif6.jpg", 8.0 / 255},
	}
	for _, p := range photos {
		name := strings.TrimSuffix(p.file, filepath.Ext(p.file))
		t.Run(name, func(t *testing.T) {
			img := decodeFile(t, filepath.Join(reference, p.file))
			defer img.Release()

			want := readFloats(t, filepath.Join(golden, name+".in.f32"))
			got := make([]float32, 3*imaging.ModelSide*imaging.ModelSide)
			imaging.Preprocess(img, imaging.ModelSide, got)
			maxDiff, sum := 0.0, 0.0
			for i := range got {
				d := math.Abs(float64(got[i] - want[i]))
				maxDiff = max(maxDiff, d)
				sum += d
			}
			t.Logf("input tensor: max abs diff %.5f, mean %.7f", maxDiff, sum/float64(len(got)))
			if maxDiff > p.maxDiff {
				t.Errorf("input tensor differs by up to %.5f, want at most %.5f", maxDiff, p.maxDiff)
			}

			out := readFloats(t, filepath.Join(golden, name+".out.f32"))
			mask := make([]uint8, img.Width*img.Height)
			imaging.Postprocess(out, imaging.ModelSide, img, mask)
			ref := readMask(t, filepath.Join(reference, "masks", name+".png"))
			if len(ref) != len(mask) {
				t.Fatalf("mask has %d pixels, reference %d", len(mask), len(ref))
			}
			for i := range mask {
				if mask[i] != ref[i] {
					t.Fatalf("mask pixel %d is %d, reference %d", i, mask[i], ref[i])
				}
			}
		})
	}
}

// TestReferenceMasks runs every reference photo through Preprocess, ONNX
// Runtime and Postprocess, and holds the masks to the product's bounds:
// IoU ≥ 0.99 at threshold 128 and MAE ≤ 2/255. About 3 s per photo.
func TestReferenceMasks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ONNX Runtime once per photo")
	}
	reference := envDir(t, "RMBGD_REFERENCE_DIR")
	ortref := os.Getenv("RMBGD_ORTREF")
	if ortref == "" {
		t.Skip("RMBGD_ORTREF is not set (make test sets it)")
	}
	model, err := models.Locate(models.Default)
	if err != nil {
		if os.Getenv("RMBGD_REQUIRE_MODEL") == "1" {
			t.Fatalf("model: %v", err)
		}
		t.Skipf("model not installed (%v)", err)
	}

	photos, err := filepath.Glob(filepath.Join(reference, "*.*"))
	if err != nil || len(photos) == 0 {
		t.Fatalf("no photos in %s", reference)
	}
	dir := t.TempDir()
	for _, photo := range photos {
		name := strings.TrimSuffix(filepath.Base(photo), filepath.Ext(photo))
		t.Run(name, func(t *testing.T) {
			img := decodeFile(t, photo)
			defer img.Release()
			in := make([]float32, 3*imaging.ModelSide*imaging.ModelSide)
			imaging.Preprocess(img, imaging.ModelSide, in)
			inPath, outPath := filepath.Join(dir, name+".in.f32"), filepath.Join(dir, name+".out.f32")
			writeFloats(t, inPath, in)
			if out, err := exec.Command(ortref, "run", model, inPath, outPath).CombinedOutput(); err != nil {
				t.Fatalf("ortref run: %v\n%s", err, out)
			}

			mask := make([]uint8, img.Width*img.Height)
			imaging.Postprocess(readFloats(t, outPath), imaging.ModelSide, img, mask)
			ref := readMask(t, filepath.Join(reference, "masks", name+".png"))
			if len(ref) != len(mask) {
				t.Fatalf("mask has %d pixels, reference %d", len(mask), len(ref))
			}
			iou, mae := maskStats(mask, ref)
			t.Logf("IoU %.6f, MAE %.4f/255", iou, mae)
			if iou < 0.99 {
				t.Errorf("IoU %.4f, want ≥ 0.99", iou)
			}
			if mae > 2 {
				t.Errorf("MAE %.3f/255, want ≤ 2/255", mae)
			}
		})
	}
}
