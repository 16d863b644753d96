package models

import "fmt"

// Op is the kind of one Plan step.
type Op int

// The operations a Plan contains. Every one reads and writes float32
// activations in NCHW layout, one image of the batch at a time.
const (
	OpConv    Op = iota // 2-D convolution, group 1, optional fused ReLU
	OpMaxPool           // 2-D max pooling without padding
	OpResize            // bilinear resize, half-pixel centres
	OpConcat            // concatenation along channels
	OpAdd               // element-wise sum of two values of one shape
	OpSigmoid           // element-wise logistic function
	OpRelu              // element-wise max(x, 0)
)

var opNames = [...]string{
	OpConv:    "Conv",
	OpMaxPool: "MaxPool",
	OpResize:  "Resize",
	OpConcat:  "Concat",
	OpAdd:     "Add",
	OpSigmoid: "Sigmoid",
	OpRelu:    "Relu",
}

// String returns the ONNX operator name of o, or "Op(n)" for an unknown value.
func (o Op) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Value is an activation tensor of one image: C channels of H×W, in NCHW
// order. The batch is the leading dimension at run time and is not part of
// the plan.
type Value struct {
	Name    string // the ONNX tensor name the value carries
	C, H, W int
}

// Elems returns the number of float32 elements of one image of v.
func (v Value) Elems() int { return v.C * v.H * v.W }

// ConvAttrs describes an OpConv step. The output has OutC channels of
// (H + PadTop + PadBottom - DilationH*(KH-1) - 1)/StrideH + 1 rows, and the
// same rule for columns. Padding reads as zeros.
type ConvAttrs struct {
	OutC, InC, KH, KW int

	StrideH, StrideW     int
	PadTop, PadLeft      int
	PadBottom, PadRight  int
	DilationH, DilationW int

	Weight []float32 // OutC×InC×KH×KW (OIHW)
	Bias   []float32 // len OutC (zeros when the node has none)
	ReLU   bool      // a following Relu was fused: the step writes max(conv, 0)
}

// MACs returns the multiply-accumulates of the convolution for one image
// with an output of outH×outW.
func (c *ConvAttrs) MACs(outH, outW int) int64 {
	return int64(c.OutC) * int64(c.InC) * int64(c.KH) * int64(c.KW) * int64(outH) * int64(outW)
}

// PoolAttrs describes an OpMaxPool step. There is no padding. With CeilMode
// the output size rounds up, and a window that runs past the bottom or right
// edge takes the maximum of its elements inside the input.
type PoolAttrs struct {
	KH, KW, StrideH, StrideW int
	CeilMode                 bool
}

// ResizeAttrs describes an OpResize step: bilinear interpolation of each
// channel to OutH×OutW with half-pixel centres (ONNX Resize with
// mode=linear and coordinate_transformation_mode=half_pixel, no antialias).
// The source coordinate of output row y is (y+0.5)·H/OutH − 0.5, clamped to
// [0, H−1]; columns follow the same rule.
type ResizeAttrs struct {
	OutH, OutW int
}

// Step is one operation of a Plan.
type Step struct {
	Op     Op
	Name   string       // the ONNX node name (else its first output's), for errors and profiling
	Inputs []int        // indices into Plan.Values, in the node's input order
	Output int          // index into Plan.Values
	Conv   *ConvAttrs   // set for OpConv only
	Pool   *PoolAttrs   // set for OpMaxPool only
	Resize *ResizeAttrs // set for OpResize only
}

// Plan is an ONNX graph folded into a straight list of steps on activations
// of fixed per-image shape. A Plan is immutable once returned, so any number
// of goroutines may read it; its weight slices must not be modified.
type Plan struct {
	Values []Value
	Steps  []Step // topological order: a step's inputs are written by earlier steps

	Input, Output         int // value indices
	InputName, OutputName string

	Side int   // spatial input size the plan was folded for
	MACs int64 // multiply-accumulates per image, summed over the convolutions
}

// Count returns the number of steps of p whose operation is op.
func (p *Plan) Count(op Op) int {
	n := 0
	for i := range p.Steps {
		if p.Steps[i].Op == op {
			n++
		}
	}
	return n
}

// WeightBytes returns the bytes held by the convolution weights and biases.
func (p *Plan) WeightBytes() int64 {
	var n int64
	for i := range p.Steps {
		if c := p.Steps[i].Conv; c != nil {
			n += 4 * int64(len(c.Weight)+len(c.Bias))
		}
	}
	return n
}
