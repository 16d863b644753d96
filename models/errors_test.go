package models

import (
	"strings"
	"testing"
)

func TestParsePlanRejects(t *testing.T) {
	weight := tensorF32("w", []int64{2, 3, 3, 3}, ramp(54, 1))
	relu := func(in, out string) *pbuf {
		return node("Relu", "relu_"+out, []string{in}, []string{out})
	}
	graph := func(nodes ...*pbuf) []byte {
		g := testGraph{
			nodes:   nodes,
			inits:   []*pbuf{weight},
			inputs:  []*pbuf{valueInfo("x", dtypeFloat, 1, 3, 8, 8)},
			outputs: []*pbuf{valueInfo("y", dtypeFloat)},
		}
		return g.encode(15)
	}
	withOpset := func(opset int64) []byte {
		g := testGraph{
			nodes:   []*pbuf{relu("x", "y")},
			inputs:  []*pbuf{valueInfo("x", dtypeFloat, 1, 3, 8, 8)},
			outputs: []*pbuf{valueInfo("y", dtypeFloat)},
		}
		return g.encode(opset)
	}
	resize := func(inputs []string, attrs ...*pbuf) *pbuf {
		return node("Resize", "rs", inputs, []string{"y"}, attrs...)
	}
	linear := attrS("mode", "linear")

	tests := []struct {
		name string
		data []byte
		want []string // substrings of the error
	}{
		{"unknown operator", graph(node("Gemm", "fc", []string{"x", "w"}, []string{"y"})),
			[]string{`unsupported operators: Gemm`, `"fc" (Gemm)`}},
		{"foreign domain", graph(new(pbuf).str(1, "x").str(2, "y").str(3, "q").
			str(4, "Relu").str(7, "com.microsoft")),
			[]string{`com.microsoft.Relu`, `"q" (Relu)`}},
		{"opset 10", withOpset(10), []string{"unsupported opset 10"}},
		{"opset 22", withOpset(22), []string{"unsupported opset 22"}},
		{"int32 input", (&testGraph{
			nodes:   []*pbuf{relu("x", "y")},
			inputs:  []*pbuf{valueInfo("x", dtypeInt32, 1, 3, 8, 8)},
			outputs: []*pbuf{valueInfo("y", dtypeFloat)},
		}).encode(15), []string{`input "x"`, "int32"}},
		{"concat on height", graph(node("Concat", "cat", []string{"x", "x"}, []string{"y"},
			attrI("axis", 2))), []string{`"cat" (Concat)`, "axis 2"}},
		{"concat size mismatch", graph(
			node("MaxPool", "pool", []string{"x"}, []string{"p"},
				attrIs("kernel_shape", 2, 2), attrIs("strides", 2, 2)),
			node("Concat", "cat", []string{"x", "p"}, []string{"y"}, attrI("axis", 1))),
			[]string{`"cat" (Concat)`, "differ in height or width"}},
		{"grouped conv", graph(node("Conv", "conv", []string{"x", "w"}, []string{"y"},
			attrI("group", 3))), []string{`"conv" (Conv)`, "group 3"}},
		{"conv weight from activation", graph(relu("x", "r"),
			node("Conv", "conv", []string{"x", "r"}, []string{"y"})),
			[]string{`"conv" (Conv)`, "must be a constant"}},
		{"conv channel mismatch", graph(
			node("Conv", "c1", []string{"x", "w"}, []string{"c"}),
			node("Conv", "c2", []string{"c", "w"}, []string{"y"})),
			[]string{`"c2" (Conv)`, "expects 3 input channels"}},
		{"maxpool with pads", graph(node("MaxPool", "pool", []string{"x"}, []string{"y"},
			attrIs("kernel_shape", 2, 2), attrIs("pads", 1, 1, 1, 1))),
			[]string{`"pool" (MaxPool)`, "unpadded"}},
		{"maxpool indices", graph(node("MaxPool", "pool", []string{"x"}, []string{"y", "idx"},
			attrIs("kernel_shape", 2, 2))), []string{`"pool" (MaxPool)`, "Indices"}},
		{"resize nearest", graph(node("Constant", "k", nil, []string{"s"},
			attrT("value", tensorF32("", []int64{4}, []float32{1, 1, 2, 2}))),
			resize([]string{"x", "", "s"})), []string{`"rs" (Resize)`, `mode "nearest"`}},
		{"resize align_corners", graph(node("Constant", "k", nil, []string{"s"},
			attrT("value", tensorF32("", []int64{4}, []float32{1, 1, 2, 2}))),
			resize([]string{"x", "", "s"}, linear,
				attrS("coordinate_transformation_mode", "align_corners"))),
			[]string{`"rs" (Resize)`, "align_corners"}},
		{"resize antialias", graph(node("Constant", "k", nil, []string{"s"},
			attrT("value", tensorF32("", []int64{4}, []float32{1, 1, 0.5, 0.5}))),
			resize([]string{"x", "", "s"}, linear, attrI("antialias", 1))),
			[]string{`"rs" (Resize)`, "antialias"}},
		{"resize fractional scale", graph(node("Constant", "k", nil, []string{"s"},
			attrT("value", tensorF32("", []int64{4}, []float32{1, 1, 1.3, 1.3}))),
			resize([]string{"x", "", "s"}, linear)), []string{`"rs" (Resize)`, "fractional"}},
		{"resize sizes change channels", graph(node("Constant", "k", nil, []string{"s"},
			attrT("value", tensorI64("", []int64{4}, []int64{1, 4, 16, 16}))),
			resize([]string{"x", "", "", "s"}, linear)),
			[]string{`"rs" (Resize)`, "batch or channel"}},
		{"resize without sizes", graph(resize([]string{"x"}, linear)),
			[]string{`"rs" (Resize)`, "neither scales nor sizes"}},
		{"add broadcast", graph(
			node("MaxPool", "pool", []string{"x"}, []string{"p"},
				attrIs("kernel_shape", 2, 2), attrIs("strides", 2, 2)),
			node("Add", "add", []string{"x", "p"}, []string{"y"})),
			[]string{`"add" (Add)`, "broadcasting"}},
		{"cast activation to int", graph(node("Cast", "cast", []string{"x"}, []string{"y"},
			attrI("to", dtypeInt64))), []string{`"cast" (Cast)`, "int64"}},
		{"slice of activation", graph(node("Slice", "sl", []string{"x", "x", "x"},
			[]string{"y"})), []string{`"sl" (Slice)`, "activation"}},
		{"cycle", graph(relu("b", "a"), relu("a", "b"), relu("b", "y")),
			[]string{"cycle"}},
		{"undefined input", graph(relu("nowhere", "y")),
			[]string{`"relu_y" (Relu)`, `"nowhere"`}},
		{"two producers", graph(relu("x", "y"), relu("x", "y")),
			[]string{`tensor "y" is the output of both`}},
		{"output not produced", graph(relu("x", "z")), []string{`graph output "y"`}},
		{"weight without data", (&testGraph{
			nodes:   []*pbuf{node("Conv", "conv", []string{"x", "w"}, []string{"y"})},
			inits:   []*pbuf{tensorHead("w", dtypeFloat, []int64{2, 3, 3, 3})},
			inputs:  []*pbuf{valueInfo("x", dtypeFloat, 1, 3, 8, 8)},
			outputs: []*pbuf{valueInfo("y", dtypeFloat)},
		}).encode(15), []string{`tensor "w"`, "missing or short data"}},
		{"short raw data", (&testGraph{
			nodes: []*pbuf{node("Conv", "conv", []string{"x", "w"}, []string{"y"})},
			inits: []*pbuf{tensorHead("w", dtypeFloat, []int64{2, 3, 3, 3}).
				bytes(9, []byte{1, 2, 3, 4})},
			inputs:  []*pbuf{valueInfo("x", dtypeFloat, 1, 3, 8, 8)},
			outputs: []*pbuf{valueInfo("y", dtypeFloat)},
		}).encode(15), []string{`tensor "w"`, "4 bytes of raw data for 54 elements"}},
		{"truncated file", graph(relu("x", "y"))[:40], []string{"parse onnx", "truncated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePlan(tt.data, 8)
			if err == nil {
				t.Fatal("ParsePlan succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParsePlanQuint8Rejected(t *testing.T) {
	path := findModel(t, Quint8)
	_, err := LoadPlan(path, 1024)
	if err == nil {
		t.Fatal("LoadPlan succeeded on the quantized model, want an error")
	}
	for _, op := range []string{"ConvInteger", "DynamicQuantizeLinear"} {
		if !strings.Contains(err.Error(), op) {
			t.Errorf("error %q does not name %s", err, op)
		}
	}
}
