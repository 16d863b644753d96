package models

import (
	"fmt"
	"math"
	"slices"
)

// nodeError is an import error located at one node.
func nodeError(n *onnxNode, format string, args ...any) error {
	return fmt.Errorf("node %s: %s", nodeLabel(n), fmt.Sprintf(format, args...))
}

// attrs gives typed access to a node's attributes.
type attrs struct {
	n   *onnxNode
	err error // the first attribute error
}

func (a *attrs) find(name string) *onnxAttr {
	for i := range a.n.Attrs {
		if a.n.Attrs[i].Name == name {
			return &a.n.Attrs[i]
		}
	}
	return nil
}

func (a *attrs) fail(format string, args ...any) {
	if a.err == nil {
		a.err = nodeError(a.n, format, args...)
	}
}

func (a *attrs) int(name string, def int64) int64 {
	at := a.find(name)
	if at == nil {
		return def
	}
	if at.Type != attrInt && !(at.Type == 0 && at.hasI) {
		a.fail("attribute %s must be an int", name)
		return def
	}
	return at.I
}

func (a *attrs) ints(name string, def []int64) []int64 {
	at := a.find(name)
	if at == nil {
		return def
	}
	if at.Type != attrInts && at.Type != 0 {
		a.fail("attribute %s must be a list of ints", name)
		return def
	}
	return at.Ints
}

func (a *attrs) str(name, def string) string {
	at := a.find(name)
	if at == nil {
		return def
	}
	if at.Type != attrString && !(at.Type == 0 && at.hasS) {
		a.fail("attribute %s must be a string", name)
		return def
	}
	return string(at.S)
}

// node folds one node, in topological order.
func (b *builder) node(n *onnxNode) error {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nodeError(n, "unsupported operator domain %q", n.Domain)
	}
	if len(n.Outputs) == 0 || n.Outputs[0] == "" {
		return nodeError(n, "node has no output")
	}
	switch n.OpType {
	case "Constant":
		return b.constant(n)
	case "Identity", "Cast":
		return b.cast(n)
	case "Shape":
		return b.shape(n)
	case "Slice":
		return b.slice(n)
	case "Concat":
		return b.concat(n)
	case "Conv":
		return b.conv(n)
	case "MaxPool":
		return b.maxPool(n)
	case "Resize":
		return b.resize(n)
	case "Relu", "Sigmoid":
		return b.unary(n)
	case "Add":
		return b.add(n)
	}
	return nodeError(n, "unsupported operator")
}

// supportedOps lists the default-domain operators node folds or emits.
var supportedOps = map[string]bool{
	"Constant": true, "Identity": true, "Cast": true, "Shape": true, "Slice": true,
	"Concat": true, "Conv": true, "MaxPool": true, "Resize": true, "Relu": true,
	"Sigmoid": true, "Add": true,
}

// input returns the symbol of the node's i-th input; ok is false when the
// input is absent or named "" (an omitted optional input).
func (b *builder) input(n *onnxNode, i int) (sym symbol, ok bool) {
	if i >= len(n.Inputs) || n.Inputs[i] == "" {
		return symbol{}, false
	}
	sym, ok = b.syms[n.Inputs[i]]
	return sym, ok
}

func (b *builder) activation(n *onnxNode, i int) (Value, int, error) {
	sym, ok := b.input(n, i)
	if !ok {
		return Value{}, 0, nodeError(n, "missing input %d", i)
	}
	if sym.c != nil {
		return Value{}, 0, nodeError(n, "input %q is a constant where an activation is "+
			"expected", n.Inputs[i])
	}
	return b.plan.Values[sym.value], sym.value, nil
}

func (b *builder) constInput(n *onnxNode, i int) (*constTensor, error) {
	sym, ok := b.input(n, i)
	if !ok {
		return nil, nodeError(n, "missing input %d", i)
	}
	if sym.c == nil {
		return nil, nodeError(n, "input %q must be a constant (it depends on the image)",
			n.Inputs[i])
	}
	return sym.c, nil
}

