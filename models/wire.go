package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Protocol buffer wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireStart   = 3 // deprecated group start
	wireEnd     = 4 // deprecated group end
	wireFixed32 = 5
)

var errTruncated = errors.New("truncated protobuf message")

// wireReader walks the fields of one protobuf message. Every read checks the
// remaining length, so malformed input yields an error and never a panic.
// Byte slices it returns alias the input.
type wireReader struct {
	buf []byte
	off int
}

func (r *wireReader) done() bool { return r.off >= len(r.buf) }

func (r *wireReader) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.buf) {
			return 0, errTruncated
		}
		b := r.buf[r.off]
		r.off++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("varint at byte %d is longer than 10 bytes", r.off)
}

// next reads a field key and returns its number and wire type.
func (r *wireReader) next() (field int, typ int, err error) {
	key, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	field, typ = int(key>>3), int(key&7)
	if key>>3 == 0 || key>>3 > math.MaxInt32 {
		return 0, 0, fmt.Errorf("invalid field number %d at byte %d", key>>3, r.off)
	}
	return field, typ, nil
}

func (r *wireReader) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.buf)-r.off) {
		return nil, errTruncated
	}
	b := r.buf[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

func (r *wireReader) fixed32() (uint32, error) {
	if len(r.buf)-r.off < 4 {
		return 0, errTruncated
	}
	v := binary.LittleEndian.Uint32(r.buf[r.off:])
	r.off += 4
	return v, nil
}

func (r *wireReader) fixed64() (uint64, error) {
	if len(r.buf)-r.off < 8 {
		return 0, errTruncated
	}
	v := binary.LittleEndian.Uint64(r.buf[r.off:])
	r.off += 8
	return v, nil
}

// skip discards the value of a field of wire type typ.
func (r *wireReader) skip(typ int) error {
	var err error
	switch typ {
	case wireVarint:
		_, err = r.varint()
	case wireFixed64:
		_, err = r.fixed64()
	case wireBytes:
		_, err = r.bytes()
	case wireFixed32:
		_, err = r.fixed32()
	default:
		// Groups are absent from onnx.proto, so they are rejected rather
		// than walked.
		err = fmt.Errorf("unsupported wire type %d at byte %d", typ, r.off)
	}
	return err
}

// str reads a length-delimited field as a string.
func (r *wireReader) str(typ int) (string, error) {
	if typ != wireBytes {
		return "", fmt.Errorf("wire type %d for a string field at byte %d", typ, r.off)
	}
	b, err := r.bytes()
	return string(b), err
}

// msg reads a length-delimited field as an embedded message.
func (r *wireReader) msg(typ int) (wireReader, error) {
	if typ != wireBytes {
		return wireReader{}, fmt.Errorf("wire type %d for a message field at byte %d", typ, r.off)
	}
	b, err := r.bytes()
	return wireReader{buf: b}, err
}

// int64v reads a varint field as a two's-complement int64 (proto int64 and
// int32 fields both encode negative values in ten bytes).
func (r *wireReader) int64v(typ int) (int64, error) {
	if typ != wireVarint {
		return 0, fmt.Errorf("wire type %d for an integer field at byte %d", typ, r.off)
	}
	v, err := r.varint()
	return int64(v), err
}

// appendInt64s reads one element or a packed run of a repeated int64 or
// int32 field.
func (r *wireReader) appendInt64s(dst []int64, typ int) ([]int64, error) {
	if typ == wireVarint {
		v, err := r.varint()
		return append(dst, int64(v)), err
	}
	if typ != wireBytes {
		return dst, fmt.Errorf("wire type %d for a repeated integer field at byte %d", typ, r.off)
	}
	b, err := r.bytes()
	if err != nil {
		return dst, err
	}
	packed := wireReader{buf: b}
	for !packed.done() {
		v, err := packed.varint()
		if err != nil {
			return dst, err
		}
		dst = append(dst, int64(v))
	}
	return dst, nil
}

// appendFloats reads one element or a packed run of a repeated float field.
func (r *wireReader) appendFloats(dst []float32, typ int) ([]float32, error) {
	if typ == wireFixed32 {
		v, err := r.fixed32()
		return append(dst, math.Float32frombits(v)), err
	}
	if typ != wireBytes {
		return dst, fmt.Errorf("wire type %d for a repeated float field at byte %d", typ, r.off)
	}
	b, err := r.bytes()
	if err != nil {
		return dst, err
	}
	if len(b)%4 != 0 {
		return dst, fmt.Errorf("packed float field of %d bytes at byte %d", len(b), r.off)
	}
	dst = slices.Grow(dst, len(b)/4)
	for i := 0; i < len(b); i += 4 {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
	}
	return dst, nil
}

// appendDoubles reads one element or a packed run of a repeated double field.
func (r *wireReader) appendDoubles(dst []float64, typ int) ([]float64, error) {
	if typ == wireFixed64 {
		v, err := r.fixed64()
		return append(dst, math.Float64frombits(v)), err
	}
	if typ != wireBytes {
		return dst, fmt.Errorf("wire type %d for a repeated double field at byte %d", typ, r.off)
	}
	b, err := r.bytes()
	if err != nil {
		return dst, err
	}
	if len(b)%8 != 0 {
		return dst, fmt.Errorf("packed double field of %d bytes at byte %d", len(b), r.off)
	}
	dst = slices.Grow(dst, len(b)/8)
	for i := 0; i < len(b); i += 8 {
		dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(b[i:])))
	}
	return dst, nil
}
