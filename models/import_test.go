package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// tinyOptions varies how tinyModel encodes the same network.
type tinyOptions struct {
	side      int64
	encode    func(name string, dims []int64, data []float32) *pbuf // initializer encoding
	castTo    int64                                                 // the Cast around Resize
	noShuffle bool
}

// tinyModel is a small network with every feature the ISNet export has. It
// chains a 3×3 Conv+Relu, MaxPool in ceil mode, a dilated Conv without
// bias, and a Resize whose sizes fold from Shape/Slice/Concat/Constant, with
// Casts around it. A channel Concat, a 1×1 Conv, Add and Sigmoid follow, and
// a dead side output hangs off the dilated Conv. Nodes are stored in reverse
// order, so the importer must sort them.
func tinyModel(o tinyOptions) (data []byte, w1, b1, w2, w3, b3 []float32) {
	if o.encode == nil {
		o.encode = tensorF32
	}
	if o.castTo == 0 {
		o.castTo = dtypeFloat16
	}
	s := o.side
	w1, b1 = ramp(4*3*3*3, 1), ramp(4, 0.5)
	w2 = ramp(4*4*3*3, 0.5)
	w3, b3 = ramp(1*8*1*1, 1), []float32{0.25}
	pool := (s-2+1)/2 + 1

	g := testGraph{
		inputs: []*pbuf{valueInfo("x", dtypeFloat, -1, 3, s, s)},
		outputs: []*pbuf{
			valueInfo("y", dtypeFloat, -1, 1, s, s),
			valueInfo("side", dtypeFloat, -1, 4, pool, pool),
		},
		inits: []*pbuf{
			o.encode("w1", []int64{4, 3, 3, 3}, w1),
			o.encode("b1", []int64{4}, b1),
			o.encode("w2", []int64{4, 4, 3, 3}, w2),
			o.encode("w3", []int64{1, 8, 1, 1}, w3),
			o.encode("b3", []int64{1}, b3),
		},
	}
	g.nodes = []*pbuf{
		node("Conv", "conv1", []string{"x", "w1", "b1"}, []string{"c1"},
			attrIs("kernel_shape", 3, 3), attrIs("pads", 1, 1, 1, 1)),
		node("Relu", "relu1", []string{"c1"}, []string{"r1"}),
		node("MaxPool", "pool1", []string{"r1"}, []string{"p1"},
			attrIs("kernel_shape", 2, 2), attrIs("strides", 2, 2), attrI("ceil_mode", 1)),
		node("Conv", "conv2", []string{"p1", "w2"}, []string{"c2"},
			attrIs("dilations", 2, 2), attrIs("pads", 2, 2, 2, 2)),
		node("Relu", "relu2", []string{"c2"}, []string{"r2"}),
		node("Sigmoid", "side_sigmoid", []string{"c2"}, []string{"side"}),
		node("Shape", "shape", []string{"r2"}, []string{"shape_r2"}),
		node("Constant", "starts", nil, []string{"starts"},
			attrT("value", tensorI64("", []int64{1}, []int64{0}))),
		node("Constant", "ends", nil, []string{"ends"},
			attrT("value", tensorI64("", []int64{1}, []int64{2}))),
		node("Slice", "slice", []string{"shape_r2", "starts", "ends"}, []string{"nc"}),
		node("Constant", "hw", nil, []string{"hw"}, attrIs("value_ints", s, s)),
		node("Concat", "sizes", []string{"nc", "hw"}, []string{"sizes"}, attrI("axis", 0)),
		node("Cast", "to_half", []string{"r2"}, []string{"r2h"}, attrI("to", o.castTo)),
		node("Resize", "up", []string{"r2h", "", "", "sizes"}, []string{"up"},
			attrS("mode", "linear"), attrS("coordinate_transformation_mode", "half_pixel"),
			attrS("nearest_mode", "floor"), attrF("cubic_coeff_a", -0.75)),
		node("Cast", "to_float", []string{"up"}, []string{"upf"}, attrI("to", dtypeFloat)),
		node("Concat", "cat", []string{"upf", "r1"}, []string{"cat"}, attrI("axis", 1)),
		node("Conv", "conv3", []string{"cat", "w3", "b3"}, []string{"c3"},
			attrIs("kernel_shape", 1, 1)),
		node("Add", "add", []string{"c3", "c3"}, []string{"sum"}),
		node("Sigmoid", "sigmoid", []string{"sum"}, []string{"y"}),
	}
	if !o.noShuffle {
		slices.Reverse(g.nodes)
	}
	return g.encode(15), w1, b1, w2, w3, b3
}

