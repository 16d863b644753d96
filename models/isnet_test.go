package models

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// findModel returns a verified copy of spec (see Locate) or skips the test.
// With RMBGD_REQUIRE_MODEL=1, as "make test" sets, a missing default model
// fails the test instead.
func findModel(t *testing.T, spec Spec) string {
	t.Helper()
	path, err := Locate(spec)
	if err != nil {
		if spec == Default && os.Getenv("RMBGD_REQUIRE_MODEL") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return path
}

// findSkeleton returns the path of isnet_skeleton.onnx: $RMBGD_SKELETON, or
// the file of that name in $RMBGD_MODEL_CACHE or Dir(). It skips the test
// when none exists.
func findSkeleton(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("RMBGD_SKELETON")}
	if cache := os.Getenv(CacheEnv); cache != "" {
		candidates = append(candidates, filepath.Join(cache, "isnet_skeleton.onnx"))
	}
	candidates = append(candidates, filepath.Join(Dir(), "isnet_skeleton.onnx"))
	for _, path := range candidates {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	t.Skip("isnet_skeleton.onnx not found: set RMBGD_SKELETON to its path")
	return ""
}

// isnetCounts are the steps ISNet's plan keeps for "output": 114 of the 119
// convolutions (the five side-output heads other than side1 are dead), all
// 112 Relus fused into them, and one Sigmoid of the six.
var isnetCounts = map[Op]int{
	OpConv: 114, OpMaxPool: 33, OpResize: 34, OpConcat: 50, OpAdd: 11, OpSigmoid: 1, OpRelu: 0,
}

func checkISNetPlan(t *testing.T, p *Plan) {
	t.Helper()
	for op, want := range isnetCounts {
		if got := p.Count(op); got != want {
			t.Errorf("%d %s steps, want %d", got, op, want)
		}
	}

	fused := 0
	for _, s := range p.Steps {
		if s.Conv != nil && s.Conv.ReLU {
			fused++
		}
	}
	if fused != 112 {
		t.Errorf("%d convolutions with a fused Relu, want 112", fused)
	}

	if got := p.Values[p.Input]; got != (Value{Name: "input", C: 3, H: 1024, W: 1024}) {
		t.Errorf("input value = %+v, want input 3×1024×1024", got)
	}
	if got := p.Values[p.Output]; got.C != 1 || got.H != 1024 || got.W != 1024 {
		t.Errorf("output value = %+v, want 1×1024×1024", got)
	}
	if p.InputName != "input" || p.OutputName != "output" {
		t.Errorf("input and output names = %q, %q", p.InputName, p.OutputName)
	}
	if last := p.Steps[len(p.Steps)-1]; last.Op != OpSigmoid || last.Output != p.Output {
		t.Errorf("last step is %s %q, want the Sigmoid writing the output", last.Op, last.Name)
	}

	// 159.60 GMAC for the live convolutions. The dead side heads add 0.07 G.
	if p.MACs < 159.5e9 || p.MACs > 159.7e9 {
		t.Errorf("MACs = %d, want about 159.6e9", p.MACs)
	}
	checkTopological(t, p)
}

func TestLoadPlanISNet(t *testing.T) {
	path := findModel(t, Default)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	p, err := LoadPlan(path, 1024)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)

	checkISNetPlan(t, p)
	// The importer may allocate the file and the float32 weights, plus a
	// little bookkeeping, and nothing on the scale of another copy.
	allocated := after.TotalAlloc - before.TotalAlloc
	budget := uint64(Default.Size) + uint64(p.WeightBytes()) + 16<<20
	if allocated > budget {
		t.Errorf("LoadPlan allocated %d MiB, want at most file + weights + 16 MiB = %d MiB",
			allocated>>20, budget>>20)
	}
	for _, s := range p.Steps {
		if s.Conv == nil {
			continue
		}
		for _, w := range s.Conv.Weight {
			if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
				t.Fatalf("step %s: weight %g", s.Name, w)
			}
		}
	}
	t.Logf("loaded in %v: %d steps, %d values, %.2f GMAC, %d MiB weights, %d MiB allocated",
		elapsed, len(p.Steps), len(p.Values), float64(p.MACs)/1e9, p.WeightBytes()>>20,
		allocated>>20)
}

