package engine

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestWipingBufferWipesOldArrays(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var w wipingBuffer
	var want []byte
	var old [][]byte // every array the buffer has let go of
	for range 200 {
		chunk := make([]byte, r.IntN(20<<10)+1)
		for i := range chunk {
			chunk[i] = byte(r.IntN(255) + 1) // never zero
		}
		before := w.b
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if cap(before) > 0 && &before[:1][0] != &w.b[:1][0] {
			old = append(old, before[:cap(before)])
		}
		want = append(want, chunk...)
	}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatal("the buffer's bytes differ from what was written")
	}
	if w.Len() != len(want) {
		t.Errorf("Len() = %d, want %d", w.Len(), len(want))
	}
	if len(old) == 0 {
		t.Fatal("the buffer never grew; the test checks nothing")
	}
	for k, a := range old {
		if !bytes.Equal(a, make([]byte, len(a))) {
			t.Errorf("array %d of %d bytes, let go when the buffer grew, is not zeroed",
				k, len(a))
		}
	}

	full := w.b[:cap(w.b)]
	w.wipe()
	if w.Len() != 0 {
		t.Errorf("Len() = %d after wipe, want 0", w.Len())
	}
	for i, v := range full {
		if v != 0 {
			t.Fatalf("byte %d is %d after wipe", i, v)
		}
	}
}