func (b *builder) setConst(n *onnxNode, c *constTensor) error {
	if product(c.dims) < 0 || len(c.intData)+len(c.floatData) > maxFoldElems {
		return nodeError(n, "folded tensor of dims %v is too large", c.dims)
	}
	c.name = n.Outputs[0]
	b.syms[n.Outputs[0]] = symbol{c: c}
	return nil
}

// emit appends a step writing a new value of shape c×h×w.
func (b *builder) emit(n *onnxNode, op Op, inputs []int, c, h, w int) (*Step, error) {
	if c <= 0 || h <= 0 || w <= 0 || int64(c)*int64(h)*int64(w) > maxValueElems {
		return nil, nodeError(n, "invalid output shape %d×%d×%d", c, h, w)
	}
	out := b.addValue(n.Outputs[0], c, h, w)
	b.syms[n.Outputs[0]] = symbol{value: out}
	b.plan.Steps = append(b.plan.Steps, Step{Op: op, Name: stepName(n), Inputs: inputs,
		Output: out})
	return &b.plan.Steps[len(b.plan.Steps)-1], nil
}

func (b *builder) constant(n *onnxNode) error {
	if len(n.Attrs) != 1 {
		return nodeError(n, "expected exactly one attribute, found %d", len(n.Attrs))
	}
	a := &n.Attrs[0]
	var c *constTensor
	var err error
	switch a.Name {
	case "value":
		if a.T == nil {
			return nodeError(n, "attribute value carries no tensor")
		}
		c, err = newConst(a.T)
		if err == nil && c.float {
			_, err = c.floats() // Constant tensors are small: decode now
		}
	case "value_float":
		c = &constTensor{dims: []int64{}, float: true, floatData: []float32{a.F}}
	case "value_floats":
		c = &constTensor{dims: []int64{int64(len(a.Floats))}, float: true, floatData: a.Floats}
	case "value_int":
		c = &constTensor{dims: []int64{}, intData: []int64{a.I}}
	case "value_ints":
		c = &constTensor{dims: []int64{int64(len(a.Ints))}, intData: a.Ints}
	default:
		return nodeError(n, "unsupported attribute %s", a.Name)
	}
	if err != nil {
		return nodeError(n, "%v", err)
	}
	return b.setConst(n, c)
}

// cast folds Identity and Cast. On activations both are identities: float16
// and float32 activations are both computed in float32.
func (b *builder) cast(n *onnxNode) error {
	sym, ok := b.input(n, 0)
	if !ok {
		return nodeError(n, "missing input 0")
	}
	if n.OpType == "Identity" {
		b.syms[n.Outputs[0]] = sym
		return nil
	}
	a := attrs{n: n}
	to := a.int("to", 0)
	if a.err != nil {
		return a.err
	}
	if sym.c == nil {
		if to != dtypeFloat && to != dtypeFloat16 {
			return nodeError(n, "cast of an activation to %s: only float32 and float16 "+
				"are supported", dtypeName(to))
		}
		b.syms[n.Outputs[0]] = sym
		return nil
	}

	src := sym.c
	switch {
	case isFloatType(to) && src.float:
		// Float constants are kept as float32 whatever their width, so the
		// cast shares the tensor and leaves weights undecoded.
		b.syms[n.Outputs[0]] = sym
		return nil
	case isFloatType(to):
		out := &constTensor{dims: src.dims, float: true, floatData: make([]float32, len(src.intData))}
		for i, v := range src.intData {
			out.floatData[i] = float32(v)
		}
		return b.setConst(n, out)
	case isIntType(to):
		out := &constTensor{dims: src.dims}
		if src.float {
			f, err := src.floats()
			if err != nil {
				return nodeError(n, "%v", err)
			}
			out.intData = make([]int64, len(f))
			for i, v := range f {
				out.intData[i] = castFloatToInt(v, to)
			}
		} else {
			out.intData = make([]int64, len(src.intData))
			for i, v := range src.intData {
				out.intData[i] = castIntToInt(v, to)
			}
		}
		return b.setConst(n, out)
	}
	return nodeError(n, "unsupported cast to %s", dtypeName(to))
}

