package models

import (
	"math"
	"slices"
)

// maxAttr bounds kernel, stride, dilation and padding attributes, far above
// any real network, so that shape arithmetic cannot overflow.
const maxAttr = 1 << 16

// convSource is the weight and optional bias tensor of a convolution,
// decoded once dead code has been removed.
type convSource struct {
	weight, bias *constTensor
}

// spatialAttrs reads the stride, dilation and pads attributes shared by
// Conv and MaxPool, resolving auto_pad for a kernel of kh×kw on h×w.
func spatialAttrs(a *attrs, h, w, kh, kw int) (strides, dilations, pads []int) {
	strides = attrInts2(a, "strides", 1, 1)
	dilations = attrInts2(a, "dilations", 1, 1)
	pads = make([]int, 4)
	raw := a.ints("pads", []int64{0, 0, 0, 0})
	if len(raw) != 4 {
		a.fail("pads must have 4 elements, found %d", len(raw))
		return
	}
	for i, p := range raw {
		if p < 0 || p > maxAttr {
			a.fail("invalid pads %v", raw)
			return
		}
		pads[i] = int(p)
	}
	if a.err != nil {
		return
	}
	switch mode := a.str("auto_pad", "NOTSET"); mode {
	case "NOTSET":
	case "VALID":
		clear(pads)
	case "SAME_UPPER", "SAME_LOWER":
		// The output keeps ceil(in/stride); the padding that needs is split
		// evenly, the odd element at the end (UPPER) or the start (LOWER).
		for axis, size := range []int{h, w} {
			k := []int{kh, kw}[axis]
			s, d := strides[axis], dilations[axis]
			total := max(0, ((size+s-1)/s-1)*s+(k-1)*d+1-size)
			lo := total / 2
			if mode == "SAME_LOWER" {
				lo = total - total/2
			}
			pads[axis], pads[axis+2] = lo, total-lo
		}
	default:
		a.fail("unsupported auto_pad %q", mode)
	}
	return
}

// attrInts2 reads a two-element list attribute of positive values.
func attrInts2(a *attrs, name string, d0, d1 int64) []int {
	v := a.ints(name, []int64{d0, d1})
	if len(v) != 2 || v[0] <= 0 || v[1] <= 0 || v[0] > maxAttr || v[1] > maxAttr {
		a.fail("attribute %s must be two positive values, found %v", name, v)
		return []int{1, 1}
	}
	return []int{int(v[0]), int(v[1])}
}

// outSize is the output length of a window of size k, dilation d and stride
// s sliding over size elements; 0 when the window does not fit.
func outSize(size, k, d, s int, ceil bool) int {
	span := (k-1)*d + 1
	if size < span {
		return 0
	}
	if !ceil {
		return (size-span)/s + 1
	}
	out := (size-span+s-1)/s + 1
	// A window must start inside the input (the rule of PyTorch and of ONNX
	// Runtime for ceil_mode).
	if (out-1)*s >= size {
		out--
	}
	return out
}

func (b *builder) conv(n *onnxNode) error {
	x, xi, err := b.activation(n, 0)
	if err != nil {
		return err
	}
	w, err := b.constInput(n, 1)
	if err != nil {
		return err
	}
	if !w.float || len(w.dims) != 4 {
		return nodeError(n, "weight %q must be a 4-D float tensor, found dims %v", w.name, w.dims)
	}
	for _, d := range w.dims {
		if d <= 0 || d > maxAttr {
			return nodeError(n, "invalid weight dims %v", w.dims)
		}
	}
	outC, inC, kh, kw := int(w.dims[0]), int(w.dims[1]), int(w.dims[2]), int(w.dims[3])

	a := attrs{n: n}
	if g := a.int("group", 1); g != 1 {
		return nodeError(n, "group %d: only group 1 is supported", g)
	}
	if inC != x.C {
		return nodeError(n, "weight %q expects %d input channels, input %q has %d",
			w.name, inC, x.Name, x.C)
	}
	if ks := a.ints("kernel_shape", nil); ks != nil && !slices.Equal(ks, w.dims[2:]) {
		return nodeError(n, "kernel_shape %v does not match weight dims %v", ks, w.dims)
	}
	strides, dilations, pads := spatialAttrs(&a, x.H, x.W, kh, kw)
	if a.err != nil {
		return a.err
	}

	src := convSource{weight: w}
	if _, ok := b.input(n, 2); ok {
		bias, err := b.constInput(n, 2)
		if err != nil {
			return err
		}
		if !bias.float || len(bias.dims) != 1 || bias.dims[0] != int64(outC) {
			return nodeError(n, "bias %q must be a float vector of %d, found dims %v",
				bias.name, outC, bias.dims)
		}
		src.bias = bias
	}

	oh := outSize(x.H+pads[0]+pads[2], kh, dilations[0], strides[0], false)
	ow := outSize(x.W+pads[1]+pads[3], kw, dilations[1], strides[1], false)
	s, err := b.emit(n, OpConv, []int{xi}, outC, oh, ow)
	if err != nil {
		return err
	}
	s.Conv = &ConvAttrs{
		OutC: outC, InC: inC, KH: kh, KW: kw,
		StrideH: strides[0], StrideW: strides[1],
		PadTop: pads[0], PadLeft: pads[1], PadBottom: pads[2], PadRight: pads[3],
		DilationH: dilations[0], DilationW: dilations[1],
	}
	if b.convs == nil {
		b.convs = make(map[*ConvAttrs]convSource)
	}
	b.convs[s.Conv] = src
	return nil
}

