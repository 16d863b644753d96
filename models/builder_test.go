package models

import (
	"encoding/binary"
	"math"
)

// This file encodes small ONNX models for tests: a minimal protobuf writer
// and helpers for the onnx.proto messages the importer reads.

type pbuf struct{ b []byte }

func (p *pbuf) key(field, typ int) *pbuf {
	p.b = binary.AppendUvarint(p.b, uint64(field)<<3|uint64(typ))
	return p
}

func (p *pbuf) varint(field int, v int64) *pbuf {
	p.key(field, wireVarint)
	p.b = binary.AppendUvarint(p.b, uint64(v))
	return p
}

func (p *pbuf) bytes(field int, b []byte) *pbuf {
	p.key(field, wireBytes)
	p.b = binary.AppendUvarint(p.b, uint64(len(b)))
	p.b = append(p.b, b...)
	return p
}

func (p *pbuf) str(field int, s string) *pbuf { return p.bytes(field, []byte(s)) }

func (p *pbuf) msg(field int, m *pbuf) *pbuf { return p.bytes(field, m.b) }

func (p *pbuf) fixed32(field int, v uint32) *pbuf {
	p.key(field, wireFixed32)
	p.b = binary.LittleEndian.AppendUint32(p.b, v)
	return p
}

func (p *pbuf) packedInts(field int, v []int64) *pbuf {
	var inner []byte
	for _, x := range v {
		inner = binary.AppendUvarint(inner, uint64(x))
	}
	return p.bytes(field, inner)
}

func (p *pbuf) packedFloats(field int, v []float32) *pbuf {
	var inner []byte
	for _, x := range v {
		inner = binary.LittleEndian.AppendUint32(inner, math.Float32bits(x))
	}
	return p.bytes(field, inner)
}

// Attributes (AttributeProto).

func attrI(name string, v int64) *pbuf {
	return new(pbuf).str(1, name).varint(20, attrInt).varint(3, v)
}

func attrIs(name string, v ...int64) *pbuf {
	return new(pbuf).str(1, name).varint(20, attrInts).packedInts(8, v)
}

func attrS(name, v string) *pbuf {
	return new(pbuf).str(1, name).varint(20, attrString).str(4, v)
}

func attrF(name string, v float32) *pbuf {
	return new(pbuf).str(1, name).varint(20, attrFloat).fixed32(2, math.Float32bits(v))
}

func attrT(name string, t *pbuf) *pbuf {
	return new(pbuf).str(1, name).varint(20, attrTensor).msg(5, t)
}

// Tensors (TensorProto).

func tensorHead(name string, dtype int64, dims []int64) *pbuf {
	p := new(pbuf)
	if len(dims) > 0 {
		p.packedInts(1, dims)
	}
	return p.varint(2, dtype).str(8, name)
}

// tensorF32 stores data as raw little-endian float32.
func tensorF32(name string, dims []int64, data []float32) *pbuf {
	raw := make([]byte, 0, 4*len(data))
	for _, v := range data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	return tensorHead(name, dtypeFloat, dims).bytes(9, raw)
}

// tensorF32Field stores data in float_data instead of raw_data.
func tensorF32Field(name string, dims []int64, data []float32) *pbuf {
	return tensorHead(name, dtypeFloat, dims).packedFloats(4, data)
}

// tensorF16 stores data as raw float16; the values must be exact in float16.
func tensorF16(name string, dims []int64, data []float32) *pbuf {
	raw := make([]byte, 0, 2*len(data))
	for _, v := range data {
		raw = binary.LittleEndian.AppendUint16(raw, exactHalf(v))
	}
	return tensorHead(name, dtypeFloat16, dims).bytes(9, raw)
}

// tensorF16Int32 stores float16 bits in int32_data, as some exporters do.
func tensorF16Int32(name string, dims []int64, data []float32) *pbuf {
	bits := make([]int64, len(data))
	for i, v := range data {
		bits[i] = int64(exactHalf(v))
	}
	return tensorHead(name, dtypeFloat16, dims).packedInts(5, bits)
}

func tensorI64(name string, dims []int64, data []int64) *pbuf {
	return tensorHead(name, dtypeInt64, dims).packedInts(7, data)
}

// exactHalf encodes a float32 that float16 represents exactly (normal
// range or zero); it panics otherwise, since that is a bug in the test.
func exactHalf(v float32) uint16 {
	bits := math.Float32bits(v)
	sign := uint16(bits>>16) & 0x8000
	if v == 0 {
		return sign
	}
	exp := int(bits>>23&0xff) - 127 + 15
	frac := bits & 0x7fffff
	if exp <= 0 || exp >= 31 || frac&0x1fff != 0 {
		panic("value not exact in float16")
	}
	return sign | uint16(exp)<<10 | uint16(frac>>13)
}

// Graph pieces.

func node(op, name string, inputs, outputs []string, attrs ...*pbuf) *pbuf {
	p := new(pbuf)
	for _, in := range inputs {
		p.str(1, in)
	}
	for _, out := range outputs {
		p.str(2, out)
	}
	p.str(3, name).str(4, op)
	for _, a := range attrs {
		p.msg(5, a)
	}
	return p
}

// valueInfo declares a tensor; a negative dim is a symbolic one ("N").
func valueInfo(name string, elem int64, dims ...int64) *pbuf {
	shape := new(pbuf)
	for _, d := range dims {
		dim := new(pbuf)
		if d < 0 {
			dim.str(2, "N")
		} else {
			dim.varint(1, d)
		}
		shape.msg(1, dim)
	}
	tensorType := new(pbuf).varint(1, elem).msg(2, shape)
	return new(pbuf).str(1, name).msg(2, new(pbuf).msg(1, tensorType))
}

type testGraph struct {
	nodes, inits, inputs, outputs []*pbuf
}

func (g *testGraph) encode(opset int64) []byte {
	graph := new(pbuf).str(2, "test")
	for _, n := range g.nodes {
		graph.msg(1, n)
	}
	for _, t := range g.inits {
		graph.msg(5, t)
	}
	for _, v := range g.inputs {
		graph.msg(11, v)
	}
	for _, v := range g.outputs {
		graph.msg(12, v)
	}
	m := new(pbuf).varint(1, 8).str(2, "rmbgd-test")
	m.msg(8, new(pbuf).str(1, "").varint(2, opset))
	m.msg(7, graph)
	return m.b
}

// ramp returns n values exact in float16: (i mod 17 − 8)/16 scaled by s.
func ramp(n int, s float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i%17-8) / 16 * s
	}
	return out
}
