package tensor

import "fmt"

// Shape is a tensor's dimensions, outermost first (NCHW for activations).
type Shape []int

// Elems returns the number of elements, 1 for a scalar shape.
func (s Shape) Elems() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// String formats the shape as 1x3x1024x1024.
func (s Shape) String() string {
	out := ""
	for i, d := range s {
		if i > 0 {
			out += "x"
		}
		out += fmt.Sprint(d)
	}
	return out
}

// Tensor is a dense row-major float32 tensor. Data is a view: a Tensor does
// not own its memory, and copying a Tensor copies the view only.
type Tensor struct {
	Shape Shape
	Data  []float32
}

// New returns a view of data with the given shape. It panics when the
// lengths disagree, because that is always a bug in the caller.
func New(shape Shape, data []float32) Tensor {
	if shape.Elems() != len(data) {
		panic(fmt.Sprintf("tensor: shape %v needs %d elements, data has %d",
			shape, shape.Elems(), len(data)))
	}
	return Tensor{Shape: shape, Data: data}
}