// castFloatToInt truncates toward zero like a C cast; NaN and values out of
// int64's range (undefined in ONNX) become 0.
func castFloatToInt(v float32, to int64) int64 {
	if to == dtypeBool {
		if v != 0 {
			return 1
		}
		return 0
	}
	if math.IsNaN(float64(v)) || math.Abs(float64(v)) >= 1<<63 {
		return 0
	}
	return castIntToInt(int64(v), to)
}

func castIntToInt(v int64, to int64) int64 {
	switch to {
	case dtypeInt32:
		return int64(int32(v))
	case dtypeInt8:
		return int64(int8(v))
	case dtypeUint8:
		return int64(uint8(v))
	case dtypeBool:
		if v != 0 {
			return 1
		}
		return 0
	}
	return v
}

// shape folds Shape. An activation's shape is [batch, C, H, W] with the batch
// folded to b.batch.
func (b *builder) shape(n *onnxNode) error {
	sym, ok := b.input(n, 0)
	if !ok {
		return nodeError(n, "missing input 0")
	}
	var dims []int64
	if sym.c != nil {
		dims = sym.c.dims
	} else {
		v := b.plan.Values[sym.value]
		dims = []int64{b.batch, int64(v.C), int64(v.H), int64(v.W)}
	}
	a := attrs{n: n}
	rank := int64(len(dims))
	start := clampIndex(a.int("start", 0), rank)
	end := clampIndex(a.int("end", rank), rank)
	if a.err != nil {
		return a.err
	}
	out := []int64{}
	if start < end {
		out = slices.Clone(dims[start:end])
	}
	return b.setConst(n, &constTensor{dims: []int64{int64(len(out))}, intData: out})
}

// clampIndex resolves a possibly negative index against size and clamps it to
// [0, size].
func clampIndex(i, size int64) int64 {
	if i < 0 {
		i += size
	}
	return max(0, min(i, size))
}

// slice folds Slice (opset 10 and later: starts, ends, axes and steps are
// inputs) on a one-dimensional constant.
func (b *builder) slice(n *onnxNode) error {
	if sym, ok := b.input(n, 0); ok && sym.c == nil {
		return nodeError(n, "Slice of an activation is not supported")
	}
	operands := make([]*constTensor, 5)
	for i := range operands {
		if _, ok := b.input(n, i); !ok {
			if i < 3 {
				return nodeError(n, "missing input %d", i)
			}
			continue
		}
		c, err := b.constInput(n, i)
		if err != nil {
			return err
		}
		if i > 0 && (c.float || len(c.dims) != 1) {
			return nodeError(n, "input %d must be a 1-D integer tensor", i)
		}
		operands[i] = c
	}
	data := operands[0]
	if len(data.dims) != 1 {
		return nodeError(n, "Slice of a rank-%d constant is not supported", len(data.dims))
	}
	starts, ends := operands[1].intData, operands[2].intData
	if len(starts) != 1 || len(ends) != 1 {
		return nodeError(n, "a 1-D Slice takes one start and one end")
	}
	if axes := operands[3]; axes != nil {
		if len(axes.intData) != 1 || (axes.intData[0] != 0 && axes.intData[0] != -1) {
			return nodeError(n, "invalid axes %v for a 1-D tensor", axes.intData)
		}
	}
	step := int64(1)
	if steps := operands[4]; steps != nil {
		if len(steps.intData) != 1 || steps.intData[0] == 0 {
			return nodeError(n, "invalid steps %v", steps.intData)
		}
		step = steps.intData[0]
	}

	idx := sliceIndices(starts[0], ends[0], step, data.dims[0])
	out := &constTensor{dims: []int64{int64(len(idx))}, float: data.float}
	if data.float {
		f, err := data.floats()
		if err != nil {
			return nodeError(n, "%v", err)
		}
		for _, i := range idx {
			out.floatData = append(out.floatData, f[i])
		}
	} else {
		for _, i := range idx {
			out.intData = append(out.intData, data.intData[i])
		}
	}
	return b.setConst(n, out)
}

