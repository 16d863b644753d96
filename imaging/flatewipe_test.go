package imaging

import (
	"bytes"
	"io"
	"math/rand"
	"reflect"
	"testing"
	"unsafe"

	"github.com/klauspost/compress/flate"
)

// TestWipeFlateWriter compresses noise with a marker in it at every level
// the encoder offers, wipes the compressor, and searches all memory
// reachable from it for the marker, as raw bytes and as literal tokens
// (each byte in the low byte of a little-endian uint32). Before the wipe
// the search must find it, so that the search itself is known to work. To
// see the test fail, drop the clear of "hist" or "tokens" in
// wipeFlateWriter.
func TestWipeFlateWriter(t *testing.T) {
	marker := []byte("MARKER-flate-7c1e9a4b")
	rng := rand.New(rand.NewSource(3))
	data := make([]byte, 3<<20)
	rng.Read(data)
	for at := 0; at+len(marker) < len(data); at += 4000 {
		copy(data[at:], marker)
	}
	asTokens := make([]byte, 0, 4*len(marker))
	for _, c := range marker {
		asTokens = append(asTokens, c, 0, 0, 0)
	}

	for _, level := range []int{PNGHuffmanOnly, 1, 2, 4, 6, 9} {
		z := getFlateWriter(level, io.Discard)
		if _, err := z.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := z.Flush(); err != nil {
			t.Fatal(err)
		}
		if !reachableContains(z, marker) && !reachableContains(z, asTokens) {
			t.Fatalf("level %d: the marker is not found before the wipe; the search is broken",
				level)
		}
		z.Reset(nil)
		if !wipeFlateWriter(z) {
			t.Fatalf("level %d: the compressor's layout is not the one the wipe knows", level)
		}
		if reachableContains(z, marker) {
			t.Errorf("level %d: the marker is left in the compressor after the wipe", level)
		}
		if reachableContains(z, asTokens) {
			t.Errorf("level %d: the marker is left as tokens after the wipe", level)
		}

		// The wiped compressor still works.
		var out bytes.Buffer
		z.Reset(&out)
		z.Write(data[:100_000])
		z.Close()
		back, err := io.ReadAll(flate.NewReader(&out))
		if err != nil || !bytes.Equal(back, data[:100_000]) {
			t.Errorf("level %d: a wiped compressor writes a stream that does not decode back "+
				"(%v)", level, err)
		}
	}
}

// reachableContains reports whether needle occurs in the memory of any
// value reachable from v through pointers, interfaces, slices, arrays and
// struct fields.
func reachableContains(v any, needle []byte) bool {
	seen := map[uintptr]bool{}
	var walk func(r reflect.Value) bool
	walk = func(r reflect.Value) bool {
		switch r.Kind() {
		case reflect.Pointer:
			if r.IsNil() || seen[r.Pointer()] {
				return false
			}
			seen[r.Pointer()] = true
			return walk(r.Elem())
		case reflect.Interface:
			return !r.IsNil() && walk(r.Elem())
		case reflect.Slice:
			if r.IsNil() {
				return false
			}
			if !hasPointers(r.Type().Elem()) {
				size := r.Cap() * int(r.Type().Elem().Size())
				mem := unsafe.Slice((*byte)(r.UnsafePointer()), size)
				return bytes.Contains(mem, needle)
			}
			for i := range r.Len() {
				if walk(r.Index(i)) {
					return true
				}
			}
		case reflect.Array, reflect.Struct:
			if r.CanAddr() && !hasPointers(r.Type()) {
				mem := unsafe.Slice((*byte)(unsafe.Pointer(r.UnsafeAddr())), r.Type().Size())
				return bytes.Contains(mem, needle)
			}
			if r.Kind() == reflect.Array {
				for i := range r.Len() {
					if walk(r.Index(i)) {
						return true
					}
				}
				return false
			}
			for i := range r.NumField() {
				if walk(r.Field(i)) {
					return true
				}
			}
		}
		return false
	}
	return walk(reflect.ValueOf(v))
}