func TestParsePlanTiny(t *testing.T) {
	data, w1, b1, w2, w3, b3 := tinyModel(tinyOptions{side: 9})
	p, err := ParsePlan(data, 9)
	if err != nil {
		t.Fatal(err)
	}

	wantOps := []Op{OpConv, OpMaxPool, OpConv, OpResize, OpConcat, OpConv, OpAdd, OpSigmoid}
	var ops []Op
	for _, s := range p.Steps {
		ops = append(ops, s.Op)
	}
	if !slices.Equal(ops, wantOps) {
		t.Fatalf("ops = %v, want %v", ops, wantOps)
	}
	if got := p.Values[p.Input]; got != (Value{Name: "x", C: 3, H: 9, W: 9}) {
		t.Errorf("input value = %+v", got)
	}
	if got := p.Values[p.Output]; got.C != 1 || got.H != 9 || got.W != 9 {
		t.Errorf("output value = %+v, want 1×9×9", got)
	}
	if p.InputName != "x" || p.OutputName != "y" || p.Side != 9 {
		t.Errorf("names %q %q side %d", p.InputName, p.OutputName, p.Side)
	}
	if len(p.Values) != 9 {
		t.Errorf("%d values, want 9 (fused and aliased values dropped)", len(p.Values))
	}

	conv1, pool, conv2, up := p.Steps[0], p.Steps[1], p.Steps[2], p.Steps[3]
	conv3 := p.Steps[5]
	checkConv := func(name string, s Step, want ConvAttrs) {
		t.Helper()
		got := *s.Conv
		if !slices.Equal(got.Weight, want.Weight) || !slices.Equal(got.Bias, want.Bias) {
			t.Errorf("%s: weights or bias differ from the initializers", name)
		}
		got.Weight, got.Bias, want.Weight, want.Bias = nil, nil, nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s attrs = %+v, want %+v", name, got, want)
		}
	}
	checkConv("conv1", conv1, ConvAttrs{OutC: 4, InC: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1,
		Weight: w1, Bias: b1, ReLU: true})
	checkConv("conv2", conv2, ConvAttrs{OutC: 4, InC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilationH: 2, DilationW: 2,
		Weight: w2, Bias: make([]float32, 4), ReLU: true})
	checkConv("conv3", conv3, ConvAttrs{OutC: 1, InC: 8, KH: 1, KW: 1, StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1, Weight: w3, Bias: b3})

	if *pool.Pool != (PoolAttrs{KH: 2, KW: 2, StrideH: 2, StrideW: 2, CeilMode: true}) {
		t.Errorf("pool attrs = %+v", *pool.Pool)
	}
	if v := p.Values[pool.Output]; v.H != 5 || v.W != 5 {
		t.Errorf("pool output %d×%d, want 5×5 (ceil mode)", v.H, v.W)
	}
	if *up.Resize != (ResizeAttrs{OutH: 9, OutW: 9}) {
		t.Errorf("resize attrs = %+v", *up.Resize)
	}
	if conv1.Name != "conv1" || p.Values[conv1.Output].Name != "r1" {
		t.Errorf("fused conv1 is %q writing %q, want conv1 writing r1",
			conv1.Name, p.Values[conv1.Output].Name)
	}
	cat := p.Steps[4]
	if !slices.Equal(cat.Inputs, []int{up.Output, conv1.Output}) {
		t.Errorf("concat inputs %v, want [resize conv1]", cat.Inputs)
	}
	if add := p.Steps[6]; add.Inputs[0] != conv3.Output || add.Inputs[1] != conv3.Output {
		t.Errorf("add inputs %v, want conv3's output twice", add.Inputs)
	}

	wantMACs := int64(4*3*9*81 + 4*4*9*25 + 8*81)
	if p.MACs != wantMACs {
		t.Errorf("MACs = %d, want %d", p.MACs, wantMACs)
	}
	checkTopological(t, p)
}