func TestFoldISNetAllConvs(t *testing.T) {
	data, err := os.ReadFile(findModel(t, Default))
	if err != nil {
		t.Fatal(err)
	}
	b, err := fold(data, 1024)
	if err != nil {
		t.Fatal(err)
	}
	convs, relus := 0, 0
	var macs int64
	for _, s := range b.plan.Steps {
		switch s.Op {
		case OpConv:
			convs++
			o := b.plan.Values[s.Output]
			macs += s.Conv.MACs(o.H, o.W)
		case OpRelu:
			relus++
		}
	}
	if convs != 119 || relus != 112 {
		t.Errorf("folded graph has %d Conv and %d Relu, want 119 and 112", convs, relus)
	}
	if macs < 159.65e9 || macs > 159.75e9 {
		t.Errorf("all convolutions: %d MACs, want about 159.7e9", macs)
	}
}

func TestLoadPlanISNetOtherSide(t *testing.T) {
	// The export bakes 1024-based Resize targets into constants, so no other
	// side can fold, and the error must name the node where sizes disagree.
	path := findModel(t, Default)
	_, err := LoadPlan(path, 512)
	if err == nil {
		t.Fatal("LoadPlan(512) succeeded, want a size mismatch")
	}
	t.Log(err)
}

func TestLoadSkeletonISNet(t *testing.T) {
	path := findSkeleton(t)
	p, err := LoadSkeleton(path, 1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkISNetPlan(t, p)

	again, err := LoadSkeleton(path, 1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadSkeleton(path, 1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range p.Steps {
		if s.Conv == nil {
			continue
		}
		if !slices.Equal(s.Conv.Weight, again.Steps[i].Conv.Weight) {
			t.Fatalf("step %s: weights differ between two loads with seed 1", s.Name)
		}
		if len(s.Conv.Weight) > 64 && slices.Equal(s.Conv.Weight, other.Steps[i].Conv.Weight) {
			t.Fatalf("step %s: seeds 1 and 2 give equal weights", s.Name)
		}
		checkHeScale(t, s)
	}
}

// checkHeScale fails unless a generated weight has the variance 2/fanIn of
// He initialization, within the sampling error of its element count.
func checkHeScale(t *testing.T, s Step) {
	t.Helper()
	w := s.Conv.Weight
	if len(w) <= 64 {
		return // stored in the skeleton
	}
	var sum float64
	for _, v := range w {
		sum += float64(v) * float64(v)
	}
	variance := sum / float64(len(w))
	want := 2 / float64(s.Conv.InC*s.Conv.KH*s.Conv.KW)
	// A uniform sample's variance estimate has relative error about
	// 0.9/sqrt(n); six of those is far outside chance.
	if tol := 6 * 0.9 / math.Sqrt(float64(len(w))); math.Abs(variance/want-1) > tol {
		t.Errorf("step %s: weight variance %.3g, want %.3g ± %.0f%%",
			s.Name, variance, want, 100*tol)
	}
}

func TestParseSkeletonTiny(t *testing.T) {
	// w2 and b3 without data, as a skeleton stores them; the rest as stored.
	data, w1, b1, _, w3, _ := tinyModel(tinyOptions{side: 9,
		encode: func(name string, dims []int64, v []float32) *pbuf {
			if name == "w2" || name == "b3" {
				return tensorHead(name, dtypeFloat16, dims)
			}
			return tensorF16(name, dims, v)
		}})
	if _, err := ParsePlan(data, 9); err == nil {
		t.Fatal("ParsePlan accepted initializers without data")
	}
	p, err := ParseSkeleton(data, 9, 7)
	if err != nil {
		t.Fatal(err)
	}
	conv1, conv2, conv3 := p.Steps[0].Conv, p.Steps[2].Conv, p.Steps[5].Conv
	if !slices.Equal(conv1.Weight, w1) || !slices.Equal(conv1.Bias, b1) ||
		!slices.Equal(conv3.Weight, w3) {
		t.Error("stored initializers were not used as stored")
	}
	limit := float32(math.Sqrt(6.0 / 36))
	if len(conv2.Weight) != 4*4*3*3 {
		t.Fatalf("generated weight has %d elements, want 144", len(conv2.Weight))
	}
	for _, v := range conv2.Weight {
		if v < -limit || v > limit {
			t.Fatalf("generated weight %g outside ±%g", v, limit)
		}
	}
	if b := conv3.Bias[0]; b == 0 || b < -1/float32(math.Sqrt(8)) || b > 1/float32(math.Sqrt(8)) {
		t.Errorf("generated bias %g, want nonzero within ±1/sqrt(8)", b)
	}
}
