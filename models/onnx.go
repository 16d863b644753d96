package models

import (
	"fmt"
	"math"
)

// ONNX TensorProto.DataType values used by the importer (onnx.proto3).
const (
	dtypeFloat   = 1
	dtypeUint8   = 2
	dtypeInt8    = 3
	dtypeInt32   = 6
	dtypeInt64   = 7
	dtypeBool    = 9
	dtypeFloat16 = 10
	dtypeDouble  = 11
)

// ONNX AttributeProto.AttributeType values.
const (
	attrFloat   = 1
	attrInt     = 2
	attrString  = 3
	attrTensor  = 4
	attrFloats  = 6
	attrInts    = 7
	attrStrings = 8
)

// onnxModel is the subset of ModelProto the importer reads.
type onnxModel struct {
	IRVersion int64
	Opsets    []onnxOpset
	Graph     onnxGraph
}

type onnxOpset struct {
	Domain  string
	Version int64
}

type onnxGraph struct {
	Name         string
	Nodes        []onnxNode
	Initializers []onnxTensor
	Inputs       []onnxValueInfo
	Outputs      []onnxValueInfo
	ValueInfo    []onnxValueInfo
}

type onnxNode struct {
	Inputs  []string
	Outputs []string
	Name    string
	OpType  string
	Domain  string
	Attrs   []onnxAttr
}

type onnxAttr struct {
	Name    string
	Type    int64
	F       float32
	I       int64
	S       []byte
	T       *onnxTensor
	Floats  []float32
	Ints    []int64
	Strings [][]byte
	hasF    bool // the f field was present, for files that omit type
	hasI    bool
	hasS    bool
}

// onnxTensor is a TensorProto. Raw aliases the file's bytes. External data
// (data_location EXTERNAL) is flagged, not followed.
type onnxTensor struct {
	Name     string
	Dims     []int64
	DataType int64
	Raw      []byte
	hasRaw   bool
	Floats   []float32
	Int32s   []int64 // int32_data, also carrying fp16, int8, uint8 and bool
	Int64s   []int64
	Doubles  []float64
	External bool
}

type onnxValueInfo struct {
	Name     string
	ElemType int64
	Dims     []onnxDim
}

// onnxDim is one dimension of a value's declared shape: a size, or a symbolic
// name (Param) when Value is unknown.
type onnxDim struct {
	Value int64
	Param string
}

// parseModel decodes a serialized ModelProto. The returned tensors alias
// data, which must stay unmodified while they are in use.
func parseModel(data []byte) (*onnxModel, error) {
	m := &onnxModel{}
	r := wireReader{buf: data}
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		switch field {
		case 1:
			m.IRVersion, err = r.int64v(typ)
		case 7:
			var sub wireReader
			if sub, err = r.msg(typ); err == nil {
				err = parseGraph(sub, &m.Graph)
			}
		case 8:
			var sub wireReader
			if sub, err = r.msg(typ); err == nil {
				var o onnxOpset
				o, err = parseOpset(sub)
				m.Opsets = append(m.Opsets, o)
			}
		default:
			err = r.skip(typ)
		}
		if err != nil {
			return nil, fmt.Errorf("model field %d: %w", field, err)
		}
	}
	return m, nil
}

func parseOpset(r wireReader) (onnxOpset, error) {
	var o onnxOpset
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return o, err
		}
		switch field {
		case 1:
			o.Domain, err = r.str(typ)
		case 2:
			o.Version, err = r.int64v(typ)
		default:
			err = r.skip(typ)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

func parseGraph(r wireReader, g *onnxGraph) error {
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return fmt.Errorf("graph: %w", err)
		}
		var sub wireReader
		switch field {
		case 1:
			if sub, err = r.msg(typ); err == nil {
				var n onnxNode
				n, err = parseNode(sub)
				g.Nodes = append(g.Nodes, n)
			}
		case 2:
			g.Name, err = r.str(typ)
		case 5:
			if sub, err = r.msg(typ); err == nil {
				var t onnxTensor
				t, err = parseTensor(sub)
				g.Initializers = append(g.Initializers, t)
			}
		case 11, 12, 13:
			if sub, err = r.msg(typ); err == nil {
				var v onnxValueInfo
				v, err = parseValueInfo(sub)
				switch field {
				case 11:
					g.Inputs = append(g.Inputs, v)
				case 12:
					g.Outputs = append(g.Outputs, v)
				default:
					g.ValueInfo = append(g.ValueInfo, v)
				}
			}
		default:
			err = r.skip(typ)
		}
		if err != nil {
			return fmt.Errorf("graph field %d: %w", field, err)
		}
	}
	return nil
}

func parseNode(r wireReader) (onnxNode, error) {
	var n onnxNode
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return n, fmt.Errorf("node: %w", err)
		}
		var s string
		switch field {
		case 1:
			if s, err = r.str(typ); err == nil {
				n.Inputs = append(n.Inputs, s)
			}
		case 2:
			if s, err = r.str(typ); err == nil {
				n.Outputs = append(n.Outputs, s)
			}
		case 3:
			n.Name, err = r.str(typ)
		case 4:
			n.OpType, err = r.str(typ)
		case 7:
			n.Domain, err = r.str(typ)
		case 5:
			var sub wireReader
			if sub, err = r.msg(typ); err == nil {
				var a onnxAttr
				a, err = parseAttr(sub)
				n.Attrs = append(n.Attrs, a)
			}
		default:
			err = r.skip(typ)
		}
		if err != nil {
			return n, fmt.Errorf("node %q field %d: %w", n.Name, field, err)
		}
	}
	return n, nil
}