// checkTopological fails unless every step reads only the input or values
// written by earlier steps, and each value is written once.
func checkTopological(t *testing.T, p *Plan) {
	t.Helper()
	written := make([]bool, len(p.Values))
	written[p.Input] = true
	for _, s := range p.Steps {
		for _, in := range s.Inputs {
			if !written[in] {
				t.Fatalf("step %s reads value %d before it is written", s.Name, in)
			}
		}
		if written[s.Output] {
			t.Fatalf("step %s writes value %d a second time", s.Name, s.Output)
		}
		written[s.Output] = true
	}
	if !written[p.Output] {
		t.Fatal("no step writes the output")
	}
}

func TestParsePlanWeightEncodings(t *testing.T) {
	want, err := ParsePlan(first(tinyModel(tinyOptions{side: 9})), 9)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		encode func(string, []int64, []float32) *pbuf
	}{
		{"float32 float_data", tensorF32Field},
		{"float16 raw_data", tensorF16},
		{"float16 int32_data", tensorF16Int32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePlan(first(tinyModel(tinyOptions{side: 9, encode: tt.encode})), 9)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range p.Steps {
				if s.Conv == nil {
					continue
				}
				w := want.Steps[i].Conv
				if !slices.Equal(s.Conv.Weight, w.Weight) || !slices.Equal(s.Conv.Bias, w.Bias) {
					t.Errorf("step %s: weights differ from the float32 raw_data encoding", s.Name)
				}
			}
		})
	}
}

func first(data []byte, _ ...[]float32) []byte { return data }

func TestHalfBits(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.33325195},
		{0x7bff, 65504},
		{0x0400, 6.1035156e-05},  // smallest normal
		{0x0001, 5.9604645e-08},  // smallest subnormal
		{0x03ff, 6.0975552e-05},  // largest subnormal
		{0x8001, -5.9604645e-08}, // negative subnormal
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := halfBits(tt.bits); got != tt.want {
			t.Errorf("halfBits(%#04x) = %g, want %g", tt.bits, got, tt.want)
		}
	}
	if got := halfBits(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("halfBits(0x7e00) = %g, want NaN", got)
	}
	if got := math.Float32bits(halfBits(0x8000)); got != 0x80000000 {
		t.Errorf("halfBits(0x8000) bits = %#x, want negative zero", got)
	}
}

func TestHalfToFloat32Parallel(t *testing.T) {
	// Over one grain, so the conversion splits across goroutines.
	n := 1<<18*3 + 7
	src := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		src[2*i], src[2*i+1] = byte(i), byte(i>>8)
	}
	dst := make([]float32, n)
	halfToFloat32(dst, src)
	for i := 0; i < n; i++ {
		want := halfBits(uint16(i))
		if dst[i] != want && !(math.IsNaN(float64(dst[i])) && math.IsNaN(float64(want))) {
			t.Fatalf("element %d = %g, want %g", i, dst[i], want)
		}
	}
}

// oneNodeModel is a graph of the single node n from "x" (1×c×h×w) to "y".
func oneNodeModel(c, h, w int64, n *pbuf, inits ...*pbuf) []byte {
	g := testGraph{
		nodes:   []*pbuf{n},
		inits:   inits,
		inputs:  []*pbuf{valueInfo("x", dtypeFloat, 1, c, h, w)},
		outputs: []*pbuf{valueInfo("y", dtypeFloat)},
	}
	return g.encode(15)
}

func convModel(h int64, attrs ...*pbuf) []byte {
	n := node("Conv", "conv", []string{"x", "w", "b"}, []string{"y"}, attrs...)
	return oneNodeModel(3, h, h, n,
		tensorF32("w", []int64{2, 3, 3, 3}, ramp(2*3*3*3, 1)),
		tensorF32("b", []int64{2}, []float32{0.5, -0.25}))
}