// loadWeights decodes, or for a skeleton generates, the weights of a
// convolution step that survived dead-code elimination.
func (b *builder) loadWeights(s *Step) error {
	c := s.Conv
	src := b.convs[c]
	fanIn := c.InC * c.KH * c.KW
	var err error
	if c.Weight, err = b.convData(src.weight, "weight", fanIn); err != nil {
		return err
	}
	if src.bias == nil {
		c.Bias = make([]float32, c.OutC)
		return nil
	}
	c.Bias, err = b.convData(src.bias, "bias", fanIn)
	return err
}

func (b *builder) convData(t *constTensor, role string, fanIn int) ([]float32, error) {
	if !t.hasData() && b.fill != nil {
		data := make([]float32, t.elems())
		b.fill(t.name, role, data, fanIn)
		t.floatData, t.src = data, nil
		return data, nil
	}
	return t.floats()
}

func (b *builder) maxPool(n *onnxNode) error {
	x, xi, err := b.activation(n, 0)
	if err != nil {
		return err
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return nodeError(n, "the Indices output is not supported")
	}
	a := attrs{n: n}
	ks := a.ints("kernel_shape", nil)
	if len(ks) != 2 || ks[0] <= 0 || ks[1] <= 0 || ks[0] > maxAttr || ks[1] > maxAttr {
		return nodeError(n, "kernel_shape must be two positive values, found %v", ks)
	}
	kh, kw := int(ks[0]), int(ks[1])
	strides, dilations, pads := spatialAttrs(&a, x.H, x.W, kh, kw)
	ceil := a.int("ceil_mode", 0)
	if a.err != nil {
		return a.err
	}
	if mode := a.str("auto_pad", "NOTSET"); mode != "NOTSET" && mode != "VALID" {
		return nodeError(n, "auto_pad %s is not supported for MaxPool", mode)
	}
	if slices.ContainsFunc(pads, func(p int) bool { return p != 0 }) {
		return nodeError(n, "pads %v: only unpadded MaxPool is supported", pads)
	}
	if dilations[0] != 1 || dilations[1] != 1 {
		return nodeError(n, "dilations %v: only 1 is supported", dilations)
	}
	if ceil != 0 && ceil != 1 {
		return nodeError(n, "invalid ceil_mode %d", ceil)
	}

	oh := outSize(x.H, kh, 1, strides[0], ceil == 1)
	ow := outSize(x.W, kw, 1, strides[1], ceil == 1)
	s, err := b.emit(n, OpMaxPool, []int{xi}, x.C, oh, ow)
	if err != nil {
		return err
	}
	s.Pool = &PoolAttrs{KH: kh, KW: kw, StrideH: strides[0], StrideW: strides[1],
		CeilMode: ceil == 1}
	return nil
}