func parseAttr(r wireReader) (onnxAttr, error) {
	var a onnxAttr
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return a, fmt.Errorf("attribute: %w", err)
		}
		switch field {
		case 1:
			a.Name, err = r.str(typ)
		case 20:
			a.Type, err = r.int64v(typ)
		case 2:
			if typ != wireFixed32 {
				err = fmt.Errorf("wire type %d for a float field", typ)
				break
			}
			var bits uint32
			bits, err = r.fixed32()
			a.F, a.hasF = math.Float32frombits(bits), true
		case 3:
			a.I, err = r.int64v(typ)
			a.hasI = true
		case 4:
			if typ != wireBytes {
				err = fmt.Errorf("wire type %d for a bytes field", typ)
				break
			}
			a.S, err = r.bytes()
			a.hasS = true
		case 5:
			var sub wireReader
			if sub, err = r.msg(typ); err == nil {
				var t onnxTensor
				t, err = parseTensor(sub)
				a.T = &t
			}
		case 7:
			a.Floats, err = r.appendFloats(a.Floats, typ)
		case 8:
			a.Ints, err = r.appendInt64s(a.Ints, typ)
		case 9:
			if typ != wireBytes {
				err = fmt.Errorf("wire type %d for a bytes field", typ)
				break
			}
			var b []byte
			b, err = r.bytes()
			a.Strings = append(a.Strings, b)
		default:
			err = r.skip(typ)
		}
		if err != nil {
			return a, fmt.Errorf("attribute %q field %d: %w", a.Name, field, err)
		}
	}
	return a, nil
}

func parseTensor(r wireReader) (onnxTensor, error) {
	var t onnxTensor
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return t, fmt.Errorf("tensor: %w", err)
		}
		switch field {
		case 1:
			t.Dims, err = r.appendInt64s(t.Dims, typ)
		case 2:
			t.DataType, err = r.int64v(typ)
		case 4:
			t.Floats, err = r.appendFloats(t.Floats, typ)
		case 5:
			t.Int32s, err = r.appendInt64s(t.Int32s, typ)
		case 7:
			t.Int64s, err = r.appendInt64s(t.Int64s, typ)
		case 8:
			t.Name, err = r.str(typ)
		case 9:
			if typ != wireBytes {
				err = fmt.Errorf("wire type %d for a bytes field", typ)
				break
			}
			t.Raw, err = r.bytes()
			t.hasRaw = true
		case 10:
			t.Doubles, err = r.appendDoubles(t.Doubles, typ)
		case 14:
			var loc int64
			loc, err = r.int64v(typ)
			t.External = loc == 1
		default:
			err = r.skip(typ)
		}
		if err != nil {
			return t, fmt.Errorf("tensor %q field %d: %w", t.Name, field, err)
		}
	}
	return t, nil
}

func parseValueInfo(r wireReader) (onnxValueInfo, error) {
	var v onnxValueInfo
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return v, fmt.Errorf("value info: %w", err)
		}
		switch field {
		case 1:
			v.Name, err = r.str(typ)
		case 2:
			var sub wireReader
			if sub, err = r.msg(typ); err == nil {
				err = parseTypeProto(sub, &v)
			}
		default:
			err = r.skip(typ)
		}
		if err != nil {
			return v, fmt.Errorf("value info %q field %d: %w", v.Name, field, err)
		}
	}
	return v, nil
}

// parseTypeProto reads TypeProto.tensor_type (elem_type and shape). Other
// kinds of type (sequence, map, optional) leave v's type unset.
func parseTypeProto(r wireReader, v *onnxValueInfo) error {
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return err
		}
		if field != 1 {
			if err := r.skip(typ); err != nil {
				return err
			}
			continue
		}
		tensor, err := r.msg(typ)
		if err != nil {
			return err
		}
		for !tensor.done() {
			field, typ, err := tensor.next()
			if err != nil {
				return err
			}
			switch field {
			case 1:
				v.ElemType, err = tensor.int64v(typ)
			case 2:
				var shape wireReader
				if shape, err = tensor.msg(typ); err == nil {
					v.Dims, err = parseShape(shape)
				}
			default:
				err = tensor.skip(typ)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func parseShape(r wireReader) ([]onnxDim, error) {
	dims := []onnxDim{}
	for !r.done() {
		field, typ, err := r.next()
		if err != nil {
			return nil, err
		}
		if field != 1 {
			if err := r.skip(typ); err != nil {
				return nil, err
			}
			continue
		}
		dimMsg, err := r.msg(typ)
		if err != nil {
			return nil, err
		}
		var d onnxDim
		for !dimMsg.done() {
			field, typ, err := dimMsg.next()
			if err != nil {
				return nil, err
			}
			switch field {
			case 1:
				d.Value, err = dimMsg.int64v(typ)
			case 2:
				d.Param, err = dimMsg.str(typ)
			default:
				err = dimMsg.skip(typ)
			}
			if err != nil {
				return nil, err
			}
		}
		dims = append(dims, d)
	}
	return dims, nil
}
