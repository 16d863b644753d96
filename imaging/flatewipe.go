package imaging

import (
	"reflect"
	"unsafe"

	"github.com/klauspost/compress/flate"
)

// klauspost/compress keeps a compressor's input in buffers that Reset does
// not zero: the input window, the history of the fast levels, the queued
// tokens (a literal token is the input byte) and the output bytes not yet
// flushed. wipeFlateWriter zeroes them through reflection, so that a pooled
// compressor holds nothing of the image it last compressed. The buffers are
// found by field name; TestWipeFlateWriter fails when a new version of the
// library moves them, and until then wipeFlateWriter reports false for a
// layout it does not know, and putFlateWriter then drops the compressor
// instead of pooling it.

// wipeFlateWriter zeroes the data buffers of z and reports whether it found
// every one it looks for.
func wipeFlateWriter(z *flate.Writer) bool {
	d := reflect.ValueOf(z).Elem().FieldByName("d")
	if !d.IsValid() || d.Kind() != reflect.Struct {
		return false
	}
	ok := clearByteSlice(d.FieldByName("window"))
	ok = clearPlain(d.FieldByName("tokens")) && ok

	if fast := d.FieldByName("fast"); fast.IsValid() && fast.Kind() == reflect.Interface &&
		!fast.IsNil() {
		enc := fast.Elem()
		if enc.Kind() != reflect.Pointer || enc.Elem().Kind() != reflect.Struct {
			return false
		}
		ok = clearByteSlice(enc.Elem().FieldByName("hist")) && ok
	}

	bw := d.FieldByName("w")
	if !bw.IsValid() || bw.Kind() != reflect.Pointer || bw.IsNil() {
		return false
	}
	return clearPlain(bw.Elem().FieldByName("bytes")) && ok
}

// clearByteSlice zeroes the whole capacity of v, a []byte field.
func clearByteSlice(v reflect.Value) bool {
	if !v.IsValid() || !v.CanAddr() || v.Kind() != reflect.Slice ||
		v.Type().Elem().Kind() != reflect.Uint8 {
		return false
	}
	b := *(*[]byte)(unsafe.Pointer(v.UnsafeAddr()))
	clear(b[:cap(b)])
	return true
}

// clearPlain zeroes v, a field whose type holds no pointers, in place.
func clearPlain(v reflect.Value) bool {
	if !v.IsValid() || !v.CanAddr() || hasPointers(v.Type()) {
		return false
	}
	clear(unsafe.Slice((*byte)(unsafe.Pointer(v.UnsafeAddr())), v.Type().Size()))
	return true
}

// hasPointers reports whether a value of type t holds any pointer.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Uintptr, reflect.Float32, reflect.Float64, reflect.Complex64,
		reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