func (b *builder) resize(n *onnxNode) error {
	x, xi, err := b.activation(n, 0)
	if err != nil {
		return err
	}
	if err := checkResizeAttrs(n); err != nil {
		return err
	}

	oh, ow := 0, 0
	if sizes, ok, err := b.resizeOperand(n, 3); err != nil {
		return err
	} else if ok {
		if sizes.float || len(sizes.intData) != 4 {
			return nodeError(n, "sizes must hold 4 integers, found dims %v", sizes.dims)
		}
		sz := sizes.intData
		if sz[0] != b.batch || sz[1] != int64(x.C) {
			return nodeError(n, "sizes %v change the batch or channel dimension of %q",
				sz, x.Name)
		}
		if sz[2] <= 0 || sz[3] <= 0 || sz[2] > maxAttr || sz[3] > maxAttr {
			return nodeError(n, "invalid sizes %v", sz)
		}
		oh, ow = int(sz[2]), int(sz[3])
	} else if scales, ok, err := b.resizeOperand(n, 2); err != nil {
		return err
	} else if ok {
		if oh, ow, err = resizeByScales(n, x, scales); err != nil {
			return err
		}
	} else {
		return nodeError(n, "neither scales nor sizes is given")
	}

	a := attrs{n: n}
	if a.str("coordinate_transformation_mode", "") == "pytorch_half_pixel" &&
		(oh == 1 || ow == 1) {
		// pytorch_half_pixel equals half_pixel except for an output length of
		// 1, where it samples coordinate 0 instead of the centre.
		return nodeError(n, "pytorch_half_pixel with an output length of 1 is not supported")
	}

	s, err := b.emit(n, OpResize, []int{xi}, x.C, oh, ow)
	if err != nil {
		return err
	}
	s.Resize = &ResizeAttrs{OutH: oh, OutW: ow}
	return nil
}

// resizeOperand returns Resize's constant input i. ok is false when the
// input is omitted or empty, as opset 11 and 12 pass scales next to sizes.
func (b *builder) resizeOperand(n *onnxNode, i int) (c *constTensor, ok bool, err error) {
	if _, present := b.input(n, i); !present {
		return nil, false, nil
	}
	c, err = b.constInput(n, i)
	if err != nil {
		return nil, false, err
	}
	return c, c.elems() > 0, nil
}

// resizeByScales turns Resize scales into an output size. The plan stores
// only sizes and derives the coordinate mapping from in/out, so scales are
// accepted only where in×scale is a whole number and both agree.
func resizeByScales(n *onnxNode, x Value, scales *constTensor) (oh, ow int, err error) {
	if !scales.float || len(scales.dims) != 1 || scales.dims[0] != 4 {
		return 0, 0, nodeError(n, "scales must hold 4 floats, found dims %v", scales.dims)
	}
	f, err := scales.floats()
	if err != nil {
		return 0, 0, nodeError(n, "%v", err)
	}
	if f[0] != 1 || f[1] != 1 {
		return 0, 0, nodeError(n, "scales %v change the batch or channel dimension", f)
	}
	out := [2]int{}
	for i, in := range []int{x.H, x.W} {
		size := float64(in) * float64(f[2+i])
		if !(size >= 1 && size <= maxAttr) || size != math.Floor(size) {
			// TODO: a fractional in×scale needs the scale itself in the plan,
			// because ONNX then maps coordinates with the scale, not out/in.
			return 0, 0, nodeError(n, "scales %v give a fractional or invalid size for %d×%d",
				f, x.H, x.W)
		}
		out[i] = int(size)
	}
	return out[0], out[1], nil
}

func checkResizeAttrs(n *onnxNode) error {
	a := attrs{n: n}
	mode := a.str("mode", "nearest")
	coord := a.str("coordinate_transformation_mode", "half_pixel")
	antialias := a.int("antialias", 0)
	exclude := a.int("exclude_outside", 0)
	policy := a.str("keep_aspect_ratio_policy", "stretch")
	if a.err != nil {
		return a.err
	}
	switch {
	case mode != "linear":
		return nodeError(n, "mode %q: only linear is supported", mode)
	case coord != "half_pixel" && coord != "pytorch_half_pixel":
		return nodeError(n, "coordinate_transformation_mode %q: only half_pixel is supported",
			coord)
	case antialias != 0:
		return nodeError(n, "antialias is not supported")
	case exclude != 0:
		return nodeError(n, "exclude_outside is not supported")
	case policy != "stretch":
		return nodeError(n, "keep_aspect_ratio_policy %q is not supported", policy)
	case a.find("axes") != nil:
		return nodeError(n, "the axes attribute is not supported")
	}
	return nil
}