// TestPlanMatchesONNXRuntime runs small models through ONNX Runtime (the
// ortref tool that RMBGD_ORTREF names) and through the plan's reference
// executor, and compares the outputs. It checks that the importer reads
// every attribute with ONNX Runtime's meaning.
func TestPlanMatchesONNXRuntime(t *testing.T) {
	ortref := os.Getenv("RMBGD_ORTREF")
	if ortref == "" {
		t.Skip("RMBGD_ORTREF is unset: set it to the ortref tool to compare with ONNX Runtime")
	}
	// Float32 casts around Resize keep ONNX Runtime in float32 throughout, so
	// the outputs must agree to rounding.
	tiny, _, _, _, _, _ := tinyModel(tinyOptions{side: 9, castTo: dtypeFloat})
	tests := []struct {
		name string
		side int
		c    int64
		data []byte
	}{
		{"tiny network", 9, 3, tiny},
		{"conv stride 2 asymmetric pads", 9, 3,
			convModel(9, attrIs("strides", 2, 2), attrIs("pads", 1, 0, 0, 1))},
		{"conv SAME_UPPER stride 2", 8, 3,
			convModel(8, attrIs("strides", 2, 2), attrS("auto_pad", "SAME_UPPER"))},
		{"conv SAME_LOWER stride 2", 8, 3,
			convModel(8, attrIs("strides", 2, 2), attrS("auto_pad", "SAME_LOWER"))},
		{"conv VALID dilation 2", 9, 3,
			convModel(9, attrIs("dilations", 2, 2), attrS("auto_pad", "VALID"))},
		{"maxpool floor 3x3 stride 2", 9, 2, oneNodeModel(2, 9, 9,
			node("MaxPool", "pool", []string{"x"}, []string{"y"},
				attrIs("kernel_shape", 3, 3), attrIs("strides", 2, 2)))},
		{"maxpool ceil window past edge", 9, 2, oneNodeModel(2, 9, 9,
			node("MaxPool", "pool", []string{"x"}, []string{"y"},
				attrIs("kernel_shape", 2, 2), attrIs("strides", 2, 2), attrI("ceil_mode", 1)))},
		{"maxpool ceil kernel below stride", 8, 2, oneNodeModel(2, 8, 8,
			node("MaxPool", "pool", []string{"x"}, []string{"y"},
				attrIs("kernel_shape", 1, 1), attrIs("strides", 3, 3), attrI("ceil_mode", 1)))},
		{"resize scales 2", 5, 2, oneNodeModel(2, 5, 5,
			node("Resize", "up", []string{"x", "", "scales"}, []string{"y"},
				attrS("mode", "linear")),
			tensorF32("scales", []int64{4}, []float32{1, 1, 2, 2}))},
		{"resize sizes down", 9, 2, oneNodeModel(2, 9, 9,
			node("Resize", "down", []string{"x", "", "", "sizes"}, []string{"y"},
				attrS("mode", "linear")),
			tensorI64("sizes", []int64{4}, []int64{1, 2, 4, 7}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePlan(tt.data, tt.side)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			input := make([]float32, p.Values[p.Input].Elems())
			for i := range input {
				input[i] = float32(rng.NormFloat64())
			}
			want := runONNXRuntime(t, ortref, tt.data, input,
				fmt.Sprintf("1,%d,%d,%d", tt.c, tt.side, tt.side))
			got := runReference(p, input)[p.Output]
			if len(got) != len(want) {
				t.Fatalf("output has %d elements, ONNX Runtime's %d", len(got), len(want))
			}
			worst := 0.0
			for i := range got {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > 1e-5 {
				t.Errorf("max abs difference from ONNX Runtime = %g, want ≤ 1e-5", worst)
			}
		})
	}
}

func runONNXRuntime(t *testing.T, ortref string, model []byte, input []float32,
	shape string) []float32 {
	t.Helper()
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "model.onnx")
	in, out := filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
	writeFile(t, modelPath, model)
	writeFile(t, in, float32Bytes(input))
	cmd := exec.Command(ortref, "run", modelPath, in, out, "--shape", shape)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ortref run: %v: %s", err, msg)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bytesFloat32(raw)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func float32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		bits := math.Float32bits(x)
		out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] =
			byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24)
	}
	return out
}

func bytesFloat32(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 |
			uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return out
}

var _ = errors.Is
var _ = strings.Contains
