package models

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Limits that keep a hostile file from making the importer allocate without
// bound: maxConstElems for a stored tensor, maxFoldElems for a tensor the
// importer computes (shape arithmetic), maxValueElems for one image of an
// activation. The largest ISNet weight has 2.4 M elements and its largest
// activation 64×512×512 = 16.8 M.
const (
	maxConstElems = 1 << 28
	maxFoldElems  = 1 << 20
	maxValueElems = 1 << 31
)

// constTensor is a value known at import time: an initializer, a Constant
// node's output or a folded shape computation. Integer tensors keep int64
// data. Float tensors of every width keep float32 data, decoded on first
// use, so that weights of dead nodes are never decoded.
type constTensor struct {
	name      string
	dims      []int64
	float     bool
	intData   []int64
	floatData []float32
	src       *onnxTensor // undecoded float data, nil once decoded
}

func (c *constTensor) elems() int64 { return product(c.dims) }

// product returns the number of elements of dims, or -1 when a dimension is
// negative or the count exceeds maxConstElems.
func product(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		if d < 0 || (d > 0 && n > maxConstElems/d) {
			return -1
		}
		n *= d
	}
	return n
}

func isFloatType(dt int64) bool {
	return dt == dtypeFloat || dt == dtypeFloat16 || dt == dtypeDouble
}

func isIntType(dt int64) bool {
	switch dt {
	case dtypeUint8, dtypeInt8, dtypeInt32, dtypeInt64, dtypeBool:
		return true
	}
	return false
}

// newConst wraps a TensorProto. Integer data is decoded at once (such tensors
// are small shape operands). Float data is left in t until floats is called.
func newConst(t *onnxTensor) (*constTensor, error) {
	if t.External {
		return nil, fmt.Errorf("tensor %q: external data is not supported", t.Name)
	}
	n := product(t.Dims)
	if n < 0 {
		return nil, fmt.Errorf("tensor %q: invalid dims %v", t.Name, t.Dims)
	}
	c := &constTensor{name: t.Name, dims: t.Dims}
	switch {
	case isFloatType(t.DataType):
		c.float = true
		c.src = t
	case isIntType(t.DataType):
		ints, err := decodeInts(t, int(n))
		if err != nil {
			return nil, err
		}
		c.intData = ints
	default:
		return nil, fmt.Errorf("tensor %q: unsupported data type %s", t.Name, dtypeName(t.DataType))
	}
	return c, nil
}

// hasData reports whether a float tensor carries its elements, which the
// skeleton model omits for initializers over 64 elements.
func (c *constTensor) hasData() bool {
	if c.src == nil {
		return true
	}
	t := c.src
	return c.elems() == 0 || t.hasRaw || len(t.Floats) > 0 || len(t.Int32s) > 0 ||
		len(t.Doubles) > 0
}

// floats returns the elements of a float tensor as float32, decoding them on
// the first call.
func (c *constTensor) floats() ([]float32, error) {
	if !c.float {
		return nil, fmt.Errorf("tensor %q: integer data where floats are expected", c.name)
	}
	if c.src != nil {
		f, err := decodeFloats(c.src, int(c.elems()))
		if err != nil {
			return nil, err
		}
		c.floatData, c.src = f, nil
	}
	return c.floatData, nil
}

func decodeInts(t *onnxTensor, n int) ([]int64, error) {
	size := dtypeSize(t.DataType)
	switch {
	case t.hasRaw:
		if len(t.Raw) != n*size {
			return nil, fmt.Errorf("tensor %q: %d bytes of raw data for %d elements of %s",
				t.Name, len(t.Raw), n, dtypeName(t.DataType))
		}
		out := make([]int64, n)
		for i := range out {
			b := t.Raw[i*size:]
			switch t.DataType {
			case dtypeInt64:
				out[i] = int64(binary.LittleEndian.Uint64(b))
			case dtypeInt32:
				out[i] = int64(int32(binary.LittleEndian.Uint32(b)))
			case dtypeInt8:
				out[i] = int64(int8(b[0]))
			default: // uint8, bool
				out[i] = int64(b[0])
			}
		}
		return out, nil
	case t.DataType == dtypeInt64 && len(t.Int64s) == n:
		return t.Int64s, nil
	case t.DataType != dtypeInt64 && len(t.Int32s) == n:
		out := make([]int64, n)
		for i, v := range t.Int32s {
			out[i] = int64(int32(v))
		}
		return out, nil
	case n == 0:
		return []int64{}, nil
	}
	return nil, fmt.Errorf("tensor %q: missing or short data for %d elements", t.Name, n)
}

func decodeFloats(t *onnxTensor, n int) ([]float32, error) {
	switch {
	case t.hasRaw:
		size := dtypeSize(t.DataType)
		if len(t.Raw) != n*size {
			return nil, fmt.Errorf("tensor %q: %d bytes of raw data for %d elements of %s",
				t.Name, len(t.Raw), n, dtypeName(t.DataType))
		}
		out := make([]float32, n)
		switch t.DataType {
		case dtypeFloat16:
			halfToFloat32(out, t.Raw)
		case dtypeFloat:
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
			}
		default: // double
			for i := range out {
				out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.Raw[8*i:])))
			}
		}
		return out, nil
	case t.DataType == dtypeFloat && len(t.Floats) == n:
		return t.Floats, nil
	case t.DataType == dtypeFloat16 && len(t.Int32s) == n:
		// fp16 elements in int32_data carry the half's bits in the low 16.
		out := make([]float32, n)
		for i, v := range t.Int32s {
			out[i] = halfBits(uint16(v))
		}
		return out, nil
	case t.DataType == dtypeDouble && len(t.Doubles) == n:
		out := make([]float32, n)
		for i, v := range t.Doubles {
			out[i] = float32(v)
		}
		return out, nil
	case n == 0:
		return []float32{}, nil
	}
	return nil, fmt.Errorf("tensor %q: missing or short data for %d elements", t.Name, n)
}

func dtypeSize(dt int64) int {
	switch dt {
	case dtypeDouble, dtypeInt64:
		return 8
	case dtypeFloat, dtypeInt32:
		return 4
	case dtypeFloat16:
		return 2
	}
	return 1
}

var dtypeNames = map[int64]string{
	1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
	8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
	14: "complex64", 15: "complex128", 16: "bfloat16",
}

func dtypeName(dt int64) string {
	if s, ok := dtypeNames[dt]; ok {
		return s
	}
	return fmt.Sprintf("data type %d", dt)
}