// sliceIndices returns the indices ONNX Slice selects along an axis of size
// dim: start and end resolve negative values against dim and clamp to
// [0, dim] for a positive step and [-1, dim-1] for a negative one.
func sliceIndices(start, end, step, dim int64) []int64 {
	resolve := func(i, lo, hi int64) int64 {
		if i < 0 {
			i += dim
		}
		return max(lo, min(i, hi))
	}
	var idx []int64
	if step > 0 {
		for i := resolve(start, 0, dim); i < resolve(end, 0, dim); i += step {
			idx = append(idx, i)
		}
	} else {
		for i := resolve(start, 0, dim-1); i > resolve(end, -1, dim-1); i += step {
			idx = append(idx, i)
		}
	}
	return idx
}

// concat folds a Concat of constants (1-D) or emits a channel Concat of
// activations.
func (b *builder) concat(n *onnxNode) error {
	a := attrs{n: n}
	axis := a.int("axis", math.MinInt64)
	if a.err != nil {
		return a.err
	}
	if axis == math.MinInt64 {
		return nodeError(n, "missing attribute axis")
	}
	if len(n.Inputs) == 0 {
		return nodeError(n, "no inputs")
	}
	consts, acts := 0, 0
	for i := range n.Inputs {
		sym, ok := b.input(n, i)
		switch {
		case !ok:
			return nodeError(n, "missing input %d", i)
		case sym.c != nil:
			consts++
		default:
			acts++
		}
	}
	if consts > 0 && acts > 0 {
		return nodeError(n, "Concat of constants and activations is not supported")
	}
	if consts > 0 {
		return b.concatConst(n, axis)
	}

	if axis != 1 && axis != -3 {
		return nodeError(n, "Concat on axis %d: only axis 1 (channels) is supported", axis)
	}
	var inputs []int
	channels := 0
	var first Value
	for i := range n.Inputs {
		v, idx, err := b.activation(n, i)
		if err != nil {
			return err
		}
		if i == 0 {
			first = v
		} else if v.H != first.H || v.W != first.W {
			return nodeError(n, "inputs %q (%d×%d) and %q (%d×%d) differ in height or width",
				first.Name, first.H, first.W, v.Name, v.H, v.W)
		}
		channels += v.C
		inputs = append(inputs, idx)
	}
	_, err := b.emit(n, OpConcat, inputs, channels, first.H, first.W)
	return err
}

func (b *builder) concatConst(n *onnxNode, axis int64) error {
	if axis != 0 && axis != -1 {
		return nodeError(n, "Concat of constants on axis %d: only 1-D is supported", axis)
	}
	var out *constTensor
	for i := range n.Inputs {
		c, err := b.constInput(n, i)
		if err != nil {
			return err
		}
		if len(c.dims) != 1 {
			return nodeError(n, "Concat of rank-%d constants is not supported", len(c.dims))
		}
		if out == nil {
			out = &constTensor{float: c.float}
		}
		if c.float != out.float {
			return nodeError(n, "Concat of integer and float constants")
		}
		if c.float {
			f, err := c.floats()
			if err != nil {
				return nodeError(n, "%v", err)
			}
			out.floatData = append(out.floatData, f...)
		} else {
			out.intData = append(out.intData, c.intData...)
		}
		if len(out.intData)+len(out.floatData) > maxFoldElems {
			return nodeError(n, "folded tensor is too large")
		}
	}
	out.dims = []int64{int64(len(out.intData) + len(out.floatData))}
	return b.setConst(n, out)
}

func (b *builder) unary(n *onnxNode) error {
	v, idx, err := b.activation(n, 0)
	if err != nil {
		return err
	}
	op := OpRelu
	if n.OpType == "Sigmoid" {
		op = OpSigmoid
	}
	_, err = b.emit(n, op, []int{idx}, v.C, v.H, v.W)
	return err
}

func (b *builder) add(n *onnxNode) error {
	x, xi, err := b.activation(n, 0)
	if err != nil {
		return err
	}
	y, yi, err := b.activation(n, 1)
	if err != nil {
		return err
	}
	if x.C != y.C || x.H != y.H || x.W != y.W {
		return nodeError(n, "inputs of shapes %d×%d×%d and %d×%d×%d: broadcasting is not "+
			"supported", x.C, x.H, x.W, y.C, y.H, y.W)
	}
	_, err = b.emit(n, OpAdd, []int{xi, yi}, x.C, x.H, x.W)
	return err
}
