package engine

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rmbgd/rmbgd/imaging"
	"github.com/rmbgd/rmbgd/models"
)

// modelPath returns the installed model. Under `make test` (RMBGD_REQUIRE_MODEL=1)
// a missing model fails the test; a plain `go test` skips.
func modelPath(t testing.TB) string {
	t.Helper()
	path, err := models.Locate(models.Default)
	if err != nil {
		if os.Getenv("RMBGD_REQUIRE_MODEL") == "1" {
			t.Fatalf("model: %v", err)
		}
		t.Skipf("model not installed (%v)", err)
	}
	return path
}

// requiredDir returns the folder named by env, failing when make test set it
// and it is missing, and skipping when it is unset.
func requiredDir(t testing.TB, env string) string {
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

func readF32(t testing.TB, path string) []float32 {
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

var (
	sharedPlan    *models.Plan
	sharedBackend *CPUBackend
)

// testMaxBatch is the batch size the shared backend's arena is planned for.
const testMaxBatch = 2

// cpuBackend loads the real model once for all tests in the package. Tests
// must not run in parallel, because the backend serves one Run at a time.
func cpuBackend(t testing.TB) *CPUBackend {
	t.Helper()
	if sharedBackend != nil {
		return sharedBackend
	}
	plan, err := models.LoadPlan(modelPath(t), imaging.ModelSide)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewCPUBackend(plan, testMaxBatch, 0)
	if err != nil {
		t.Fatal(err)
	}
	sharedPlan, sharedBackend = plan, b
	return b
}

// TestCPUMatchesONNXRuntime feeds ONNX Runtime's own input tensor to the CPU
// backend and compares the raw output with ONNX Runtime's, element by element.
func TestCPUMatchesONNXRuntime(t *testing.T) {
	dir := requiredDir(t, "RMBGD_GOLDEN_DIR")
	b := cpuBackend(t)
	matches, _ := filepath.Glob(filepath.Join(dir, "*.in.f32"))
	if len(matches) == 0 {
		t.Fatalf("no golden tensors in %s (run make golden)", dir)
	}

	for _, inPath := range matches {
		name := filepath.Base(inPath[:len(inPath)-len(".in.f32")])
		t.Run(name, func(t *testing.T) {
			in := readF32(t, inPath)
			want := readF32(t, filepath.Join(dir, name+".out.f32"))
			got := make([]float32, len(want))
			if _, err := b.Run(context.Background(), in, got, 1); err != nil {
				t.Fatal(err)
			}

			worst, at := 0.0, 0
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > worst || math.IsNaN(d) {
					worst, at = d, i
				}
			}
			t.Logf("max abs difference %.2e at %d", worst, at)
			if !(worst <= 1e-3) {
				t.Fatalf("max abs difference %.2e at element %d (got %v, ONNX Runtime %v), want <= 1e-3",
					worst, at, got[at], want[at])
			}
		})
	}
}
